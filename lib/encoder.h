/* encoder.h: the encoder on a batch of examples laid end to end, each at its own length (no
 * padding, so no attention mask): the embedding layer, and the encoder layer forward (inference,
 * or training with dropout and the activations backward needs) and backward: BERT's
 * post-LayerNorm layer (RoBERTa's, DistilBERT's, ELECTRA's), or ModernBERT's pre-LayerNorm one
 * (an attention norm but in layer 0, rotary embeddings, attention within a window in its local
 * layers, an MLP norm and GeGLU; its output the residual stream, which the next layer normalizes).
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

/* The rate at a site: the config's own for it (own >= 0: ModernBERT's rates, a head's
 * classifier_dropout) or the run's, and none when the run's is 0 or there is no dropout. */
static inline float dropout_rate(const struct dropout_cfg *d, double own)
{
	return !d || d->p <= 0 ? 0.0f : own >= 0 ? (float)own : d->p;
}

/* out [T, H] = dropout(LayerNorm(word[token] + token_type[type] + position)) for every example,
 * then ELECTRA's projection (out = that Wp^T + bp) when its embeddings are narrower; no token
 * types for DistilBERT; positions as BertEmbeddings (0..len-1) or RobertaEmbeddings (padding_idx
 * + 1 + index among non-pad tokens, padding_idx for pad tokens) compute them; ModernBERT's
 * dropout(LayerNorm(word[token])), at its embedding_dropout. a (reserved for the batch) keeps
 * what backward needs; d NULL: no dropout (inference), site its masks. */
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
 * n (one per example) in LAYER_FIRST_TOKENS. Pre-LayerNorm layers (ModernBERT's) use f, gelu and
 * the rest as their comments say after "pre:". */
struct layer_acts {
	enum layer_mode mode;
	float *x;             /* [T, H] input: the previous layer's y, not owned */
	float *xn;            /* [T, H] pre: LayerNorm(x), the attention's input (but in layer 0) */
	float *mean0, *rstd0; /* [T] pre: its statistics */
	float *qkv;           /* [T, 3H] x Wqkv^T + bqkv: queries, keys, values, heads side by side */
	float *probs;         /* [P] attention probabilities (before dropout), example by example */
	float *ctx;           /* [T, H] attention output per head, heads side by side */
	float *r1;            /* [R, H] dropout(ctx Wo^T + bo) + x */
	float *mean1, *rstd1; /* [R] */
	float *h1;            /* [R, H] LayerNorm(r1) */
	float *f;             /* [R, I] h1 W1^T + b1; pre: [R, 2I], GeGLU's input and gate */
	float *gelu;          /* [R, I] GELU(f), the same memory as f in inference; pre: dropout(GeGLU(f)) */
	float *r2;            /* [R, H] dropout(gelu W2^T + b2) + h1 */
	float *mean2, *rstd2; /* [R] */
	float *y;             /* [R, H] LayerNorm(r2): the layer's output; pre: r1 + gelu W2^T + b2 */
	float *xc, *cc;       /* [n, H] first tokens only: their rows of x, and of ctx */
	float *xnc;           /* [n, H] pre, first tokens only: their rows of xn */
	float *scratch;       /* per thread, scratch_each floats: attention's */
	size_t scratch_each;
	void *mem;
	size_t cap;           /* bytes in mem */
	float *rope;          /* pre: the rotary tables of positions 0..rope_len-1, D / 2 columns each:
			       * cos and sin at global_rope_theta, then at local_rope_theta */
	size_t rope_len;
};

/* Makes room for batch b in that mode (and makes the rotary tables of its longest example).
 * 0 or E_NOMEM. */
int layer_acts_reserve(struct layer_acts *a, const struct model_config *c, const struct batch *b, enum layer_mode mode);
void layer_acts_free(struct layer_acts *a);

/* One encoder layer (w->layer of the model: whether ModernBERT's is local or global, and has an
 * attention norm): a->y from a->x, in a's mode. site names the layer for dropout masks. */
void layer_forward(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
		   const struct batch *b, const struct dropout_cfg *d, uint64_t site);

/* Scratch memory of backward, shared by the layers of a step, in one allocation. */
struct layer_scratch {
	float *d1, *d2, *dqkv; /* [T, H], [T, H], [T, 3H] */
	float *dI;             /* [T, I]; pre-LayerNorm layers: [T, 2I] */
	float *dg;             /* [T, I] pre-LayerNorm layers: GeGLU's output's */
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
