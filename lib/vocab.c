#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "json.h"
#include "mem.h"
#include "unicode.h"
#include "vocab.h"

/* Buffers */

int buf_grow(struct buf *b, size_t n)
{
	return grow((void **)&b->p, &b->cap, b->n + n, 1);
}

int ids_grow(struct ids *v, size_t n)
{
	return grow((void **)&v->p, &v->cap, v->n + n, sizeof *v->p);
}

int ids_push(struct ids *v, uint32_t id)
{
	if (v->n == v->cap && ids_grow(v, 1) < 0)
		return E_NOMEM;
	v->p[v->n++] = id;
	return 0;
}

int room_spend(size_t *room, size_t made)
{
	if (made >= *room) {
		*room = 0;
		return 1;
	}
	*room -= made;
	return 0;
}

/* The vocabulary table */

#define EMPTY UINT32_MAX

struct slot {
	uint32_t hash, off, len, id; /* off EMPTY: a free slot */
};

struct vocab {
	struct slot *slots;
	size_t mask, count, longest;
	struct buf text; /* every entry's bytes */
};

/* A fast hash of short byte strings: 8 bytes at a time, multiply and fold. */
static uint32_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n, v;
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
		h ^= h >> 31;
	}
	v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0x94D049BB133111EBull;
	return (uint32_t)(h ^ h >> 32);
}

struct vocab *vocab_new(void)
{
	struct vocab *v = calloc(1, sizeof *v);
	size_t n = 1024;
	if (v)
		v->slots = malloc(n * sizeof *v->slots);
	if (!v || !v->slots) {
		free(v);
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v->slots[i].off = EMPTY;
	v->mask = n - 1;
	return v;
}

void vocab_free(struct vocab *v)
{
	if (!v)
		return;
	free(v->slots);
	free(v->text.p);
	free(v);
}

static struct slot *find(const struct vocab *v, const char *s, size_t n, uint32_t h)
{
	for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
		struct slot *e = &v->slots[i];
		if (e->off == EMPTY || (e->hash == h && e->len == n && !memcmp(v->text.p + e->off, s, n)))
			return e;
	}
}

static int rehash(struct vocab *v)
{
	size_t n = (v->mask + 1) * 2;
	struct slot *old = v->slots, *slots = malloc(n * sizeof *slots);
	if (!slots)
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		slots[i].off = EMPTY;
	size_t oldn = v->mask + 1;
	v->slots = slots;
	v->mask = n - 1;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].off != EMPTY) {
			size_t j = old[i].hash & v->mask;
			while (slots[j].off != EMPTY)
				j = (j + 1) & v->mask;
			slots[j] = old[i];
		}
	free(old);
	return 0;
}

int vocab_put(struct vocab *v, const char *s, size_t n, uint32_t id)
{
	if (2 * (v->count + 1) > v->mask + 1 && rehash(v) < 0)
		return E_NOMEM;
	uint32_t h = hash_bytes(s, n);
	struct slot *e = find(v, s, n, h);
	if (e->off != EMPTY) {
		e->id = id;
		return 0;
	}
	if (v->text.n + n >= EMPTY)
		return err_set(E_NOMEM, "vocabulary too large");
	if (buf_grow(&v->text, n + 1) < 0)
		return E_NOMEM;
	memcpy(v->text.p + v->text.n, s, n);
	*e = (struct slot){ h, (uint32_t)v->text.n, (uint32_t)n, id };
	v->text.n += n;
	v->count++;
	if (n > v->longest)
		v->longest = n;
	return 0;
}

void vocab_clear(struct vocab *v)
{
	for (size_t i = 0; i <= v->mask; i++)
		v->slots[i].off = EMPTY;
	v->count = v->longest = v->text.n = 0;
}

long vocab_get(const struct vocab *v, const char *s, size_t n)
{
	const struct slot *e = find(v, s, n, hash_bytes(s, n));
	return e->off == EMPTY ? -1 : (long)e->id;
}

size_t vocab_count(const struct vocab *v)
{
	return v->count;
}

size_t vocab_longest(const struct vocab *v)
{
	return v->longest;
}

int vocab_each(const struct vocab *v, int (*fn)(void *ctx, const char *s, size_t n, uint32_t id), void *ctx)
{
	for (size_t i = 0; i <= v->mask; i++) {
		const struct slot *e = &v->slots[i];
		int rc = e->off == EMPTY ? 0 : fn(ctx, v->text.p + e->off, e->len, e->id);
		if (rc)
			return rc;
	}
	return 0;
}

/* The length of s[0..n) without its trailing whitespace (Rust's str::trim_end). */
static size_t trim_end(const char *s, size_t n)
{
	size_t i = 0, keep = 0;
	while (i < n) {
		int32_t c;
		int len = utf8_decode((const unsigned char *)s + i, n - i, &c);
		i += (size_t)len;
		if (!uc_is_space(c))
			keep = i;
	}
	return keep;
}

int vocab_read_lines(struct vocab *v, const char *path)
{
	size_t n;
	char *text = read_file(path, &n);
	if (!text)
		return E_IO;
	int rc = 0;
	size_t line = 0;
	for (char *p = text, *end = text + n; p < end && rc == 0; line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (utf8_check(p, len) != len)
			rc = err_set(E_FORMAT, "%s: line %zu: invalid UTF-8", path, line + 1);
		else
			rc = vocab_put(v, p, trim_end(p, len), (uint32_t)line);
		p += len + 1;
	}
	free(text);
	return rc;
}

int vocab_read_json(struct vocab *v, const struct json *j, int obj, const char *where)
{
	if (json_type(j, obj) != J_OBJECT)
		return err_set(E_FORMAT, "%s: not an object of tokens and ids", where);
	for (size_t i = 0; i < json_len(j, obj); i++) {
		const char *key;
		long long id;
		int node = json_at(j, obj, i, &key);
		size_t n = strlen(key);
		if (json_int(j, node, 0, UINT32_MAX - 1, &id) < 0)
			return err_set(E_FORMAT, "%s: the id of '%s' is not a whole number", where, key);
		if (utf8_check(key, n) != n)
			return err_set(E_FORMAT, "%s: token %zu is not UTF-8", where, i + 1);
		if (vocab_put(v, key, n, (uint32_t)id) < 0)
			return E_NOMEM;
	}
	return 0;
}

/* Comparing */

/* The lowest id of the entries of one table that the other does not hold alike. */
struct difference {
	const struct vocab *other;
	long lowest;
};

static int unmatched(void *ctx, const char *s, size_t n, uint32_t id)
{
	struct difference *d = ctx;
	if (vocab_get(d->other, s, n) != (long)id && (d->lowest < 0 || id < (uint32_t)d->lowest))
		d->lowest = id;
	return 0;
}

long vocab_first_difference(const struct vocab *a, const struct vocab *b)
{
	struct difference d = { b, -1 };
	vocab_each(a, unmatched, &d);
	d.other = a;
	vocab_each(b, unmatched, &d);
	return d.lowest;
}

struct text_of {
	uint32_t id;
	const char *s;
	size_t n;
};

static int has_id(void *ctx, const char *s, size_t n, uint32_t id)
{
	struct text_of *t = ctx;
	if (id != t->id)
		return 0;
	t->s = s;
	t->n = n;
	return 1;
}

const char *vocab_text(const struct vocab *v, uint32_t id, size_t *n)
{
	struct text_of t = { id, NULL, 0 };
	vocab_each(v, has_id, &t);
	*n = t.n;
	return t.s;
}
