#include <blis.h>
#include <omp.h>

#include "clock.h"
#include "gemm.h"

static int nthreads = 1;
static double total_seconds, total_flops; /* gemm() is called from one thread only */

void gemm_totals(double *s, double *f)
{
	*s = total_seconds;
	*f = total_flops;
}

void threads_set(int n)
{
	nthreads = n < 1 ? 1 : n;
	omp_set_num_threads(nthreads);
}

int threads_get(void)
{
	return nthreads;
}

/* One product through BLIS on the calling thread. */
static void blis(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
		 const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;
	bli_rntm_set_num_threads(1, &rntm);
	/* BLIS's small-matrix ("sup") path is slower at elsa's shapes (it chose a 33 GFLOP/s kernel
	 * for 400 x 3072 x 768 where the packed path runs at 71), and keeping one path makes each
	 * output element's sum independent of the batch it is in. */
	bli_rntm_disable_l3_sup(&rntm);
	if (m == 0 || n == 0)
		return;
	bli_sgemm_ex(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		     (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (float *)A, (inc_t)lda, 1, (float *)B, (inc_t)ldb, 1,
		     &beta, C, (inc_t)ldc, 1, NULL, &rntm);
}

/* Rows of C per part are a multiple of BLIS's micro-tile height (6 for AVX2), columns of its
 * width (16), so no part ends in a partial tile that a whole product would not have. */
#define ROW_STEP 6
#define COL_STEP 16

/* [lo, hi) of part t of `parts` over n, in steps of `step`. */
static void part(size_t n, int parts, int t, size_t step, size_t *lo, size_t *hi)
{
	size_t steps = (n + step - 1) / step, each = steps / (size_t)parts, extra = steps % (size_t)parts;
	size_t a = (size_t)t * each + ((size_t)t < extra ? (size_t)t : extra);
	size_t b = a + each + ((size_t)t < extra);
	*lo = a * step < n ? a * step : n;
	*hi = b * step < n ? b * step : n;
}

void gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
	  const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	double t0 = now_seconds(), work = (double)m * (double)n * (double)k;
	/* The threads split C into blocks of rows (when it is taller than wide) or of columns,
	 * each a product of its own on one thread: no thread waits for another inside BLIS (its
	 * barriers spin, which collapses when another job holds a core), and each element's sum
	 * runs in the same order whatever the thread count. Under 2 MFLOP, one thread. */
	int parts = work < (1 << 20) ? 1 : nthreads, by_rows = m >= n;
	#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
	for (int t = 0; t < parts; t++) {
		size_t lo, hi;
		if (by_rows) {
			part(m, parts, t, ROW_STEP, &lo, &hi);
			blis(ta, tb, hi - lo, n, k, alpha, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
		} else {
			part(n, parts, t, COL_STEP, &lo, &hi);
			blis(ta, tb, m, hi - lo, k, alpha, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
		}
	}
	total_seconds += now_seconds() - t0;
	total_flops += 2.0 * work;
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
