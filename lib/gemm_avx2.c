/* gemm_avx2.c: gemm_ukr.h's AVX2 + FMA kernel, 16 x 6 (12 accumulators of 8 floats), and its
 * packing (the Makefile compiles this file alone with -mavx2 -mfma on x86-64; elsewhere it holds
 * nothing): for processors that have AVX2 but where BLIS's own configuration for them is its
 * generic C kernel. Block sizes: BLIS 0.9's haswell configuration's. */
#if defined(__x86_64__)
#include <immintrin.h>

#define UKR_TABLE gemm_ukr_avx2
#define UKR_NAME "avx2"
#define V __m256
#define VL 8
#define NV 2
#define NR 6
#define MC 168
#define KC 256
#define NC 4080
#define PF 16

/* The first n lanes: a sliding window over eight -1s and eight 0s. */
static const int lane_mask[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
#define FIRST(n) _mm256_loadu_si256((const __m256i *)(lane_mask + 8 - (n)))

#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_LOAD_N(p, n) _mm256_maskload_ps(p, FIRST(n))
#define V_STORE_N(p, v, n) _mm256_maskstore_ps(p, FIRST(n), v)
#define V_TRANSPOSE(r) transpose8(r)
#define V_ROUND_BF16(v) round_bf16(v)

/* r[8] transposed: pairs interleaved, then quads, then the 128-bit halves. */
static inline void transpose8(__m256 r[8])
{
	__m256 t[8];
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
		r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
	for (int i = 0; i < 4; i++) {
		t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
		t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
	}
	for (int i = 0; i < 8; i++)
		r[i] = t[i];
}

/* Each lane rounded to the nearest bf16, ties to even (the low 16 bits cleared); a NaN stays a
 * NaN (made quiet first). */
static inline __m256 round_bf16(__m256 x)
{
	__m256i u = _mm256_castps_si256(x);
	__m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
	__m256i r = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
	__m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
	r = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(r),
						 _mm256_castsi256_ps(_mm256_or_si256(u, _mm256_set1_epi32(0x00400000))), nan));
	return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u)));
}

#include "gemm_ukr_kernels.h"
#endif
