/* gemm_avx512bf16.c: gemm_ukr.h's bf16 kernel for AVX512_BF16, 16 x 14: its panels hold bf16
 * pairs of consecutive k (rounded to nearest even as they are packed, from the float matrices),
 * and each step of the kernel is one vdpbf16ps per accumulator (two products added into a float
 * sum). The Makefile compiles this file alone with the AVX-512 flags and -mavx512bf16 on x86-64;
 * elsewhere it holds nothing. */
#if defined(__x86_64__)
#include "gemm_avx512.h"

#define UKR_TABLE gemm_ukr_avx512bf16
#define UKR_NAME "avx512bf16"
#define BF16_PAIRS
#define NV 1
#define NR 14
#define MC 480
#define KC 384
#define NC 3072
#define PF 16

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

#include "gemm_ukr_kernels.h"
#endif
