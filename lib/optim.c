#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "optim.h"

int adamw_init(struct adamw *o, const struct params *ps, float lr, float weight_decay)
{
	memset(o, 0, sizeof *o);
	o->lr = lr;
	o->beta1 = 0.9f;
	o->beta2 = 0.999f;
	o->eps = 1e-8f;
	o->weight_decay = weight_decay;
	o->m = calloc(ps->size ? ps->size : 1, sizeof *o->m);
	o->v = calloc(ps->size ? ps->size : 1, sizeof *o->v);
	if (!o->m || !o->v) {
		adamw_free(o);
		return err_set(E_NOMEM, "out of memory for the optimizer's moments");
	}
	return 0;
}

void adamw_free(struct adamw *o)
{
	free(o->m);
	free(o->v);
	o->m = o->v = NULL;
}

void adamw_step(struct adamw *o, const struct params *ps, const float *g, float lr)
{
	o->step++;
	double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
	float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
	float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	for (size_t t = 0; t < ps->n; t++) {
		const struct param *p = &ps->p[t];
		size_t n = (size_t)p->rows * (size_t)(p->cols ? p->cols : 1), off = p->offset;
		float decay = p->decay ? 1.0f - lr * o->weight_decay : 1.0f;
		float *w = ps->mem + off, *m = o->m + off, *v = o->v + off;
		const float *gr = g + off;
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++) {
			w[i] *= decay;
			m[i] = m[i] * b1 + gr[i] * (1.0f - b1);
			v[i] = v[i] * b2 + gr[i] * gr[i] * (1.0f - b2);
			w[i] -= step_size * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
		}
	}
}

float schedule_lr(float peak, long step, long warmup, long total)
{
	double f;
	if (step < warmup)
		f = (double)step / (double)(warmup > 1 ? warmup : 1);
	else
		f = fmax(0.0, (double)(total - step) / (double)(total - warmup > 1 ? total - warmup : 1));
	return (float)(peak * f);
}

double grad_norm(const float *g, size_t n)
{
	/* Sums of at most 1024 fixed blocks, added in order: the same result whatever the thread count. */
	double part[1024], s = 0;
	size_t block = n / 1024 + 1;
	#pragma omp parallel for schedule(static)
	for (size_t b = 0; b < 1024; b++) {
		double t = 0;
		for (size_t i = b * block; i < n && i < (b + 1) * block; i++)
			t += (double)g[i] * g[i];
		part[b] = t;
	}
	for (size_t b = 0; b < 1024; b++)
		s += part[b];
	return sqrt(s);
}

double clip_grad_norm(float *g, size_t n, double max_norm)
{
	double norm = grad_norm(g, n), coef = max_norm / (norm + 1e-6);
	if (coef < 1.0) {
		float c = (float)coef;
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++)
			g[i] *= c;
	}
	return norm;
}
