/* head.h: the sequence-classification heads of Hugging Face's BertForSequenceClassification
 * (pooler: dense + tanh on the first token, dropout, classifier), RobertaForSequenceClassification
 * (dropout, dense, tanh, dropout, out_proj, on <s>), ElectraForSequenceClassification (the same
 * with GELU) and DistilBertForSequenceClassification (pre_classifier, ReLU, dropout, classifier);
 * their loss (cross-entropy, or mean squared error for regression: one output); and backward.
 *
 * Letters: B examples, H hidden, C outputs. */
#ifndef ELSA_HEAD_H
#define ELSA_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "encoder.h"
#include "model.h"

struct head_acts {
	float *x;      /* [B, H] the first token's state, after dropout for RoBERTa and ELECTRA */
	float *pre;    /* [B, H] x Wd^T + bd, for GELU's backward (ELECTRA) */
	float *h;      /* [B, H] act(x Wd^T + bd) */
	float *z;      /* [B, H] dropout(h) */
	float *logits; /* [B, C] */
	float *dlogits, *dh; /* [B, C], [B, H]: backward's */
	void *mem;     /* all of them, in one allocation (mem.h's plan) */
	size_t cap;    /* bytes in mem */
};

/* Makes room for B examples. 0 or E_NOMEM. */
int head_acts_reserve(struct head_acts *a, size_t B, size_t H, size_t C);
void head_acts_free(struct head_acts *a);

/* Logits of B examples from their first tokens' states: row row[e] of y (row NULL: row e), the
 * top layer's output. site names the head for dropout. */
void head_forward(struct head_acts *a, const struct head_weights *w, enum model_type type, const float *y,
		  const size_t *row, size_t B, size_t H, size_t C, const struct dropout_cfg *d, uint64_t site);
/* The mean loss over the batch (cross-entropy over C classes with labels as class indices, or
 * MSE when C is 1 and regression), in double; a->dlogits gets its gradient. */
double head_loss(struct head_acts *a, const double *labels, size_t B, size_t C, int regression);
/* Backward from a->dlogits: weight gradients written into g; dy [B, H] gets the gradient of
 * each example's first-token state (every other token gets none from the head). */
void head_backward(float *dy, struct head_weights *g, struct head_acts *a, const struct head_weights *w,
		   enum model_type type, size_t B, size_t H, size_t C, const struct dropout_cfg *d, uint64_t site);

/* Class index (argmax) or score of each example from logits [B, C]. */
void head_predict(const float *logits, size_t B, size_t C, int regression, double *out);

#endif
