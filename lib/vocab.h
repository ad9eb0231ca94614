/* vocab.h: what the WordPiece and BPE models share: the vocabulary table (token text to id), read
 * from vocab.txt or from a JSON object and compared with another; the growable byte and id
 * buffers they write into; and the room left for ids when a text is cut.
 * Texts given to these functions are well-formed UTF-8 (see utf8_check). */
#ifndef ELSA_VOCAB_H
#define ELSA_VOCAB_H

#include <stddef.h>
#include <stdint.h>

struct json;

struct buf {
	char *p;
	size_t n, cap;
};

struct ids {
	uint32_t *p;
	size_t n, cap;
};

/* Make room for n more; 0 or E_NOMEM. */
int buf_grow(struct buf *b, size_t n);
int ids_grow(struct ids *v, size_t n);
int ids_push(struct ids *v, uint32_t id);

/* Hugging Face's early exit when it truncates on the right: it stops tokenizing a text after the
 * word that brings the text's tokens to max_len, and its longest_first rule then sees only those.
 * *room counts the tokens still to make (SIZE_MAX: no limit); room_spend takes a word's count
 * from it and returns 1 when the word used it up. */
int room_spend(size_t *room, size_t made);

/* Token text to id, an open-addressing hash table. */
struct vocab;

struct vocab *vocab_new(void);
void vocab_free(struct vocab *v);
/* Adds s[0..n) with id; a text already there takes the new id (as a later line or key does in
 * Hugging Face's loaders). 0 or E_NOMEM. */
int vocab_put(struct vocab *v, const char *s, size_t n, uint32_t id);
/* Empties the table, keeping its memory. */
void vocab_clear(struct vocab *v);
/* The id of s[0..n), or -1. */
long vocab_get(const struct vocab *v, const char *s, size_t n);
size_t vocab_count(const struct vocab *v);
/* The length in bytes of the longest text. */
size_t vocab_longest(const struct vocab *v);
/* Calls fn on every entry until it returns non-zero; returns that value or 0. */
int vocab_each(const struct vocab *v, int (*fn)(void *ctx, const char *s, size_t n, uint32_t id), void *ctx);
/* Reads a vocab.txt: one token per line, its id the line's index, trailing whitespace trimmed. */
int vocab_read_lines(struct vocab *v, const char *path);
/* Reads node obj of j, a JSON object of tokens and their ids (vocab.json, tokenizer.json's
 * model.vocab); where names it in messages. 0, E_FORMAT or E_NOMEM. */
int vocab_read_json(struct vocab *v, const struct json *j, int obj, const char *where);
/* The lowest id on which a and b disagree (a token that has it in one has another id, or none, in
 * the other), or -1 when they hold the same tokens with the same ids. */
long vocab_first_difference(const struct vocab *a, const struct vocab *b);
/* The text of a token with that id (*n its length; NULL when none has it), for messages: it
 * looks through the whole table. */
const char *vocab_text(const struct vocab *v, uint32_t id, size_t *n);

#endif
