/* cpu.h: the processor this process runs on: its name, family and the vector instructions it
 * can run (cpuid, and xgetbv for the registers the operating system saves on a context switch),
 * and how many CPUs this process may use (its affinity mask and its cgroup's CPU quota). The
 * kernels (gemm.c, simd.h) choose their builds from it; the tools name it in their records. */
#ifndef ELSA_CPU_H
#define ELSA_CPU_H

struct cpu_info {
	char name[49];     /* the brand string ("AMD EPYC 9B45 128-Core Processor"), else "unknown" */
	char vendor[13];   /* "AuthenticAMD", "GenuineIntel", "" off x86-64 */
	int family, model; /* cpuid's, extended fields folded in: AMD Zen 3 and 4 are family 25, Zen 5 26 */
	int avx2;          /* AVX2 and FMA, with ymm state saved by the OS */
	int avx512;        /* AVX-512 F, CD, BW, DQ and VL, with zmm and mask state saved */
	int avx512_bf16;   /* AVX512_BF16 (vdpbf16ps) as well */
	int amx_bf16;      /* AMX's tiles and their bf16 products (Intel Xeon from Sapphire Rapids on), with
			    * the tile state saved by the OS (a process still asks Linux for it: gemm.c) */
	/* Its 512-bit FMAs run as two 256-bit halves (AMD Zen 4: family 25 with AVX-512), so that
	 * AVX-512 code computes at the AVX2 rate: the processors where BLIS's AVX2 kernels keep up. */
	int split512;
	char family_model[32]; /* "family 26 model 2" for records, "" off x86-64 */
};

/* This processor, read once. */
const struct cpu_info *cpu_info(void);

/* The CPUs this process may use: those of its affinity mask (taskset, a Slurm allocation),
 * fewer when its cgroup's CPU quota allows less time (cpu_cgroup_limit); at least 1. */
int cpu_usable(void);

/* The CPUs' worth of time the cgroup quota allows, rounded up, 0 when none is set: the smallest
 * quota / period on the way from the process's cgroup up to its hierarchy's root (cgroup v2's
 * cpu.max, v1's cpu.cfs_quota_us and cpu.cfs_period_us), found through the mount table and the
 * process's cgroups: /proc/self/mountinfo and /proc/self/cgroup, or the files given (tests). */
int cpu_cgroup_limit(const char *mountinfo, const char *cgroup);

#endif
