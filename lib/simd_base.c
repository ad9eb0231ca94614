/* simd_base.c: simd.h's kernels for any processor: on x86-64 each 8-lane vector as two SSE2
 * halves (SSE2 is baseline there); elsewhere lane by lane through SLEEF's scalar functions. */
#include <sleef.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__SSE2__) && !defined(ELSA_SIMD_SCALAR)
#include <emmintrin.h>
#define SIMD_NAME "sse2"
#define SSE2_HALVES(f, v) vjoin((vfh)f((__m128)vlo(v)), (vfh)f((__m128)vhi(v)))
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
#define W 8

#include "simd_kernels.h"
#include "cpu.h"
#include "err.h"

/* The builds this processor can run, best first. */
static const struct simd_ops *const builds[] = {
#if defined(__x86_64__)
	&simd_avx512, &simd_avx2,
#endif
	&simd_base,
};

static int runs_here(const struct simd_ops *k)
{
#if defined(__x86_64__)
	if (k == &simd_avx512)
		return cpu_info()->avx512;
	if (k == &simd_avx2)
		return cpu_info()->avx2;
#endif
	return 1;
}

/* The build ELSA_SIMD names (the baseline's name, "sse2" or "scalar", or "base"), NULL when it
 * names none. */
static const struct simd_ops *named(const char *name)
{
	for (size_t i = 0; i < sizeof builds / sizeof *builds; i++)
		if (!strcmp(name, builds[i]->name) || (builds[i] == &simd_base && !strcmp(name, "base")))
			return builds[i];
	return NULL;
}

int simd_init(void)
{
	const char *e = getenv("ELSA_SIMD");
	const struct simd_ops *k = e && *e ? named(e) : NULL;
	if (e && *e && !k)
		return err_set(E_ARG, "ELSA_SIMD: '%s' is not avx512, avx2 or %s", e, simd_base.name);
	if (k && !runs_here(k))
		return err_set(E_ARG, "ELSA_SIMD: %s: this processor (%s, %s) cannot run it", e, cpu_info()->name,
			       cpu_info()->family_model);
	return 0;
}

const struct simd_ops *simd(void)
{
	/* Chosen at the first call, which may come from several threads at once: they store the
	 * same pointer, atomically. */
	static const struct simd_ops *_Atomic chosen;
	const struct simd_ops *k = atomic_load_explicit(&chosen, memory_order_relaxed);
	if (!k) {
		const char *e = getenv("ELSA_SIMD");
		k = e && *e ? named(e) : NULL;
		for (size_t i = 0; (!k || !runs_here(k)) && i < sizeof builds / sizeof *builds; i++)
			k = builds[i];
		atomic_store_explicit(&chosen, k, memory_order_relaxed);
	}
	return k;
}
