#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "head.h"
#include "kernels.h"
#include "mem.h"

enum { SITE_IN, SITE_OUT }; /* the head's two dropouts: on x (RoBERTa, ELECTRA), on h */

int head_acts_reserve(struct head_acts *a, size_t B, size_t H, size_t C)
{
	const struct plan_array arrays[] = { PLAN_ARRAY(a->x, B * H), PLAN_ARRAY(a->pre, B * H),
					     PLAN_ARRAY(a->h, B * H), PLAN_ARRAY(a->z, B * H), PLAN_ARRAY(a->dh, B * H),
					     PLAN_ARRAY(a->logits, B * C), PLAN_ARRAY(a->dlogits, B * C) };
	return plan_reserve(&a->mem, &a->cap, arrays, (int)(sizeof arrays / sizeof *arrays));
}

void head_acts_free(struct head_acts *a)
{
	free(a->mem);
	memset(a, 0, sizeof *a);
}

void head_forward(struct head_acts *a, const struct head_weights *w, enum model_type type, const float *y,
		  const size_t *row, size_t B, size_t H, size_t C, const struct dropout_cfg *d, uint64_t site)
{
	float p = d ? d->p : 0;
	uint64_t seed = d ? d->seed : 0;
	const struct family *f = family_of(type);
	for (size_t e = 0; e < B; e++)
		memcpy(a->x + e * H, y + (row ? row[e] : e) * H, H * sizeof *a->x);
	if (f->head_in_dropout)
		dropout(a->x, a->x, B * H, p, seed, site + SITE_IN);
	/* h = act(x Wd^T + bd) */
	gemm(0, 1, B, H, H, 1, a->x, H, w->dense_w, H, 0, f->head_act == ACT_GELU ? a->pre : a->h, H);
	if (f->head_act == ACT_GELU) {
		bias_gelu_forward(a->h, a->pre, w->dense_b, B, H);
	} else {
		bias_add(a->h, a->h, w->dense_b, B, H);
		(f->head_act == ACT_TANH ? tanh_forward : relu_forward)(a->h, B * H);
	}
	dropout(a->z, a->h, B * H, p, seed, site + SITE_OUT);
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
		   enum model_type type, size_t B, size_t H, size_t C, const struct dropout_cfg *d, uint64_t site)
{
	float p = d ? d->p : 0;
	uint64_t seed = d ? d->seed : 0;
	/* out: logits = z Wo^T + bo */
	gemm(1, 0, C, H, B, 1, a->dlogits, C, a->z, H, 0, g->out_w, H);
	bias_backward(g->out_b, a->dlogits, B, C, C);
	gemm(0, 0, B, H, C, 1, a->dlogits, C, w->out_w, H, 0, a->dh, H);
	/* z = dropout(h), h = act(x Wd^T + bd) */
	const struct family *f = family_of(type);
	dropout(a->dh, a->dh, B * H, p, seed, site + SITE_OUT);
	if (f->head_act == ACT_GELU)
		gelu_backward(a->dh, a->dh, a->pre, B * H);
	else
		(f->head_act == ACT_TANH ? tanh_backward : relu_backward)(a->dh, a->dh, a->h, B * H);
	gemm(1, 0, H, H, B, 1, a->dh, H, a->x, H, 0, g->dense_w, H);
	bias_backward(g->dense_b, a->dh, B, H, H);
	/* dy = dh Wd, through the input's dropout */
	gemm(0, 0, B, H, H, 1, a->dh, H, w->dense_w, H, 0, dy, H);
	if (f->head_in_dropout)
		dropout(dy, dy, B * H, p, seed, site + SITE_IN);
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
