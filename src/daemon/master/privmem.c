/*
 * privmem.c: memory only the master ever looks at (see privmem.h).
 *
 * A mapping of its own, since MADV_WIPEONFORK works on whole pages and
 * the heap's pages are shared with whatever else malloc put there.
 * Where the kernel lacks MADV_WIPEONFORK (before Linux 4.14, or another
 * system) the memory is still correct, only copied into children as
 * before.
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "privmem.h"

static size_t
privmem_len(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return 0;
	return n * size;
}

void *
privmem_alloc(size_t n, size_t size)
{
	size_t	len = privmem_len(n, size);
	void	*p;

	if (len == 0) {		/* nothing asked, or an overflow */
		errno = n != 0 && size != 0 ? ENOMEM : EINVAL;
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_WIPEONFORK
	(void)madvise(p, len, MADV_WIPEONFORK);
#endif
	return p;
}

void
privmem_free(void *p, size_t n, size_t size)
{
	size_t	len = privmem_len(n, size);

	if (p != NULL && len != 0)
		(void)munmap(p, len);
}
