/* gemm_amx.c: gemm_ukr.h's bf16 kernel for Intel's AMX (Sapphire Rapids and later Xeons), 16 x
 * 16: one tile of C (16 x 16 floats) accumulated by TDPBF16PS over tiles of A (16 rows x 32 bf16 of
 * k) and B (16 pairs of k x 16 columns), each step 32 k. Its packing: A's panels row by row in
 * blocks of 32 k (each tile 1 KB, as TILELOADD takes it); B's as bf16 pairs of k (the bf16 kernel's
 * layout, which is AMX's), both zero-padded to a multiple of 32 k; one function packs both
 * (pack_either: BLIS looks packing kernels up by panel size, 16 for both). BLIS pads the panels' k to 16
 * (KR), room for the bf16 values to 32. The Makefile compiles this file alone with the AVX-512,
 * AVX512_BF16 and AMX flags on x86-64; elsewhere it holds nothing. A thread configures its tiles
 * once, at its first call; the process asks Linux for the tile state first (gemm.c). */
#if defined(__x86_64__)
#include <stdint.h>

#include "gemm_avx512.h"
#include "gemm_ukr.h"

#define UKR_TABLE gemm_ukr_amx
#define UKR_NAME "amx"
#define BF16_PAIRS
#define OWN_UKR
#define K_ALIGN 32
#define NV 1
#define NR 16
#define MC 480
#define KC 768
#define NC 3072
#define KR 16
#define PF 16

static gemm_ukr_fn ukr;
static gemm_pack_fn pack_a, pack_either;
#define PACK_EITHER pack_either
#include "gemm_ukr_kernels.h"

/* BLIS finds packing kernels by panel size, and both of this kernel's panels are 16 wide: one
 * function packs both, A's row panels (BLIS's schema says which) as AMX's A tiles, B's as pairs. */
static void pack_either(conj_t conja, pack_t schema, dim_t cdim, dim_t n, dim_t n_max, float *restrict kappa,
			float *restrict a, inc_t inca, inc_t lda, float *restrict p, inc_t ldp, cntx_t *restrict cntx)
{
	(bli_is_row_packed(schema) ? pack_a : pack_b)(conja, schema, cdim, n, n_max, kappa, a, inca, lda, p, ldp, cntx);
}

/* The tiles: 0 C (16 rows of 64 bytes: 16 floats), 1 A (16 rows of 32 bf16), 2 B (16 pairs of
 * rows of k, 16 columns of 2 bf16); palette 1. */
struct tile_config {
	uint8_t palette, start_row, reserved[14];
	uint16_t bytes[16];
	uint8_t rows[16];
};

static _Thread_local int configured;

static void configure(void)
{
	struct tile_config c = { .palette = 1 };
	for (int t = 0; t < 3; t++)
		c.bytes[t] = 64, c.rows[t] = 16;
	_tile_loadconfig(&c);
	configured = 1;
}

static void ukr(dim_t m, dim_t n, dim_t k, float *restrict alpha, float *restrict a, float *restrict b,
		float *restrict beta, float *restrict c, inc_t rs_c, inc_t cs_c, auxinfo_t *data, cntx_t *cntx)
{
	(void)data, (void)cntx;
	if (!configured)
		configure();
	const char *pa = (const char *)a, *pb = (const char *)b;
	_tile_zero(0);
	for (dim_t kb = 0; kb < (k + 31) / 32; kb++, pa += 1024, pb += 1024) {
		_tile_loadd(1, pa, 64);
		_tile_loadd(2, pb, 64);
		_tile_dpbf16ps(0, 1, 2);
	}
	__m512 t[16];
	_tile_stored(0, t, 64); /* row i of C's tile: A's row i against B's 16 columns */
	transpose16(t);         /* column j, over the rows */
	for (dim_t j = 0; j < n && j < NR; j++)
		store_column(c + j * cs_c, rs_c, m, &t[j], *alpha, *beta);
}

/* Block b of A's panel as 16 vectors of 16 pairs of bf16 (after kappa): by rows (lda 1), vector i
 * is row i's 32 k from 32 b, converted in order; by columns (inca 1), vector i is the pair of k
 * 32 b + 2 i, + 1 over the 16 rows (zipped), to be transposed; else gathered by rows. Zeros past
 * cdim's rows and n's k. */
static void a_block(__m512 r[16], dim_t b, dim_t cdim, dim_t n, float kappa, const float *a, inc_t inca, inc_t lda)
{
	__m512 scale = V_SET1(kappa);
	dim_t k0 = 32 * b, left = n - k0;
	for (int i = 0; i < 16; i++) {
		__m512 x0 = V_ZERO(), x1 = V_ZERO();
		if (lda == 1 && i < cdim) {
			x0 = load_n(a + i * inca + k0, left), x1 = load_n(a + i * inca + k0 + 16, left - 16);
		} else if (lda != 1 && inca == 1) {
			if (2 * i < left)
				x0 = load_n(a + (k0 + 2 * i) * lda, cdim);
			if (2 * i + 1 < left)
				x1 = load_n(a + (k0 + 2 * i + 1) * lda, cdim);
		} else if (i < cdim) {
			float x[32] = { 0 };
			for (dim_t l = 0; l < 32 && l < left; l++)
				x[l] = a[i * inca + (k0 + l) * lda];
			x0 = V_LOAD(x), x1 = V_LOAD(x + 16);
		}
		if (kappa != 1.0f)
			x0 = V_MUL(x0, scale), x1 = V_MUL(x1, scale);
		r[i] = lda != 1 && inca == 1 ? V_BF16_ZIP(x0, x1) : V_BF16_SEQ(x0, x1);
	}
	if (lda != 1 && inca == 1)
		transpose16(r); /* pairs over rows to rows over pairs */
}

/* A's panel as AMX's A tiles: block b of 32 k holds 16 rows of 32 bf16 (64 bytes each), row i
 * being a[i][32 b ..] rounded to bf16 (1 KB a block, 256 floats' room), zeros past cdim and n, up
 * to a multiple of 32 k of the larger of n and n_max. */
static void pack_a(conj_t conja, pack_t schema, dim_t cdim, dim_t n, dim_t n_max, float *restrict kappa,
		   float *restrict a, inc_t inca, inc_t lda, float *restrict p, inc_t ldp, cntx_t *restrict cntx)
{
	(void)conja, (void)schema, (void)ldp, (void)cntx;
	dim_t blocks = ((n > n_max ? n : n_max) + 31) / 32;
	for (dim_t b = 0; b < blocks; b++) {
		__m512 r[16];
		a_block(r, b, cdim, n, *kappa, a, inca, lda);
		for (int i = 0; i < 16; i++)
			V_STORE(p + b * 256 + i * 16, r[i]);
	}
}
#endif
