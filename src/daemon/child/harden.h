/*
 * harden.h: what a serving process gives up once it is set up (issue #5).
 *
 * harden_child() runs last in child_init(), after the privilege drop
 * (svc_child_setup): the process then holds only the descriptors it
 * serves, may open only a few more (RLIMIT_NOFILE), can never gain
 * privileges again (PR_SET_NO_NEW_PRIVS) and, built with libseccomp,
 * may make only the system calls echoing needs: the Linux counterpart
 * of OpenBSD's pledge("stdio inet").  kind is CHILD_CONN, CHILD_WORKER
 * or CHILD_UDP (server.h): workers may also accept and use epoll, the
 * UDP worker recvmmsg/sendmmsg.
 *
 * harden_keep_fd() names, before child_init(), a descriptor the next
 * child must keep besides stdio and its listeners (its connection, a
 * pipe to the master).  The list is cleared by harden_child().
 */
#ifndef ECHOD_HARDEN_H
#define ECHOD_HARDEN_H

struct server;

#define HARDEN_KEEP_MAX		8
#define HARDEN_FD_HEADROOM	8	/* fds a child may still open */

void	harden_keep_fd(int);
void	harden_child(struct server *, int);
/* The seccomp filter alone (tests): 0, or -1 if not built or failed. */
int	harden_seccomp(int);

#endif
