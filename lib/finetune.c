#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "finetune.h"
#include "kernels.h"
#include "mem.h"
#include "rng.h"
#include "stream.h"

/* Dropout sites of the head and the embeddings, past every layer's (encoder.h's LAYER_SITES). */
#define HEAD_SITE ((uint64_t)(LAYER_MAX + 1) * LAYER_SITES)
#define EMB_SITE ((uint64_t)(LAYER_MAX + 2) * LAYER_SITES)

/* How transformers' _init_weights draws a new head weight matrix: N(0, 0.02) (BERT's families);
 * ModernBERT's N(0, sd) cut at cutoff sd (its initializer_cutoff_factor), sd hidden_size^-1/2
 * for the classifier, initializer_range / sqrt(2 layers) for head.dense. */
static float new_weight(const struct model_config *c, const struct param *p, struct rng *r)
{
	if (!family_of(c->type)->pre_norm)
		return (float)(0.02 * rng_normal(r));
	double sd = p->slot == HW_OUT_W ? 1 / sqrt((double)c->hidden) : c->init_range / sqrt(2.0 * c->layers), x;
	do
		x = rng_normal(r);
	while (fabs(x) > c->init_cutoff);
	return (float)(sd * x);
}

/* Head tensors the checkpoint lacks, as Hugging Face's _init_weights makes new ones: Linear
 * weights drawn (new_weight), biases 0, LayerNorm weights 1 (ModernBERT's head.norm). */
static void init_head(struct finetune *f, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed ^ 0x68656164ull); /* "head" */
	for (size_t i = 0; i < f->ps.n; i++) {
		const struct param *p = &f->ps.p[i];
		if (!p->head || p->loaded)
			continue;
		float *x = f->ps.mem + p->offset;
		for (int64_t k = 0; k < p->rows * (p->cols ? p->cols : 1); k++)
			x[k] = p->cols ? new_weight(&f->c, p, &r) : p->slot == HW_NORM_W ? 1.0f : 0.0f;
	}
}

int finetune_init(struct finetune *f, const struct model *m, int first, int emb, size_t outputs, int regression,
		  float dropout, uint64_t seed, int *new_head)
{
	int rc;
	memset(f, 0, sizeof *f);
	if (emb && first != 0)
		return err_set(E_ARG, "the embeddings train only with every layer (N = 0, not %d)", first);
	f->c = m->cfg;
	f->first = first;
	f->emb = emb;
	f->outputs = outputs;
	f->regression = regression;
	f->dropout = dropout;
	f->seed = seed;
	int L = m->cfg.layers, n = L - first;
	if ((rc = params_init(&f->ps, &m->cfg, emb, first, L, (int)outputs)) < 0)
		return rc;
	if ((rc = params_load(&f->ps, m, new_head)) < 0)
		goto fail;
	if (*new_head)
		init_head(f, seed);
	f->grad = calloc(f->ps.size, sizeof *f->grad);
	f->w = calloc((size_t)n + 1, sizeof *f->w);
	f->gw = calloc((size_t)n + 1, sizeof *f->gw);
	f->acts = calloc((size_t)n + 1, sizeof *f->acts);
	if (!f->grad || !f->w || !f->gw || !f->acts) {
		rc = err_set(E_NOMEM, "out of memory for %zu parameters' gradients", f->ps.size);
		goto fail;
	}
	for (int l = first; l < L; l++) {
		params_layer(&f->ps, f->ps.mem, l, &f->w[l - first]);
		params_layer(&f->ps, f->grad, l, &f->gw[l - first]);
	}
	params_head(&f->ps, f->ps.mem, &f->hw);
	params_head(&f->ps, f->grad, &f->hg);
	if (emb) {
		params_emb(&f->ps, f->ps.mem, &f->ew);
		params_emb(&f->ps, f->grad, &f->eg);
	}
	return 0;
fail:
	finetune_free(f);
	return rc;
}

void finetune_free(struct finetune *f)
{
	int n = f->c.layers - f->first;
	for (int i = 0; f->acts && i < n; i++)
		layer_acts_free(&f->acts[i]);
	free(f->acts);
	free(f->w);
	free(f->gw);
	free(f->grad);
	free(f->mem);
	emb_acts_free(&f->ea);
	layer_scratch_free(&f->scratch);
	head_acts_free(&f->head);
	batch_free(&f->b);
	params_free(&f->ps);
	memset(f, 0, sizeof *f);
}

/* Is the top layer trained and computed at the first tokens only? Where the head reads them
 * alone: not with mean pooling, which reads every token. */
static int top_firsts(const struct finetune *f)
{
	return f->first < f->c.layers && !(family_of(f->c.type)->pre_norm && f->c.pool_mean);
}

int finetune_batch(struct finetune *f, size_t n, const uint32_t *len)
{
	size_t H = (size_t)f->c.hidden;
	int rc = batch_set(&f->b, n, len, f->c.heads);
	if (rc < 0)
		return rc;
	size_t T = f->b.T;
	const struct plan_array arrays[] = { PLAN_ARRAY(f->x, T * H), PLAN_ARRAY(f->dy, T * H), PLAN_ARRAY(f->tokens, T),
					     PLAN_ARRAY(f->types, T) };
	if (plan_reserve(&f->mem, &f->cap, arrays, (int)(sizeof arrays / sizeof *arrays)) < 0)
		return err_set(E_NOMEM, "out of memory for a batch of %zu tokens", T);
	if (f->emb && (rc = emb_acts_reserve(&f->ea, &f->c, f->b.T)) < 0)
		return rc;
	for (int l = f->first; l < f->c.layers; l++)
		if ((rc = layer_acts_reserve(&f->acts[l - f->first], &f->c, &f->b,
					     l == f->c.layers - 1 && top_firsts(f) ? LAYER_FIRST_TOKENS : LAYER_ALL_TOKENS)) < 0)
			return rc;
	if ((rc = layer_scratch_reserve(&f->scratch, &f->c, &f->b)) < 0)
		return rc;
	if (head_acts_reserve(&f->head, &f->c, &f->b, f->outputs) < 0)
		return err_set(E_NOMEM, "out of memory for the head of %zu examples", n);
	return 0;
}

static struct dropout_cfg step_dropout(const struct finetune *f, int train, long step)
{
	struct dropout_cfg d = { train ? f->dropout : 0, mix64(f->seed ^ mix64((uint64_t)step)) };
	return d;
}

/* The head's: its own rate when the config gives one (classifier_dropout, DistilBERT's
 * seq_classif_dropout), unless dropout is off. */
static struct dropout_cfg head_dropout(const struct finetune *f, const struct dropout_cfg *d)
{
	struct dropout_cfg h = *d;
	h.p = dropout_rate(d, f->c.head_dropout);
	return h;
}

/* The head's input: the top layer's output (its first tokens' rows alone, or every row), or the
 * input states when no layer trains. */
static const float *head_input(const struct finetune *f)
{
	return f->first < f->c.layers ? f->acts[f->c.layers - 1 - f->first].y : f->x;
}

void finetune_forward(struct finetune *f, int train, long step)
{
	struct dropout_cfg d = step_dropout(f, train, step);
	const float *x = f->x;
	if (f->emb)
		embeddings_forward(f->x, &f->ea, &f->ew, &f->c, &f->b, f->tokens, f->types, &d, EMB_SITE);
	for (int l = f->first; l < f->c.layers; l++) {
		struct layer_acts *a = &f->acts[l - f->first];
		a->x = (float *)x;
		layer_forward(a, &f->w[l - f->first], &f->c, &f->b, &d, (uint64_t)l);
		x = a->y;
	}
	struct dropout_cfg hd = head_dropout(f, &d);
	head_forward(&f->head, &f->hw, &f->c, x, &f->b, top_firsts(f), f->outputs, &hd, HEAD_SITE);
}

double finetune_backward(struct finetune *f, const double *labels, int train, long step)
{
	struct dropout_cfg d = step_dropout(f, train, step);
	struct dropout_cfg hd = head_dropout(f, &d);
	double loss = head_loss(&f->head, labels, f->b.n, f->outputs, f->regression);
	head_backward(f->first < f->c.layers ? f->dy : NULL, &f->hg, &f->head, &f->hw, &f->c, head_input(f), &f->b,
		      top_firsts(f), f->outputs, &hd, HEAD_SITE);
	for (int l = f->c.layers - 1; l >= f->first; l--) {
		float *dx = l > f->first || f->emb ? f->dy : NULL; /* no gradient into a frozen input */
		layer_backward(dx, &f->gw[l - f->first], f->dy, &f->acts[l - f->first], &f->w[l - f->first], &f->c, &f->b,
			       &d, (uint64_t)l, &f->scratch);
	}
	if (f->emb)
		embeddings_backward(&f->eg, f->dy, &f->ea, &f->ew, &f->c, &f->b, f->tokens, f->types, &d, EMB_SITE);
	return loss;
}
