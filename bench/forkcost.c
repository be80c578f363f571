/*
 * forkcost.c: the physical limit of fork-per-connection on this machine.
 * Times N x (fork; child _exit(0); parent waitpid) and prints the mean
 * microseconds per fork.  With -m MB the parent first touches that much
 * heap, to show how the cost grows with the parent's size.
 *
 * usage: forkcost [-m MB] [N]    (N defaults to 2000)
 * Built by `make bench` only; not installed.
 */
#include <sys/wait.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec t0, t1;
	double us;
	long i, n = 2000, mb = 0;
	int ch, st;
	pid_t pid;
	char *mem;

	while ((ch = getopt(argc, argv, "m:")) != -1)
		if (ch == 'm')
			mb = atol(optarg);
		else
			errx(64, "usage: forkcost [-m MB] [N]");
	if (optind < argc)
		n = atol(argv[optind]);
	if (n <= 0)
		errx(64, "bad N");
	if (mb > 0) {
		if ((mem = malloc((size_t)mb << 20)) == NULL)
			err(1, "malloc");
		memset(mem, 1, (size_t)mb << 20);
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		switch (pid = fork()) {
		case -1:
			err(1, "fork");
		case 0:
			_exit(0);
		}
		if (waitpid(pid, &st, 0) == -1)
			err(1, "waitpid");
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / (double)n;
	printf("forkcost: %ld forks, %.1f us per fork+_exit+waitpid"
	    " (parent %ld MB touched)\n", n, us, mb);
	return 0;
}
