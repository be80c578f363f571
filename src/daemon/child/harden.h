/*
 * harden.h: the seccomp filter of a serving process (issue #5, #9).
 *
 * A serving process may make only the system calls echoing needs: the
 * Linux counterpart of OpenBSD's pledge("stdio inet").  kind is
 * CHILD_CONN, CHILD_WORKER or CHILD_UDP (server.h): workers may also
 * accept and use epoll, the UDP worker recvmmsg/sendmmsg.
 *
 * harden_filter_export() compiles kind's filter into a BPF program (in
 * the master, once: spawn_prepare); harden_filter_install() installs it
 * with one seccomp(2) call (in the child, after PR_SET_NO_NEW_PRIVS).
 * The order of everything else a serving process gives up is spawn.c's.
 */
#ifndef ECHOD_HARDEN_H
#define ECHOD_HARDEN_H

#include <linux/filter.h>

#define HARDEN_FD_HEADROOM	8	/* fds a child may still open */

/* 0 and a malloc'd program, or -1 (errno; ENOSYS: built without). */
int	harden_filter_export(int, struct sock_fprog *);
int	harden_filter_install(const struct sock_fprog *);
/* Export, no_new_privs and install in this process (tests). */
int	harden_seccomp(int);
#ifdef ECHOD_TEST_HOOKS
/* ECHOD_TEST_FORBIDDEN_SYSCALL=execve|socket, once confined. */
void	harden_test_forbidden(const char *);
#endif

#endif
