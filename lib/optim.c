#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "optim.h"
#include "simd.h"

int adamw_init(struct adamw *o, const struct params *ps, float lr, float weight_decay)
{
	memset(o, 0, sizeof *o);
	o->lr = lr;
	o->beta1 = 0.9f;
	o->beta2 = 0.999f;
	o->eps = 1e-8f;
	o->weight_decay = weight_decay;
	/* Zeroed by writing, not calloc's shared zero pages: the first step's writes would
	 * otherwise fault once per page, each fault flushing the other cores' TLBs. */
	o->m = malloc((ps->size ? ps->size : 1) * sizeof *o->m);
	o->v = malloc((ps->size ? ps->size : 1) * sizeof *o->v);
	if (!o->m || !o->v) {
		adamw_free(o);
		return err_set(E_NOMEM, "out of memory for the optimizer's moments");
	}
	memset(o->m, 0, ps->size * sizeof *o->m);
	memset(o->v, 0, ps->size * sizeof *o->v);
	return 0;
}

void adamw_free(struct adamw *o)
{
	free(o->m);
	free(o->v);
	o->m = o->v = NULL;
}

/* Elements per task of the optimizer's loops. */
#define BLOCK 16384

void adamw_step(struct adamw *o, const struct params *ps, const float *g, float lr, float gscale)
{
	const struct simd_ops *k = simd();
	o->step++;
	double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
	struct adamw_coef c = { 1.0f, o->beta1, o->beta2, (float)(lr / bc1), (float)sqrt(bc2), o->eps, gscale };
	float decay = 1.0f - lr * o->weight_decay;
	/* One parallel region for the whole set; each tensor's blocks are shared out in turn,
	 * without waiting between tensors (no element is touched twice). */
	#pragma omp parallel firstprivate(c)
	for (size_t t = 0; t < ps->n; t++) {
		const struct param *p = &ps->p[t];
		size_t n = (size_t)p->rows * (size_t)(p->cols ? p->cols : 1), off = p->offset;
		c.decay = p->decay ? decay : 1.0f;
		#pragma omp for schedule(static) nowait
		for (size_t i = 0; i < n; i += BLOCK)
			k->adamw(ps->mem + off + i, o->m + off + i, o->v + off + i, g + off + i, n - i < BLOCK ? n - i : BLOCK,
				 &c);
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
	/* Sums of 1024 fixed blocks, added in order: the same result whatever the thread count. */
	const struct simd_ops *k = simd();
	double part[1024], s = 0;
	size_t block = n / 1024 + 1;
	#pragma omp parallel for schedule(static)
	for (size_t b = 0; b < 1024; b++) {
		size_t lo = b * block < n ? b * block : n, hi = lo + block < n ? lo + block : n;
		part[b] = k->sum_squares(g + lo, hi - lo);
	}
	for (size_t b = 0; b < 1024; b++)
		s += part[b];
	return sqrt(s);
}

float clip_factor(double norm, double max_norm)
{
	double coef = max_norm / (norm + 1e-6);
	return coef < 1.0 ? (float)coef : 1.0f;
}
