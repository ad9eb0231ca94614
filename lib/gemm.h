/* gemm.h: the one way elsa multiplies matrices, and the one place that sets the thread count.
 *
 * Matrices are row-major with a leading dimension (the distance between rows, in elements).
 * gemm computes C = alpha * op(A) op(B) + beta * C, where op(A) is m x k and op(B) is k x n;
 * ta / tb say that A / B are stored transposed (A as k x m, B as n x k): no copy is made.
 * beta 0 overwrites C (NaNs in C are ignored), beta 1 accumulates (gradients). */
#ifndef ELSA_GEMM_H
#define ELSA_GEMM_H

#include <stddef.h>

/* Through BLIS, on every thread set by threads_set() (on one for a product under 2 MFLOP): C is
 * split into one block of rows or columns per thread, each product on its own thread, in whole
 * micro-tiles of the kernel in use, so the results do not depend on the thread count. */
void gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
	  const float *B, size_t ldb, float beta, float *C, size_t ldc);
/* Plain loops in double precision: the oracle for tests. */
void gemm_naive(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
		const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* The time spent in gemm() and the floating-point operations it did (2 m n k per call), since
 * the program started: the "GEMM share" of the work, for the benchmarks' rate against the
 * machine's peak. */
void gemm_totals(double *seconds, double *flops);

/* The kernel that computes the products: BLIS's own ("blis"), or one of elsa's micro-kernels
 * inside BLIS ("avx512", "avx2": lib/gemm_ukr.h; "amx" and "avx512bf16" for bf16 products, the
 * float ones then on "avx512"), chosen once for this processor (the rules are in gemm.c) unless
 * ELSA_GEMM names one. gemm_init reads ELSA_GEMM: 0, or E_ARG when it names no
 * kernel or one this processor cannot run (gemm() then runs BLIS's own). gemm_use switches to the
 * kernel named (NULL: as gemm_init), for tests that run each kernel in turn; 0 or E_ARG. Before
 * BLIS starts, elsa asks it for its best configuration for the processor where BLIS 0.9 would
 * choose a weaker one, unless BLIS_ARCH_TYPE is set. */
int gemm_init(void);
int gemm_use(const char *name);
/* The products' inputs: f32 (bf16 0, the default), or rounded to bf16 to nearest even (bf16 1),
 * their sums f32 either way: AVX512_BF16's kernel (vdpbf16ps) where the processor has it, else
 * emulated by a float kernel (the same products, summed in another order). 0, or E_ARG naming
 * what the processor lacks (AVX2 and FMA, for the emulation). gemm_bf16 says which is in use. */
int gemm_compute(int bf16);
int gemm_bf16(void);
/* The products' input type as options and records name it: "f32" (0) or "bf16" (1); parse gives
 * -1 for another name. */
int gemm_compute_parse(const char *name);
const char *gemm_compute_name(int bf16);
/* The kernel in use: "avx512", "avx2", "blis", "avx512bf16", or a float kernel with " (bf16
 * emulated)"; and BLIS's configuration ("skx", "haswell", "zen3", "generic"). */
const char *gemm_kernel(void);
const char *gemm_blis_config(void);

/* The thread count of gemm and of elsa's own parallel loops (OpenMP). */
void threads_set(int n);
int threads_get(void);

#endif
