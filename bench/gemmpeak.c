/* gemmpeak: this machine's measured sgemm rate through elsa's GEMM wrapper (BLIS) at BERT-base's
 * shapes on 2048 tokens, the best of several rounds: the "measured peak" make bench compares
 * elsa's GEMM share against. Prints "shape threads GFLOP/s" lines and a last "peak" line.
 *   gemmpeak [-j THREADS] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gemm.h"
#include "peak.h"
#include "rng.h"

int main(int argc, char **argv)
{
	static const size_t shapes[][3] = { { 2048, 768, 768 }, { 2048, 3072, 768 }, { 2048, 768, 3072 } };
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
	double peak = 0;
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
		double best = 0;
		for (int t = 0; t < rounds; t++) {
			double t0 = now_seconds();
			gemm(0, 1, m, n, k, 1, a, k, b, k, 0, c, n); /* X W^T, as a linear layer */
			double g = 2.0 * m * n * k / (now_seconds() - t0) / 1e9;
			best = g > best ? g : best;
		}
		printf("%zux%zux%zu\t%d\t%.1f\n", m, k, n, threads_get(), best);
		peak = best > peak ? best : peak;
	}
	printf("peak\t%d\t%.1f\n", threads_get(), peak);
	free(a), free(b), free(c);
	return cli_exit();
}
