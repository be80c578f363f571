/*
 * sdnotify.c: tell systemd how echod is doing (see sdnotify.h).
 *
 * The protocol (sd_notify(3)): newline-separated VAR=VALUE lines in one
 * datagram to the AF_UNIX socket NOTIFY_SOCKET names; a leading '@' is
 * the abstract namespace.  Sending never blocks the loop (MSG_DONTWAIT)
 * and a failure is logged once, never fatal: the service manager may be
 * gone, the daemon must keep serving.  Only the master sends; children
 * call sdnotify_child() so a stray call in one does nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "clock.h"
#include "log.h"
#include "sdnotify.h"

#define STATUS_MIN_MS	1000	/* at most one STATUS= a second */

static int	 nfy_on;		/* NOTIFY_SOCKET was set */
static int	 nfy_warned;
static uint64_t	 wd_usec;		/* WATCHDOG_USEC, 0: off */
static long long wd_next_ms;
static long long status_last_ms = -STATUS_MIN_MS;
static int	 status_held;		/* a change not yet sent */
static char	 status_msg[512];
static char	 nfy_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];

uint64_t
sdnotify_watchdog_parse(const char *usec, const char *pid, pid_t self)
{
	long long	v;
	const char	*e;

	if (usec == NULL || *usec == '\0')
		return 0;
	/* WATCHDOG_PID, when set, must name us: a child would not. */
	if (pid != NULL && *pid != '\0') {
		v = strtonum(pid, 1, INT32_MAX, &e);
		if (e != NULL || (pid_t)v != self)
			return 0;
	}
	v = strtonum(usec, 1, LLONG_MAX, &e);
	if (e != NULL)
		return 0;
	return (uint64_t)v;
}

size_t
sdnotify_format_status(const struct stats *st, const char *model, char *buf,
    size_t len)
{
	int	n;

	n = snprintf(buf, len,
	    "STATUS=%s: %d workers, %d idle, %d busy; %" PRIu64 " served, %"
	    PRIu64 " refused", model, st->workers, st->idle, st->busy,
	    st->served, st->refused);
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

size_t
sdnotify_format_reloading(uint64_t usec, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

int
sdnotify_send_to(const char *path, const char *msg)
{
	struct sockaddr_un	sun;
	socklen_t		slen;
	size_t			plen = strlen(path);
	ssize_t			n;
	int			fd, saved;

	if (plen < 2 || (path[0] != '/' && path[0] != '@') ||
	    plen > sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	do
		n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
		    (struct sockaddr *)&sun, slen);
	while (n == -1 && errno == EINTR);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return n == -1 ? -1 : 0;
}

int
sdnotify_send(const char *msg)
{
	int	rc;

	if (!nfy_on)
		return 0;
#ifdef HAVE_LIBSYSTEMD
	rc = sd_notify(0, msg);
	if (rc < 0)
		errno = -rc;
	rc = rc < 0 ? -1 : 0;
#else
	rc = sdnotify_send_to(nfy_path, msg);
#endif
	if (rc == -1 && !nfy_warned) {
		nfy_warned = 1;
		log_warn("sd_notify to %s", nfy_path);
	}
	return rc;
}

int
sdnotify_init(void)
{
	const char	*p = getenv("NOTIFY_SOCKET");

	nfy_on = p != NULL && *p != '\0';
	if (nfy_on && strlcpy(nfy_path, p, sizeof(nfy_path)) >=
	    sizeof(nfy_path)) {
		log_warnx("NOTIFY_SOCKET too long: not notifying");
		nfy_on = 0;
	}
	wd_usec = sdnotify_watchdog_parse(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), getpid());
	/* The watchdog is ours, not our children's. */
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
	if (!nfy_on)
		wd_usec = 0;
	if (wd_usec != 0)
		wd_next_ms = clock_ms();
	return nfy_on;
}

int
sdnotify_enabled(void)
{
	return nfy_on;
}

void
sdnotify_ready(const struct stats *st, const char *model, int mainpid)
{
	char	msg[600], status[512];

	if (!nfy_on)
		return;
	if (sdnotify_format_status(st, model, status, sizeof(status)) == 0)
		status[0] = '\0';
	/* After -D the pid systemd forked is gone: name the one serving. */
	if (mainpid)
		(void)snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\n%s",
		    (long)getpid(), status);
	else
		(void)snprintf(msg, sizeof(msg), "READY=1\n%s", status);
	(void)sdnotify_send(msg);
	status_last_ms = clock_ms();
	status_held = 0;
}

void
sdnotify_status(const struct stats *st, const char *model)
{
	char	msg[sizeof(status_msg)];

	if (!nfy_on)
		return;
	if (sdnotify_format_status(st, model, msg, sizeof(msg)) == 0)
		return;
	if (strcmp(msg, status_msg) == 0 && !status_held)
		return;			/* nothing a reader would see */
	(void)strlcpy(status_msg, msg, sizeof(status_msg));
	status_held = 1;
	if (clock_ms() - status_last_ms >= STATUS_MIN_MS)
		(void)sdnotify_tick();
}

void
sdnotify_reloading(int begin)
{
	char	msg[128];

	if (!nfy_on)
		return;
	if (begin) {
		if (sdnotify_format_reloading((uint64_t)clock_us(), msg,
		    sizeof(msg)) != 0)
			(void)sdnotify_send(msg);
	} else
		(void)sdnotify_send("READY=1");
}

void
sdnotify_stopping(void)
{
	(void)sdnotify_send("STOPPING=1");
}

int
sdnotify_tick(void)
{
	long long	now, left, wait = -1;

	if (!nfy_on)
		return -1;
	now = clock_ms();
	if (status_held) {
		left = status_last_ms + STATUS_MIN_MS - now;
		if (left <= 0) {
			(void)sdnotify_send(status_msg);
			status_last_ms = now;
			status_held = 0;
		} else
			wait = left;
	}
	if (wd_usec != 0) {
		if (now >= wd_next_ms) {
			(void)sdnotify_send("WATCHDOG=1");
			wd_next_ms = now + (wd_usec >= 2000 ?
			    (long long)(wd_usec / 2000) : 1);
		}
		left = wd_next_ms - now;
		if (wait == -1 || left < wait)
			wait = left;
	}
	if (wait > INT32_MAX)
		wait = INT32_MAX;
	return (int)wait;
}

void
sdnotify_child(void)
{
	/* Written only if set: a page a child writes is its own. */
	if (nfy_on)
		nfy_on = 0;
	if (wd_usec)
		wd_usec = 0;
	if (status_held)
		status_held = 0;
}
