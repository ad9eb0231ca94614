#include <blis.h>
#include <omp.h>
#include <time.h>

#include "gemm.h"

static int nthreads = 1;
static double total_seconds, total_flops; /* gemm() is called from one thread only */

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gemm_totals(double *s, double *f)
{
	*s = total_seconds;
	*f = total_flops;
}

void threads_set(int n)
{
	nthreads = n < 1 ? 1 : n;
	omp_set_num_threads(nthreads);
	bli_thread_set_num_threads(nthreads);
}

int threads_get(void)
{
	return nthreads;
}

static void blis(int threads, int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A,
		 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;
	bli_rntm_set_num_threads(threads, &rntm);
	/* BLIS's small-matrix ("sup") path is slower at elsa's shapes (see ../shared/PERF.md), and
	 * keeping one path makes each output element's sum independent of the batch it is in. */
	bli_rntm_disable_l3_sup(&rntm);
	if (m == 0 || n == 0)
		return;
	bli_sgemm_ex(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		     (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (float *)A, (inc_t)lda, 1, (float *)B, (inc_t)ldb, 1,
		     &beta, C, (inc_t)ldc, 1, NULL, &rntm);
}

void gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
	  const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	/* A product of less than 2 MFLOP runs on one thread: BLIS's threads meet at barriers that
	 * cost more than such a product, and far more when another job holds a core. */
	double t = seconds(), work = (double)m * (double)n * (double)k;
	blis(work < (1 << 20) ? 1 : nthreads, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
	total_seconds += seconds() - t;
	total_flops += 2.0 * (double)m * (double)n * (double)k;
}

void gemm_naive(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
		const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			double s = 0;
			for (size_t p = 0; p < k; p++)
				s += (double)(ta ? A[p * lda + i] : A[i * lda + p]) *
				     (double)(tb ? B[j * ldb + p] : B[p * ldb + j]);
			float *c = &C[i * ldc + j];
			*c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
		}
}
