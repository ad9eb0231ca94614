/* gemm_avx512.h: what the AVX-512 kernels share (gemm_avx512.c's float kernel, gemm_avx512bf16.c's
 * and gemm_amx.c's bf16 ones): gemm_ukr_kernels.h's vector operations on __m512, the 16 x 16
 * transpose of their packing, and with AVX512_BF16 the bf16 ones. Not a public header. */
#include <immintrin.h>

#define V __m512
#define VL 16
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_LOAD_N(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define V_STORE_N(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#define V_TRANSPOSE(r) transpose16(r)
#define V_ROUND_BF16(v) round_bf16(v)

/* r[16] transposed: pairs interleaved, then quads, then the 128-bit lanes in two steps. */
static inline void transpose16(__m512 r[16])
{
	__m512 t[16];
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
		r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
	for (int i = 0; i < 8; i++) {
		int a = (i / 4) * 8 + i % 4;
		t[a] = _mm512_shuffle_f32x4(r[a], r[a + 4], 0x88);
		t[a + 4] = _mm512_shuffle_f32x4(r[a], r[a + 4], 0xdd);
	}
	for (int i = 0; i < 4; i++) {
		r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
		r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
		r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
		r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
	}
}

/* Each lane rounded to the nearest bf16, ties to even (the low 16 bits of the float cleared); a
 * NaN stays a NaN (made quiet, so that the rounding cannot carry it into an infinity). */
static inline __m512 round_bf16(__m512 x)
{
	__m512i u = _mm512_castps_si512(x), one = _mm512_set1_epi32(1);
	__m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
	__m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
	__mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
	r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
	return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u)));
}

#ifdef __AVX512BF16__
#define V_DOT2(acc, a, b) _mm512_dpbf16_ps(acc, (__m512bh)(a), (__m512bh)(b))
#define V_BCAST32(p) _mm512_castsi512_ps(_mm512_set1_epi32(*(const int *)(p)))
#define V_BF16_SEQ(lo, hi) ((__m512)_mm512_cvtne2ps_pbh(hi, lo))
#define V_BF16_ZIP(x0, x1) zip_bf16(x0, x1)

/* The pairs (x0[i], x1[i]) of bf16: both converted (x0 into the low 16 bf16, x1 the high), then
 * interleaved. */
static inline __m512 zip_bf16(__m512 x0, __m512 x1)
{
	const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
					       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
	return _mm512_castsi512_ps(_mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(x1, x0)));
}
#endif
