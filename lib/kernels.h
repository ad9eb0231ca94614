/* kernels.h: the element-wise and row-wise operations of the transformer, forward and backward,
 * in llm.c's shape: outputs (and what backward needs) first, then inputs, weights, sizes.
 * Backward kernels add (+=) into weight gradients, which the caller zeroes once per step, and
 * write (=) input gradients unless they say otherwise.
 *
 * Dimensions: N rows (tokens), C columns (channels). Rows are independent; every kernel runs its
 * rows in parallel (OpenMP), and column sums run over rows in a fixed order, so results do not
 * depend on the thread count. */
#ifndef ELSA_KERNELS_H
#define ELSA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* out = LayerNorm(inp) * w + b per row, biased variance, eps added to it (PyTorch's LayerNorm).
 * mean and rstd (N each) are saved for backward when not NULL. out may equal inp. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
		       size_t N, size_t C, float eps);
/* dinp = (or += when accumulate) the gradient through LayerNorm; dw, db += their gradients. */
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
			const float *mean, const float *rstd, size_t N, size_t C, int accumulate);

/* out = inp + bias (per column); out may equal inp. */
void bias_add(float *out, const float *inp, const float *bias, size_t N, size_t C);
/* dbias += column sums of dout. */
void bias_backward(float *dbias, const float *dout, size_t N, size_t C);

/* The exact GELU: 0.5 x (1 + erf(x / sqrt 2)). out may equal inp. */
void gelu_forward(float *out, const float *inp, size_t n);
/* dinp = dout * GELU'(inp). dinp may equal dout. */
void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* tanh in place, and its backward from the output: dinp = dout * (1 - out^2). */
void tanh_forward(float *x, size_t n);
void tanh_backward(float *dinp, const float *dout, const float *out, size_t n);

/* out = dropout(inp + bias) + res, row by row (the tail of every sublayer); out may equal inp. */
void bias_dropout_add(float *out, const float *inp, const float *bias, const float *res, size_t N, size_t C, float p,
		      uint64_t seed, uint64_t site);

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

/* Softmax over each row of x (N rows of C) in place. */
void softmax_rows(float *x, size_t N, size_t C);

#endif
