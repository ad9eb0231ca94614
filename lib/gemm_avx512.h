/* gemm_avx512.h: what the AVX-512 kernels share (gemm_avx512.c's float kernel and
 * gemm_avx512bf16.c's bf16 one): gemm_ukr_kernels.h's vector operations on __m512, and the 16 x
 * 16 transpose of their packing. Not a public header. */
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
