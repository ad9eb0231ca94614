/* encoder.h: the BERT / RoBERTa encoder on a batch of examples laid end to end, each at its own
 * length (no padding, so no attention mask): the embedding layer, and the post-LayerNorm
 * encoder layer forward (inference, or training with dropout and the activations backward
 * needs) and backward.
 *
 * Letters: T tokens in the batch, H hidden, I intermediate, A heads, D = H / A head size. */
#ifndef ELSA_ENCODER_H
#define ELSA_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct record;

/* Where each example lies in the batch's arrays. */
struct batch {
	size_t n, T;      /* examples, tokens */
	uint32_t *len;    /* tokens of each example */
	size_t *start;    /* its first row in [T, .] arrays */
	size_t *pstart;   /* its first attention probability (A x len x len of them) */
	size_t P;         /* attention probabilities in all */
	uint32_t maxlen;
	size_t cap;
};

/* Lays out n examples of the given lengths for a model with `heads` heads. 0 or E_NOMEM. */
int batch_set(struct batch *b, size_t n, const uint32_t *len, int heads);
void batch_free(struct batch *b);

/* Checks a record's tokens against the embedding tables: ids below the vocabulary size, type ids
 * below type_vocab_size, length within the position table. 0 or E_MISMATCH naming the token. */
int embeddings_check(const struct model_config *c, const struct record *r);
/* The embedding layer's activations (E: the embeddings' width), in one allocation (mem), kept
 * for backward in training. */
struct emb_acts {
	float *sum;         /* [T, E] word + token type + position, before LayerNorm */
	float *mean, *rstd; /* [T] */
	float *dsum;        /* [T, E] backward's scratch */
	float *ln, *dln;    /* [T, E] ELECTRA's projection: its input, dropout(LayerNorm(sum)), and gradient */
	void *mem;
	size_t cap;         /* bytes in mem */
};
int emb_acts_reserve(struct emb_acts *a, const struct model_config *c, size_t T);
void emb_acts_free(struct emb_acts *a);

/* Dropout of a training step: probability, and the step's seed. p 0: none (inference). */
struct dropout_cfg {
	float p;
	uint64_t seed;
};
/* Each dropout mask has its site: layer l's are l * LAYER_SITES + k, k < LAYER_SITES (finetune.h
 * puts the head's and the embeddings' past every layer's). */
#define LAYER_SITES 4

/* out [T, H] = dropout(LayerNorm(word[token] + token_type[type] + position)) for every example,
 * then ELECTRA's projection (out = that Wp^T + bp) when its embeddings are narrower; no token
 * types for DistilBERT; positions as BertEmbeddings (0..len-1) or RobertaEmbeddings (padding_idx
 * + 1 + index among non-pad tokens, padding_idx for pad tokens) compute them. a (reserved for
 * the batch) keeps what backward needs; d NULL: no dropout (inference), site its masks. */
void embeddings_forward(float *out, struct emb_acts *a, const struct emb_weights *w, const struct model_config *c,
			const struct batch *b, const uint32_t *tokens, const uint32_t *types, const struct dropout_cfg *d,
			uint64_t site);
/* Backward from dout [T, H], the gradient of the embedding output (overwritten): writes g: the
 * projection's and LayerNorm's gradients, and the word, position and token type tables' (zero
 * but in the rows that the tokens used). */
void embeddings_backward(struct emb_weights *g, float *dout, struct emb_acts *a, const struct emb_weights *w,
			 const struct model_config *c, const struct batch *b, const uint32_t *tokens,
			 const uint32_t *types, const struct dropout_cfg *d, uint64_t site);

/* What a layer computes and keeps. Inference: every token's output, nothing for backward (one
 * set of activations serves every layer). All tokens: every token's output and what backward
 * needs. First tokens: the top layer in training, whose output the head reads only at each
 * example's first token ([CLS], <s>): keys and values at every token, the rest at those rows
 * alone, with the numbers the whole layer gives there. */
enum layer_mode { LAYER_INFERENCE, LAYER_ALL_TOKENS, LAYER_FIRST_TOKENS };

/* The activations of one layer, in one allocation (mem) laid out for the batch. R rows: T, or
 * n (one per example) in LAYER_FIRST_TOKENS. */
struct layer_acts {
	enum layer_mode mode;
	float *x;             /* [T, H] input: the previous layer's y, not owned */
	float *qkv;           /* [T, 3H] x Wqkv^T + bqkv: queries, keys, values, heads side by side */
	float *probs;         /* [P] attention probabilities (before dropout), example by example */
	float *ctx;           /* [T, H] attention output per head, heads side by side */
	float *r1;            /* [R, H] dropout(ctx Wo^T + bo) + x */
	float *mean1, *rstd1; /* [R] */
	float *h1;            /* [R, H] LayerNorm(r1) */
	float *f;             /* [R, I] h1 W1^T + b1 */
	float *gelu;          /* [R, I] GELU(f); the same memory as f in inference */
	float *r2;            /* [R, H] dropout(gelu W2^T + b2) + h1 */
	float *mean2, *rstd2; /* [R] */
	float *y;             /* [R, H] LayerNorm(r2): the layer's output */
	float *xc, *cc;       /* [n, H] first tokens only: their rows of x, and of ctx */
	float *scratch;       /* per thread, scratch_each floats: attention's */
	size_t scratch_each;
	void *mem;
	size_t cap;           /* bytes in mem */
};

/* Makes room for batch b in that mode. 0 or E_NOMEM. */
int layer_acts_reserve(struct layer_acts *a, const struct model_config *c, const struct batch *b, enum layer_mode mode);
void layer_acts_free(struct layer_acts *a);

/* One encoder layer: a->y from a->x, in a's mode. site names the layer for dropout masks. */
void layer_forward(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
		   const struct batch *b, const struct dropout_cfg *d, uint64_t site);

/* Scratch memory of backward, shared by the layers of a step, in one allocation. */
struct layer_scratch {
	float *d1, *d2, *dqkv; /* [T, H], [T, H], [T, 3H] */
	float *dI;             /* [T, I] */
	float *dxc, *dqc;      /* [n, H] first tokens only: the residual's and the query's */
	float *attn;           /* per thread, attn_each floats: attention's */
	size_t attn_each;
	void *mem;
	size_t cap;            /* bytes in mem */
};
int layer_scratch_reserve(struct layer_scratch *s, const struct model_config *c, const struct batch *b);
void layer_scratch_free(struct layer_scratch *s);

/* Backward through one layer: dy [R, H] is the gradient of a->y; gradients of the weights are
 * written into g; dx [T, H] gets the gradient of a->x (NULL: not needed, the input is frozen,
 * which saves a GEMM). dx may equal dy. */
void layer_backward(float *dx, struct layer_weights *g, float *dy, const struct layer_acts *a,
		    const struct layer_weights *w, const struct model_config *c, const struct batch *b,
		    const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s);

#endif
