/* simd.h: the hot loops of the encoder and the optimizer, written once over float vectors
 * (lib/simd_kernels.h) and compiled three times: for baseline x86-64 (simd_base.c, SSE2, 8
 * lanes; on other processors the same code lane by lane), for AVX2 + FMA (simd_avx2.c, 8 lanes)
 * and for AVX-512 (simd_avx512.c, 16 lanes). simd() gives the best build this processor runs,
 * chosen once; erf and exp come from SLEEF's vector functions (1-ulp accuracy), never libm's
 * scalar ones.
 *
 * Only kernels.c and optim.c call these; everything else uses kernels.h. Each function runs on
 * the calling thread (the callers own the OpenMP loops) except where it says otherwise, and
 * gives results that depend only on its inputs, never on the thread count or on where a row
 * lies in the batch (a row's tail is computed in a zero-padded vector like its body). */
#ifndef ELSA_SIMD_H
#define ELSA_SIMD_H

#include <stddef.h>

#include "kernels.h"

/* The coefficients of one AdamW step (optim.c computes them as torch.optim.AdamW does). */
struct adamw_coef {
	float decay;     /* 1 - lr * weight_decay, or 1 */
	float b1, b2;    /* betas */
	float step_size; /* lr / (1 - b1^t) */
	float bc2_sqrt;  /* sqrt(1 - b2^t) */
	float eps;
	float gscale;    /* the gradient-clipping factor (1: none) */
};

struct simd_ops {
	const char *name; /* "avx512", "avx2", or the baseline's: "sse2" ("scalar" off x86-64) */
	/* One row of C: f += bias (NULL: none); g = GELU(f) = 0.5 f (1 + erf(f / sqrt 2)). g may be f. */
	void (*bias_gelu)(float *g, float *f, const float *bias, size_t C);
	/* dinp = dout * GELU'(inp); dinp may equal dout. */
	void (*gelu_backward)(float *dinp, const float *dout, const float *inp, size_t n);
	/* One row of LayerNorm after the residual: r = dropout(inp + bias) + res, where the
	 * dropout is mask m at elements offset.. of its tensor (m NULL: none); bias and res may be
	 * NULL; r may equal inp, and r NULL keeps nothing (then only inp is read: no bias, dropout
	 * or res). y = (r - mean) * rstd * w + b (b NULL: none), biased variance, eps added to it;
	 * mean and rstd returned through their pointers. */
	void (*residual_layernorm)(float *y, float *r, float *mean, float *rstd, const float *inp, const float *bias,
				   const struct mask *m, size_t offset, const float *res, const float *w, const float *b,
				   size_t C, float eps);
	/* Softmax of each of N rows of C, in place. */
	void (*softmax_rows)(float *x, size_t N, size_t C);
	/* S [L1 x L2] (row stride L2) = alpha * A B^T: A is L1 rows of D (stride lda), B L2 rows of
	 * D (stride ldb). scratch holds D * (L2 + 15) floats. */
	void (*scores)(float *S, const float *A, size_t lda, const float *B, size_t ldb, size_t L1, size_t L2, size_t D,
		       float alpha, float *scratch);
	/* out [L1 x D] (stride ldo) = alpha * P R: P is L1 x L2 (row stride L2), R is L2 rows of D
	 * (stride ldr): each output row a combination of R's rows. */
	void (*combine)(float *out, size_t ldo, const float *P, const float *R, size_t ldr, size_t L1, size_t L2,
			size_t D, float alpha);
	/* v [D] added to each of L rows of x (row stride ld). */
	void (*add_rows)(float *x, size_t ld, const float *v, size_t L, size_t D);
	/* w, m, v updated from g over n parameters, as torch.optim.AdamW. */
	void (*adamw)(float *w, float *m, float *v, const float *g, size_t n, const struct adamw_coef *k);
	/* The sum of squares of x, in double, in a fixed order. */
	double (*sum_squares)(const float *x, size_t n);
	/* One row of GeGLU (ModernBERT's MLP): f [2I] += bias (NULL: none); g [I] = GELU(f[0..I)) *
	 * f[I..2I), then dropout by mask m at elements offset.. of g's tensor (m NULL: none). */
	void (*geglu)(float *g, float *f, const float *bias, const struct mask *m, size_t offset, size_t I);
	/* Its backward: df [2I] (the input's gradient, then the gate's) from dg [I], through the same
	 * mask, with f as the forward left it. */
	void (*geglu_backward)(float *df, const float *dg, const float *f, const struct mask *m, size_t offset, size_t I);
	/* Rotary position embeddings on L rows of x (row stride ld), each of two halves of `half`
	 * floats, row r turned by the angles whose cosines and sines are row r of cos and sin [L,
	 * half]: (x1, x2) to (x1 cos - x2 sin, x2 cos + x1 sin); inverse: turned back (the transpose,
	 * which takes gradients through it). */
	void (*rotary)(float *x, size_t ld, const float *cos, const float *sin, size_t L, size_t half, int inverse);
	/* L rows of D floats (row stride ld) rounded to bf16 in place, to nearest, ties to even, kept
	 * floats (a NaN stays one): the inputs of attention's products under bf16 products. */
	void (*round_bf16)(float *x, size_t ld, size_t L, size_t D);
};

extern const struct simd_ops simd_base, simd_avx2, simd_avx512; /* the last two on x86-64 only */

/* The build for this processor: AVX-512 where it has it (cpu.h), else AVX2 + FMA where it has
 * both, else the baseline (SSE2 on x86-64, SLEEF's scalar functions lane by lane elsewhere).
 * ELSA_SIMD=avx512, avx2 or sse2 in the environment forces one (tests run each); one this
 * processor cannot run gives the best it can. simd_init checks ELSA_SIMD: 0, or E_ARG when it
 * names no build or one this processor cannot run. */
const struct simd_ops *simd(void);
int simd_init(void);

#endif
