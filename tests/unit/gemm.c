/* lib/gemm.h's products under every kernel this processor runs: BLIS's own, and elsa's avx2 and
 * avx512 micro-kernels inside BLIS (a kernel it cannot run is a skipped test, never a pass),
 * against gemm_naive (double-precision loops): partial micro-tiles on both sides, each transpose,
 * alpha, beta 0 (NaN in C ignored) and 1, k of 0, 1, odd and past BLIS's k block, leading
 * dimensions wider than the matrices, unaligned pointers; nothing written outside C; and the
 * same bits whatever the thread count and wherever a row lies in the batch. */
#include <float.h>
#include <stdint.h>

#include "check.h"
#include "cpu.h"
#include "err.h"
#include "gemm.h"
#include "rng.h"

static const char *const kernels[] = { "blis", "avx2", "avx512", "avx512bf16", "amx" };
static const char *runnable[5];
static int nrunnable;
static struct rng rng;

/* x rounded to the nearest bf16, ties to even (written here from the format: 8 bits of
 * mantissa), for the reference of the bf16 products. */
static float to_bf16(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	if (isnan(x))
		return x;
	u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
	memcpy(&x, &u, 4);
	return x;
}

static int bf16; /* the products' inputs rounded to bf16: the reference rounds them too */

static float *randn(size_t n)
{
	float *x = malloc((n ? n : 1) * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rng_normal(&rng);
	return x;
}

/* An element of op(A) op(B) in double, and the bound on the rounding error of a float sum of
 * k products, one fused multiply-add a step (each of the k additions rounds once: k u sum|ab|),
 * then alpha and beta C (two more roundings of the result). */
static void reference(int ta, int tb, size_t i, size_t j, size_t k, const float *A, size_t lda, const float *B,
		      size_t ldb, double *sum, double *abs_sum)
{
	*sum = *abs_sum = 0;
	for (size_t p = 0; p < k; p++) {
		float a = ta ? A[p * lda + i] : A[i * lda + p], b = tb ? B[j * ldb + p] : B[p * ldb + j];
		double x = bf16 ? (double)to_bf16(a) * to_bf16(b) : (double)a * b;
		*sum += x, *abs_sum += fabs(x);
	}
}

/* One product under the kernel in use, each pointer one float past a 64-byte boundary. Returns
 * the worst error as a fraction of its bound, and whether anything outside C changed. */
static double product_case(size_t m, size_t n, size_t k, int ta, int tb, float alpha, float beta, int *outside)
{
	size_t pad = 3, lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
	size_t na = (ta ? k : m) * lda, nb = (tb ? n : k) * ldb, nc = m * ldc;
	float *a0 = randn(na + 16), *b0 = randn(nb + 16), *c0 = malloc((nc + 16) * sizeof *c0);
	float *A = a0 + 1, *B = b0 + 1, *C = c0 + 1, *before = malloc((nc + 16) * sizeof *before);
	for (size_t i = 0; i < nc + 16; i++)
		c0[i] = beta == 0 && i > 0 && i <= nc ? NAN : (float)((int)(i % 7) - 3);
	memcpy(before, c0, (nc + 16) * sizeof *c0);
	gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
	double worst = 0;
	*outside = c0[0] != before[0];
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < ldc; j++) {
			float got = C[i * ldc + j], was = before[1 + i * ldc + j];
			if (j >= n) {
				*outside |= memcmp(&got, &was, sizeof got) != 0;
				continue;
			}
			double s, as;
			reference(ta, tb, i, j, k, A, lda, B, ldb, &s, &as);
			double want = alpha * s + (beta == 0 ? 0 : beta * (double)was);
			double bound = (k + 3) * (FLT_EPSILON / 2) * (fabs(alpha) * as + fabs(beta * (double)was)) + FLT_MIN;
			worst = fmax(worst, isfinite(got) ? fabs(got - want) / bound : INFINITY);
		}
	for (size_t i = 1 + nc; i < nc + 16; i++)
		*outside |= c0[i] != before[i];
	free(a0), free(b0), free(c0), free(before);
	return worst;
}

/* The edges under the kernel in use, named name. */
static void every_edge(const char *name)
{
	/* m x n x k: one element; partial tiles of 12 x 32 and 6 x 16 on both sides; k of 0, 1, odd,
	 * past the k block (384, stretched to 480) and past two of them */
	static const size_t shapes[][3] = { { 1, 1, 1 },   { 13, 33, 1 },  { 12, 32, 7 },   { 37, 29, 53 },
					    { 25, 47, 0 }, { 100, 65, 385 }, { 7, 100, 501 }, { 64, 17, 64 },
					    { 3, 130, 33 } };
	threads_set(2);
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
		for (int t = 0; t < 4; t++)
			for (int v = 0; v < 4; v++) {
				size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
				float alpha = v & 1 ? 0.5f : 1.0f, beta = v & 2 ? 1.0f : 0.0f;
				int outside;
				double w = product_case(m, n, k, t & 1, t >> 1, alpha, beta, &outside);
				CHECK(w <= 1, "%s: %zux%zux%zu ta %d tb %d alpha %g beta %g: error %.3g of its bound", name, m, n,
				      k, t & 1, t >> 1, alpha, beta, w);
				CHECK(!outside, "%s: %zux%zux%zu ta %d tb %d: wrote outside C", name, m, n, k, t & 1, t >> 1);
			}
}

TEST(every_kernel_matches_double_precision_at_every_edge)
{
	for (int g = 0; g < nrunnable; g++) {
		CHECK(gemm_use(runnable[g]) == 0, "%s: %s", runnable[g], err_msg());
		every_edge(runnable[g]);
	}
}

TEST(bf16_products_match_double_precision_on_rounded_inputs)
{
	/* the bf16 kernel (AVX512_BF16), and the emulation on each float kernel of elsa's: the
	 * reference multiplies the inputs rounded to bf16 (their products exact in double) */
	bf16 = 1;
	for (int g = 0; g < nrunnable; g++) {
		if (gemm_use(runnable[g]) < 0 || gemm_compute(1) < 0) {
			CHECK(!cpu_info()->avx2, "%s: bf16 refused on a processor with AVX2: %s", runnable[g], err_msg());
			continue;
		}
		CHECK(gemm_bf16(), "%s: bf16 not in use", runnable[g]);
		every_edge(gemm_kernel());
	}
	bf16 = 0;
	gemm_use(NULL);
}

/* C of one product at `threads` threads, in a new array. */
static float *at_threads(int threads, int ta, int tb, size_t m, size_t n, size_t k, const float *A, const float *B)
{
	float *C = malloc(m * n * sizeof *C);
	for (size_t i = 0; i < m * n; i++)
		C[i] = (float)(i % 5);
	threads_set(threads);
	gemm(ta, tb, m, n, k, 0.5f, A, ta ? m : k, B, tb ? k : n, 1, C, n);
	return C;
}

TEST(every_kernel_gives_the_same_bits_at_any_thread_count)
{
	/* above the 2 MFLOP threshold: taller than wide (split by rows), wider than tall (by columns) */
	static const size_t shapes[][3] = { { 131, 97, 101 }, { 61, 211, 103 }, { 300, 70, 50 } };
	for (int g = 0; g < nrunnable; g++) {
		gemm_use(runnable[g]);
		for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
			for (int t = 0; t < 4; t++) {
				size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
				float *A = randn(m * k), *B = randn(k * n), *C1 = at_threads(1, t & 1, t >> 1, m, n, k, A, B);
				for (int threads = 2; threads <= 3; threads++) {
					float *Cj = at_threads(threads, t & 1, t >> 1, m, n, k, A, B);
					CHECK(!memcmp(C1, Cj, m * n * sizeof *C1), "%s: %zux%zux%zu ta %d tb %d: %d threads differ from 1",
					      runnable[g], m, n, k, t & 1, t >> 1, threads);
					free(Cj);
				}
				free(A), free(B), free(C1);
			}
	}
	threads_set(2);
}

TEST(a_row_does_not_depend_on_its_batch)
{
	/* A row's result is the same whether it is multiplied alone or among many rows: the
	 * property that makes batching (and elsa-encode's composition) exact. */
	size_t m = 300, n = 96, k = 64;
	float *A = randn(m * k), *B = randn(n * k), *C = malloc(m * n * sizeof *C), *c1 = malloc(n * sizeof *c1);
	for (int g = 0; g < nrunnable; g++) {
		gemm_use(runnable[g]);
		gemm(0, 1, m, n, k, 1, A, k, B, k, 0, C, n);
		int same = 1;
		for (size_t i = 0; i < m; i += 37) {
			gemm(0, 1, 1, n, k, 1, A + i * k, k, B, k, 0, c1, n);
			same &= !memcmp(c1, C + i * n, n * sizeof *c1);
		}
		CHECK(same, "%s: a row multiplied alone differs from the same row in a batch", runnable[g]);
	}
	free(A), free(B), free(C), free(c1);
}

TEST(kernels_are_chosen_by_rule_and_refused_by_name)
{
	const struct cpu_info *c = cpu_info();
	unsetenv("ELSA_GEMM");
	unsetenv("BLIS_ARCH_TYPE");
	CHECK(gemm_use(NULL) == 0, "%s", err_msg());
	const char *want = c->avx512 && !c->split512 ? "avx512" : c->avx2 && !strcmp(gemm_blis_config(), "generic") ? "avx2" : "blis";
	CHECK(!strcmp(gemm_kernel(), want), "chose %s on %s (%s), not %s", gemm_kernel(), c->name, c->family_model, want);
	if (c->avx512 && !c->split512)
		CHECK(!strcmp(gemm_blis_config(), "skx"), "BLIS's configuration is %s, not skx", gemm_blis_config());
	CHECK(gemm_use("avx1024") == E_ARG && strstr(err_msg(), "'avx1024' is not blis, avx2, avx512, avx512bf16 or amx"),
	      "%s", err_msg());
	setenv("ELSA_GEMM", "blis", 1);
	CHECK(gemm_init() == 0 && !strcmp(gemm_kernel(), "blis"), "ELSA_GEMM=blis gave %s", gemm_kernel());
	unsetenv("ELSA_GEMM");
	for (int g = 0; g < 3; g++) { /* the float kernels (the bf16 ones: the test above) */
		int can = !strcmp(kernels[g], "blis") || (!strcmp(kernels[g], "avx2") ? c->avx2 : c->avx512);
		int rc = gemm_use(kernels[g]);
		CHECK(can ? rc == 0 : rc == E_ARG && strstr(err_msg(), "cannot run"), "%s: %d %s", kernels[g], rc, err_msg());
	}
}

int main(void)
{
	rng_seed(&rng, 7);
	for (int g = 0; g < 5; g++) {
		if (gemm_use(kernels[g]) == 0)
			runnable[nrunnable++] = kernels[g];
		else
			check_skip(kernels[g], err_msg());
	}
	RUN(every_kernel_matches_double_precision_at_every_edge);
	RUN(bf16_products_match_double_precision_on_rounded_inputs);
	RUN(every_kernel_gives_the_same_bits_at_any_thread_count);
	RUN(a_row_does_not_depend_on_its_batch);
	RUN(kernels_are_chosen_by_rule_and_refused_by_name);
	return check_done();
}
