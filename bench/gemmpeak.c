/* gemmpeak: elsa's sgemm rate through its GEMM wrapper (lib/gemm.h: the kernel chosen for this
 * processor, or ELSA_GEMM's) at BERT-base's linear shapes, the best of several rounds each: for
 * T tokens (2048 = 16 x 128, and 211: a batch of short sentences), the forward X W^T of the Q/K/V/O
 * projection (T x 768 x 768), the FFN up (T x 768 x 3072) and down (T x 3072 x 768), and for each
 * of them backward's two products, dX = dY W and dW = dY^T X. Prints a line "kernels gemm NAME,
 * blis CONFIG, simd BUILD" (machine.h), one "T shape pass threads GFLOP/s" line per product, a "geomean T threads GFLOP/s"
 * line per T, and a last "peak threads GFLOP/s" line with the best (the "measured peak" make bench
 * compares elsa's GEMM share against).
 *   gemmpeak [-j THREADS] [ROUNDS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gemm.h"
#include "machine.h"
#include "peak.h"
#include "rng.h"

/* The best GFLOP/s of `rounds` calls of one product of op(A) (m x k) and op(B) (k x n). */
static double best_of(int rounds, int ta, int tb, size_t m, size_t n, size_t k, const float *a, const float *b, float *c)
{
	double best = 0;
	for (int r = 0; r < rounds; r++) {
		double t0 = now_seconds();
		gemm(ta, tb, m, n, k, 1, a, ta ? m : k, b, tb ? k : n, 0, c, n);
		double g = 2.0 * m * n * k / (now_seconds() - t0) / 1e9;
		best = g > best ? g : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const size_t rows[] = { 2048, 211 }, shapes[][2] = { { 768, 768 }, { 768, 3072 }, { 3072, 768 } };
	static const char *const pass[] = { "forward", "dX", "dW" };
	int rounds;
	cli_init("gemmpeak");
	peak_args(argc, argv, &rounds);
	struct rng r;
	rng_seed(&r, 1);
	size_t most = 2048 * 3072;
	float *a = malloc(most * sizeof *a), *b = malloc(most * sizeof *b), *c = malloc(most * sizeof *c);
	if (!a || !b || !c)
		die("out of memory");
	for (size_t i = 0; i < most; i++)
		a[i] = (float)rng_uniform(&r), b[i] = (float)rng_uniform(&r);
	char kernels[96];
	printf("kernels %s\n", machine_kernels(kernels, sizeof kernels));
	double peak = 0;
	for (size_t t = 0; t < sizeof rows / sizeof *rows; t++) {
		double logsum = 0;
		int count = 0;
		for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
			size_t T = rows[t], K = shapes[s][0], N = shapes[s][1];
			for (int p = 0; p < 3; p++) {
				/* forward: Y [T, N] = X [T, K] W^T, W [N, K]; dX [T, K] = dY [T, N] W; dW [N, K] = dY^T X */
				double g = p == 0 ? best_of(rounds, 0, 1, T, N, K, a, b, c) :
					   p == 1 ? best_of(rounds, 0, 0, T, K, N, a, b, c) : best_of(rounds, 1, 0, N, K, T, a, b, c);
				printf("%zu\t%zux%zux%zu\t%s\t%d\t%.1f\n", T, T, K, N, pass[p], threads_get(), g);
				logsum += log(g), count++;
				peak = g > peak ? g : peak;
			}
		}
		printf("geomean\t%zu\t%d\t%.1f\n", rows[t], threads_get(), exp(logsum / count));
	}
	printf("peak\t%d\t%.1f\n", threads_get(), peak);
	free(a), free(b), free(c);
	return cli_exit();
}
