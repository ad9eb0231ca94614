/* gemm_avx512.c: gemm_ukr.h's AVX-512 kernel, 32 x 12 (24 accumulators of 16 floats), and its
 * packing (the Makefile compiles this file alone with -mavx512f -mavx512dq -mavx512bw -mavx512vl
 * -mfma on x86-64; elsewhere it holds nothing). Its block sizes are BLIS 1.x's for its AVX-512
 * 32 x 12 kernels, checked by measuring (README, bench/gemmpeak). */
#if defined(__x86_64__)
#include <immintrin.h>

#define UKR_TABLE gemm_ukr_avx512
#define UKR_NAME "avx512"
#define V __m512
#define VL 16
#define NV 2
#define NR 12
#define MC 480
#define KC 384
#define NC 3072
#define PF 16

#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_LOAD_N(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define V_STORE_N(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#define V_TRANSPOSE(r) transpose16(r)

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

#include "gemm_ukr_kernels.h"
#endif
