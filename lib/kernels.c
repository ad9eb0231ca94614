#include <math.h>
#include <string.h>

#include "kernels.h"

/* Column blocks for the column sums of backward: each thread owns whole columns and adds the
 * rows in order, so the sums do not depend on the thread count. */
#define COLS 64
/* Below this many elements a loop runs on one thread: waking the others costs more. */
#define PARALLEL(n) ((n) >= 32768)

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
		       size_t N, size_t C, float eps)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++) {
		const float *x = inp + n * C;
		float *y = out + n * C;
		double s = 0, ss = 0;
		for (size_t c = 0; c < C; c++)
			s += x[c];
		float m = (float)(s / (double)C);
		for (size_t c = 0; c < C; c++) {
			float d = x[c] - m;
			ss += (double)d * d;
		}
		float r = 1.0f / sqrtf((float)(ss / (double)C) + eps);
		for (size_t c = 0; c < C; c++)
			y[c] = (x[c] - m) * r * w[c] + b[c];
		if (mean)
			mean[n] = m;
		if (rstd)
			rstd[n] = r;
	}
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
			const float *mean, const float *rstd, size_t N, size_t C, int accumulate)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++) {
		const float *dy = dout + n * C, *x = inp + n * C;
		float *dx = dinp + n * C, m = mean[n], r = rstd[n];
		double s1 = 0, s2 = 0; /* mean of dnorm, mean of dnorm * norm */
		for (size_t c = 0; c < C; c++) {
			float xhat = (x[c] - m) * r, dn = dy[c] * w[c];
			s1 += dn;
			s2 += (double)dn * xhat;
		}
		float a = (float)(s1 / (double)C), bb = (float)(s2 / (double)C);
		for (size_t c = 0; c < C; c++) {
			float xhat = (x[c] - m) * r, g = (dy[c] * w[c] - a - xhat * bb) * r;
			dx[c] = accumulate ? dx[c] + g : g;
		}
	}
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t c0 = 0; c0 < C; c0 += COLS) {
		size_t c1 = c0 + COLS < C ? c0 + COLS : C;
		for (size_t n = 0; n < N; n++) {
			const float *dy = dout + n * C, *x = inp + n * C;
			for (size_t c = c0; c < c1; c++) {
				dw[c] += dy[c] * (x[c] - mean[n]) * rstd[n];
				db[c] += dy[c];
			}
		}
	}
}

void bias_add(float *out, const float *inp, const float *bias, size_t N, size_t C)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++)
		for (size_t c = 0; c < C; c++)
			out[n * C + c] = inp[n * C + c] + bias[c];
}

void bias_backward(float *dbias, const float *dout, size_t N, size_t C)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t c0 = 0; c0 < C; c0 += COLS) {
		size_t c1 = c0 + COLS < C ? c0 + COLS : C;
		for (size_t n = 0; n < N; n++)
			for (size_t c = c0; c < c1; c++)
				dbias[c] += dout[n * C + c];
	}
}

void gelu_forward(float *out, const float *inp, size_t n)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(n))
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		out[i] = 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
	}
}

void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	const float inv_sqrt_2pi = 0.3989422804014327f;
	#pragma omp parallel for schedule(static) if (PARALLEL(n))
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)), pdf = inv_sqrt_2pi * expf(-0.5f * x * x);
		dinp[i] = dout[i] * (cdf + x * pdf);
	}
}

void tanh_forward(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = tanhf(x[i]);
}

void tanh_backward(float *dinp, const float *dout, const float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}

void bias_dropout_add(float *out, const float *inp, const float *bias, const float *res, size_t N, size_t C, float p,
		      uint64_t seed, uint64_t site)
{
	struct mask m = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++)
		for (size_t c = 0; c < C; c++) {
			size_t i = n * C + c;
			float v = inp[i] + bias[c];
			if (p > 0)
				v = mask_keep(&m, i) ? v * m.scale : 0.0f;
			out[i] = v + res[i];
		}
}

void dropout(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t site)
{
	if (p <= 0) {
		if (out != inp)
			memcpy(out, inp, n * sizeof *out);
		return;
	}
	struct mask m = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(n))
	for (size_t i = 0; i < n; i++)
		out[i] = mask_keep(&m, i) ? inp[i] * m.scale : 0.0f;
}

void softmax_rows(float *x, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		float *r = x + n * C, mx = -INFINITY, s = 0;
		for (size_t c = 0; c < C; c++)
			mx = r[c] > mx ? r[c] : mx;
		for (size_t c = 0; c < C; c++) {
			r[c] = expf(r[c] - mx);
			s += r[c];
		}
		float inv = 1.0f / s;
		for (size_t c = 0; c < C; c++)
			r[c] *= inv;
	}
}
