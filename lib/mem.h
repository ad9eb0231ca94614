/* mem.h: growing arrays, one way everywhere: an array and its capacity, doubled as needed. */
#ifndef ELSA_MEM_H
#define ELSA_MEM_H

#include <stddef.h>

/* Makes *p (an array of *cap items of size bytes) hold at least need items, doubling its
 * capacity (from 64). 0, or E_NOMEM with *p unchanged. */
int grow(void **p, size_t *cap, size_t need, size_t size);

#endif
