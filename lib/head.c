#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "head.h"
#include "kernels.h"
#include "mem.h"

enum { SITE_IN, SITE_OUT }; /* the head's two dropouts: on x (RoBERTa, ELECTRA), on h (ModernBERT's normed h) */

int head_acts_reserve(struct head_acts *a, const struct model_config *c, const struct batch *b, size_t C)
{
	size_t B = b->n, T = b->T, H = (size_t)c->hidden, pre = (size_t)family_of(c->type)->pre_norm;
	size_t mean = pre && c->pool_mean, first = pre && !c->pool_mean, R = mean ? T : B;
	const struct plan_array arrays[] = {
		PLAN_ARRAY(a->yin, first * B * H), PLAN_ARRAY(a->yn, mean * T * H), PLAN_ARRAY(a->ymean, pre * R),
		PLAN_ARRAY(a->yrstd, pre * R), PLAN_ARRAY(a->dyn, mean * T * H), PLAN_ARRAY(a->x, B * H),
		PLAN_ARRAY(a->pre, B * H), PLAN_ARRAY(a->h, B * H), PLAN_ARRAY(a->nmean, pre * B),
		PLAN_ARRAY(a->nrstd, pre * B), PLAN_ARRAY(a->z, B * H), PLAN_ARRAY(a->dz, B * H), PLAN_ARRAY(a->dh, B * H),
		PLAN_ARRAY(a->logits, B * C), PLAN_ARRAY(a->dlogits, B * C),
	};
	return plan_reserve(&a->mem, &a->cap, arrays, (int)(sizeof arrays / sizeof *arrays));
}

void head_acts_free(struct head_acts *a)
{
	free(a->mem);
	memset(a, 0, sizeof *a);
}

/* out [B, H] = each example's first row of y; and back into dy (y's layout, 0 elsewhere). */
static void gather_rows(float *out, const float *y, const struct batch *b, int firsts, size_t H)
{
	for (size_t e = 0; e < b->n; e++)
		memcpy(out + e * H, y + (firsts ? e : b->start[e]) * H, H * sizeof *out);
}

static void scatter_rows(float *dy, const float *in, const struct batch *b, int firsts, size_t H)
{
	if (!firsts)
		memset(dy, 0, b->T * H * sizeof *dy);
	for (size_t e = 0; e < b->n; e++)
		memcpy(dy + (firsts ? e : b->start[e]) * H, in + e * H, H * sizeof *dy);
}

/* The mean of each example's rows of yn [T, H] into x [B, H]: their sum, in order, over their
 * count, as transformers' masked mean over the real tokens. */
static void mean_rows(float *x, const float *yn, const struct batch *b, size_t H)
{
	#pragma omp parallel for schedule(static) if (PARALLEL(b->T * H))
	for (size_t e = 0; e < b->n; e++) {
		float *s = x + e * H, n = (float)b->len[e];
		memcpy(s, yn + b->start[e] * H, H * sizeof *s);
		for (size_t t = 1; t < b->len[e]; t++)
			for (size_t k = 0; k < H; k++)
				s[k] += yn[(b->start[e] + t) * H + k];
		for (size_t k = 0; k < H; k++)
			s[k] /= n;
	}
}

/* x [B, H], the pooled state: the first tokens' rows of y; ModernBERT's after its final_norm,
 * or the mean of every row's. */
static void pool(struct head_acts *a, const struct head_weights *w, const struct model_config *c, const float *y,
		 const struct batch *b, int firsts)
{
	size_t H = (size_t)c->hidden;
	float eps = (float)c->eps;
	if (!w->fnorm_w) {
		gather_rows(a->x, y, b, firsts, H);
	} else if (!c->pool_mean) {
		gather_rows(a->yin, y, b, firsts, H);
		layernorm_forward(a->x, a->ymean, a->yrstd, a->yin, w->fnorm_w, w->fnorm_b, b->n, H, eps);
	} else {
		layernorm_forward(a->yn, a->ymean, a->yrstd, y, w->fnorm_w, w->fnorm_b, b->T, H, eps);
		mean_rows(a->x, a->yn, b, H);
	}
}

/* Backward of pool from dx [B, H] (overwritten) into dy. */
static void unpool(float *dy, struct head_weights *g, struct head_acts *a, const struct head_weights *w,
		   const struct model_config *c, const float *y, const struct batch *b, int firsts, float *dx)
{
	size_t H = (size_t)c->hidden;
	if (!w->fnorm_w) {
		if (dy)
			scatter_rows(dy, dx, b, firsts, H);
	} else if (!c->pool_mean) {
		layernorm_backward(dy ? a->dh : NULL, NULL, NULL, g->fnorm_w, g->fnorm_b, dx, NULL, a->yin, w->fnorm_w, a->ymean,
				   a->yrstd, b->n, H, 0, 0, 0, NULL);
		if (dy)
			scatter_rows(dy, a->dh, b, firsts, H);
	} else { /* each row's share of its example's mean */
		#pragma omp parallel for schedule(static) if (PARALLEL(b->T * H))
		for (size_t e = 0; e < b->n; e++)
			for (size_t t = 0; t < b->len[e]; t++)
				for (size_t k = 0; k < H; k++)
					a->dyn[(b->start[e] + t) * H + k] = dx[e * H + k] / (float)b->len[e];
		layernorm_backward(dy, NULL, NULL, g->fnorm_w, g->fnorm_b, a->dyn, NULL, y, w->fnorm_w, a->ymean, a->yrstd, b->T,
				   H, 0, 0, 0, NULL);
	}
}

void head_forward(struct head_acts *a, const struct head_weights *w, const struct model_config *c, const float *y,
		  const struct batch *b, int firsts, size_t C, const struct dropout_cfg *d, uint64_t site)
{
	size_t B = b->n, H = (size_t)c->hidden;
	float p = d ? d->p : 0;
	uint64_t seed = d ? d->seed : 0;
	pool(a, w, c, y, b, firsts);
	if (family_of(c->type)->head_in_dropout)
		dropout(a->x, a->x, B * H, p, seed, site + SITE_IN);
	/* h = act(x Wd^T + bd) */
	gemm(0, 1, B, H, H, 1, a->x, H, w->dense_w, H, 0, c->head_act == ACT_GELU ? a->pre : a->h, H);
	if (c->head_act == ACT_GELU) {
		bias_gelu_forward(a->h, a->pre, w->dense_b, B, H);
	} else {
		if (w->dense_b)
			bias_add(a->h, a->h, w->dense_b, B, H);
		(c->head_act == ACT_TANH ? tanh_forward : relu_forward)(a->h, B * H);
	}
	/* z = dropout(h), or ModernBERT's dropout(head.norm(h)) */
	if (w->norm_w)
		layernorm_forward(a->z, a->nmean, a->nrstd, a->h, w->norm_w, w->norm_b, B, H, (float)c->eps);
	dropout(a->z, w->norm_w ? a->z : a->h, B * H, p, seed, site + SITE_OUT);
	gemm(0, 1, B, C, H, 1, a->z, H, w->out_w, H, 0, a->logits, C);
	bias_add(a->logits, a->logits, w->out_b, B, C);
}

double head_loss(struct head_acts *a, const double *labels, size_t B, size_t C, int regression)
{
	double total = 0;
	for (size_t e = 0; e < B; e++) {
		const float *l = a->logits + e * C;
		float *dl = a->dlogits + e * C;
		if (regression) {
			double diff = (double)l[0] - labels[e];
			total += diff * diff;
			dl[0] = (float)(2.0 * diff / (double)B);
			continue;
		}
		size_t y = (size_t)labels[e];
		double mx = l[0], s = 0;
		for (size_t c = 1; c < C; c++)
			mx = l[c] > mx ? l[c] : mx;
		for (size_t c = 0; c < C; c++)
			s += exp((double)l[c] - mx);
		total += mx + log(s) - l[y];
		for (size_t c = 0; c < C; c++)
			dl[c] = (float)((exp((double)l[c] - mx) / s - (c == y)) / (double)B);
	}
	return total / (double)B;
}

void head_backward(float *dy, struct head_weights *g, struct head_acts *a, const struct head_weights *w,
		   const struct model_config *c, const float *y, const struct batch *b, int firsts, size_t C,
		   const struct dropout_cfg *d, uint64_t site)
{
	size_t B = b->n, H = (size_t)c->hidden;
	float p = d ? d->p : 0;
	uint64_t seed = d ? d->seed : 0;
	/* out: logits = z Wo^T + bo; dz = dlogits Wo */
	gemm(1, 0, C, H, B, 1, a->dlogits, C, a->z, H, 0, g->out_w, H);
	bias_backward(g->out_b, a->dlogits, B, C, C);
	gemm(0, 0, B, H, C, 1, a->dlogits, C, w->out_w, H, 0, a->dz, H);
	/* z = dropout(h) or dropout(head.norm(h)); h = act(x Wd^T + bd) */
	dropout(a->dz, a->dz, B * H, p, seed, site + SITE_OUT);
	if (w->norm_w)
		layernorm_backward(a->dh, NULL, NULL, g->norm_w, g->norm_b, a->dz, NULL, a->h, w->norm_w, a->nmean, a->nrstd, B,
				   H, 0, 0, 0, NULL);
	else
		memcpy(a->dh, a->dz, B * H * sizeof *a->dh);
	if (c->head_act == ACT_GELU)
		gelu_backward(a->dh, a->dh, a->pre, B * H);
	else
		(c->head_act == ACT_TANH ? tanh_backward : relu_backward)(a->dh, a->dh, a->h, B * H);
	gemm(1, 0, H, H, B, 1, a->dh, H, a->x, H, 0, g->dense_w, H);
	if (g->dense_b)
		bias_backward(g->dense_b, a->dh, B, H, H);
	if (!dy && !g->fnorm_w)
		return;
	/* dx = dh Wd, through the input's dropout, then back through the pooling */
	gemm(0, 0, B, H, H, 1, a->dh, H, w->dense_w, H, 0, a->dz, H);
	if (family_of(c->type)->head_in_dropout)
		dropout(a->dz, a->dz, B * H, p, seed, site + SITE_IN);
	unpool(dy, g, a, w, c, y, b, firsts, a->dz);
}

void head_predict(const float *logits, size_t B, size_t C, int regression, double *out)
{
	for (size_t e = 0; e < B; e++) {
		const float *l = logits + e * C;
		size_t best = 0;
		for (size_t c = 1; c < C; c++)
			best = l[c] > l[best] ? c : best;
		out[e] = regression ? (double)l[0] : (double)best;
	}
}
