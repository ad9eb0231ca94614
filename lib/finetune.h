/* finetune.h: a model under fine-tuning: the trained top layers N..L-1 and the task head (with
 * ModernBERT's final norm; and, for a full fine-tune, the embeddings), with their parameters,
 * gradients and activations; a training step's forward and backward (and the forward alone,
 * which infer.h runs over a set). Frozen layers never appear here: their output, read from a
 * cache, is the input. The top layer is computed at each example's first token alone, which
 * the head reads; but under ModernBERT's mean pooling, which reads every token. */
#ifndef ELSA_FINETUNE_H
#define ELSA_FINETUNE_H

#include <stddef.h>
#include <stdint.h>

#include "encoder.h"
#include "head.h"
#include "model.h"

struct finetune {
	struct model_config c;
	int first;                 /* N: the first trained layer (L: the head alone) */
	int emb;                   /* the embeddings train too (N = 0): the input is tokens */
	size_t outputs;            /* C */
	int regression;
	struct params ps;          /* layers N..L-1 and the head */
	float *grad;               /* the gradients, in ps's layout */
	struct layer_weights *w, *gw; /* per trained layer: weights and their gradients */
	struct head_weights hw, hg;
	struct emb_weights ew, eg; /* when emb */
	struct emb_acts ea;
	uint32_t *tokens, *types;  /* [T], when emb */
	struct layer_acts *acts;   /* per trained layer */
	struct layer_scratch scratch;
	struct head_acts head;
	struct batch b;
	float *x, *dy;             /* [T, H]: the input states, and the gradient flowing down */
	void *mem;                 /* x, dy, tokens and types, in one allocation (mem.h's plan) */
	size_t cap;                /* bytes in mem */
	float dropout;
	uint64_t seed;
};

/* Loads layers first..L-1 and the head (and with emb, first being 0, the embeddings) from the
 * model. Head tensors the checkpoint lacks (or holds with another number of outputs) are
 * initialized as Hugging Face initializes new ones: weights ~ N(0, 0.02), biases 0, from seed;
 * *new_head counts them. */
int finetune_init(struct finetune *f, const struct model *m, int first, int emb, size_t outputs, int regression,
		  float dropout, uint64_t seed, int *new_head);
void finetune_free(struct finetune *f);

/* Lays out a batch of n examples of the given lengths; then f->x [T, H] is to be filled with
 * their states at layer N, each example's rows at f->b.start[e] (with emb: f->tokens and
 * f->types instead). 0 or E_NOMEM. */
int finetune_batch(struct finetune *f, size_t n, const uint32_t *len);
/* Forward through the trained layers and the head: logits in f->head.logits [n, C]. train turns
 * dropout on, with masks drawn for optimizer step `step`. */
void finetune_forward(struct finetune *f, int train, long step);
/* The loss of the last forward against labels, and every trained parameter's gradient in
 * f->grad (written: each comes from one place). Call after finetune_forward(f, train, step) with the same step. */
double finetune_backward(struct finetune *f, const double *labels, int train, long step);

#endif
