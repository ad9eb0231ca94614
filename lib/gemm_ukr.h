/* gemm_ukr.h: elsa's own micro-kernels for BLIS, which gemm.c registers in a copy of the
 * context BLIS gives (BLIS keeps the cache blocking, the loops and the edge logistics). Each is a
 * column-preferring mr x nr kernel (mr rows as vectors, nr columns as broadcasts) with the
 * packing kernels that lay out its panels, written once over a vector type in
 * gemm_ukr_kernels.h and compiled for AVX-512 (gemm_avx512.c: 16 x 14) and for AVX2 + FMA
 * (gemm_avx2.c: 16 x 6). Only gemm.c uses them.
 *
 * Every element of C goes through the same arithmetic wherever it lies in a tile, edges
 * included: the sum over k in order, one fused multiply-add a step, then alpha * sum, then
 * beta * c added by one more fused multiply-add (beta 0: C is not read). So a product's result
 * does not depend on how C is split among threads. */
#ifndef ELSA_GEMM_UKR_H
#define ELSA_GEMM_UKR_H

#include <blis.h>

typedef void gemm_ukr_fn(dim_t m, dim_t n, dim_t k, float *restrict alpha, float *restrict a, float *restrict b,
			 float *restrict beta, float *restrict c, inc_t rs_c, inc_t cs_c, auxinfo_t *data, cntx_t *cntx);
typedef void gemm_pack_fn(conj_t conja, pack_t schema, dim_t cdim, dim_t n, dim_t n_max, float *restrict kappa,
			  float *restrict a, inc_t inca, inc_t lda, float *restrict p, inc_t ldp, cntx_t *restrict cntx);

struct gemm_ukr {
	const char *name;     /* "avx512", "avx2": what ELSA_GEMM calls it */
	int mr, nr;           /* the micro-tile */
	int mc, kc, nc;       /* BLIS's cache blocks for it (mc a multiple of mr, nc of nr) */
	int kr;               /* BLIS pads the panels' k to a multiple of it (0: 1) */
	gemm_ukr_fn *kernel;  /* C (mr x nr, column-preferring) = alpha A B + beta C */
	gemm_pack_fn *pack_a; /* an mr x k panel of A, k columns of mr */
	gemm_pack_fn *pack_b; /* a k x nr panel of B, k rows of nr */
	/* The same panels with each value rounded to bf16 (kept a float): bf16 products emulated
	 * by this float kernel; NULL in the bf16 kernel, whose own panels are bf16 pairs. */
	gemm_pack_fn *pack_a_bf16, *pack_b_bf16;
};

/* x86-64 only: float kernels for AVX-512 and AVX2, and AVX512_BF16's bf16 kernel (16 x 14 too:
 * bf16 inputs, float sums), whose panels hold pairs of bf16 of consecutive k in each 32-bit lane. */
extern const struct gemm_ukr gemm_ukr_avx512, gemm_ukr_avx2, gemm_ukr_avx512bf16;
/* And AMX's bf16 kernel (16 x 16: one tile of C), whose A panels are AMX's tiles: rows of 32 k. */
extern const struct gemm_ukr gemm_ukr_amx;

#endif
