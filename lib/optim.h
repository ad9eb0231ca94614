/* optim.h: the optimizer and schedule of Hugging Face's GLUE recipe: PyTorch's AdamW (decoupled
 * weight decay, bias correction), the linear warmup-then-decay schedule of
 * get_linear_schedule_with_warmup, and clipping of the global gradient norm
 * (torch.nn.utils.clip_grad_norm_). Parameters, gradients and the two moments share one layout
 * (model.h's parameter sets), so each is one flat loop. */
#ifndef ELSA_OPTIM_H
#define ELSA_OPTIM_H

#include <stddef.h>

struct params;

struct adamw {
	float lr;        /* peak learning rate */
	float beta1, beta2, eps, weight_decay;
	long step;       /* optimizer steps taken */
	float *m, *v;    /* first and second moments, the parameters' layout */
};

/* Zeroed moments for ps; PyTorch's defaults but weight_decay (given). 0 or E_NOMEM. */
int adamw_init(struct adamw *o, const struct params *ps, float lr, float weight_decay);
void adamw_free(struct adamw *o);
/* One step at learning rate lr on ps->mem with gradients g scaled by gscale (clip_factor's, or
 * 1): decay (on the parameters that take it), moments, bias correction, update; as
 * torch.optim.AdamW after clip_grad_norm_, in one pass over the set. g is not changed. */
void adamw_step(struct adamw *o, const struct params *ps, const float *g, float lr, float gscale);

/* The learning rate at optimizer step `step` (0-based) of `total`, with `warmup` warmup steps. */
float schedule_lr(float peak, long step, long warmup, long total);

/* The global L2 norm of g (n floats), computed in double. */
double grad_norm(const float *g, size_t n);
/* The factor clip_grad_norm_ scales gradients of that norm by: max_norm / (norm + 1e-6) when
 * that is below 1, else 1. */
float clip_factor(double norm, double max_norm);

#endif
