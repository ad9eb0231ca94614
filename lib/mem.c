#include <stdlib.h>

#include "err.h"
#include "mem.h"

#define PLAN_ALIGN 64

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

int grow_together(const struct grow_array *arrays, int n, size_t *cap, size_t need)
{
	size_t grown = *cap;
	for (int k = 0; k < n; k++) {
		grown = *cap; /* each array grows from the shared capacity to the same new one */
		if (grow(arrays[k].p, &grown, need, arrays[k].size) < 0)
			return E_NOMEM;
	}
	*cap = grown;
	return 0;
}

/* The bytes an array takes in a plan: its own, rounded up to the alignment. */
static size_t place_bytes(const struct plan_array *a)
{
	return (a->count * a->size + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

int plan_reserve(void **mem, size_t *cap, const struct plan_array *arrays, int n)
{
	size_t need = 0;
	for (int k = 0; k < n; k++)
		need += place_bytes(&arrays[k]);
	if (need > *cap) {
		free(*mem);
		*cap = 0;
		if (!(*mem = aligned_alloc(PLAN_ALIGN, need))) {
			for (int k = 0; k < n; k++)
				*arrays[k].p = NULL;
			return err_set(E_NOMEM, "out of memory");
		}
		*cap = need;
	}
	size_t at = 0;
	for (int k = 0; k < n; k++) {
		*arrays[k].p = *mem ? (char *)*mem + at : NULL;
		at += place_bytes(&arrays[k]);
	}
	return 0;
}
