/* head.h: the sequence-classification heads of Hugging Face's BertForSequenceClassification
 * (pooler: dense + tanh on the first token, dropout, classifier), RobertaForSequenceClassification
 * (dropout, dense, tanh, dropout, out_proj, on <s>), ElectraForSequenceClassification (the same
 * with GELU), DistilBertForSequenceClassification (pre_classifier, ReLU, dropout, classifier) and
 * ModernBertForSequenceClassification (the model's final_norm at every token it reads, pooling:
 * the first token, or the mean of every token's state; then head.dense, classifier_activation,
 * head.norm, dropout, classifier); their loss (cross-entropy, or mean squared error for
 * regression: one output); and backward.
 *
 * The head reads the top layer's states y: each example's first row alone (firsts: y [B, H]),
 * or every token's (y [T, H] laid out by the batch), of which the first-token heads take each
 * example's first.
 *
 * Letters: B examples, T tokens, H hidden, C outputs. */
#ifndef ELSA_HEAD_H
#define ELSA_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "encoder.h"
#include "model.h"

struct head_acts {
	float *yin;           /* [B, H] ModernBERT's first-token pooling: the first tokens' rows of y */
	float *yn;            /* [T, H] ModernBERT's mean pooling: final_norm of every row of y */
	float *ymean, *yrstd; /* [B] or [T]: final_norm's statistics */
	float *dyn;           /* [T, H] mean pooling: backward's, the gradient of yn */
	float *x;      /* [B, H] the pooled state: the first token's (after dropout for RoBERTa and
			* ELECTRA; after final_norm for ModernBERT), or the mean of the normalized rows */
	float *pre;    /* [B, H] x Wd^T + bd, for GELU's backward */
	float *h;      /* [B, H] act(x Wd^T + bd) */
	float *nmean, *nrstd; /* [B] ModernBERT's head.norm statistics */
	float *z;      /* [B, H] dropout(h); ModernBERT dropout(head.norm(h)) */
	float *logits; /* [B, C] */
	float *dlogits, *dz, *dh; /* [B, C], [B, H], [B, H]: backward's */
	void *mem;     /* all of them, in one allocation (mem.h's plan) */
	size_t cap;    /* bytes in mem */
};

/* Makes room for batch b, C outputs, for a model of config c. 0 or E_NOMEM. */
int head_acts_reserve(struct head_acts *a, const struct model_config *c, const struct batch *b, size_t C);
void head_acts_free(struct head_acts *a);

/* Logits of the batch's examples from the top layer's states y (firsts: their first rows only).
 * site names the head for dropout. */
void head_forward(struct head_acts *a, const struct head_weights *w, const struct model_config *c, const float *y,
		  const struct batch *b, int firsts, size_t C, const struct dropout_cfg *d, uint64_t site);
/* The mean loss over the batch (cross-entropy over C classes with labels as class indices, or
 * MSE when C is 1 and regression), in double; a->dlogits gets its gradient. */
double head_loss(struct head_acts *a, const double *labels, size_t B, size_t C, int regression);
/* Backward from a->dlogits, with y as the forward had it: weight gradients written into g; dy
 * (y's layout; NULL: not needed) gets the gradient of y, 0 at the rows the head does not read. */
void head_backward(float *dy, struct head_weights *g, struct head_acts *a, const struct head_weights *w,
		   const struct model_config *c, const float *y, const struct batch *b, int firsts, size_t C,
		   const struct dropout_cfg *d, uint64_t site);

/* Class index (argmax) or score of each example from logits [B, C]. */
void head_predict(const float *logits, size_t B, size_t C, int regression, double *out);

#endif
