#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "infer.h"
#include "stream.h"

void infer_from_dataset(struct infer_source *s, const struct dataset *d)
{
	memset(s, 0, sizeof *s);
	s->d = d;
}

void infer_from_stream(struct infer_source *s, struct stream_reader *r)
{
	memset(s, 0, sizeof *s);
	s->r = r;
}

void infer_source_free(struct infer_source *s)
{
	chunk_free(&s->ch);
}

int infer_load_dataset(struct finetune *f, const struct dataset *d, const uint32_t *idx, size_t n, double *labels)
{
	uint32_t *len = calloc(n ? n : 1, sizeof *len);
	if (!len)
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		len[i] = d->len[idx[i]];
	int rc = finetune_batch(f, n, len);
	free(len);
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t at = f->b.start[i];
		if (f->emb) { /* a full fine-tune computes its own embeddings from the tokens */
			memcpy(f->tokens + at, dataset_tokens(d, idx[i]), d->len[idx[i]] * sizeof *f->tokens);
			memcpy(f->types + at, dataset_types(d, idx[i]), d->len[idx[i]] * sizeof *f->types);
		} else {
			dataset_states(d, idx[i], f->x + at * (size_t)f->c.hidden);
		}
		labels[i] = d->label[idx[i]];
	}
	return rc;
}

/* The dataset's next examples, up to CHUNK_TOKENS tokens (or one longer example). */
static int next_from_dataset(struct infer_source *s, struct finetune *f, struct infer_batch *b)
{
	const struct dataset *d = s->d;
	size_t n = 0, T = 0;
	b->n = 0;
	while (s->at + n < d->n && n < CHUNK_TOKENS && (n == 0 || T + d->len[s->at + n] <= CHUNK_TOKENS)) {
		s->idx[n] = (uint32_t)(s->at + n);
		s->ids[n] = dataset_id(d, s->at + n);
		T += d->len[s->at + n++];
	}
	s->at += n;
	b->n = n;
	return n ? infer_load_dataset(f, d, s->idx, n, s->labels) : 0;
}

int infer_shard(struct infer_source *s, const char *path, struct shard shard)
{
	return chunk_shard_stream(&s->ch, path, shard);
}

int infer_next_chunk(struct infer_source *s, const struct model_config *c)
{
	int rc = chunk_read_stream(&s->ch, s->r, CHUNK_TOKENS, c);
	if (rc > 0 && s->ch.n > CHUNK_TOKENS) /* a chunk of CHUNK_TOKENS tokens, each record one at least */
		return err_set(E_FORMAT, "%s: records of no tokens", stream_name(s->r));
	return rc;
}

/* The stream's next chunk, copied into f's batch. */
static int next_from_stream(struct infer_source *s, struct finetune *f, struct infer_batch *b)
{
	struct chunk *ch = &s->ch;
	b->n = 0;
	int rc = infer_next_chunk(s, &f->c);
	if (rc <= 0)
		return rc;
	if ((rc = finetune_batch(f, ch->n, ch->lens)) < 0)
		return rc;
	if (f->emb) {
		memcpy(f->tokens, ch->tokens, ch->b.T * sizeof *f->tokens);
		memcpy(f->types, ch->types, ch->b.T * sizeof *f->types);
	} else {
		memcpy(f->x, ch->x, ch->b.T * (size_t)f->c.hidden * sizeof *f->x);
	}
	for (size_t i = 0; i < ch->n; i++) {
		s->ids[i] = ch->rec[i].id;
		s->labels[i] = ch->rec[i].label;
	}
	b->n = ch->n;
	return 0;
}

int finetune_infer(struct finetune *f, struct infer_source *s, infer_put put, void *ctx)
{
	double pred[CHUNK_TOKENS];
	struct infer_batch b = { 0, s->ids, s->labels };
	for (;;) {
		int rc = s->d ? next_from_dataset(s, f, &b) : next_from_stream(s, f, &b);
		if (rc < 0)
			return rc;
		if (b.n == 0)
			return 0;
		finetune_forward(f, 0, 0);
		head_predict(f->head.logits, b.n, f->outputs, f->regression, pred);
		if ((rc = put(ctx, f, &b, pred)) < 0)
			return rc;
	}
}
