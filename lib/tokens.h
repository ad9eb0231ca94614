/* tokens.h: the token stream (elsa-tokens(5)), the text format between elsa-tokenize and
 * elsa-embed: a header line, one line per example (id, label, token ids, token type ids,
 * tab-separated), and an end line with the count, so cut, awk and head work on it and a cut
 * stream is told from a whole one. */
#ifndef ELSA_TOKENS_H
#define ELSA_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct out;

struct tokens_header {
	uint64_t tokenizer; /* fingerprint of the tokenizer files and settings; 0: unknown */
	char task[16];      /* "sst2"; "" when unknown */
	uint32_t max_len;   /* truncation length; 0: none */
};

struct tokens_reader;

/* Opens a token stream (plain or zstd-compressed; "-" or NULL: stdin). A stream without header
 * lines (written by hand) is read as it is; one with a header must end with its end line. */
struct tokens_reader *tokens_open(const char *path);
/* The same on an opened input, which the reader then owns (closed even on failure). */
struct in;
struct tokens_reader *tokens_open_in(struct in *in);
/* The header, or NULL when the stream has none. */
const struct tokens_header *tokens_header(const struct tokens_reader *r);
/* 1: the next record (its states untouched); 0: the end; <0: error naming file and line. */
int tokens_next(struct tokens_reader *r, struct record *rec);
const char *tokens_name(const struct tokens_reader *r);
/* How much of the input has been read, 0 to 1 (0 when it is a pipe). */
double tokens_fraction(const struct tokens_reader *r);
/* The line number of the record last read (1-based), for messages. */
size_t tokens_line(const struct tokens_reader *r);
void tokens_close(struct tokens_reader *r);

int tokens_write_header(struct out *out, const struct tokens_header *h);
int tokens_write(struct out *out, const struct record *rec);
/* The end line; count is the number of records written after the header. */
int tokens_write_end(struct out *out, uint64_t count);

#endif
