/* chunk.h: records read from a stream in groups of about a fixed number of tokens and laid end
 * to end for the encoder (token ids, type ids, states as [T, H]), then written back: the loop of
 * elsa-embed, elsa-encode and prediction. Memory is bounded by the chunk, not the input. */
#ifndef ELSA_CHUNK_H
#define ELSA_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "encoder.h"
#include "record.h"

struct stream_reader;
struct stream_writer;
struct tokens_reader;

#define CHUNK_TOKENS 2048

struct chunk {
	struct record *rec; /* n records (their buffers are reused) */
	size_t n, cap;
	uint32_t *lens;
	uint32_t *tokens, *types; /* [T] */
	float *x;                 /* [T, H] */
	size_t cap_T;
	struct batch b;
};

/* Reads records until max_tokens are gathered or the input ends; lays out tokens, types and
 * (for a tensor stream) states. Returns the records read (0 at the end) or a negative code.
 * A token stream's records are checked against the model (embeddings_check), a tensor stream's
 * lengths against its position table. */
int chunk_read_stream(struct chunk *ch, struct stream_reader *r, size_t max_tokens, const struct model_config *c);
int chunk_read_tokens(struct chunk *ch, struct tokens_reader *r, size_t max_tokens, const struct model_config *c);
/* Copies y [T, H] into the records' states and writes them all to w. */
int chunk_write(struct chunk *ch, const float *y, int hidden, struct stream_writer *w);
void chunk_free(struct chunk *ch);

#endif
