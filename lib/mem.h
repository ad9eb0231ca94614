/* mem.h: growing arrays, one way everywhere: an array and its capacity, doubled as needed;
 * arrays of one length sharing a capacity; and a table of arrays laid out in one allocation, as
 * llm.c lays out its activations (a list of pointers and sizes, one allocation for them all). */
#ifndef ELSA_MEM_H
#define ELSA_MEM_H

#include <stddef.h>

/* Makes *p (an array of *cap items of size bytes) hold at least need items, doubling its
 * capacity (from 64). 0, or E_NOMEM with *p unchanged. */
int grow(void **p, size_t *cap, size_t need, size_t size);

/* An array of a table: where its pointer is, and the size of its items. */
struct grow_array {
	void **p;
	size_t size;
};
#define GROW_ARRAY(ptr) { (void **)&(ptr), sizeof *(ptr) }

/* grow() for n arrays of one length that share the capacity *cap: each holds at least need
 * items. 0, or E_NOMEM with *cap unchanged and every array valid, its items kept. */
int grow_together(const struct grow_array *arrays, int n, size_t *cap, size_t need);

/* An array of a plan: where its pointer is, the size of its items, and how many it holds. */
struct plan_array {
	void **p;
	size_t size, count;
};
#define PLAN_ARRAY(ptr, n) { (void **)&(ptr), sizeof *(ptr), (n) }

/* Lays the n arrays end to end in the one allocation *mem (*cap bytes), each at a 64-byte
 * boundary, and points them into it. *mem grows when they need more, never shrinks, and keeps
 * nothing of what the arrays held. 0, or E_NOMEM with *mem freed, *cap 0 and every array NULL. */
int plan_reserve(void **mem, size_t *cap, const struct plan_array *arrays, int n);

#endif
