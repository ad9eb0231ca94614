/* tokenizer.h: a Hugging Face tokenizer read from a model folder: BERT's WordPiece, or the
 * byte-level BPE of RoBERTa and of ModernBERT (after NFC). With tokenizer.json, everything comes
 * from it (model, normalizer, pre-tokenizer, post-processor, added tokens), as in Hugging Face's
 * fast tokenizers, and the older files beside it are only compared with its model; without it, the
 * model is vocab.txt (WordPiece), or vocab.json and merges.txt (BPE), with the settings of
 * tokenizer_config.json. It encodes one example, a text or a pair, into a record's token ids and
 * token type ids exactly as Hugging Face tokenizers (Rust) does, truncation included; and it
 * fingerprints the tokenizer's files so that a token stream names the tokenizer that made it. */
#ifndef ELSA_TOKENIZER_H
#define ELSA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct tokenizer;

/* Reads the tokenizer in folder dir. NULL on failure, with err_msg() naming the file. */
struct tokenizer *tokenizer_load(const char *dir);
void tokenizer_free(struct tokenizer *t);
/* NULL, or one line to pass on to the user about what was loaded, when tokenizer.json and the
 * older files beside it do not agree: "vocab.txt and tokenizer.json disagree (id 1037: 'a' vs
 * 'b'); using tokenizer.json" (the older file's token first; none for no token), likewise for
 * vocab.json and for merges.txt ("merge 17: 'a b' vs 'c d'", the 17th rule); "MESSAGE; using
 * tokenizer.json" when the older files cannot be read (MESSAGE naming the file); "vocab.txt is not
 * for tokenizer.json's BPE model; using tokenizer.json" (or vocab.json, WordPiece). */
const char *tokenizer_note(const struct tokenizer *t);

/* Encodes text a, and text b when b is not NULL (a pair, even when b is empty), into rec->tokens,
 * rec->types and rec->len (its id and label are left alone): added tokens written in the texts
 * are matched, the rest normalized, pre-tokenized and split by the model; with max_len > 0 the
 * texts are cut by the longest_first rule so that the whole, special tokens included, has at most
 * max_len tokens; last the template adds its special tokens and the type ids. 0, or E_FORMAT (a
 * text is not UTF-8, or the example has more than SEQ_MAX tokens), E_ARG (max_len is smaller
 * than the special tokens), E_NOMEM. */
int tokenizer_encode(struct tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
		     uint32_t max_len, struct record *rec);

/* How many special tokens the template adds to a single text (pair 0) or to a pair (pair 1). */
int tokenizer_specials(const struct tokenizer *t, int pair);

/* XXH64 chained over the contents of those of vocab.txt, vocab.json, merges.txt, tokenizer.json,
 * tokenizer_config.json and special_tokens_map.json that are in dir, in that order, each hashed
 * with the hash before it as seed (the first with 0). 0, or E_IO (none is there, or one cannot be
 * read). */
int tokenizer_fingerprint(const char *dir, uint64_t *fp);

#endif
