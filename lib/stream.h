/* stream.h: the tensor stream (elsa-stream(5)), elsa's cache of hidden states: a header naming
 * the model, layer, hidden size, storage dtype and task; length-prefixed records holding each
 * example's id, label, tokens and seq_len x hidden states (no padding); and an end marker with
 * the record count, so a cut stream is told from a whole one. zstd-compressed (or not); streams
 * with equal headers concatenate with cat. Everything little-endian. */
#ifndef ELSA_STREAM_H
#define ELSA_STREAM_H

#include <stdint.h>

#include "half.h"
#include "record.h"

#define STREAM_VERSION 1
#define HIDDEN_MAX 65536
#define LAYER_MAX 1024
#define STREAM_ZSTD_LEVEL 1 /* hidden states barely compress: favour speed */

struct stream_header {
	uint64_t model;     /* fingerprint of the weights that made the states (model_fingerprint) */
	uint64_t tokenizer; /* fingerprint of the tokenizer (0: unknown), from the token stream */
	uint32_t layer;     /* 0: the embedding output; i: after encoder layer i */
	uint32_t hidden;
	uint32_t dtype;     /* enum dtype: how states are stored; always f32 in memory */
	uint32_t compute;   /* 1: the states were computed with bf16 products (gemm_compute), 0: f32 ones, or none */
	uint32_t max_len;   /* the tokenizer's truncation length (0: none) */
	char task[16];      /* NUL-terminated; "" when unknown */
};

/* Reading */

struct stream_reader;

/* Opens a tensor stream and reads its header ("-" or NULL: stdin). NULL on failure. */
struct stream_reader *stream_open(const char *path);
/* The same on an opened input, which the reader then owns (closed even on failure). */
struct in;
struct stream_reader *stream_open_in(struct in *in);
/* 1 when the first bytes of a (decompressed) input are a tensor stream's magic. */
int stream_magic(const void *first8);
/* What the first bytes b[0..n) of an input that is no stream say it is, for messages: "a
 * safetensors file (a model's weights)", "a zip archive (PyTorch's pytorch_model.bin?)", "a
 * JSON file (a config.json?)"; or NULL (16 bytes tell them). */
const char *stream_foreign(const void *b, size_t n);
const struct stream_header *stream_header(const struct stream_reader *r);
/* 1: the next record, states converted to f32; 0: the clean end (every segment had its end
 * marker); <0: E_TRUNC for a cut stream, E_FORMAT for corruption, with file and record named. */
int stream_next(struct stream_reader *r, struct record *rec);
/* Records returned so far (the number of the record being read, for messages). */
uint64_t stream_count(const struct stream_reader *r);
/* How much of the input has been read, 0 to 1 (0 when it is a pipe). */
double stream_fraction(const struct stream_reader *r);
const char *stream_name(const struct stream_reader *r);
void stream_close(struct stream_reader *r);

/* Writing */

struct stream_writer;

/* Opens path ("-": stdout, refused on a terminal) and writes the header; zstd_level 0 for raw. */
struct stream_writer *stream_create(const char *path, const struct stream_header *h, int zstd_level);
/* Writes one record; its states are converted to the header's dtype. */
int stream_write(struct stream_writer *w, const struct record *rec);
/* Writes the end marker and commits (renames a file into place). Frees w. */
int stream_finish(struct stream_writer *w);
/* Leaves no complete-looking output: removes a file; on stdout, no end marker. Frees w. */
void stream_abort(struct stream_writer *w);

/* Header comparison for concatenated streams: "" when equal, else what differs. */
const char *stream_header_diff(const struct stream_header *a, const struct stream_header *b, char *buf, size_t n);

#endif
