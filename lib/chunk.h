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
#define SHARDS_MAX 1000000

/* Part k of n of an input (--shard K/N): its examples [first, end), counted from 0, of the
 * input's total, contiguous so that the parts' outputs joined in order hold the records of one
 * pass over the whole input. n 0: the whole input. */
struct shard {
	uint32_t k, n;
	uint64_t first, end, total;
};

struct chunk {
	struct record *rec; /* n records (their buffers are reused) */
	size_t n, cap;
	uint32_t *lens;
	uint32_t *tokens, *types; /* [T] */
	float *x;                 /* [T, H] */
	void *mem;                /* tokens, types and x, in one allocation (mem.h's plan) */
	size_t mem_cap;           /* bytes in mem */
	struct batch b;
	struct shard shard; /* set by chunk_shard_*; zero: every record */
	uint64_t read;      /* records read from the input, those skipped before the shard included */
};

/* Reads records until max_tokens are gathered or the input (or the shard) ends; lays out
 * tokens, types and (for a tensor stream) states. Returns the records read (0 at the end) or a
 * negative code. A token stream's records are checked against the model (embeddings_check), a
 * tensor stream's lengths against its position table; records skipped before a shard are not. */
int chunk_read_stream(struct chunk *ch, struct stream_reader *r, size_t max_tokens, const struct model_config *c);
int chunk_read_tokens(struct chunk *ch, struct tokens_reader *r, size_t max_tokens, const struct model_config *c);
/* Parses "K/N", 1 <= K <= N <= SHARDS_MAX, into s (its examples unset). 0, or E_ARG naming
 * arg. */
int shard_parse(const char *arg, struct shard *s);
/* Makes ch read only shard s of the input at path: counts the input's records in a first pass
 * (reading it whole, so every error is found there), then sets the shard's [first, end): the
 * first count % n shards hold count / n + 1 records, the others count / n. The reads that
 * follow skip the records before first and stop at end; an input that ends before end (changed
 * since it was counted) is E_MISMATCH. path must be a regular file, plain or zstd-compressed:
 * E_ARG for stdin or a pipe, which cannot be read twice. */
int chunk_shard_tokens(struct chunk *ch, const char *path, struct shard s);
int chunk_shard_stream(struct chunk *ch, const char *path, struct shard s);
/* Copies y [T, H] into the records' states and writes them all to w. */
int chunk_write(struct chunk *ch, const float *y, int hidden, struct stream_writer *w);
void chunk_free(struct chunk *ch);

#endif
