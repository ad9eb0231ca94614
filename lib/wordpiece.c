#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "unicode.h"
#include "wordpiece.h"

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
