/* wordpiece.h: BERT's tokenization: its normalizer (clean text, CJK spacing, accent stripping,
 * lowercasing), its pre-tokenizer (split at whitespace, isolate punctuation) and the WordPiece model
 * (greedy longest match with a continuation prefix, a length limit per word), on vocab.h's table.
 * Texts given to these functions are well-formed UTF-8 (see utf8_check). */
#ifndef ELSA_WORDPIECE_H
#define ELSA_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "vocab.h"

struct bert_normalizer {
	int clean_text;    /* drop NUL, U+FFFD, Cc, Cf, Co; whitespace becomes ' ' */
	int chinese_chars; /* put spaces around CJK ideographs */
	int strip_accents; /* NFD, then drop nonspacing marks (Mn) */
	int lowercase;
};

/* Appends the normalized form of s[0..n) to out. 0 or E_NOMEM. */
int bert_normalize(const struct bert_normalizer *o, const char *s, size_t n, struct buf *out);

struct wordpiece {
	struct vocab *vocab;
	uint32_t unk;            /* id of the unknown token */
	char prefix[32];         /* continuation prefix, "##" */
	size_t prefix_len;
	size_t max_chars;        /* longer words become unk (100) */
	struct buf word;         /* scratch: prefix room, then the word being matched */
};

void wordpiece_free(struct wordpiece *w);

/* Pre-tokenizes a normalized text and appends the WordPiece ids of its words to out, word by word
 * until the room is used up. 0, 1 (the room was used up), or E_NOMEM. */
int wordpiece_encode(struct wordpiece *w, const char *s, size_t n, struct ids *out, size_t *room);

#endif
