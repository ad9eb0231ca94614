/* bpe.h: byte-level BPE, GPT-2's, RoBERTa's and ModernBERT's, read from vocab.json and merges.txt
 * or from tokenizer.json's model section: the GPT-2 pre-tokenization pattern (matched by hand with
 * utf8proc's categories), the byte-to-unicode table, merges applied by rank as Hugging Face
 * tokenizers applies them, and a bounded cache of words already merged. */
#ifndef ELSA_BPE_H
#define ELSA_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "vocab.h"

struct bpe_options {
	int add_prefix_space; /* a space before each text that does not start with one */
	int ignore_merges;    /* a word found whole in the vocabulary is one token */
};

struct bpe;

/* Reads vocab.json (token to id) and merges.txt (ranked pairs). NULL on failure, with err_msg(). */
struct bpe *bpe_load(const char *vocab_path, const char *merges_path, const struct bpe_options *o);
/* The same from node model of tokenizer.json (file, for messages): its vocab object and its merges
 * array, each rule a string "left right" or a pair [left, right]. */
struct bpe *bpe_from_json(const struct json *j, int model, const struct bpe_options *o, const char *file);
void bpe_free(struct bpe *b);
const struct vocab *bpe_vocab(const struct bpe *b);
/* The lowest rank at which a and b have different merge rules (a pair of ids ranked there in one
 * and elsewhere, or not at all, in the other), or -1 when their rules are the same. The ids are
 * compared, so this tells the merges apart only where the vocabularies agree. */
long bpe_first_difference(const struct bpe *a, const struct bpe *b);
/* The ids of the rule of that rank: 0, or -1 when there is none. */
int bpe_rule(const struct bpe *b, uint32_t rank, uint32_t *left, uint32_t *right);
/* Pre-tokenizes text s[0..n) and appends the ids of its pieces to out, piece by piece until the
 * room is used up (see room_spend). 0, 1 (the room was used up), or E_NOMEM. */
int bpe_encode(struct bpe *b, const char *s, size_t n, struct ids *out, size_t *room);

#endif
