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

#include "gemm_ukr_kernels.h"
#endif
