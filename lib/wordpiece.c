#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "json.h"
#include "unicode.h"
#include "mem.h"
#include "wordpiece.h"

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

/* The normalizer */

/* The CJK ideograph blocks as Hugging Face tokenizers' BertNormalizer lists them. */
static int is_cjk(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
	       (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int is_ascii_punct(int c)
{
	return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* One normalization: its options, its output, and the combining marks held back for canonical
 * ordering. Only marks that survive accent stripping (not Mn: a few Mc such as U+1D165) are held,
 * for their order among themselves is all that reordering can change in the output. A run of more
 * than 64 of them is ordered in pieces of 64. */
struct norm {
	const struct bert_normalizer *o;
	struct buf *out;
	int32_t marks[64];
	int nmarks;
};

static int emit(struct norm *z, int32_t c)
{
	int32_t low[2];
	int n = 1;
	if (z->o->lowercase)
		n = uc_lowercase(c, low);
	else
		low[0] = c;
	if (buf_grow(z->out, 8) < 0)
		return E_NOMEM;
	for (int i = 0; i < n; i++)
		z->out->n += (size_t)utf8_encode(low[i], z->out->p + z->out->n);
	return 0;
}

/* Emits the held marks in canonical order: a stable sort by combining class. */
static int flush_marks(struct norm *z)
{
	int last = 0;
	for (int done = 0; done < z->nmarks;) {
		int next = 256;
		for (int i = 0; i < z->nmarks; i++) {
			int k = uc_combining_class(z->marks[i]);
			if (k > last && k < next)
				next = k;
		}
		for (int i = 0; i < z->nmarks; i++)
			if (uc_combining_class(z->marks[i]) == next) {
				if (emit(z, z->marks[i]) < 0)
					return E_NOMEM;
				done++;
			}
		last = next;
	}
	z->nmarks = 0;
	return 0;
}

/* One character of the canonical decomposition, with accents stripped. */
static int put_decomposed(struct norm *z, int32_t c)
{
	int ccc = uc_combining_class(c);
	if (ccc == 0) {
		if (z->nmarks && flush_marks(z) < 0)
			return E_NOMEM;
		return uc_is_nonspacing_mark(c) ? 0 : emit(z, c);
	}
	if (uc_is_nonspacing_mark(c))
		return 0;
	if (z->nmarks == (int)(sizeof z->marks / sizeof *z->marks) && flush_marks(z) < 0)
		return E_NOMEM;
	z->marks[z->nmarks++] = c;
	return 0;
}

static int put(struct norm *z, int32_t c)
{
	if (!z->o->strip_accents)
		return emit(z, c);
	int32_t d[UC_DECOMPOSE_MAX] = { c };
	int n = c < 0x80 ? 1 : uc_decompose(c, d);
	for (int i = 0; i < n; i++)
		if (put_decomposed(z, d[i]) < 0)
			return E_NOMEM;
	return 0;
}

static int put_cleaned(struct norm *z, int32_t c)
{
	if (z->o->clean_text) {
		if (c == 0 || c == 0xFFFD || (uc_is_other(c) && c != '\t' && c != '\n' && c != '\r'))
			return 0;
		if (uc_is_space(c))
			c = ' ';
	}
	if (!z->o->chinese_chars || !is_cjk(c))
		return put(z, c);
	if (put(z, ' ') < 0 || put(z, c) < 0 || put(z, ' ') < 0)
		return E_NOMEM;
	return 0;
}

int bert_normalize(const struct bert_normalizer *o, const char *s, size_t n, struct buf *out)
{
	struct norm z = { .o = o, .out = out };
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		int32_t c;
		/* Plain ASCII with nothing held back: the common case, done here. */
		if (u[i] < 0x80 && !z.nmarks && u[i] >= 0x20 && u[i] != 0x7F) {
			if (buf_grow(out, 1) < 0)
				return E_NOMEM;
			c = u[i++];
			out->p[out->n++] = (char)(o->lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c);
			continue;
		}
		i += (size_t)utf8_decode(u + i, n - i, &c);
		if (put_cleaned(&z, c) < 0)
			return E_NOMEM;
	}
	return flush_marks(&z);
}

/* The pre-tokenizer and the model */

static int word_to_ids(struct wordpiece *w, const char *s, size_t n, size_t chars, struct ids *out)
{
	if (chars > w->max_chars)
		return ids_push(out, w->unk);
	size_t plen = w->prefix_len, longest = vocab_longest(w->vocab);
	w->word.n = 0;
	if (buf_grow(&w->word, plen + n) < 0)
		return E_NOMEM;
	/* The word sits after room for the prefix, which is written just before each continuation
	 * piece, over bytes already matched. */
	char *base = w->word.p + plen;
	memcpy(base, s, n);
	size_t mark = out->n;
	for (size_t start = 0; start < n;) {
		size_t extra = start ? plen : 0;
		size_t end = longest < extra ? start : start + (longest - extra);
		if (end >= n)
			end = n;
		while (end > start && end < n && (base[end] & 0xC0) == 0x80)
			end--;
		long id = -1;
		if (start)
			memcpy(base + start - plen, w->prefix, plen);
		while (end > start) {
			if ((id = vocab_get(w->vocab, base + start - extra, end - start + extra)) >= 0)
				break;
			do
				end--;
			while (end > start && (base[end] & 0xC0) == 0x80);
		}
		if (id < 0) {
			out->n = mark;
			return ids_push(out, w->unk);
		}
		if (ids_push(out, (uint32_t)id) < 0)
			return E_NOMEM;
		start = end;
	}
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

/* One word: its ids, then the room they take. 0, 1 when the room is used up, or E_NOMEM. */
static int word(struct wordpiece *w, const char *s, size_t n, size_t chars, struct ids *out, size_t *room)
{
	size_t before = out->n;
	if (word_to_ids(w, s, n, chars, out) < 0)
		return E_NOMEM;
	return room_spend(room, out->n - before);
}

int wordpiece_encode(struct wordpiece *w, const char *s, size_t n, struct ids *out, size_t *room)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = 0, chars = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		int32_t c;
		int len = utf8_decode(u + i, n - i, &c);
		int space = uc_is_space(c);
		int punct = !space && (c < 0x80 ? is_ascii_punct(c) : uc_is_punctuation(c));
		if (!space && !punct) {
			i += (size_t)len;
			chars++;
			continue;
		}
		if (i > start)
			rc = word(w, s + start, i - start, chars, out, room);
		if (punct && rc == 0)
			rc = word(w, s + i, (size_t)len, 1, out, room);
		i += (size_t)len;
		start = i;
		chars = 0;
	}
	if (n > start && rc == 0)
		rc = word(w, s + start, n - start, chars, out, room);
	return rc;
}

void wordpiece_free(struct wordpiece *w)
{
	vocab_free(w->vocab);
	free(w->word.p);
	memset(w, 0, sizeof *w);
}
