/* machine.h: what a result was computed on: the processor, and the kernels chosen for it (the
 * GEMM kernel and BLIS's configuration, lib/gemm.h; the SIMD build, lib/simd.h). The last digits
 * of a product or a sum depend on the kernels, so records carry them: elsa-encode --stats,
 * run.yaml's cost, a checkpoint (a run resumed under other kernels is not bit-identical to one
 * never interrupted), make bench. */
#ifndef ELSA_MACHINE_H
#define ELSA_MACHINE_H

#include <stddef.h>

struct machine {
	const char *cpu, *cpu_family; /* "AMD EPYC 9B45 128-Core Processor", "family 26 model 2" */
	const char *blis;             /* BLIS's configuration: "skx", "zen3", "haswell", "generic" */
	const char *gemm;             /* the GEMM kernel: "avx512", "avx2" (elsa's), "blis" (BLIS's own) */
	const char *simd;             /* the SIMD build: "avx512", "avx2", "sse2" */
};

/* The machine of this process (the kernels as chosen by gemm_init and simd()). */
void machine_get(struct machine *m);

/* "gemm avx512, blis skx, simd avx512": the kernels, which decide a result's bits, in one line
 * (into buf, which is returned). */
const char *machine_kernels(char *buf, size_t size);

#endif
