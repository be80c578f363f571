/*
 * echo.h: the echo engine, RFC 862 over one connected stream socket.
 *
 * echo_serve() is what a fork-model child, a prefork worker and inetd
 * mode all run: it echoes every byte, in order, unchanged, until the peer
 * closes its side (then sends what remains and returns), resets, or stays
 * silent both ways for the idle timeout.  Memory is bounded: a fixed
 * buffer, and reading stops while it is full (backpressure) so a client
 * that never reads cannot make us buffer without end.  Short writes and
 * EINTR are handled; SIGPIPE never fires (MSG_NOSIGNAL or ignored).
 * In line mode (prefix or timestamp set) each line is answered through
 * linemode.h instead of byte for byte.  Bulk stays on the ring (echo.c
 * says why).  One connection per process at a time: the ring is static.
 *
 * The buffer (struct echo_buf) is exposed so the Check suite can drive
 * its arithmetic directly.
 */
#ifndef ECHOD_ECHO_H
#define ECHOD_ECHO_H

#include <stddef.h>
#include <stdint.h>

#define ECHO_BUFSIZE	(64 * 1024)

struct echo_params {
	int		 idle_timeout_ms;	/* 0: never */
	long long	 delay_ms;		/* wait before serving */
	const char	*prefix;		/* line mode if non-NULL ... */
	int		 timestamp;		/* ... or if set */
	/*
	 * Set by the process model: a blocking receive on the connection
	 * returns within idle_timeout_ms (the socket inherited a receive
	 * timeout no longer than that from its listener), or there is no
	 * idle timeout.  Then a serving process with nothing to write
	 * blocks in recv(2) rather than polling: a short connection costs
	 * recv, send, recv, as in a naive fork server.  0 is always safe.
	 */
	int		 recv_bounded;
};

enum echo_end {
	ECHO_END_EOF,		/* peer half-closed, all echoed */
	ECHO_END_RESET,		/* connection reset / broken pipe */
	ECHO_END_IDLE,		/* idle timeout */
	ECHO_END_ERROR		/* any other error (errno in result) */
};

struct echo_result {
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	enum echo_end	end;
	int		error;	/* errno for ECHO_END_ERROR/RESET */
};

/* A bounded FIFO of bytes read and not yet written back. */
struct echo_buf {
	size_t	head;		/* next byte to write out */
	size_t	len;		/* bytes held */
	size_t	cap;
	unsigned char data[ECHO_BUFSIZE];
};

void	echo_buf_init(struct echo_buf *);
size_t	echo_buf_space(const struct echo_buf *);
/* Where the next read may land, contiguous; at most echo_buf_space(). */
unsigned char *echo_buf_wptr(struct echo_buf *, size_t *);
void	echo_buf_produce(struct echo_buf *, size_t);
/* What to write next, contiguous. */
const unsigned char *echo_buf_rptr(const struct echo_buf *, size_t *);
void	echo_buf_consume(struct echo_buf *, size_t);

void	echo_serve(int, const struct echo_params *, struct echo_result *);
const char *echo_end_name(enum echo_end);

#endif
