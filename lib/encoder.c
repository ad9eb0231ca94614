#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "err.h"
#include "gemm.h"
#include "kernels.h"
#include "record.h"

/* Attention's (example, head) pairs run in parallel when there is work enough for it: the
 * probabilities times the head size, about a quarter of the flops. */
#define PARALLEL_ATTENTION (1 << 18)

/* Dropout sites within a layer: site * SITES + which. */
#define SITES 4
enum { SITE_PROBS, SITE_ATTN_OUT, SITE_FFN_OUT };

int batch_set(struct batch *b, size_t n, const uint32_t *len, int heads)
{
	if (n > b->cap) {
		uint32_t *l = realloc(b->len, n * sizeof *l);
		size_t *s = l ? realloc(b->start, n * sizeof *s) : NULL, *p = s ? realloc(b->pstart, n * sizeof *p) : NULL;
		if (l)
			b->len = l;
		if (s)
			b->start = s;
		if (!p)
			return err_set(E_NOMEM, "out of memory");
		b->pstart = p;
		b->cap = n;
	}
	b->n = n;
	b->T = b->P = 0;
	b->maxlen = 0;
	for (size_t e = 0; e < n; e++) {
		b->len[e] = len[e];
		b->start[e] = b->T;
		b->pstart[e] = b->P;
		b->T += len[e];
		b->P += (size_t)heads * len[e] * len[e];
		b->maxlen = len[e] > b->maxlen ? len[e] : b->maxlen;
	}
	return 0;
}

void batch_free(struct batch *b)
{
	free(b->len);
	free(b->start);
	free(b->pstart);
	memset(b, 0, sizeof *b);
}

/* RoBERTa's position of each token: padding_idx + 1 + its index among non-pad tokens, or
 * padding_idx for a pad token (create_position_ids_from_input_ids). */
static uint32_t roberta_position(const struct model_config *c, const uint32_t *tokens, uint32_t t, uint32_t *nonpad)
{
	if (tokens[t] == (uint32_t)c->pad_id)
		return (uint32_t)c->pad_id;
	return (uint32_t)c->pad_id + ++*nonpad;
}

/* The position of token t of an example, as the model's embedding layer numbers it. */
static uint32_t position(const struct model_config *c, const uint32_t *tokens, uint32_t t, uint32_t *nonpad)
{
	return c->type == MODEL_BERT ? t : roberta_position(c, tokens, t, nonpad);
}

int embeddings_check(const struct model_config *c, const struct record *r)
{
	uint32_t nonpad = 0, maxpos = 0;
	for (uint32_t t = 0; t < r->len; t++) {
		if (r->tokens[t] >= (uint32_t)c->vocab)
			return err_set(E_MISMATCH, "token %u: id %u is outside the vocabulary (%d)", t, r->tokens[t], c->vocab);
		if (r->types[t] >= (uint32_t)c->type_vocab)
			return err_set(E_MISMATCH, "token %u: type id %u, the model has %d", t, r->types[t], c->type_vocab);
		uint32_t pos = position(c, r->tokens, t, &nonpad);
		maxpos = pos > maxpos ? pos : maxpos;
	}
	if (maxpos >= (uint32_t)c->max_pos)
		return err_set(E_MISMATCH, "%u tokens need position %u, the model has %d positions", r->len, maxpos, c->max_pos);
	return 0;
}

void embeddings_forward(float *out, struct emb_acts *a, const struct emb_weights *w, const struct model_config *c,
			const struct batch *b, const uint32_t *tokens, const uint32_t *types)
{
	size_t H = (size_t)c->hidden;
	float *sum = a ? a->sum : out;
	#pragma omp parallel for schedule(static) if (b->T * H >= 32768)
	for (size_t e = 0; e < b->n; e++) {
		const uint32_t *tok = tokens + b->start[e], *typ = types + b->start[e];
		uint32_t nonpad = 0;
		for (uint32_t t = 0; t < b->len[e]; t++) {
			uint32_t pos = position(c, tok, t, &nonpad);
			const float *we = w->word + tok[t] * H, *te = w->type + typ[t] * H, *pe = w->pos + pos * H;
			float *o = sum + (b->start[e] + t) * H;
			for (size_t k = 0; k < H; k++)
				o[k] = (we[k] + te[k]) + pe[k]; /* in BertEmbeddings' order */
		}
	}
	layernorm_forward(out, a ? a->mean : NULL, a ? a->rstd : NULL, sum, w->ln_w, w->ln_b, b->T, H, (float)c->eps);
}

void embeddings_backward(struct emb_weights *g, const float *dout, struct emb_acts *a, const struct emb_weights *w,
			 const struct model_config *c, const struct batch *b, const uint32_t *tokens,
			 const uint32_t *types)
{
	size_t H = (size_t)c->hidden;
	layernorm_backward(a->dsum, g->ln_w, g->ln_b, dout, a->sum, w->ln_w, a->mean, a->rstd, b->T, H, 0);
	/* Scatter-add into the table rows: each thread owns a block of columns and walks every
	 * token in order, so the sums do not depend on the thread count. */
	#pragma omp parallel for schedule(static) if (b->T * H >= 32768)
	for (size_t k0 = 0; k0 < H; k0 += 64) {
		size_t k1 = k0 + 64 < H ? k0 + 64 : H;
		for (size_t e = 0; e < b->n; e++) {
			const uint32_t *tok = tokens + b->start[e], *typ = types + b->start[e];
			uint32_t nonpad = 0;
			for (uint32_t t = 0; t < b->len[e]; t++) {
				uint32_t pos = position(c, tok, t, &nonpad);
				const float *d = a->dsum + (b->start[e] + t) * H;
				for (size_t k = k0; k < k1; k++) {
					g->word[tok[t] * H + k] += d[k];
					g->type[typ[t] * H + k] += d[k];
					g->pos[pos * H + k] += d[k];
				}
			}
		}
	}
}

int emb_acts_reserve(struct emb_acts *a, const struct model_config *c, size_t T)
{
	if (T <= a->cap)
		return 0;
	size_t H = (size_t)c->hidden;
	free(a->sum), free(a->dsum), free(a->mean), free(a->rstd);
	a->sum = malloc(T * H * sizeof *a->sum);
	a->dsum = malloc(T * H * sizeof *a->dsum);
	a->mean = malloc(T * sizeof *a->mean);
	a->rstd = malloc(T * sizeof *a->rstd);
	if (!a->sum || !a->dsum || !a->mean || !a->rstd) {
		emb_acts_free(a);
		return err_set(E_NOMEM, "out of memory for the embeddings of %zu tokens", T);
	}
	a->cap = T;
	return 0;
}

void emb_acts_free(struct emb_acts *a)
{
	free(a->sum), free(a->dsum), free(a->mean), free(a->rstd);
	memset(a, 0, sizeof *a);
}

static int alloc(float **p, size_t n)
{
	free(*p);
	*p = malloc((n ? n : 1) * sizeof **p);
	return *p ? 0 : E_NOMEM;
}

int layer_acts_reserve(struct layer_acts *a, const struct model_config *c, const struct batch *b)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, T = b->T, P = b->P;
	size_t M = (size_t)b->maxlen * b->maxlen * (size_t)omp_get_max_threads();
	int rc = 0;
	if (T > a->cap_T) {
		rc |= alloc(&a->qkv, 3 * T * H) | alloc(&a->ctx, T * H) | alloc(&a->r1, T * H) | alloc(&a->h1, T * H);
		rc |= alloc(&a->f, T * I) | alloc(&a->g, T * I) | alloc(&a->r2, T * H) | alloc(&a->y, T * H);
		rc |= alloc(&a->mean1, T) | alloc(&a->rstd1, T) | alloc(&a->mean2, T) | alloc(&a->rstd2, T);
		a->cap_T = T;
	}
	if (P > a->cap_P) {
		rc |= alloc(&a->probs, P);
		a->cap_P = P;
	}
	if (M > a->cap_drop) {
		rc |= alloc(&a->drop, M);
		a->cap_drop = M;
	}
	if (rc) {
		layer_acts_free(a);
		return err_set(E_NOMEM, "out of memory for the activations of %zu tokens", T);
	}
	return 0;
}

void layer_acts_free(struct layer_acts *a)
{
	float **all[] = { &a->qkv, &a->probs, &a->drop, &a->ctx, &a->r1, &a->mean1, &a->rstd1, &a->h1,
			  &a->f, &a->g, &a->r2, &a->mean2, &a->rstd2, &a->y };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		free(*all[i]);
	memset(a, 0, sizeof *a);
}

int layer_scratch_reserve(struct layer_scratch *s, const struct model_config *c, const struct batch *b)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, T = b->T;
	size_t P = 3 * (size_t)b->maxlen * b->maxlen * (size_t)omp_get_max_threads();
	int rc = 0;
	if (T > s->cap_T) {
		rc |= alloc(&s->d1, T * H) | alloc(&s->d2, T * H) | alloc(&s->dqkv, 3 * T * H) | alloc(&s->dI, T * I);
		s->cap_T = T;
	}
	if (P > s->cap_P) {
		rc |= alloc(&s->dP, P);
		s->cap_P = P;
	}
	if (rc) {
		layer_scratch_free(s);
		return err_set(E_NOMEM, "out of memory for the gradients of %zu tokens", T);
	}
	return 0;
}

void layer_scratch_free(struct layer_scratch *s)
{
	free(s->d1);
	free(s->d2);
	free(s->dqkv);
	free(s->dI);
	free(s->dP);
	memset(s, 0, sizeof *s);
}

/* Attention of every example and head, one (example, head) per task: S = Q K^T / sqrt(D),
 * probs = softmax(S), ctx = dropout(probs) V. qkv is [T, 3H]; ctx [T, H]. */
static void attention_forward(float *ctx, float *probs, float *drop, const float *qkv, const struct batch *b, size_t H,
			      size_t A, const struct dropout_cfg *d, uint64_t site)
{
	size_t D = H / A, H3 = 3 * H;
	float scale = 1.0f / sqrtf((float)D), p = d ? d->p : 0;
	struct mask m = mask_make(p, d ? d->seed : 0, site);
	#pragma omp parallel for schedule(dynamic) if (b->P * D >= PARALLEL_ATTENTION)
	for (size_t item = 0; item < b->n * A; item++) {
		size_t e = item / A, h = item % A, L = b->len[e], r0 = b->start[e];
		const float *Q = qkv + r0 * H3 + h * D, *K = Q + H, *V = Q + 2 * H;
		size_t off = b->pstart[e] + h * L * L;
		float *S = probs + off, *Pd = S;
		gemm_serial(0, 1, L, L, D, scale, Q, H3, K, H3, 0, S, L);
		softmax_rows(S, L, L);
		if (p > 0) {
			Pd = drop + (size_t)omp_get_thread_num() * b->maxlen * b->maxlen;
			for (size_t i = 0; i < L * L; i++)
				Pd[i] = mask_keep(&m, off + i) ? S[i] * m.scale : 0.0f;
		}
		gemm_serial(0, 0, L, D, L, 1, Pd, L, V, H3, 0, ctx + r0 * H + h * D, H);
	}
}

void layer_forward(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
		   const struct batch *b, const struct dropout_cfg *d, uint64_t site)
{
	size_t T = b->T, H = (size_t)c->hidden, I = (size_t)c->intermediate, A = (size_t)c->heads;
	float p = d ? d->p : 0, eps = (float)c->eps;
	uint64_t seed = d ? d->seed : 0;
	gemm(0, 1, T, 3 * H, H, 1, a->x, H, w->qkv_w, H, 0, a->qkv, 3 * H);
	bias_add(a->qkv, a->qkv, w->qkv_b, T, 3 * H);
	attention_forward(a->ctx, a->probs, a->drop, a->qkv, b, H, A, d, site * SITES + SITE_PROBS);
	gemm(0, 1, T, H, H, 1, a->ctx, H, w->o_w, H, 0, a->r1, H);
	bias_dropout_add(a->r1, a->r1, w->o_b, a->x, T, H, p, seed, site * SITES + SITE_ATTN_OUT);
	layernorm_forward(a->h1, a->mean1, a->rstd1, a->r1, w->ln1_w, w->ln1_b, T, H, eps);
	gemm(0, 1, T, I, H, 1, a->h1, H, w->fc1_w, H, 0, a->f, I);
	bias_add(a->f, a->f, w->fc1_b, T, I);
	gelu_forward(a->g, a->f, T * I);
	gemm(0, 1, T, H, I, 1, a->g, I, w->fc2_w, I, 0, a->r2, H);
	bias_dropout_add(a->r2, a->r2, w->fc2_b, a->h1, T, H, p, seed, site * SITES + SITE_FFN_OUT);
	layernorm_forward(a->y, a->mean2, a->rstd2, a->r2, w->ln2_w, w->ln2_b, T, H, eps);
}

/* Backward of attention_forward: dqkv [T, 3H] from dctx [T, H]. */
static void attention_backward(float *dqkv, const float *dctx, const float *qkv, const float *probs,
			       const struct batch *b, size_t H, size_t A, const struct dropout_cfg *d, uint64_t site,
			       float *scratch)
{
	size_t D = H / A, H3 = 3 * H, M = (size_t)b->maxlen * b->maxlen;
	float scale = 1.0f / sqrtf((float)D), p = d ? d->p : 0;
	struct mask m = mask_make(p, d ? d->seed : 0, site);
	#pragma omp parallel for schedule(dynamic) if (b->P * D >= PARALLEL_ATTENTION)
	for (size_t item = 0; item < b->n * A; item++) {
		size_t e = item / A, h = item % A, L = b->len[e], r0 = b->start[e];
		const float *Q = qkv + r0 * H3 + h * D, *K = Q + H, *V = Q + 2 * H, *dC = dctx + r0 * H + h * D;
		float *dQ = dqkv + r0 * H3 + h * D, *dK = dQ + H, *dV = dQ + 2 * H;
		size_t off = b->pstart[e] + h * L * L;
		const float *P = probs + off, *Pd = P;
		float *dP = scratch + 3 * M * (size_t)omp_get_thread_num(), *drop = dP + M, *keep = drop + M;
		if (p > 0) { /* the forward's mask, drawn once: keep[i] is 0 or the scale */
			for (size_t i = 0; i < L * L; i++) {
				keep[i] = mask_keep(&m, off + i) ? m.scale : 0.0f;
				drop[i] = P[i] * keep[i];
			}
			Pd = drop;
		}
		gemm_serial(1, 0, L, D, L, 1, Pd, L, dC, H, 0, dV, H3);
		gemm_serial(0, 1, L, L, D, 1, dC, H, V, H3, 0, dP, L);
		for (size_t i = 0; i < L; i++) {
			float *dp = dP + i * L;
			const float *pr = P + i * L;
			if (p > 0)
				for (size_t j = 0; j < L; j++)
					dp[j] *= keep[i * L + j];
			float dot = 0;
			for (size_t j = 0; j < L; j++)
				dot += dp[j] * pr[j];
			for (size_t j = 0; j < L; j++)
				dp[j] = pr[j] * (dp[j] - dot);
		}
		gemm_serial(0, 0, L, D, L, scale, dP, L, K, H3, 0, dQ, H3);
		gemm_serial(1, 0, L, D, L, scale, dP, L, Q, H3, 0, dK, H3);
	}
}

void layer_backward(float *dx, struct layer_weights *g, float *dy, const struct layer_acts *a,
		    const struct layer_weights *w, const struct model_config *c, const struct batch *b,
		    const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s)
{
	size_t T = b->T, H = (size_t)c->hidden, I = (size_t)c->intermediate, A = (size_t)c->heads;
	float p = d ? d->p : 0;
	uint64_t seed = d ? d->seed : 0;
	float *dr = s->d1, *dh1 = s->d2;
	/* Output LayerNorm, then the residual (to h1) and the FFN's output dropout. */
	layernorm_backward(dr, g->ln2_w, g->ln2_b, dy, a->r2, w->ln2_w, a->mean2, a->rstd2, T, H, 0);
	memcpy(dh1, dr, T * H * sizeof *dh1);
	dropout(dr, dr, T * H, p, seed, site * SITES + SITE_FFN_OUT);
	/* Feed-forward: fc2, GELU, fc1. */
	gemm(1, 0, H, I, T, 1, dr, H, a->g, I, 1, g->fc2_w, I);
	bias_backward(g->fc2_b, dr, T, H);
	gemm(0, 0, T, I, H, 1, dr, H, w->fc2_w, I, 0, s->dI, I);
	gelu_backward(s->dI, s->dI, a->f, T * I);
	gemm(1, 0, I, H, T, 1, s->dI, I, a->h1, H, 1, g->fc1_w, H);
	bias_backward(g->fc1_b, s->dI, T, I);
	gemm(0, 0, T, H, I, 1, s->dI, I, w->fc1_w, H, 1, dh1, H);
	/* Attention LayerNorm, then the residual (to x) and the attention output's dropout. */
	layernorm_backward(dr, g->ln1_w, g->ln1_b, dh1, a->r1, w->ln1_w, a->mean1, a->rstd1, T, H, 0);
	if (dx)
		memcpy(dx, dr, T * H * sizeof *dx);
	dropout(dr, dr, T * H, p, seed, site * SITES + SITE_ATTN_OUT);
	gemm(1, 0, H, H, T, 1, dr, H, a->ctx, H, 1, g->o_w, H);
	bias_backward(g->o_b, dr, T, H);
	gemm(0, 0, T, H, H, 1, dr, H, w->o_w, H, 0, dh1, H);
	/* Attention, then the Q, K, V projections. */
	attention_backward(s->dqkv, dh1, a->qkv, a->probs, b, H, A, d, site * SITES + SITE_PROBS, s->dP);
	gemm(1, 0, 3 * H, H, T, 1, s->dqkv, 3 * H, a->x, H, 1, g->qkv_w, H);
	bias_backward(g->qkv_b, s->dqkv, T, 3 * H);
	if (dx)
		gemm(0, 0, T, H, 3 * H, 1, s->dqkv, 3 * H, w->qkv_w, H, 1, dx, H);
}
