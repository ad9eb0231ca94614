/* kernels.h: the element-wise and row-wise operations of the transformer, forward and backward,
 * in llm.c's shape: outputs (and what backward needs) first, then inputs, weights, sizes.
 * Backward kernels write (=) weight gradients, as gemm with beta 0 does: each weight gets its
 * gradient from one place in a step, so no gradient is ever zeroed beforehand; they write input
 * gradients too unless they say otherwise.
 *
 * Dimensions: N rows (tokens), C columns (channels). Rows are independent; every kernel runs its
 * rows in parallel (OpenMP), and column sums run over rows in a fixed order, so results do not
 * depend on the thread count. */
#ifndef ELSA_KERNELS_H
#define ELSA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Below this many elements a loop runs on one thread: waking the others costs more. */
#define PARALLEL(n) ((n) >= 32768)
/* Column blocks of column sums: each thread owns whole blocks and adds the rows in order, so the
 * sums do not depend on the thread count. */
#define COLUMN_BLOCK 64

/* The tail of every sublayer, in one pass per row: r = dropout(inp + bias) + res (p 0: no
 * dropout; mask_make(p, seed, site)), then y = LayerNorm(r) * w + b, biased variance, eps added
 * to it (PyTorch's LayerNorm). r, mean and rstd (N each) keep what backward needs; r may equal
 * inp. The mask's element of row n is tok[n] * C + c: tok names the token each row holds
 * (NULL: row n holds token n), so a subset of rows draws what the whole tensor would. */
void residual_layernorm_forward(float *y, float *r, float *mean, float *rstd, const float *inp, const float *bias,
				const float *res, const float *w, const float *b, size_t N, size_t C, float eps, float p,
				uint64_t seed, uint64_t site, const size_t *tok);
/* out = LayerNorm(inp) * w + b alone (b NULL: no bias); mean and rstd kept when not NULL. out may
 * equal inp. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
		       size_t N, size_t C, float eps);
/* Backward of residual_layernorm_forward (or of layernorm_forward: inp its input, p 0, no
 * branch) from dout, the gradient of y, with the forward's r as inp: dinp = the gradient of r,
 * which the residual's input gets, plus dskip (NULL: none; a pre-LayerNorm layer's residual
 * stream, which passes the LayerNorm by); dbranch = dropout(dinp), the gradient of the sublayer's
 * output (inp + bias), with the forward's mask; dbias = its column sums, the bias's gradient;
 * dw, db = LayerNorm's (db NULL: no bias). dinp, dbranch and dbias may each be NULL (dbias needs
 * dbranch); dinp may equal dskip. tok as for the forward. */
void layernorm_backward(float *dinp, float *dbranch, float *dbias, float *dw, float *db, const float *dout,
			const float *dskip, const float *inp, const float *w, const float *mean, const float *rstd, size_t N,
			size_t C, float p, uint64_t seed, uint64_t site, const size_t *tok);

/* out = inp + bias (per column); out may equal inp. */
void bias_add(float *out, const float *inp, const float *bias, size_t N, size_t C);
/* dbias = column sums of dout (N rows of C, row stride ld). */
void bias_backward(float *dbias, const float *dout, size_t N, size_t C, size_t ld);

/* f += bias (per column of N x C; NULL: none), then g = the exact GELU of f: 0.5 f (1 + erf(f /
 * sqrt 2)). g may equal f (inference, where f is not kept). */
void bias_gelu_forward(float *g, float *f, const float *bias, size_t N, size_t C);
/* dinp = dout * GELU'(inp). dinp may equal dout. */
void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* GeGLU on N rows (ModernBERT's MLP): f [N, 2I] += bias (NULL: none), then g [N, I] =
 * dropout(GELU(input) * gate), input and gate the halves of f's rows; the mask's element of row
 * n is tok[n] * I + c (tok NULL: n * I + c), as for residual_layernorm_forward. Backward: df
 * [N, 2I] from dg [N, I], with f as the forward left it. */
void geglu_forward(float *g, float *f, const float *bias, size_t N, size_t I, float p, uint64_t seed, uint64_t site,
		   const size_t *tok);
void geglu_backward(float *df, const float *dg, const float *f, size_t N, size_t I, float p, uint64_t seed,
		    uint64_t site, const size_t *tok);

/* tanh in place, and its backward from the output: dinp = dout * (1 - out^2). */
void tanh_forward(float *x, size_t n);
void tanh_backward(float *dinp, const float *dout, const float *out, size_t n);
/* ReLU in place, and its backward from the output: dinp = dout where out > 0, else 0. */
void relu_forward(float *x, size_t n);
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* A dropout mask drawn from a counter-based stream: element i of the tensor named (seed, site)
 * is kept, and scaled by 1 / (1 - p), when the i-th 32-bit draw is at least p * 2^32. Backward
 * makes the same mask again, so masks are never stored. */
struct mask {
	uint64_t key;
	uint32_t threshold;
	float scale;
};

static inline struct mask mask_make(float p, uint64_t seed, uint64_t site)
{
	struct mask m = { mix64(seed ^ mix64(site)), (uint32_t)((double)p * 4294967296.0), 1.0f / (1.0f - p) };
	return m;
}

static inline int mask_keep(const struct mask *m, uint64_t i)
{
	uint64_t h = mix64(m->key + (i >> 1)); /* two draws per hash */
	return (uint32_t)(i & 1 ? h >> 32 : h) >= m->threshold;
}

/* out = inp with dropout p (mask_make(p, seed, site)); p = 0 copies. out may equal inp. */
void dropout(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t site);

/* Rotary position embeddings (RoPE, as transformers computes them in float): the cosines cs and
 * sines sn [L, D / 2] of positions 0..L-1 at the frequencies theta^(-2i / D). */
void rope_table(float *cs, float *sn, size_t L, size_t D, double theta);

/* How a head attends: its scale (1 / sqrt(D)); the keys each query sees, those at most window
 * positions away (ATTN_ALL: every one); the rotary tables of its positions (cos and sin [L, D /
 * 2], NULL: no rotary embeddings); the dropout mask m of its probabilities at elements offset +
 * i L + j of the layer's (m NULL: none). */
struct attention {
	float scale;
	size_t window;
	const float *cos, *sin;
	const struct mask *m;
	size_t offset;
	int bf16; /* the products' inputs rounded to bf16 (gemm_compute): queries, keys, values, the
		   * probabilities, and in backward the context's and the scores' gradients */
};
#define ATTN_ALL ((size_t)-1)

/* Attention of one (example, head): L tokens, head size D, for the first Lq (1 or L) of them as
 * queries. qkv points at the head's first query in the layer's [T, 3H] array (row stride ld;
 * keys H and values 2H further on), bias at the head's query bias in the [3H] bias (NULL: none).
 * The bias is added to the Lq queries and the L keys and values, and the rotary embeddings
 * turn the queries and keys, in place; probs = softmax(scale Q K^T) over the keys each query
 * sees (0 elsewhere); ctx (row stride ldc) = dropout(probs) V. The probabilities of a window
 * are kept by blocks of queries, each block's rows over the keys its queries see, within the [Lq,
 * L] place of the head's (L L of them). scratch holds attention_scratch(L, D) floats, private to
 * the caller's thread. */
size_t attention_scratch(size_t L, size_t D);
void attention_head_forward(float *ctx, size_t ldc, float *probs, float *qkv, size_t ld, size_t H, const float *bias,
			    size_t Lq, size_t L, size_t D, const struct attention *o, float *scratch);
/* Its backward: dqkv (the same layout as qkv; written, not added: the Lq queries' rows and
 * every key's and value's, the gradients of the queries and keys before the rotary embeddings)
 * from dctx (Lq rows), with qkv and probs as the forward left them. */
void attention_head_backward(float *dqkv, const float *dctx, size_t ldc, const float *qkv, size_t ld, size_t H,
			     const float *probs, size_t Lq, size_t L, size_t D, const struct attention *o, float *scratch);

#endif
