/* simd_avx2.c: simd.h's kernels for AVX2 + FMA (the Makefile compiles this file alone with
 * -mavx2 -mfma -ffp-contract=fast on x86-64; elsewhere it holds nothing). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <sleef.h>

#define SIMD_OPS simd_avx2
#define SIMD_NAME "avx2"
#define W 8
#define SIMD_ERF(v) ((vf)Sleef_erff8_u10avx2((__m256)(v)))
#define SIMD_EXP(v) ((vf)Sleef_expf8_u10avx2((__m256)(v)))
#define SIMD_SQRT(v) ((vf)_mm256_sqrt_ps((__m256)(v)))

#include "simd_kernels.h"
#endif
