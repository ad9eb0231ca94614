/* gemm_avx512.c: gemm_ukr.h's AVX-512 float kernel, 16 x 14 (14 accumulators of 16 floats, each
 * step one load of A and 14 fused multiply-adds with a broadcast of B), and its packing (the
 * Makefile compiles this file alone with the AVX-512 flags on x86-64; elsewhere it holds nothing).
 * Both panels are under 32 rows: BLIS 0.9 looks packing kernels up by panel size only below 32
 * (a 32 x 12 kernel's A panels would be packed by its slow generic copy). The shape and block
 * sizes were chosen by measuring (bench/gemmpeak; elsa(7) SPEED). */
#if defined(__x86_64__)
#include "gemm_avx512.h"

#define UKR_TABLE gemm_ukr_avx512
#define UKR_NAME "avx512"
#define NV 1
#define NR 14
#define MC 480
#define KC 384
#define NC 3072
#define PF 16

#include "gemm_ukr_kernels.h"
#endif
