#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "err.h"
#include "io.h"
#include "json.h"
#include "mem.h"
#include "rng.h"
#include "unicode.h"

#define NO_MERGE UINT64_MAX
#define CACHE_WORDS (1 << 16) /* the cache is emptied when it holds this many words */
#define CACHE_LONGEST 256     /* longer words are not cached */

/* A merge rule: the pair of ids (left << 32 | right), its rank, the id of the merged token. */
struct merge {
	uint64_t pair;
	uint32_t rank, id;
};

/* A symbol of the word being merged, in a list; a merged-away symbol is dead. */
struct sym {
	uint32_t id;
	int32_t prev, next;
	int dead;
};

/* A candidate merge of the symbol at pos with the one after it. */
struct cand {
	uint32_t rank, pos, id;
};

struct bpe {
	struct bpe_options o;
	struct vocab *vocab;
	uint32_t byte_id[256];    /* id of each byte's token; UINT32_MAX: none (see byte_ids) */
	char byte_text[256][2];   /* each byte's character (byte-to-unicode), in UTF-8 */
	int byte_len[256];
	struct merge *merges;     /* open addressing on pair */
	size_t merge_mask;
	struct vocab *cache;      /* word bytes to an offset in cache_ids: count, then ids */
	struct ids cache_ids;
	struct sym *syms;         /* scratch for one word */
	size_t syms_cap;
	struct cand *heap;
	size_t heap_n, heap_cap;
	struct buf spaced;        /* scratch: a text with its prefix space */
	struct buf text;          /* scratch: a word's characters */
};

/* The byte-to-unicode table of GPT-2: printable Latin-1 bytes stand for themselves, the others
 * take the code points from 256 on, in byte order. */
static void byte_table(struct bpe *b)
{
	int32_t next = 256;
	for (int c = 0; c < 256; c++) {
		int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
		b->byte_len[c] = utf8_encode(printable ? c : next++, b->byte_text[c]);
	}
}

static struct merge *merge_slot(const struct bpe *b, uint64_t pair)
{
	for (size_t i = mix64(pair) & b->merge_mask;; i = (i + 1) & b->merge_mask)
		if (b->merges[i].pair == pair || b->merges[i].pair == NO_MERGE)
			return &b->merges[i];
}

static const struct merge *merge_find(const struct bpe *b, uint32_t left, uint32_t right)
{
	const struct merge *m = merge_slot(b, (uint64_t)left << 32 | right);
	return m->pair == NO_MERGE ? NULL : m;
}

static int read_vocab(struct bpe *b, const char *path)
{
	struct json *j = json_load(path);
	if (!j)
		return err_code();
	int rc = vocab_read_json(b->vocab, j, json_root(j), path);
	json_free(j);
	return rc;
}

/* The id of each byte's token. The bytes that well-formed UTF-8 never holds (0xC0, 0xC1, 0xF5 to
 * 0xFF) may have none, as in vocabularies learnt from UTF-8 text alone (ModernBERT's): texts are
 * checked before they are encoded, so those are never looked up. */
static int byte_ids(struct bpe *b, const char *path)
{
	for (int c = 0; c < 256; c++) {
		long id = vocab_get(b->vocab, b->byte_text[c], (size_t)b->byte_len[c]);
		int in_utf8 = c < 0xC0 || (c >= 0xC2 && c <= 0xF4);
		if (id < 0 && in_utf8)
			return err_set(E_FORMAT, "%s: no token for byte 0x%02X", path, c);
		b->byte_id[c] = id < 0 ? UINT32_MAX : (uint32_t)id;
	}
	return 0;
}

/* Why a merge rule is refused: what add_merge and merge_text return (0: taken). */
enum { LEFT_UNKNOWN = 1, RIGHT_UNKNOWN, MERGED_UNKNOWN, NOT_TWO, NOT_RULE };
static const char *const refusals[] = {
	"", "the left token is not in the vocabulary", "the right token is not in the vocabulary",
	"the merged token is not in the vocabulary", "not two tokens separated by a space",
	"not a string \"left right\" nor a pair [left, right] of strings",
};

/* Room for count rules, the table at most half full. */
static int merges_alloc(struct bpe *b, size_t count)
{
	size_t cap = 1024;
	while (cap < 2 * count)
		cap *= 2;
	b->merges = malloc(cap * sizeof *b->merges);
	if (!b->merges)
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < cap; i++)
		b->merges[i].pair = NO_MERGE;
	b->merge_mask = cap - 1;
	return 0;
}

/* The rank-th rule, left then right. 0, a refusal, or E_NOMEM. */
static int add_merge(struct bpe *b, const char *l, size_t ln, const char *r, size_t rn, uint32_t rank)
{
	long left = vocab_get(b->vocab, l, ln), right = vocab_get(b->vocab, r, rn);
	b->text.n = 0;
	if (buf_grow(&b->text, ln + rn) < 0)
		return E_NOMEM;
	memcpy(b->text.p, l, ln);
	memcpy(b->text.p + ln, r, rn);
	long id = vocab_get(b->vocab, b->text.p, ln + rn);
	if (left < 0 || right < 0 || id < 0)
		return left < 0 ? LEFT_UNKNOWN : right < 0 ? RIGHT_UNKNOWN : MERGED_UNKNOWN;
	struct merge *m = merge_slot(b, (uint64_t)left << 32 | (uint64_t)right);
	*m = (struct merge){ (uint64_t)left << 32 | (uint64_t)right, rank, (uint32_t)id };
	return 0;
}

/* A rule written "left right" (a line of merges.txt, or a string of tokenizer.json's merges). */
static int merge_text(struct bpe *b, const char *s, size_t n, uint32_t rank)
{
	const char *sp = memchr(s, ' ', n);
	if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp - s) - 1))
		return NOT_TWO;
	return add_merge(b, s, (size_t)(sp - s), sp + 1, n - (size_t)(sp - s) - 1, rank);
}

static int read_merges(struct bpe *b, const char *path)
{
	size_t n, lines = 1;
	char *text = read_file(path, &n);
	if (!text)
		return E_IO;
	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	int rc = merges_alloc(b, lines);
	uint32_t rank = 0;
	size_t line = 0;
	for (char *p = text, *end = text + n; p < end && rc == 0;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *next = p + len + 1;
		line++;
		if (len && p[len - 1] == '\r')
			len--;
		if (utf8_check(p, len) != len)
			rc = err_set(E_FORMAT, "%s: line %zu: invalid UTF-8", path, line);
		else if (len < 8 || memcmp(p, "#version", 8))
			rc = merge_text(b, p, len, rank++);
		if (rc > 0)
			rc = err_set(E_FORMAT, "%s: line %zu: %s", path, line, refusals[rc]);
		p = next;
	}
	free(text);
	return rc;
}

/* One item of tokenizer.json's merges: "left right", or [left, right] (where tokens may hold
 * spaces), the form newer Hugging Face tokenizers write. */
static int merge_item(struct bpe *b, const struct json *j, int item, uint32_t rank)
{
	size_t n = 0, ln = 0, rn = 0;
	const char *s = json_type(j, item) == J_STRING ? json_str(j, item, &n) : NULL;
	if (s)
		return merge_text(b, s, n, rank);
	int left = json_at(j, item, 0, NULL), right = json_at(j, item, 1, NULL);
	const char *l = json_type(j, left) == J_STRING ? json_str(j, left, &ln) : NULL;
	const char *r = json_type(j, right) == J_STRING ? json_str(j, right, &rn) : NULL;
	if (json_type(j, item) != J_ARRAY || json_len(j, item) != 2 || !l || !r)
		return NOT_RULE;
	return add_merge(b, l, ln, r, rn, rank);
}

static int merges_from_json(struct bpe *b, const struct json *j, int list, const char *file)
{
	if (json_type(j, list) != J_ARRAY)
		return err_set(E_FORMAT, "%s: model.merges is not an array of merge rules", file);
	int rc = merges_alloc(b, json_len(j, list));
	for (size_t i = 0; rc == 0 && i < json_len(j, list); i++)
		if ((rc = merge_item(b, j, json_at(j, list, i, NULL), (uint32_t)i)) > 0)
			rc = err_set(E_FORMAT, "%s: model.merges: merge %zu: %s", file, i + 1, refusals[rc]);
	return rc;
}

static struct bpe *bpe_new(const struct bpe_options *o)
{
	struct bpe *b = calloc(1, sizeof *b);
	if (!b) {
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	b->o = *o;
	byte_table(b);
	if (!(b->vocab = vocab_new()) || !(b->cache = vocab_new())) {
		bpe_free(b);
		return NULL;
	}
	return b;
}

struct bpe *bpe_load(const char *vocab_path, const char *merges_path, const struct bpe_options *o)
{
	struct bpe *b = bpe_new(o);
	if (b && (read_vocab(b, vocab_path) < 0 || byte_ids(b, vocab_path) < 0 || read_merges(b, merges_path) < 0)) {
		bpe_free(b);
		return NULL;
	}
	return b;
}

struct bpe *bpe_from_json(const struct json *j, int model, const struct bpe_options *o, const char *file)
{
	char where[4096];
	struct bpe *b = bpe_new(o);
	snprintf(where, sizeof where, "%s: model.vocab", file);
	if (b && (vocab_read_json(b->vocab, j, json_get(j, model, "vocab"), where) < 0 || byte_ids(b, where) < 0 ||
		  merges_from_json(b, j, json_get(j, model, "merges"), file) < 0)) {
		bpe_free(b);
		return NULL;
	}
	return b;
}

void bpe_free(struct bpe *b)
{
	if (!b)
		return;
	vocab_free(b->vocab);
	vocab_free(b->cache);
	free(b->cache_ids.p);
	free(b->merges);
	free(b->syms);
	free(b->heap);
	free(b->spaced.p);
	free(b->text.p);
	free(b);
}

const struct vocab *bpe_vocab(const struct bpe *b)
{
	return b->vocab;
}

/* The lowest rank, below lowest, of a rule of a that b does not hold alike. */
static uint32_t lowest_unmatched(const struct bpe *a, const struct bpe *b, uint32_t lowest)
{
	for (size_t i = 0; i <= a->merge_mask; i++) {
		const struct merge *m = &a->merges[i], *o;
		if (m->pair == NO_MERGE || m->rank >= lowest)
			continue;
		o = merge_find(b, (uint32_t)(m->pair >> 32), (uint32_t)m->pair);
		if (!o || o->rank != m->rank || o->id != m->id)
			lowest = m->rank;
	}
	return lowest;
}

long bpe_first_difference(const struct bpe *a, const struct bpe *b)
{
	uint32_t lowest = lowest_unmatched(b, a, lowest_unmatched(a, b, UINT32_MAX));
	return lowest == UINT32_MAX ? -1 : (long)lowest;
}

int bpe_rule(const struct bpe *b, uint32_t rank, uint32_t *left, uint32_t *right)
{
	for (size_t i = 0; i <= b->merge_mask; i++)
		if (b->merges[i].pair != NO_MERGE && b->merges[i].rank == rank) {
			*left = (uint32_t)(b->merges[i].pair >> 32);
			*right = (uint32_t)b->merges[i].pair;
			return 0;
		}
	return -1;
}

/* The pre-tokenizer: GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * tried alternative by alternative at each place, as the regex engine would. */

enum { SPACE, LETTER, NUMBER, OTHER };

/* The class of the character at s[i]; *len gets its length. */
static int char_class(const unsigned char *s, size_t n, size_t i, int *len)
{
	int32_t c = s[i];
	*len = 1;
	if (c >= 0x80)
		*len = utf8_decode(s + i, n - i, &c);
	else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return LETTER;
	else if (c >= '0' && c <= '9')
		return NUMBER;
	return uc_is_space(c) ? SPACE : uc_is_letter(c) ? LETTER : uc_is_number(c) ? NUMBER : OTHER;
}

static size_t contraction(const unsigned char *s, size_t n, size_t i)
{
	if (s[i] != '\'' || i + 1 >= n)
		return 0;
	unsigned char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

/* The end of the piece that starts at s[i]. */
static size_t gpt2_piece(const unsigned char *s, size_t n, size_t i)
{
	size_t k = contraction(s, n, i);
	if (k)
		return i + k;
	int len, cls = char_class(s, n, i, &len);
	size_t j = i;
	if (s[i] == ' ' && i + 1 < n) { /* " ?" before a letter, number or other character */
		int next = char_class(s, n, i + 1, &len);
		if (next != SPACE) {
			cls = next;
			j = i + 1;
		}
	}
	if (cls != SPACE) {
		while (j < n && char_class(s, n, j, &len) == cls)
			j += (size_t)len;
		return j;
	}
	/* Whitespace: the run, less its last character when a non-space follows (\s+(?!\S)), unless
	 * that would leave nothing (\s+). */
	size_t last = i;
	while (j < n && char_class(s, n, j, &len) == SPACE) {
		last = j;
		j += (size_t)len;
	}
	return j < n && last > i ? last : j;
}

/* Merging */

static int cand_less(const struct cand *a, const struct cand *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static int heap_push(struct bpe *b, const struct merge *m, size_t pos)
{
	if (!m)
		return 0;
	if (grow((void **)&b->heap, &b->heap_cap, b->heap_n + 1, sizeof *b->heap) < 0)
		return E_NOMEM;
	struct cand c = { m->rank, (uint32_t)pos, m->id }, *h = b->heap;
	size_t i = b->heap_n++;
	for (; i > 0 && cand_less(&c, &h[(i - 1) / 2]); i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = c;
	return 0;
}

static struct cand heap_pop(struct bpe *b)
{
	struct cand *h = b->heap, top = h[0], last = h[--b->heap_n];
	size_t i = 0, n = b->heap_n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && cand_less(&h[c + 1], &h[c]))
			c++;
		if (!cand_less(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (n)
		h[i] = last;
	return top;
}

/* Applies the merges to syms[0..n), lowest rank first and leftmost among equals; a candidate
 * whose symbols have changed since it was queued is dropped (Hugging Face's word.rs). */
static int merge_word(struct bpe *b, size_t n)
{
	struct sym *s = b->syms;
	b->heap_n = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (heap_push(b, merge_find(b, s[i].id, s[i + 1].id), i) < 0)
			return E_NOMEM;
	while (b->heap_n) {
		struct cand c = heap_pop(b);
		struct sym *x = &s[c.pos];
		if (x->dead || x->next < 0)
			continue;
		struct sym *y = &s[x->next];
		const struct merge *m = merge_find(b, x->id, y->id);
		if (!m || m->id != c.id)
			continue;
		x->id = c.id;
		x->next = y->next;
		y->dead = 1;
		if (x->next >= 0)
			s[x->next].prev = (int32_t)c.pos;
		if (x->prev >= 0 && heap_push(b, merge_find(b, s[x->prev].id, x->id), (size_t)x->prev) < 0)
			return E_NOMEM;
		if (x->next >= 0 && heap_push(b, merge_find(b, x->id, s[x->next].id), c.pos) < 0)
			return E_NOMEM;
	}
	return 0;
}

static int cache_word(struct bpe *b, const char *w, size_t n, const uint32_t *ids, size_t count)
{
	if (n > CACHE_LONGEST)
		return 0;
	if (vocab_count(b->cache) >= CACHE_WORDS) {
		vocab_clear(b->cache);
		b->cache_ids.n = 0;
	}
	size_t off = b->cache_ids.n;
	if (ids_grow(&b->cache_ids, count + 1) < 0)
		return E_NOMEM;
	b->cache_ids.p[off] = (uint32_t)count;
	memcpy(b->cache_ids.p + off + 1, ids, count * sizeof *ids);
	b->cache_ids.n += count + 1;
	return vocab_put(b->cache, w, n, (uint32_t)off);
}

/* The word's characters in the byte-level alphabet, for a whole-word lookup. */
static long whole_word_id(struct bpe *b, const unsigned char *w, size_t n)
{
	b->text.n = 0;
	if (buf_grow(&b->text, 2 * n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(b->text.p + b->text.n, b->byte_text[w[i]], (size_t)b->byte_len[w[i]]);
		b->text.n += (size_t)b->byte_len[w[i]];
	}
	return vocab_get(b->vocab, b->text.p, b->text.n);
}

static int word_to_ids(struct bpe *b, const char *w, size_t n, struct ids *out)
{
	long hit = vocab_get(b->cache, w, n);
	if (hit >= 0) {
		const uint32_t *c = b->cache_ids.p + hit;
		if (ids_grow(out, c[0]) < 0)
			return E_NOMEM;
		memcpy(out->p + out->n, c + 1, c[0] * sizeof *c);
		out->n += c[0];
		return 0;
	}
	const unsigned char *u = (const unsigned char *)w;
	long whole = b->o.ignore_merges ? whole_word_id(b, u, n) : -1;
	if (whole >= 0)
		return ids_push(out, (uint32_t)whole);
	if (grow((void **)&b->syms, &b->syms_cap, n, sizeof *b->syms) < 0)
		return E_NOMEM;
	for (size_t i = 0; i < n; i++)
		b->syms[i] = (struct sym){ b->byte_id[u[i]], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, 0 };
	if (merge_word(b, n) < 0)
		return E_NOMEM;
	size_t start = out->n;
	for (int32_t i = 0; i >= 0; i = b->syms[i].next)
		if (ids_push(out, b->syms[i].id) < 0)
			return E_NOMEM;
	return cache_word(b, w, n, out->p + start, out->n - start);
}

int bpe_encode(struct bpe *b, const char *s, size_t n, struct ids *out, size_t *room)
{
	if (!n)
		return 0;
	if (b->o.add_prefix_space && s[0] != ' ') {
		b->spaced.n = 0;
		if (buf_grow(&b->spaced, n + 1) < 0)
			return E_NOMEM;
		b->spaced.p[0] = ' ';
		memcpy(b->spaced.p + 1, s, n);
		s = b->spaced.p;
		n++;
	}
	const unsigned char *u = (const unsigned char *)s;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		size_t end = gpt2_piece(u, n, i), before = out->n;
		if (word_to_ids(b, s + i, end - i, out) < 0)
			return E_NOMEM;
		rc = room_spend(room, out->n - before);
		i = end;
	}
	return rc;
}
