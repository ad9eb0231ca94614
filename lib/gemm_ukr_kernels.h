/* gemm_ukr_kernels.h: the bodies of gemm_ukr.h's kernels, included once by each build
 * (gemm_avx512.c, gemm_avx2.c, gemm_avx512bf16.c) after it defines:
 *   UKR_TABLE, UKR_NAME      the table's name and the kernel's
 *   V, VL                    the vector type and its lanes
 *   NV, NR                   the tile: MR = NV * VL rows, NR columns
 *   MC, KC, NC               BLIS's cache blocks
 *   PF                       how many k steps ahead the kernel prefetches A's panel
 *   V_ZERO(), V_SET1(x), V_LOAD(p), V_STORE(p, v), V_FMA(a, b, c) (a b + c, fused), V_MUL(a, b)
 *   V_LOAD_N(p, n), V_STORE_N(p, v, n)   the first n (< VL) lanes, zeros in the others
 *   V_TRANSPOSE(r)           r[VL] transposed in place: lane j of r[i] to lane i of r[j] (32-bit
 *                            lanes: floats, or pairs of bf16)
 *   V_ROUND_BF16(v)          each lane rounded to the nearest bf16 (ties to even), kept a float
 * and, for the bf16 kernel (BF16_PAIRS), where each 32-bit lane of a packed panel holds a pair of
 * bf16 values of consecutive k (the even one low), its step counting two k:
 *   V_DOT2(acc, a, b)        acc + a0 b0 + a1 b1 in each lane (vdpbf16ps)
 *   V_BCAST32(p)             the 32 bits at p (a pair) in every lane
 *   V_BF16_SEQ(lo, hi)       2 VL consecutive floats (lo's, then hi's) as VL pairs, in order
 *   V_BF16_ZIP(x0, x1)       the pairs (x0[i], x1[i])
 *   K_ALIGN                  (optional) the packed panels' k zero-padded to a multiple of this
 * A build whose micro-kernel or A-packing differs (AMX's tiles) declares them (static
 * gemm_ukr_fn ukr; static gemm_pack_fn pack_a;), defines OWN_UKR, and defines them after; and
 * PACK_EITHER, the one packing kernel the table names for both panels when mr equals nr.
 * Not a public header. */
#include <string.h>

#include "gemm_ukr.h"

#define MR (NV * VL)
#ifndef K_ALIGN
#define K_ALIGN 2
#endif
#ifdef BF16_PAIRS
#define PAIR 2 /* k per packed step */
#define STEP(acc, a, b) V_DOT2(acc, a, b)
#define BROADCAST(p) V_BCAST32(p)
#else
#define PAIR 1
#define STEP(acc, a, b) V_FMA(a, b, acc)
#define BROADCAST(p) V_SET1(*(p))
#endif

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

#ifndef OWN_UKR
/* The micro-kernel: k steps (of PAIR k each) over the packed panels, A's MR rows as vectors, B's
 * NR columns as broadcasts (of a float, or of a bf16 pair). */
static void ukr(dim_t m, dim_t n, dim_t k, float *restrict alpha, float *restrict a, float *restrict b,
		float *restrict beta, float *restrict c, inc_t rs_c, inc_t cs_c, auxinfo_t *data, cntx_t *cntx)
{
	(void)data, (void)cntx;
	V acc[NR][NV];
#pragma GCC unroll 32
	for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[j][v] = V_ZERO();
#pragma GCC unroll 4
	for (dim_t p = 0; p < (k + PAIR - 1) / PAIR; p++, a += MR, b += NR) {
		V av[NV];
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++) {
			__builtin_prefetch(a + PF * MR + v * VL);
			av[v] = V_LOAD(a + v * VL);
		}
#pragma GCC unroll 32
		for (int j = 0; j < NR; j++) {
			V bj = BROADCAST(b + j);
#pragma GCC unroll 4
			for (int v = 0; v < NV; v++)
				acc[j][v] = STEP(acc[j][v], av[v], bj);
		}
	}
	for (dim_t j = 0; j < n && j < NR; j++)
		store_column(c + j * cs_c, rs_c, m, acc[j], *alpha, *beta);
}
#endif

#ifndef BF16_PAIRS
/* p[kk ldp + i] = kappa a[i inca + kk lda] for i < cdim, kk < n (rounded to bf16 when round);
 * zeros in the panel's other rows and in its columns n..n_max. Sources of A X^T products are
 * stored by rows (lda 1): VL x VL blocks are transposed in registers; sources stored by columns
 * (inca 1) are copied. */
static void pack(int panel, int round, dim_t cdim, dim_t n, dim_t n_max, float kappa, const float *a, inc_t inca,
		 inc_t lda, float *p, inc_t ldp)
{
	V scale = V_SET1(kappa);
#define OUT(x) (round ? V_ROUND_BF16(kappa == 1.0f ? (x) : V_MUL(x, scale)) : kappa == 1.0f ? (x) : V_MUL(x, scale))
	if (lda == 1) {
		for (int h = 0; h < panel; h += VL) {
			dim_t rows = cdim - h, width = panel - h;
			for (dim_t kk = 0; kk < n; kk += VL) {
				V r[VL];
				for (int i = 0; i < VL; i++)
					r[i] = i < rows ? load_n(a + (h + i) * inca + kk, n - kk) : V_ZERO();
				V_TRANSPOSE(r);
				for (int l = 0; l < VL && kk + l < n; l++)
					store_n(p + (kk + l) * ldp + h, OUT(r[l]), width);
			}
		}
	} else if (inca == 1) {
		for (dim_t kk = 0; kk < n; kk++)
			for (int h = 0; h < panel; h += VL)
				store_n(p + kk * ldp + h, OUT(load_n(a + kk * lda + h, cdim - h)), panel - h);
	} else {
		for (dim_t kk = 0; kk < n; kk++)
			for (int h = 0; h < panel; h += VL) {
				float x[VL] = { 0 };
				for (int i = 0; i < VL && h + i < cdim; i++)
					x[i] = a[(h + i) * inca + kk * lda];
				store_n(p + kk * ldp + h, OUT(V_LOAD(x)), panel - h);
			}
	}
#undef OUT
	for (dim_t kk = n; kk < n_max; kk++)
		memset(p + kk * ldp, 0, (size_t)panel * sizeof *p);
}
#else
/* The same panels, as bf16 pairs: p's 32-bit lane i of step s holds (a[i][2s], a[i][2s+1])
 * rounded to bf16 (after kappa), the odd one 0 past n, at p + s ldp. By rows (lda 1): VL rows of
 * 2 VL k make VL lanes of pairs each, transposed as 32-bit lanes; by columns (inca 1): two k's
 * vectors zipped into one of pairs. */
static void pack(int panel, int round, dim_t cdim, dim_t n, dim_t n_max, float kappa, const float *a, inc_t inca,
		 inc_t lda, float *p, inc_t ldp)
{
	(void)round;
	V scale = V_SET1(kappa);
#define IN(x) (kappa == 1.0f ? (x) : V_MUL(x, scale))
	dim_t steps = (n + 1) / 2;
	if (lda == 1) {
		for (int h = 0; h < panel; h += VL) {
			dim_t rows = cdim - h, width = panel - h;
			for (dim_t kk = 0; kk < n; kk += 2 * VL) {
				V r[VL];
				for (int i = 0; i < VL; i++) {
					const float *src = a + (h + i) * inca + kk;
					r[i] = i < rows ? V_BF16_SEQ(IN(load_n(src, n - kk)), IN(load_n(src + VL, n - kk - VL))) : V_ZERO();
				}
				V_TRANSPOSE(r);
				for (int l = 0; l < VL && kk / 2 + l < steps; l++)
					store_n(p + (kk / 2 + l) * ldp + h, r[l], width);
			}
		}
	} else {
		for (dim_t s = 0; s < steps; s++)
			for (int h = 0; h < panel; h += VL) {
				V x0, x1 = V_ZERO();
				if (inca == 1) {
					x0 = load_n(a + 2 * s * lda + h, cdim - h);
					if (2 * s + 1 < n)
						x1 = load_n(a + (2 * s + 1) * lda + h, cdim - h);
				} else {
					float y0[VL] = { 0 }, y1[VL] = { 0 };
					for (int i = 0; i < VL && h + i < cdim; i++) {
						y0[i] = a[(h + i) * inca + 2 * s * lda];
						y1[i] = 2 * s + 1 < n ? a[(h + i) * inca + (2 * s + 1) * lda] : 0.0f;
					}
					x0 = V_LOAD(y0), x1 = V_LOAD(y1);
				}
				store_n(p + s * ldp + h, V_BF16_ZIP(IN(x0), IN(x1)), panel - h);
			}
	}
#undef IN
	dim_t padded = n > n_max ? n : n_max;
	padded = (padded + K_ALIGN - 1) / K_ALIGN * K_ALIGN;
	for (dim_t s = steps; s < padded / 2; s++)
		memset(p + s * ldp, 0, (size_t)panel * sizeof *p);
}
#endif

/* BLIS's packing kernels: A's panels of MR, B's of NR; and the same rounded to bf16 (the bf16
 * products emulated by a float kernel, where the processor lacks AVX512_BF16). */
#define PACKER(name, panel, round)                                                                     \
	static void name(conj_t conja, pack_t schema, dim_t cdim, dim_t n, dim_t n_max, float *restrict kappa, \
			 float *restrict a, inc_t inca, inc_t lda, float *restrict p, inc_t ldp, cntx_t *restrict cntx) \
	{                                                                                              \
		(void)conja, (void)schema, (void)cntx;                                                 \
		pack(panel, round, cdim, n, n_max, *kappa, a, inca, lda, p, ldp);                      \
	}
#ifndef OWN_UKR
PACKER(pack_a, MR, 0)
#endif
PACKER(pack_b, NR, 0)
#ifndef BF16_PAIRS
PACKER(pack_a_bf16, MR, 1)
PACKER(pack_b_bf16, NR, 1)
#endif

const struct gemm_ukr UKR_TABLE = {
	.name = UKR_NAME,
	.mr = MR,
	.nr = NR,
	.mc = MC,
	.kc = KC,
	.nc = NC,
#ifdef KR
	.kr = KR,
#endif
	.kernel = ukr,
#ifdef PACK_EITHER /* one packing kernel for both panels (their widths are equal) */
	.pack_a = PACK_EITHER,
	.pack_b = PACK_EITHER,
#else
	.pack_a = pack_a,
	.pack_b = pack_b,
#endif
#ifndef BF16_PAIRS
	.pack_a_bf16 = pack_a_bf16,
	.pack_b_bf16 = pack_b_bf16,
#endif
};
