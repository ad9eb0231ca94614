#include <math.h>
#include <string.h>

#include "kernels.h"
#include "simd.h"

void residual_layernorm_forward(float *y, float *r, float *mean, float *rstd, const float *inp, const float *bias,
				const float *res, const float *w, const float *b, size_t N, size_t C, float eps, float p,
				uint64_t seed, uint64_t site, const size_t *tok)
{
	const struct simd_ops *k = simd();
	struct mask m = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++) {
		float mu, rs;
		k->residual_layernorm(y + n * C, r ? r + n * C : NULL, &mu, &rs, inp + n * C, bias, p > 0 ? &m : NULL,
				      (tok ? tok[n] : n) * C, res ? res + n * C : NULL, w, b, C, eps);
		if (mean)
			mean[n] = mu;
		if (rstd)
			rstd[n] = rs;
	}
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
		       size_t N, size_t C, float eps)
{
	residual_layernorm_forward(out, NULL, mean, rstd, inp, NULL, NULL, w, b, N, C, eps, 0, 0, 0, NULL);
}

void layernorm_backward(float *dinp, float *dbranch, float *dbias, float *dw, float *db, const float *dout,
			const float *inp, const float *w, const float *mean, const float *rstd, size_t N, size_t C, float p,
			uint64_t seed, uint64_t site, const size_t *tok)
{
	struct mask mk = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++) {
		const float *dy = dout + n * C, *x = inp + n * C;
		float *dx = dinp ? dinp + n * C : NULL, *dz = dbranch ? dbranch + n * C : NULL, m = mean[n], r = rstd[n];
		double s1 = 0, s2 = 0; /* mean of dnorm, mean of dnorm * norm */
		for (size_t c = 0; c < C; c++) {
			float xhat = (x[c] - m) * r, dn = dy[c] * w[c];
			s1 += dn;
			s2 += (double)dn * xhat;
		}
		float a = (float)(s1 / (double)C), bb = (float)(s2 / (double)C);
		for (size_t c = 0; c < C; c++) {
			float xhat = (x[c] - m) * r, g = (dy[c] * w[c] - a - xhat * bb) * r;
			if (dx)
				dx[c] = g;
			if (dz)
				dz[c] = p <= 0 ? g : mask_keep(&mk, (tok ? tok[n] : n) * C + c) ? g * mk.scale : 0.0f;
		}
	}
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t c0 = 0; c0 < C; c0 += COLUMN_BLOCK) {
		size_t c1 = c0 + COLUMN_BLOCK < C ? c0 + COLUMN_BLOCK : C;
		for (size_t c = c0; c < c1; c++) {
			dw[c] = db[c] = 0;
			if (dbias)
				dbias[c] = 0;
		}
		for (size_t n = 0; n < N; n++) {
			const float *dy = dout + n * C, *x = inp + n * C;
			for (size_t c = c0; c < c1; c++) {
				dw[c] += dy[c] * (x[c] - mean[n]) * rstd[n];
				db[c] += dy[c];
			}
			if (dbias)
				for (size_t c = c0; c < c1; c++)
					dbias[c] += dbranch[n * C + c];
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

void bias_backward(float *dbias, const float *dout, size_t N, size_t C, size_t ld)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t c0 = 0; c0 < C; c0 += COLUMN_BLOCK) {
		size_t c1 = c0 + COLUMN_BLOCK < C ? c0 + COLUMN_BLOCK : C;
		for (size_t c = c0; c < c1; c++)
			dbias[c] = 0;
		for (size_t n = 0; n < N; n++)
			for (size_t c = c0; c < c1; c++)
				dbias[c] += dout[n * ld + c];
	}
}

/* Elements per task of the element-wise loops: a multiple of the vector width. */
#define BLOCK 4096

void bias_gelu_forward(float *g, float *f, const float *bias, size_t N, size_t C)
{
	const struct simd_ops *k = simd();
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++)
		k->bias_gelu(g + n * C, f + n * C, bias, C);
}

void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	const struct simd_ops *k = simd();
	#pragma omp parallel for schedule(static) if (PARALLEL(n))
	for (size_t i = 0; i < n; i += BLOCK)
		k->gelu_backward(dinp + i, dout + i, inp + i, n - i < BLOCK ? n - i : BLOCK);
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

void relu_forward(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > 0 ? x[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] = out[i] > 0 ? dout[i] : 0.0f;
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

size_t attention_scratch(size_t L, size_t D)
{
	return 4 * L * L + D * (L + 16);
}

void attention_head_forward(float *ctx, size_t ldc, float *probs, float *qkv, size_t ld, size_t H, const float *bias,
			    size_t Lq, size_t L, size_t D, float scale, const struct mask *m, size_t offset, float *scratch)
{
	const struct simd_ops *k = simd();
	float *Q = qkv, *K = qkv + H, *V = qkv + 2 * H, *Pd = scratch, *Bt = scratch + L * L;
	k->add_rows(Q, ld, bias, Lq, D);
	k->add_rows(K, ld, bias + H, L, D);
	k->add_rows(V, ld, bias + 2 * H, L, D);
	k->scores(probs, Q, ld, K, ld, Lq, L, D, scale, Bt);
	k->softmax_rows(probs, Lq, L);
	if (m)
		for (size_t i = 0; i < Lq * L; i++)
			Pd[i] = mask_keep(m, offset + i) ? probs[i] * m->scale : 0.0f;
	k->combine(ctx, ldc, m ? Pd : probs, V, ld, Lq, L, D, 1);
}

/* t [C, R] = a^T, a being R x C */
static void transpose(float *t, const float *a, size_t R, size_t C)
{
	for (size_t i = 0; i < R; i++)
		for (size_t j = 0; j < C; j++)
			t[j * R + i] = a[i * C + j];
}

void attention_head_backward(float *dqkv, const float *dctx, size_t ldc, const float *qkv, size_t ld, size_t H,
			     const float *probs, size_t Lq, size_t L, size_t D, float scale, const struct mask *m,
			     size_t offset, float *scratch)
{
	const struct simd_ops *k = simd();
	size_t M = Lq * L;
	const float *Q = qkv, *K = qkv + H, *V = qkv + 2 * H, *P = probs;
	float *dQ = dqkv, *dK = dqkv + H, *dV = dqkv + 2 * H;
	float *dP = scratch, *tr = dP + M, *keep = tr + M, *Pd = keep + M, *Bt = Pd + M;
	if (m) /* the forward's mask, drawn once: keep[i] is 0 or the scale */
		for (size_t i = 0; i < M; i++) {
			keep[i] = mask_keep(m, offset + i) ? m->scale : 0.0f;
			Pd[i] = P[i] * keep[i];
		}
	transpose(tr, m ? Pd : P, Lq, L);
	k->combine(dV, ld, tr, dctx, ldc, L, Lq, D, 1); /* dV = Pd^T dctx */
	k->scores(dP, dctx, ldc, V, ld, Lq, L, D, 1, Bt); /* dP = dctx V^T */
	for (size_t i = 0; i < Lq; i++) { /* through the dropout and the softmax */
		float *dp = dP + i * L;
		const float *pr = P + i * L;
		if (m)
			for (size_t j = 0; j < L; j++)
				dp[j] *= keep[i * L + j];
		float dot = 0;
		for (size_t j = 0; j < L; j++)
			dot += dp[j] * pr[j];
		for (size_t j = 0; j < L; j++)
			dp[j] = pr[j] * (dp[j] - dot);
	}
	k->combine(dQ, ld, dP, K, ld, Lq, L, D, scale); /* dQ = scale dS K */
	transpose(tr, dP, Lq, L);
	k->combine(dK, ld, tr, Q, ld, L, Lq, D, scale); /* dK = scale dS^T Q */
}
