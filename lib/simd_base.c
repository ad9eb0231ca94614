/* simd_base.c: simd.h's kernels for any processor: on x86-64 each 8-lane vector as two SSE2
 * halves (SSE2 is baseline there); elsewhere lane by lane through SLEEF's scalar functions. */
#include <sleef.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__SSE2__) && !defined(ELSA_SIMD_SCALAR)
#include <emmintrin.h>
#define SIMD_NAME "sse2"
#define SSE2_HALVES(f, v) vjoin((vf4)f((__m128)vlo(v)), (vf4)f((__m128)vhi(v)))
#define SIMD_ERF(v) SSE2_HALVES(Sleef_erff4_u10sse2, v)
#define SIMD_EXP(v) SSE2_HALVES(Sleef_expf4_u10sse2, v)
#define SIMD_SQRT(v) SSE2_HALVES(_mm_sqrt_ps, v)
#else
#define SIMD_NAME "scalar"
#define SIMD_ERF(v) vmap(Sleef_erff_u10, v)
#define SIMD_EXP(v) vmap(Sleef_expf_u10, v)
#define SIMD_SQRT(v) vmap(sqrtf, v)
#endif
#define SIMD_OPS simd_base

#include "simd_kernels.h"

const struct simd_ops *simd(void)
{
	/* Chosen at the first call, which may come from several threads at once: they store the
	 * same pointer, atomically. */
	static const struct simd_ops *_Atomic chosen;
	const struct simd_ops *k = atomic_load_explicit(&chosen, memory_order_relaxed);
	if (!k) {
		k = &simd_base;
#if defined(__x86_64__)
		const char *e = getenv("ELSA_SIMD");
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !(e && !strcmp(e, "sse2")))
			k = &simd_avx2;
#endif
		atomic_store_explicit(&chosen, k, memory_order_relaxed);
	}
	return k;
}
