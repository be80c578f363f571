/*
 * sdlisten.h: sockets passed by systemd's socket activation.
 *
 * sdlisten_take() reads LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, keeps
 * the passed descriptors (3 onwards) close-on-exec, and removes all three
 * variables from the environment, so no child mistakes them for its own.
 * It returns how many descriptors were passed to this process (0: none,
 * or meant for another pid), or -1 with a message when the variables are
 * malformed.  It goes through libsystemd's sd_listen_fds_with_names()
 * when echod was built with it.  sdlisten_parse() is the pure part.
 */
#ifndef ECHOD_SDLISTEN_H
#define ECHOD_SDLISTEN_H

#include <sys/types.h>

#include <stddef.h>

#define SDLISTEN_FIRST		3	/* SD_LISTEN_FDS_START */
#define SDLISTEN_NAMELEN	256

int	sdlisten_parse(const char *, const char *, pid_t);
/* The i-th (0-based) ':'-separated name, or "" if absent. */
void	sdlisten_name(const char *, size_t, char *, size_t);
int	sdlisten_take(char (*)[SDLISTEN_NAMELEN], size_t, char *, size_t);

#endif
