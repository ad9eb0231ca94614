#include <stdlib.h>

#include "err.h"
#include "mem.h"

int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return err_set(E_NOMEM, "out of memory");
	*p = q;
	*cap = c;
	return 0;
}
