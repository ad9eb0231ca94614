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
			const float *dskip, const float *inp, const float *w, const float *mean, const float *rstd, size_t N,
			size_t C, float p, uint64_t seed, uint64_t site, const size_t *tok)
{
	struct mask mk = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(N * C))
	for (size_t n = 0; n < N; n++) {
		const float *dy = dout + n * C, *x = inp + n * C, *ds = dskip ? dskip + n * C : NULL;
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
			if (ds)
				g += ds[c];
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
			dw[c] = 0;
			if (db)
				db[c] = 0;
			if (dbias)
				dbias[c] = 0;
		}
		for (size_t n = 0; n < N; n++) {
			const float *dy = dout + n * C, *x = inp + n * C;
			for (size_t c = c0; c < c1; c++)
				dw[c] += dy[c] * (x[c] - mean[n]) * rstd[n];
			for (size_t c = c0; db && c < c1; c++)
				db[c] += dy[c];
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

void geglu_forward(float *g, float *f, const float *bias, size_t N, size_t I, float p, uint64_t seed, uint64_t site,
		   const size_t *tok)
{
	const struct simd_ops *k = simd();
	struct mask m = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(N * I))
	for (size_t n = 0; n < N; n++)
		k->geglu(g + n * I, f + n * 2 * I, bias, p > 0 ? &m : NULL, (tok ? tok[n] : n) * I, I);
}

void geglu_backward(float *df, const float *dg, const float *f, size_t N, size_t I, float p, uint64_t seed,
		    uint64_t site, const size_t *tok)
{
	const struct simd_ops *k = simd();
	struct mask m = mask_make(p, seed, site);
	#pragma omp parallel for schedule(static) if (PARALLEL(N * I))
	for (size_t n = 0; n < N; n++)
		k->geglu_backward(df + n * 2 * I, dg + n * I, f + n * 2 * I, p > 0 ? &m : NULL, (tok ? tok[n] : n) * I, I);
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

void rope_table(float *cs, float *sn, size_t L, size_t D, double theta)
{
	size_t half = D / 2;
	for (size_t i = 0; i < half; i++) {
		/* inv_freq = 1 / theta^(2i / D), each step rounded to float as PyTorch's */
		float inv = 1.0f / (float)pow((double)(float)theta, (double)((float)(2 * i) / (float)D));
		for (size_t t = 0; t < L; t++) {
			double angle = (double)(inv * (float)t);
			cs[t * half + i] = (float)cos(angle);
			sn[t * half + i] = (float)sin(angle);
		}
	}
}

size_t attention_scratch(size_t L, size_t D)
{
	return 4 * L * L + D * (2 * L + 16);
}

/* Queries are taken in blocks of this many rows when a window leaves out some keys. */
#define QUERY_BLOCK 32

/* Does a window of w leave out keys of L tokens? */
static int windowed(size_t w, size_t L)
{
	return w != ATTN_ALL && w + 1 < L;
}

/* The queries of a block: QUERY_BLOCK of Lq under a window, else all of them. */
static size_t query_step(const struct attention *o, size_t Lq, size_t L)
{
	return windowed(o->window, L) ? QUERY_BLOCK : Lq;
}

/* The keys [lo, hi) that queries [i0, i1) see, of L. */
static void block_keys(size_t i0, size_t i1, size_t L, size_t w, size_t *lo, size_t *hi)
{
	*lo = w == ATTN_ALL || i0 <= w ? 0 : i0 - w;
	*hi = w == ATTN_ALL || L - i1 <= w ? L : i1 + w;
}

/* Softmax of a block's rows [i0, i1) over keys [lo, lo + n) (row stride n), each over the keys its
 * query sees; 0 for the others. */
static void softmax_window(const struct simd_ops *k, float *S, size_t i0, size_t i1, size_t lo, size_t n, size_t w)
{
	if (w == ATTN_ALL) {
		k->softmax_rows(S, i1 - i0, n);
		return;
	}
	for (size_t i = i0; i < i1; i++) {
		float *row = S + (i - i0) * n;
		size_t a = (i > w ? i - w : 0) - lo, b = (i + w + 1 < lo + n ? i + w + 1 : lo + n) - lo;
		memset(row, 0, a * sizeof *row);
		k->softmax_rows(row + a, 1, b - a);
		memset(row + b, 0, (n - b) * sizeof *row);
	}
}

/* The block's probabilities through the dropout mask into Pd (the same layout). */
static void drop_block(float *Pd, const float *P, size_t i0, size_t i1, size_t lo, size_t n, size_t L,
		       const struct attention *o)
{
	for (size_t i = i0; i < i1; i++)
		for (size_t c = 0; c < n; c++) {
			size_t at = (i - i0) * n + c;
			Pd[at] = mask_keep(o->m, o->offset + i * L + lo + c) ? P[at] * o->m->scale : 0.0f;
		}
}

void attention_head_forward(float *ctx, size_t ldc, float *probs, float *qkv, size_t ld, size_t H, const float *bias,
			    size_t Lq, size_t L, size_t D, const struct attention *o, float *scratch)
{
	const struct simd_ops *k = simd();
	float *Q = qkv, *K = qkv + H, *V = qkv + 2 * H, *Pd = scratch, *Bt = scratch + L * L;
	size_t step = query_step(o, Lq, L), w = windowed(o->window, L) ? o->window : ATTN_ALL;
	if (bias) {
		k->add_rows(Q, ld, bias, Lq, D);
		k->add_rows(K, ld, bias + H, L, D);
		k->add_rows(V, ld, bias + 2 * H, L, D);
	}
	if (o->cos) {
		k->rotary(Q, ld, o->cos, o->sin, Lq, D / 2, 0);
		k->rotary(K, ld, o->cos, o->sin, L, D / 2, 0);
	}
	if (o->bf16) { /* in place: backward takes the products' inputs as they were */
		k->round_bf16(Q, ld, Lq, D);
		k->round_bf16(K, ld, L, D);
		k->round_bf16(V, ld, L, D);
	}
	for (size_t i0 = 0; i0 < Lq; i0 += step) {
		size_t i1 = i0 + step < Lq ? i0 + step : Lq, lo, hi, n;
		block_keys(i0, i1, L, w, &lo, &hi);
		n = hi - lo;
		float *S = probs + i0 * L, *Sd = Pd + i0 * L;
		k->scores(S, Q + i0 * ld, ld, K + lo * ld, ld, i1 - i0, n, D, o->scale, Bt);
		softmax_window(k, S, i0, i1, lo, n, w);
		if (o->m)
			drop_block(Sd, S, i0, i1, lo, n, L, o);
		else if (o->bf16)
			memcpy(Sd, S, (i1 - i0) * n * sizeof *S);
		if (o->bf16)
			k->round_bf16(Sd, n, i1 - i0, n);
		k->combine(ctx + i0 * ldc, ldc, o->m || o->bf16 ? Sd : S, V + lo * ld, ld, i1 - i0, n, D, 1);
	}
}

/* t [C, R] = a^T, a being R x C */
static void transpose(float *t, const float *a, size_t R, size_t C)
{
	for (size_t i = 0; i < R; i++)
		for (size_t j = 0; j < C; j++)
			t[j * R + i] = a[i * C + j];
}

/* tr [j1 - j0, q1 - q0] = the transpose of A's (laid out as the probabilities are) rows [q0, q1)
 * and columns [j0, j1), 0 where a query does not see the key. */
static void transpose_window(float *tr, const float *A, size_t q0, size_t q1, size_t j0, size_t j1, size_t L,
			     size_t step, size_t Lq, size_t w)
{
	size_t qn = q1 - q0;
	for (size_t i = q0; i < q1; i++) {
		size_t i0 = i / step * step, i1 = i0 + step < Lq ? i0 + step : Lq, lo, hi;
		block_keys(i0, i1, L, w, &lo, &hi);
		const float *row = A + i0 * L + (i - i0) * (hi - lo);
		for (size_t j = j0; j < j1; j++)
			tr[(j - j0) * qn + (i - q0)] = j >= lo && j < hi ? row[j - lo] : 0.0f;
	}
}

/* Backward through the probabilities of each block of queries: dS [Lq, L] (laid out as the
 * probabilities) = the scores' gradient, Pd = the dropped probabilities (with a mask), and the
 * queries' gradient dQ = scale dS K. */
static void backward_queries(float *dS, float *Pd, float *dQ, const float *dctx, size_t ldc, const float *K,
			     const float *V, size_t ld, const float *probs, size_t Lq, size_t L, size_t D,
			     const struct attention *o, float *Bt)
{
	const struct simd_ops *k = simd();
	size_t step = query_step(o, Lq, L), w = windowed(o->window, L) ? o->window : ATTN_ALL;
	for (size_t i0 = 0; i0 < Lq; i0 += step) {
		size_t i1 = i0 + step < Lq ? i0 + step : Lq, lo, hi, n;
		block_keys(i0, i1, L, w, &lo, &hi);
		n = hi - lo;
		const float *P = probs + i0 * L;
		float *S = dS + i0 * L;
		if (o->m)
			drop_block(Pd + i0 * L, P, i0, i1, lo, n, L, o);
		k->scores(S, dctx + i0 * ldc, ldc, V + lo * ld, ld, i1 - i0, n, D, 1, Bt); /* dP = dctx V^T */
		for (size_t r = 0; r < i1 - i0; r++) { /* through the dropout and the softmax */
			float *dp = S + r * n, dot = 0;
			const float *pr = P + r * n;
			if (o->m)
				for (size_t j = 0; j < n; j++)
					dp[j] *= mask_keep(o->m, o->offset + (i0 + r) * L + lo + j) ? o->m->scale : 0.0f;
			for (size_t j = 0; j < n; j++)
				dot += dp[j] * pr[j];
			for (size_t j = 0; j < n; j++)
				dp[j] = pr[j] * (dp[j] - dot);
		}
		if (o->bf16)
			k->round_bf16(S, n, i1 - i0, n);
		k->combine(dQ + i0 * ld, ld, S, K + lo * ld, ld, i1 - i0, n, D, o->scale); /* dQ = scale dS K */
	}
}

void attention_head_backward(float *dqkv, const float *dctx, size_t ldc, const float *qkv, size_t ld, size_t H,
			     const float *probs, size_t Lq, size_t L, size_t D, const struct attention *o, float *scratch)
{
	const struct simd_ops *k = simd();
	size_t M = Lq * L, step = query_step(o, Lq, L), w = windowed(o->window, L) ? o->window : ATTN_ALL;
	const float *Q = qkv, *K = qkv + H, *V = qkv + 2 * H;
	float *dQ = dqkv, *dK = dqkv + H, *dV = dqkv + 2 * H;
	float *dS = scratch, *Pd = dS + M, *trP = Pd + M, *trS = trP + M, *dc = trS + M, *Bt = dc + L * D;
	if (o->bf16) { /* the context's gradient rounded, in a copy */
		for (size_t i = 0; i < Lq; i++)
			memcpy(dc + i * D, dctx + i * ldc, D * sizeof *dc);
		k->round_bf16(dc, D, Lq, D);
		dctx = dc, ldc = D;
	}
	backward_queries(dS, Pd, dQ, dctx, ldc, K, V, ld, probs, Lq, L, D, o, Bt);
	if (o->bf16 && !o->m) /* the probabilities, rounded as the forward's product took them */
		memcpy(Pd, probs, M * sizeof *Pd);
	if (o->bf16)
		k->round_bf16(Pd, M, 1, M);
	const float *P = o->m || o->bf16 ? Pd : probs;
	/* Keys and values by blocks, each from the queries that see them: dV = Pd^T dctx, dK =
	 * scale dS^T Q (every key at once without a window). */
	for (size_t j0 = 0; j0 < L; j0 += w == ATTN_ALL ? L : QUERY_BLOCK) {
		size_t j1 = w == ATTN_ALL || j0 + QUERY_BLOCK > L ? L : j0 + QUERY_BLOCK;
		size_t q0 = w == ATTN_ALL || j0 <= w ? 0 : j0 - w, q1 = w == ATTN_ALL || j1 + w > Lq ? Lq : j1 + w;
		if (q0 >= q1) { /* keys no query sees (the first token's, past its window) */
			for (size_t j = j0; j < j1; j++) {
				memset(dK + j * ld, 0, D * sizeof *dK);
				memset(dV + j * ld, 0, D * sizeof *dV);
			}
			continue;
		}
		if (w == ATTN_ALL) {
			transpose(trP, P, Lq, L);
			transpose(trS, dS, Lq, L);
		} else {
			transpose_window(trP, P, q0, q1, j0, j1, L, step, Lq, w);
			transpose_window(trS, dS, q0, q1, j0, j1, L, step, Lq, w);
		}
		k->combine(dV + j0 * ld, ld, trP, dctx + q0 * ldc, ldc, j1 - j0, q1 - q0, D, 1);
		k->combine(dK + j0 * ld, ld, trS, Q + q0 * ld, ld, j1 - j0, q1 - q0, D, o->scale);
	}
	if (o->cos) { /* back through the rotary embeddings */
		k->rotary(dQ, ld, o->cos, o->sin, Lq, D / 2, 1);
		k->rotary(dK, ld, o->cos, o->sin, L, D / 2, 1);
	}
}
