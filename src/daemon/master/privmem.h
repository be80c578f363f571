/*
 * privmem.h: memory only the master ever looks at (issue #10).
 *
 *	privmem_alloc(n, size)	zeroed room for n objects of size bytes,
 *				or NULL (errno set); never shared with a
 *				child: on Linux the pages are marked
 *				MADV_WIPEONFORK, so a child sees them
 *				zero-filled and owns none of them
 *	privmem_free(p, n, size)	gives it back
 *
 * Why: after fork() every page the master writes (its child table, its
 * poll set, rewritten on every fork) is copied for the master, and the
 * child keeps the old copy as a private page it never reads.  With a
 * thousand children held that was 8 KiB each of nothing.
 */
#ifndef ECHOD_PRIVMEM_H
#define ECHOD_PRIVMEM_H

#include <stddef.h>

void	*privmem_alloc(size_t, size_t);
void	 privmem_free(void *, size_t, size_t);

#endif
