/* fmapeak: this machine's fp32 FMA peak: a loop of independent fused multiply-adds on registers
 * only, run on every thread at once, the best of several rounds of ~0.2 s: the limit make bench
 * divides elsa's useful FLOPs by. AVX2 (8 lanes) and, where the CPU has it, AVX-512 (16 lanes:
 * twice the rate on CPUs with two 512-bit FMA units, the same on those that split them, as Zen 4).
 * Prints one "fma threads GFLOP/s" line per AVX2 round, "fma512 ..." per AVX-512 round, and a last
 * "peak" line with the best; where the CPU has AVX512_BF16, "dpbf16 ..." lines of the same loop
 * on vdpbf16ps (bf16 pairs' dot products into f32: 4 flops a lane) and a last "bf16peak" line,
 * the limit of bf16 products; without AVX2 and FMA it says that the peak cannot be measured and
 * exits 1.
 *   fmapeak [-j THREADS] [ROUNDS] */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cpu.h"
#include "gemm.h"
#include "peak.h"

static volatile float sink; /* the accumulators' sums: the loops cannot be optimized away */

/* n iterations of 12 independent FMAs (more than FMA latency, 4 cycles, x 2 FMA units) on
 * vectors of type V; returns the sum of the accumulators. Named variables, not an array, so that
 * every accumulator lives in a register. */
#define FMA_LOOP(name, isa, V, set1, fmadd, add, reduce)                                            \
	__attribute__((target(isa), noinline)) static float name(long n, float seed)                \
	{                                                                                           \
		const V m = set1(0.999f), a = set1(seed * 1e-3f); /* acc -> a / (1 - m) */          \
		V a0 = set1(seed), a1 = set1(seed + 1), a2 = set1(seed + 2), a3 = set1(seed + 3);   \
		V a4 = set1(seed + 4), a5 = set1(seed + 5), a6 = set1(seed + 6), a7 = set1(seed + 7); \
		V a8 = set1(seed + 8), a9 = set1(seed + 9), a10 = set1(seed + 10), a11 = set1(seed + 11); \
		for (long k = 0; k < n; k++) {                                                      \
			a0 = fmadd(a0, m, a), a1 = fmadd(a1, m, a), a2 = fmadd(a2, m, a);           \
			a3 = fmadd(a3, m, a), a4 = fmadd(a4, m, a), a5 = fmadd(a5, m, a);           \
			a6 = fmadd(a6, m, a), a7 = fmadd(a7, m, a), a8 = fmadd(a8, m, a);           \
			a9 = fmadd(a9, m, a), a10 = fmadd(a10, m, a), a11 = fmadd(a11, m, a);       \
		}                                                                                   \
		V s = add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(a6, a7)));            \
		return reduce(add(s, add(add(a8, a9), add(a10, a11))));                             \
	}

__attribute__((target("avx2"))) static float sum8(__m256 v)
{
	float x[8];
	_mm256_storeu_ps(x, v);
	return x[0] + x[1] + x[2] + x[3] + x[4] + x[5] + x[6] + x[7];
}

FMA_LOOP(fma256, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, sum8)
FMA_LOOP(fma512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_reduce_add_ps)

/* vdpbf16ps as the loops' step: acc + a0 m0 + a1 m1 in each of 16 lanes (4 flops a lane). */
__attribute__((target("avx512f,avx512bf16"))) static inline __m512 dot2(__m512 acc, __m512 m, __m512 a)
{
	return _mm512_dpbf16_ps(acc, (__m512bh)m, (__m512bh)a);
}
FMA_LOOP(dot512, "avx512f,avx512bf16", __m512, _mm512_set1_ps, dot2, _mm512_add_ps, _mm512_reduce_add_ps)

/* Seconds for n iterations of loop on each of the threads at once. */
static double round_seconds(float (*loop)(long, float), long n, int threads)
{
	double t0 = now_seconds();
#pragma omp parallel num_threads(threads)
	{
		float s = loop(n, 1.0f + (float)omp_get_thread_num());
#pragma omp atomic
		sink += s;
	}
	return now_seconds() - t0;
}

/* The best GFLOP/s of rounds of ~0.2 s, each printed as "label threads GFLOP/s". */
static double best(const char *label, float (*loop)(long, float), int lanes, int rounds, int threads)
{
	long n = 1 << 14; /* iterations per round, grown until a round takes ~0.2 s */
	while (round_seconds(loop, n, threads) < 0.05)
		n *= 2;
	n = (long)((double)n * 0.2 / round_seconds(loop, n, threads));
	double flop = 2.0 * lanes * 12 * (double)n * threads, top = 0;
	for (int r = 0; r < rounds; r++) {
		double g = flop / round_seconds(loop, n, threads) / 1e9;
		printf("%s\t%d\t%.1f\n", label, threads, g);
		top = g > top ? g : top;
	}
	return top;
}

int main(int argc, char **argv)
{
	int rounds;
	cli_init("fmapeak");
	int t = peak_args(argc, argv, &rounds);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		die("this CPU has no AVX2 and FMA: the FMA peak cannot be measured");
	double peak = best("fma", fma256, 8, rounds, t);
	if (__builtin_cpu_supports("avx512f")) {
		double g = best("fma512", fma512, 16, rounds, t);
		peak = g > peak ? g : peak;
	}
	printf("peak\t%d\t%.1f\n", t, peak);
	if (cpu_info()->avx512_bf16) /* the bf16 peak: a step is 4 flops a lane, as 32 FMA lanes */
		printf("bf16peak\t%d\t%.1f\n", t, best("dpbf16", dot512, 32, rounds, t));
	return cli_exit();
}
