/*
 * linemode.h: --prefix / --timestamp answers.
 *
 * Each received line (without its "\n" or "\r\n") is answered as
 * PREFIX + line [+ " at " + ctime(now) without its newline] + "\n".
 * A line longer than LINE_MAX_LEN is answered in pieces of that size so
 * memory stays bounded; a last line without "\n" is answered at EOF.
 * The splitter is a pure function over bytes so the Check suite can test
 * it without sockets or clocks.
 */
#ifndef ECHOD_LINEMODE_H
#define ECHOD_LINEMODE_H

#include <stddef.h>
#include <time.h>

#define LINE_MAX_LEN	8192

struct linemode {
	const char	*prefix;	/* "" when only --timestamp */
	int		 timestamp;
	size_t		 len;		/* bytes of the pending line */
	int		 cr;		/* a "\r" held back: it may end the line */
	char		 line[LINE_MAX_LEN];
};

void	linemode_init(struct linemode *, const char *, int);
/*
 * Format one answer for line (len bytes, no terminator) at time now into
 * out; returns the answer's length, or 0 if outlen is too small.
 */
size_t	linemode_format(const struct linemode *, const char *, size_t,
	    time_t, char *, size_t);
/*
 * Feed received bytes; for each complete line call emit(arg, answer, len).
 * Returns -1 if emit failed (the caller's write error), else 0.
 * An answer is one emit call, except when the prefix is longer than
 * LINE_PREFIX_INLINE: then the prefix comes in a call of its own, just
 * before the rest (the pieces only ever concatenate).
 */
int	linemode_feed(struct linemode *, const char *, size_t, time_t,
	    int (*)(void *, const char *, size_t), void *);
/* At EOF: answer a pending partial line, if any. */
int	linemode_finish(struct linemode *, time_t,
	    int (*)(void *, const char *, size_t), void *);

/* Longest prefix formatted together with the line, on the stack. */
#define LINE_PREFIX_INLINE	1024

/* Longest answer: prefix + line + " at " + ctime + "\n". */
#define LINE_ANSWER_MAX(prefixlen)	((prefixlen) + LINE_MAX_LEN + 64)

#endif
