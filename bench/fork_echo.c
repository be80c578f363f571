/*
 * fork_echo.c: the reference for fork-per-connection, as small as it
 * gets: blocking accept; fork; the child echoes with read/write and
 * _exits; the parent closes its copy.  SIGCHLD is SIG_IGN so the kernel
 * reaps.  No limits, no logging, no signal handling: what echod's fork
 * model is measured against.
 *
 * usage: fork_echo [-f child|parent] [HOST] PORT   (PORT 0: any; printed
 * on stdout line 1).  Built by `make bench` only; not installed.
 *
 * -f measures what confinement costs a fork per connection (issue #10):
 * a seccomp filter of about echod's size (46 system calls allowed, the
 * rest kill) installed by every child before it serves (-f child: what
 * SPEC asks of every serving process, so what echod's fork model pays),
 * or once by the parent, its children inheriting it by reference (-f
 * parent: what a pre-confined spawner, a zygote, would pay).
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#endif

static struct sock_fprog	filter;	/* -f: compiled once, at start */

#ifdef HAVE_SECCOMP
static const int	allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(close),
	SCMP_SYS(shutdown), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(fcntl), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield), SCMP_SYS(brk),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(getrandom), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(mmap), SCMP_SYS(mprotect),
	/* the parent's, for -f parent */
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(clone),
	SCMP_SYS(set_robust_list), SCMP_SYS(wait4),
};

/* The program, exported by libseccomp through a memfd. */
static void
compile(void)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	off_t		 size;
	int		 fd;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		errx(1, "seccomp_init");
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) != 0)
			errx(1, "seccomp_rule_add");
	if ((fd = memfd_create("fork_echo-bpf", MFD_CLOEXEC)) == -1 ||
	    seccomp_export_bpf(ctx, fd) != 0 ||
	    (size = lseek(fd, 0, SEEK_END)) <= 0 ||
	    (filter.filter = malloc((size_t)size)) == NULL ||
	    pread(fd, filter.filter, (size_t)size, 0) != size)
		err(1, "seccomp_export_bpf");
	filter.len = (unsigned short)(size / sizeof(struct sock_filter));
	(void)close(fd);
	seccomp_release(ctx);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		err(1, "PR_SET_NO_NEW_PRIVS");
}

static int
install(void)
{
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter);
}
#else
static void
compile(void)
{
	errx(64, "-f: built without libseccomp");
}

static int
install(void)
{
	return -1;
}
#endif

static void
serve(int fd)
{
	char buf[65536];
	ssize_t n, w, off;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (off = 0; off < n; off += w)
			if ((w = write(fd, buf + off, (size_t)(n - off))) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				_exit(1);
			}
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	socklen_t len;
	const char *host = "127.0.0.1";
	int lfd, fd, one = 1, per_child = 0;

	if (argc >= 3 && strcmp(argv[1], "-f") == 0) {
		if (strcmp(argv[2], "child") == 0)
			per_child = 1;
		else if (strcmp(argv[2], "parent") != 0)
			errx(64, "-f: child or parent, not \"%s\"", argv[2]);
		compile();
		argc -= 2;
		argv += 2;
	}
	if (argc == 3)
		host = argv[1];
	else if (argc != 2)
		errx(64, "usage: fork_echo [-f child|parent] [HOST] PORT");
	(void)signal(SIGCHLD, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[argc - 1]));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		errx(64, "bad address %s", host);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind %s:%s", host, argv[argc - 1]);
	if (listen(lfd, 4096) == -1)
		err(1, "listen");
	len = sizeof(sin);
	(void)getsockname(lfd, (struct sockaddr *)&sin, &len);
	printf("%u\n", ntohs(sin.sin_port));
	(void)fflush(stdout);
	if (filter.len > 0 && !per_child && install() == -1)
		err(1, "seccomp");

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;	/* EINTR, ECONNABORTED, EMFILE... */
		switch (fork()) {
		case -1:
			break;
		case 0:
			(void)close(lfd);
			if (per_child && install() == -1)
				_exit(1);
			serve(fd);
			/* NOTREACHED */
		}
		(void)close(fd);
	}
}
