/*
 * linemode.c: split received bytes into lines and format the answers
 * for --prefix and --timestamp.
 *
 * Interface in linemode.h.  Everything here is a pure function of its
 * arguments (the time comes in as a time_t), so the Check suite drives it
 * without sockets or clocks.  Memory is bounded by struct linemode: a
 * line longer than LINE_MAX_LEN is answered in LINE_MAX_LEN pieces.
 *
 * Bytes are copied with memcpy, never through the printf family, because
 * a line may hold NUL bytes and they must come back unchanged.
 *
 * A "\r" is held back (lm->cr) rather than stored, because whether it is
 * data or half of a "\r\n" terminator is only known from the next byte,
 * which may arrive in a later read.  Holding it back also keeps a line of
 * exactly LINE_MAX_LEN bytes + "\r\n" a single answer.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "linemode.h"

#define AT	" at "

static size_t	format_answer(const char *, size_t, int, const char *, size_t,
		    time_t, char *, size_t);
static int	line_emit(struct linemode *, time_t,
		    int (*)(void *, const char *, size_t), void *);
static int	line_append(struct linemode *, const char *, size_t, time_t,
		    int (*)(void *, const char *, size_t), void *);

void
linemode_init(struct linemode *lm, const char *prefix, int timestamp)
{
	lm->prefix = prefix != NULL ? prefix : "";
	lm->timestamp = timestamp;
	lm->len = 0;
	lm->cr = 0;
}

size_t
linemode_format(const struct linemode *lm, const char *line, size_t len,
    time_t now, char *out, size_t outlen)
{
	return format_answer(lm->prefix, strlen(lm->prefix), lm->timestamp,
	    line, len, now, out, outlen);
}

/*
 * The one formatter: prefix + line [+ " at " + ctime] + "\n".  Returns
 * the length, or 0 when out is too small (an answer is never empty: it
 * always ends in "\n", so 0 is unambiguous).
 */
static size_t
format_answer(const char *prefix, size_t plen, int timestamp,
    const char *line, size_t len, time_t now, char *out, size_t outlen)
{
	char	 tbuf[64];	/* ctime_r wants 26; room to spare */
	const char *ts = NULL;
	size_t	 tlen = 0, need, off;

	if (timestamp) {
		/* ctime_r, not ctime: no shared static buffer. */
		if (ctime_r(&now, tbuf) != NULL) {
			ts = tbuf;
			tlen = strcspn(tbuf, "\n");
		} else {
			/* A time ctime cannot show (year overflow). */
			ts = "?";
			tlen = 1;
		}
	}

	need = plen + len + 1;
	if (timestamp)
		need += sizeof(AT) - 1 + tlen;
	if (need > outlen)
		return 0;

	off = 0;
	memcpy(out + off, prefix, plen);
	off += plen;
	memcpy(out + off, line, len);
	off += len;
	if (timestamp) {
		memcpy(out + off, AT, sizeof(AT) - 1);
		off += sizeof(AT) - 1;
		memcpy(out + off, ts, tlen);
		off += tlen;
	}
	out[off++] = '\n';
	return off;
}

/* Answer the pending line (lm->line, lm->len bytes) and empty it. */
static int
line_emit(struct linemode *lm, time_t now,
    int (*emit)(void *, const char *, size_t), void *arg)
{
	char	 out[LINE_ANSWER_MAX(LINE_PREFIX_INLINE)];
	const char *prefix = lm->prefix;
	size_t	 plen, n;

	plen = strlen(prefix);
	if (plen > LINE_PREFIX_INLINE) {
		/*
		 * An absurdly long --prefix would need an unbounded buffer
		 * here; the reader only concatenates, so send it apart.
		 */
		if (emit(arg, prefix, plen) == -1)
			return -1;
		prefix = "";
		plen = 0;
	}
	n = format_answer(prefix, plen, lm->timestamp, lm->line, lm->len,
	    now, out, sizeof(out));
	lm->len = 0;
	if (n == 0)
		return -1;	/* cannot happen: out is sized for the worst */
	return emit(arg, out, n);
}

/* Add data bytes to the pending line, answering each full piece. */
static int
line_append(struct linemode *lm, const char *p, size_t n, time_t now,
    int (*emit)(void *, const char *, size_t), void *arg)
{
	size_t	 room, c;

	while (n > 0) {
		room = sizeof(lm->line) - lm->len;
		if (room == 0) {
			/*
			 * Full and more data follows: this piece is done.
			 * Emitted only now, so a line of exactly
			 * LINE_MAX_LEN bytes stays one answer.
			 */
			if (line_emit(lm, now, emit, arg) == -1)
				return -1;
			room = sizeof(lm->line);
		}
		c = n < room ? n : room;
		memcpy(lm->line + lm->len, p, c);
		lm->len += c;
		p += c;
		n -= c;
	}
	return 0;
}

int
linemode_feed(struct linemode *lm, const char *buf, size_t n, time_t now,
    int (*emit)(void *, const char *, size_t), void *arg)
{
	const char *nl;
	size_t	 seg, dlen;

	while (n > 0) {
		nl = memchr(buf, '\n', n);
		seg = nl != NULL ? (size_t)(nl - buf) : n;
		if (seg > 0) {
			/* More bytes on this line: a held "\r" was data. */
			if (lm->cr) {
				lm->cr = 0;
				if (line_append(lm, "\r", 1, now, emit,
				    arg) == -1)
					return -1;
			}
			dlen = seg;
			if (buf[seg - 1] == '\r') {
				/* Before "\n": stripped; at the end: held. */
				dlen--;
				if (nl == NULL)
					lm->cr = 1;
			}
			if (line_append(lm, buf, dlen, now, emit, arg) == -1)
				return -1;
		}
		if (nl != NULL) {
			lm->cr = 0;	/* it was the "\r" of "\r\n" */
			if (line_emit(lm, now, emit, arg) == -1)
				return -1;
			seg++;
		}
		buf += seg;
		n -= seg;
	}
	return 0;
}

int
linemode_finish(struct linemode *lm, time_t now,
    int (*emit)(void *, const char *, size_t), void *arg)
{
	/* No "\n" came after it, so a held "\r" is data. */
	if (lm->cr) {
		lm->cr = 0;
		if (line_append(lm, "\r", 1, now, emit, arg) == -1)
			return -1;
	}
	if (lm->len == 0)
		return 0;
	return line_emit(lm, now, emit, arg);
}
