/* simd_avx512.c: simd.h's kernels for AVX-512, 16 lanes (the Makefile compiles this file alone
 * with the AVX-512 flags and -ffp-contract=fast on x86-64; elsewhere it holds nothing). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <sleef.h>

#define SIMD_OPS simd_avx512
#define SIMD_NAME "avx512"
#define W 16
#define SIMD_ERF(v) ((vf)Sleef_erff16_u10avx512f((__m512)(v)))
#define SIMD_EXP(v) ((vf)Sleef_expf16_u10avx512f((__m512)(v)))
#define SIMD_SQRT(v) ((vf)_mm512_sqrt_ps((__m512)(v)))

#include "simd_kernels.h"
#endif
