/*
 * sdlisten.c: take the sockets systemd passed (see sdlisten.h).
 *
 * The protocol (sd_listen_fds(3)): LISTEN_PID is our pid, LISTEN_FDS the
 * count from fd 3, LISTEN_FDNAMES their names, ':'-separated.  A
 * LISTEN_PID naming another process means the variables were inherited
 * by mistake: they are not ours, and are dropped all the same.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "sdlisten.h"

#define SDLISTEN_MAX	1024	/* more passed fds than anyone means */

int
sdlisten_parse(const char *pid, const char *fds, pid_t self)
{
	long long	v;
	const char	*e;

	if (pid == NULL || fds == NULL)
		return 0;
	v = strtonum(pid, 1, INT_MAX, &e);
	if (e != NULL)
		return -1;
	if ((pid_t)v != self)
		return 0;
	v = strtonum(fds, 1, SDLISTEN_MAX, &e);	/* 0: as libsystemd */
	if (e != NULL)
		return -1;
	return (int)v;
}

void
sdlisten_name(const char *names, size_t i, char *buf, size_t len)
{
	const char	*p = names, *end;

	buf[0] = '\0';
	if (names == NULL)
		return;
	while (i > 0 && (p = strchr(p, ':')) != NULL) {
		p++;
		i--;
	}
	if (p == NULL)
		return;
	end = strchr(p, ':');
	if (end == NULL)
		end = p + strlen(p);
	if ((size_t)(end - p) >= len)
		end = p + len - 1;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
}

int
sdlisten_take(char (*names)[SDLISTEN_NAMELEN], size_t max, char *err,
    size_t errlen)
{
	int	n, i;
#ifdef HAVE_LIBSYSTEMD
	char	**nv = NULL;

	n = sd_listen_fds_with_names(1, &nv);
	if (n < 0) {
		(void)snprintf(err, errlen, "LISTEN_FDS: %s", strerror(-n));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((size_t)i < max)
			(void)strlcpy(names[i], nv != NULL && nv[i] != NULL &&
			    strcmp(nv[i], "unknown") != 0 ? nv[i] : "",
			    SDLISTEN_NAMELEN);
		if (nv != NULL)
			free(nv[i]);
	}
	free(nv);
#else
	const char	*fdnames = getenv("LISTEN_FDNAMES");

	n = sdlisten_parse(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	    getpid());
	if (n == -1) {
		(void)snprintf(err, errlen,
		    "LISTEN_PID/LISTEN_FDS malformed: \"%s\"/\"%s\"",
		    getenv("LISTEN_PID"), getenv("LISTEN_FDS"));
	}
	for (i = 0; i < n; i++) {
		if ((size_t)i < max) {
			sdlisten_name(fdnames, (size_t)i, names[i],
			    SDLISTEN_NAMELEN);
			if (strcmp(names[i], "unknown") == 0)
				names[i][0] = '\0';
		}
		if (fcntl(SDLISTEN_FIRST + i, F_SETFD, FD_CLOEXEC) == -1) {
			(void)snprintf(err, errlen, "LISTEN_FDS: fd %d: %s",
			    SDLISTEN_FIRST + i, strerror(errno));
			n = -1;
			break;
		}
	}
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
#endif
	if (n > 0 && (size_t)n > max) {
		(void)snprintf(err, errlen,
		    "systemd passed %d sockets; echod serves at most %zu", n,
		    max);
		return -1;
	}
	return n;
}
