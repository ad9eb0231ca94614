/* gemm_ukr_kernels.h: the bodies of gemm_ukr.h's kernels, included once by each build
 * (gemm_avx512.c, gemm_avx2.c) after it defines:
 *   UKR_TABLE, UKR_NAME      the table's name and the kernel's
 *   V, VL                    the vector type and its lanes
 *   NV, NR                   the tile: MR = NV * VL rows, NR columns
 *   MC, KC, NC               BLIS's cache blocks
 *   PF                       how many k steps ahead the kernel prefetches A's panel
 *   V_ZERO(), V_SET1(x), V_LOAD(p), V_STORE(p, v), V_FMA(a, b, c) (a b + c, fused), V_MUL(a, b)
 *   V_LOAD_N(p, n), V_STORE_N(p, v, n)   the first n (< VL) lanes, zeros in the others
 *   V_TRANSPOSE(r)           r[VL] transposed in place: lane j of r[i] to lane i of r[j]
 * Not a public header. */
#include <string.h>

#include "gemm_ukr.h"

#define MR (NV * VL)

static inline V load_n(const float *p, dim_t n)
{
	return n >= VL ? V_LOAD(p) : n <= 0 ? V_ZERO() : V_LOAD_N(p, n);
}

static inline void store_n(float *p, V v, dim_t n)
{
	if (n >= VL)
		V_STORE(p, v);
	else if (n > 0)
		V_STORE_N(p, v, n);
}

/* t = alpha * sum, then beta * c + t: the one formula of every element of C. */
static inline V finish(V sum, float alpha, float beta, V c)
{
	V t = alpha == 1.0f ? sum : V_MUL(sum, V_SET1(alpha));
	return beta == 0.0f ? t : V_FMA(V_SET1(beta), c, t);
}

/* Column j of the tile (its NV vectors) into C: m rows, at row stride rs_c. */
static inline void store_column(float *c, inc_t rs_c, dim_t m, const V *col, float alpha, float beta)
{
	for (int v = 0; v < NV; v++) {
		dim_t rows = m - v * VL;
		if (rows <= 0)
			break;
		if (rs_c == 1) {
			float *cv = c + v * VL;
			store_n(cv, finish(col[v], alpha, beta, beta == 0.0f ? V_ZERO() : load_n(cv, rows)), rows);
			continue;
		}
		float in[VL] = { 0 }, out[VL]; /* C's rows apart: the same formula through a copy */
		dim_t r = rows < VL ? rows : VL;
		for (dim_t i = 0; i < r && beta != 0.0f; i++)
			in[i] = c[(v * VL + i) * rs_c];
		V_STORE(out, finish(col[v], alpha, beta, V_LOAD(in)));
		for (dim_t i = 0; i < r; i++)
			c[(v * VL + i) * rs_c] = out[i];
	}
}

static void ukr(dim_t m, dim_t n, dim_t k, float *restrict alpha, float *restrict a, float *restrict b,
		float *restrict beta, float *restrict c, inc_t rs_c, inc_t cs_c, auxinfo_t *data, cntx_t *cntx)
{
	(void)data, (void)cntx;
	V acc[NR][NV];
#pragma GCC unroll 16
	for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[j][v] = V_ZERO();
	for (dim_t p = 0; p < k; p++, a += MR, b += NR) {
		V av[NV];
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++) {
			__builtin_prefetch(a + PF * MR + v * VL);
			av[v] = V_LOAD(a + v * VL);
		}
#pragma GCC unroll 16
		for (int j = 0; j < NR; j++) {
			V bj = V_SET1(b[j]);
#pragma GCC unroll 4
			for (int v = 0; v < NV; v++)
				acc[j][v] = V_FMA(av[v], bj, acc[j][v]);
		}
	}
	for (dim_t j = 0; j < n && j < NR; j++)
		store_column(c + j * cs_c, rs_c, m, acc[j], *alpha, *beta);
}

/* p[kk ldp + i] = kappa a[i inca + kk lda] for i < cdim, kk < n; zeros in the panel's other
 * rows and in its columns n..n_max. Sources of A X^T products are stored by rows (lda 1): VL x
 * VL blocks are transposed in registers; sources stored by columns (inca 1) are copied. */
static void pack(int panel, dim_t cdim, dim_t n, dim_t n_max, float kappa, const float *a, inc_t inca, inc_t lda,
		 float *p, inc_t ldp)
{
	V scale = V_SET1(kappa);
	if (lda == 1) {
		for (int h = 0; h < panel; h += VL) {
			dim_t rows = cdim - h, width = panel - h;
			for (dim_t kk = 0; kk < n; kk += VL) {
				V r[VL];
				for (int i = 0; i < VL; i++)
					r[i] = i < rows ? load_n(a + (h + i) * inca + kk, n - kk) : V_ZERO();
				V_TRANSPOSE(r);
				for (int l = 0; l < VL && kk + l < n; l++)
					store_n(p + (kk + l) * ldp + h, kappa == 1.0f ? r[l] : V_MUL(r[l], scale), width);
			}
		}
	} else if (inca == 1) {
		for (dim_t kk = 0; kk < n; kk++)
			for (int h = 0; h < panel; h += VL) {
				V x = load_n(a + kk * lda + h, cdim - h);
				store_n(p + kk * ldp + h, kappa == 1.0f ? x : V_MUL(x, scale), panel - h);
			}
	} else {
		for (dim_t kk = 0; kk < n; kk++)
			for (int i = 0; i < panel; i++)
				p[kk * ldp + i] = i < cdim ? kappa * a[i * inca + kk * lda] : 0.0f;
	}
	for (dim_t kk = n; kk < n_max; kk++)
		memset(p + kk * ldp, 0, (size_t)panel * sizeof *p);
}

static void pack_a(conj_t conja, pack_t schema, dim_t cdim, dim_t n, dim_t n_max, float *restrict kappa,
		   float *restrict a, inc_t inca, inc_t lda, float *restrict p, inc_t ldp, cntx_t *restrict cntx)
{
	(void)conja, (void)schema, (void)cntx;
	pack(MR, cdim, n, n_max, *kappa, a, inca, lda, p, ldp);
}

static void pack_b(conj_t conja, pack_t schema, dim_t cdim, dim_t n, dim_t n_max, float *restrict kappa,
		   float *restrict a, inc_t inca, inc_t lda, float *restrict p, inc_t ldp, cntx_t *restrict cntx)
{
	(void)conja, (void)schema, (void)cntx;
	pack(NR, cdim, n, n_max, *kappa, a, inca, lda, p, ldp);
}

const struct gemm_ukr UKR_TABLE = {
	.name = UKR_NAME,
	.mr = MR,
	.nr = NR,
	.mc = MC,
	.kc = KC,
	.nc = NC,
	.kernel = ukr,
	.pack_a = pack_a,
	.pack_b = pack_b,
};
