/* infer.h: the one inference path: a model run over a set of examples batch by batch. The
 * examples come from a source: a stream read in chunks of CHUNK_TOKENS tokens (a set of any size
 * in bounded memory: elsa-train --predict, and elsa-encode's frozen layers, which take the
 * chunks themselves) or a dataset in memory (elsa-train's dev set after each epoch). A trained
 * model (struct finetune, dropout off) runs through finetune_infer, each batch's predictions
 * handed to the caller.
 * A model's predictions do not depend on how its examples are batched. Also how a dataset's
 * examples are laid into the model's batch, which training shares. */
#ifndef ELSA_INFER_H
#define ELSA_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "dataset.h"
#include "finetune.h"

struct stream_reader;

/* One batch as the model holds it: n examples, their ids, and their labels (NAN: none). */
struct infer_batch {
	size_t n;
	const char **ids;
	double *labels;
};

/* Where the examples come from. */
struct infer_source {
	const struct dataset *d;    /* a dataset: its examples in order */
	size_t at;
	struct stream_reader *r;    /* or a stream, in chunks */
	struct chunk ch;
	uint32_t idx[CHUNK_TOKENS]; /* the batch's examples (a chunk holds at most one per token) */
	const char *ids[CHUNK_TOKENS];
	double labels[CHUNK_TOKENS];
};

void infer_from_dataset(struct infer_source *s, const struct dataset *d);
void infer_from_stream(struct infer_source *s, struct stream_reader *r);
void infer_source_free(struct infer_source *s);
/* A stream source reads only shard `shard` of the stream at path (chunk_shard_stream). */
int infer_shard(struct infer_source *s, const char *path, struct shard shard);
/* A stream source's next chunk, in s->ch, its records checked against c: the count of records,
 * 0 at the end, or a negative code. */
int infer_next_chunk(struct infer_source *s, const struct model_config *c);

/* Called once per batch with its predictions (class index or score) in pred; the logits are in
 * f->head.logits [n, C]. A negative return stops the run and is returned. */
typedef int (*infer_put)(void *ctx, struct finetune *f, const struct infer_batch *b, const double *pred);

/* Runs f over every example of s. 0, or a negative code (the source's, E_NOMEM, or put's). */
int finetune_infer(struct finetune *f, struct infer_source *s, infer_put put, void *ctx);

/* Lays examples idx[0..n) of d into f's batch (states, or with emb tokens and type ids) and
 * their labels into labels. 0 or E_NOMEM. */
int infer_load_dataset(struct finetune *f, const struct dataset *d, const uint32_t *idx, size_t n, double *labels);

#endif
