#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "err.h"
#include "stream.h"
#include "tokens.h"

/* The next record slot, growing the array. */
static struct record *slot(struct chunk *ch)
{
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? 2 * ch->cap : 64;
		struct record *r = realloc(ch->rec, cap * sizeof *r);
		uint32_t *l = r ? realloc(ch->lens, cap * sizeof *l) : NULL;
		if (r)
			ch->rec = r;
		if (!l)
			return NULL;
		ch->lens = l;
		memset(ch->rec + ch->cap, 0, (cap - ch->cap) * sizeof *r);
		ch->cap = cap;
	}
	return &ch->rec[ch->n];
}

/* Lays the n records end to end: tokens, types and, when states is set, states (hidden each).
 * Token records leave states out: a reused slot may hold stale states of another length. */
static int lay_out(struct chunk *ch, int hidden, int heads, int states)
{
	size_t T = 0, H = (size_t)(hidden > 0 ? hidden : 0);
	for (size_t i = 0; i < ch->n; i++)
		ch->lens[i] = ch->rec[i].len, T += ch->rec[i].len;
	if (T > ch->cap_T) {
		free(ch->tokens), free(ch->types), free(ch->x);
		ch->tokens = malloc(T * sizeof *ch->tokens);
		ch->types = malloc(T * sizeof *ch->types);
		ch->x = malloc(T * (H ? H : 1) * sizeof *ch->x);
		ch->cap_T = ch->tokens && ch->types && ch->x ? T : 0;
		if (!ch->cap_T)
			return err_set(E_NOMEM, "out of memory");
	}
	if (batch_set(&ch->b, ch->n, ch->lens, heads) < 0)
		return E_NOMEM;
	for (size_t i = 0; i < ch->n; i++) {
		const struct record *r = &ch->rec[i];
		size_t at = ch->b.start[i];
		memcpy(ch->tokens + at, r->tokens, r->len * sizeof *r->tokens);
		memcpy(ch->types + at, r->types, r->len * sizeof *r->types);
		if (states && H && r->states)
			memcpy(ch->x + at * H, r->states, r->len * H * sizeof *ch->x);
	}
	return 0;
}

/* The next record of a tensor or a token stream, checked against the model. */
typedef int (*next_fn)(void *src, struct record *rec, const struct model_config *c);

static int next_tensors(void *src, struct record *rec, const struct model_config *c)
{
	struct stream_reader *r = src;
	int rc = stream_next(r, rec);
	if (rc > 0 && rec->len > config_max_tokens(c))
		return err_set(E_MISMATCH, "%s: record %" PRIu64 " (example %s): %u tokens, the model has %u positions",
			       stream_name(r), stream_count(r), rec->id, rec->len, config_max_tokens(c));
	return rc;
}

static int next_tokens(void *src, struct record *rec, const struct model_config *c)
{
	struct tokens_reader *r = src;
	int rc = tokens_next(r, rec);
	if (rc <= 0)
		return rc;
	if ((rc = embeddings_check(c, rec)) < 0)
		return err_prefix(rc, "%s: line %zu (example %s)", tokens_name(r), tokens_line(r), rec->id);
	return 1;
}

/* Reads records until max_tokens are gathered or the source ends, then lays them out. */
static int read_chunk(struct chunk *ch, void *src, next_fn next, size_t max_tokens, const struct model_config *c,
		      int states)
{
	size_t T = 0;
	int rc = 1;
	ch->n = 0;
	while (T < max_tokens) {
		struct record *rec = slot(ch);
		if (!rec)
			return err_set(E_NOMEM, "out of memory");
		if ((rc = next(src, rec, c)) <= 0)
			break;
		T += rec->len;
		ch->n++;
	}
	if (rc < 0)
		return rc;
	return (rc = lay_out(ch, c->hidden, c->heads, states)) < 0 ? rc : (int)ch->n;
}

int chunk_read_stream(struct chunk *ch, struct stream_reader *r, size_t max_tokens, const struct model_config *c)
{
	return read_chunk(ch, r, next_tensors, max_tokens, c, 1);
}

int chunk_read_tokens(struct chunk *ch, struct tokens_reader *r, size_t max_tokens, const struct model_config *c)
{
	return read_chunk(ch, r, next_tokens, max_tokens, c, 0);
}

int chunk_write(struct chunk *ch, const float *y, int hidden, struct stream_writer *w)
{
	size_t H = (size_t)hidden;
	for (size_t i = 0; i < ch->n; i++) {
		struct record *r = &ch->rec[i];
		int rc = record_reserve(r, r->len, H);
		if (rc < 0)
			return rc;
		memcpy(r->states, y + ch->b.start[i] * H, r->len * H * sizeof *y);
		if ((rc = stream_write(w, r)) < 0)
			return rc;
	}
	return 0;
}

void chunk_free(struct chunk *ch)
{
	for (size_t i = 0; i < ch->cap; i++)
		record_free(&ch->rec[i]);
	free(ch->rec);
	free(ch->lens);
	free(ch->tokens);
	free(ch->types);
	free(ch->x);
	batch_free(&ch->b);
	memset(ch, 0, sizeof *ch);
}
