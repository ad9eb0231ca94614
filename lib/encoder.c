#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "err.h"
#include "gemm.h"
#include "kernels.h"
#include "mem.h"
#include "record.h"

/* Attention's (example, head) pairs run in parallel when there is work enough for it: the
 * probabilities times the head size, about a quarter of the flops. */
#define PARALLEL_ATTENTION (1 << 18)

/* A layer's dropout sites: site * LAYER_SITES + which. */
enum { SITE_PROBS, SITE_ATTN_OUT, SITE_FFN_OUT };

int batch_set(struct batch *b, size_t n, const uint32_t *len, int heads)
{
	const struct grow_array arrays[] = { GROW_ARRAY(b->len), GROW_ARRAY(b->start), GROW_ARRAY(b->pstart) };
	if (grow_together(arrays, (int)(sizeof arrays / sizeof *arrays), &b->cap, n) < 0)
		return E_NOMEM;
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
	return family_of(c->type)->roberta_positions ? roberta_position(c, tokens, t, nonpad) : t;
}

int embeddings_check(const struct model_config *c, const struct record *r)
{
	uint32_t nonpad = 0, maxpos = 0;
	for (uint32_t t = 0; t < r->len; t++) {
		if (r->tokens[t] >= (uint32_t)c->vocab)
			return err_set(E_MISMATCH, "token %u: id %u is outside the vocabulary (%d)", t, r->tokens[t], c->vocab);
		if (c->type_vocab && r->types[t] >= (uint32_t)c->type_vocab)
			return err_set(E_MISMATCH, "token %u: type id %u, the model has %d", t, r->types[t], c->type_vocab);
		uint32_t pos = position(c, r->tokens, t, &nonpad);
		maxpos = pos > maxpos ? pos : maxpos;
	}
	if (maxpos >= (uint32_t)c->max_pos)
		return err_set(E_MISMATCH, "%u tokens need position %u, the model has %d positions", r->len, maxpos, c->max_pos);
	return 0;
}

/* The embeddings' dropout rate: the run's, ModernBERT's embedding_dropout. */
static float emb_rate(const struct model_config *c, const struct dropout_cfg *d)
{
	return dropout_rate(d, family_of(c->type)->pre_norm ? c->emb_dropout : -1);
}

void embeddings_forward(float *out, struct emb_acts *a, const struct emb_weights *w, const struct model_config *c,
			const struct batch *b, const uint32_t *tokens, const uint32_t *types, const struct dropout_cfg *d,
			uint64_t site)
{
	size_t E = (size_t)c->embedding, H = (size_t)c->hidden;
	float *ln = w->proj_w ? a->ln : out;
	#pragma omp parallel for schedule(static) if (PARALLEL(b->T * E))
	for (size_t e = 0; e < b->n; e++) {
		const uint32_t *tok = tokens + b->start[e], *typ = types + b->start[e];
		uint32_t nonpad = 0;
		for (uint32_t t = 0; t < b->len[e]; t++) {
			uint32_t pos = position(c, tok, t, &nonpad);
			const float *we = w->word + tok[t] * E, *pe = w->pos ? w->pos + pos * E : NULL;
			float *o = a->sum + (b->start[e] + t) * E;
			if (w->type) {
				const float *te = w->type + typ[t] * E;
				for (size_t k = 0; k < E; k++)
					o[k] = (we[k] + te[k]) + pe[k]; /* in BertEmbeddings' order */
			} else if (pe) {
				for (size_t k = 0; k < E; k++)
					o[k] = we[k] + pe[k];
			} else {
				memcpy(o, we, E * sizeof *o);
			}
		}
	}
	/* LayerNorm, dropout; then ELECTRA's projection to the layers' width */
	layernorm_forward(ln, a->mean, a->rstd, a->sum, w->ln_w, w->ln_b, b->T, E, (float)c->eps);
	dropout(ln, ln, b->T * E, emb_rate(c, d), d ? d->seed : 0, site);
	if (w->proj_w) {
		gemm(0, 1, b->T, H, E, 1, ln, E, w->proj_w, E, 0, out, H);
		bias_add(out, out, w->proj_b, b->T, H);
	}
}

/* The tables' gradients: each thread owns a block of columns and walks every token in order, so
 * the sums do not depend on the thread count. */
static void scatter_tables(struct emb_weights *g, const float *dsum, const struct model_config *c, const struct batch *b,
			   const uint32_t *tokens, const uint32_t *types)
{
	size_t E = (size_t)c->embedding;
	memset(g->word, 0, (size_t)c->vocab * E * sizeof *g->word);
	if (g->type)
		memset(g->type, 0, (size_t)c->type_vocab * E * sizeof *g->type);
	if (g->pos)
		memset(g->pos, 0, (size_t)c->max_pos * E * sizeof *g->pos);
	#pragma omp parallel for schedule(static) if (PARALLEL(b->T * E))
	for (size_t k0 = 0; k0 < E; k0 += COLUMN_BLOCK) {
		size_t k1 = k0 + COLUMN_BLOCK < E ? k0 + COLUMN_BLOCK : E;
		for (size_t e = 0; e < b->n; e++) {
			const uint32_t *tok = tokens + b->start[e], *typ = types + b->start[e];
			uint32_t nonpad = 0;
			for (uint32_t t = 0; t < b->len[e]; t++) {
				uint32_t pos = position(c, tok, t, &nonpad);
				const float *d = dsum + (b->start[e] + t) * E;
				for (size_t k = k0; k < k1; k++)
					g->word[tok[t] * E + k] += d[k];
				if (g->pos)
					for (size_t k = k0; k < k1; k++)
						g->pos[pos * E + k] += d[k];
				if (g->type)
					for (size_t k = k0; k < k1; k++)
						g->type[typ[t] * E + k] += d[k];
			}
		}
	}
}

void embeddings_backward(struct emb_weights *g, float *dout, struct emb_acts *a, const struct emb_weights *w,
			 const struct model_config *c, const struct batch *b, const uint32_t *tokens,
			 const uint32_t *types, const struct dropout_cfg *d, uint64_t site)
{
	size_t E = (size_t)c->embedding, H = (size_t)c->hidden;
	float *dln = dout;
	if (w->proj_w) { /* out = ln Wp^T + bp */
		gemm(1, 0, H, E, b->T, 1, dout, H, a->ln, E, 0, g->proj_w, E);
		bias_backward(g->proj_b, dout, b->T, H, H);
		gemm(0, 0, b->T, E, H, 1, dout, H, w->proj_w, E, 0, a->dln, E);
		dln = a->dln;
	}
	dropout(dln, dln, b->T * E, emb_rate(c, d), d ? d->seed : 0, site);
	layernorm_backward(a->dsum, NULL, NULL, g->ln_w, g->ln_b, dln, NULL, a->sum, w->ln_w, a->mean, a->rstd, b->T, E, 0, 0,
			   0, NULL);
	scatter_tables(g, a->dsum, c, b, tokens, types);
}

int emb_acts_reserve(struct emb_acts *a, const struct model_config *c, size_t T)
{
	size_t E = (size_t)c->embedding, project = c->embedding != c->hidden;
	const struct plan_array arrays[] = { PLAN_ARRAY(a->sum, T * E), PLAN_ARRAY(a->mean, T), PLAN_ARRAY(a->rstd, T),
					     PLAN_ARRAY(a->dsum, T * E), PLAN_ARRAY(a->ln, project * T * E),
					     PLAN_ARRAY(a->dln, project * T * E) };
	if (plan_reserve(&a->mem, &a->cap, arrays, (int)(sizeof arrays / sizeof *arrays)) < 0)
		return err_set(E_NOMEM, "out of memory for the embeddings of %zu tokens", T);
	return 0;
}

void emb_acts_free(struct emb_acts *a)
{
	free(a->mem);
	memset(a, 0, sizeof *a);
}

/* The activations of a layer: one allocation, laid out by this table of sizes. Rows per
 * example: every token's, or (LAYER_FIRST_TOKENS) only the first's past the keys and values;
 * inference keeps no GELU input (g is f) but in a pre-LayerNorm layer, whose GeGLU halves f. */
enum { A_XN, A_MEAN0, A_RSTD0, A_QKV, A_PROBS, A_CTX, A_R1, A_H1, A_F, A_GELU, A_R2, A_Y, A_MEAN1, A_RSTD1, A_MEAN2,
       A_RSTD2, A_XC, A_CC, A_XNC, A_SCRATCH, A_KINDS };

/* The rotary tables of a pre-LayerNorm layer's acts for L positions, made when longer examples
 * come. 0 or E_NOMEM. */
static int rope_reserve(struct layer_acts *a, const struct model_config *c, size_t L)
{
	size_t half = (size_t)(c->hidden / c->heads) / 2, n = (L + 63) / 64 * 64;
	if (a->rope && a->rope_len >= L)
		return 0;
	float *t = realloc(a->rope, 4 * n * half * sizeof *t);
	if (!t)
		return err_set(E_NOMEM, "out of memory for the rotary tables of %zu positions", n);
	a->rope = t;
	a->rope_len = n;
	rope_table(t, t + n * half, n, 2 * half, c->rope_global);
	rope_table(t + 2 * n * half, t + 3 * n * half, n, 2 * half, c->rope_local);
	return 0;
}

int layer_acts_reserve(struct layer_acts *a, const struct model_config *c, const struct batch *b, enum layer_mode mode)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, T = b->T, B = b->n;
	size_t R = mode == LAYER_FIRST_TOKENS ? B : T, first = mode == LAYER_FIRST_TOKENS ? B * H : 0;
	size_t each = attention_scratch(b->maxlen, H / (size_t)c->heads), pre = (size_t)family_of(c->type)->pre_norm;
	size_t post = 1 - pre, gelu = pre || mode != LAYER_INFERENCE ? R * I : 0;
	const struct plan_array arrays[A_KINDS] = {
		[A_XN] = PLAN_ARRAY(a->xn, pre * T * H), [A_MEAN0] = PLAN_ARRAY(a->mean0, pre * T),
		[A_RSTD0] = PLAN_ARRAY(a->rstd0, pre * T), [A_QKV] = PLAN_ARRAY(a->qkv, 3 * T * H),
		[A_PROBS] = PLAN_ARRAY(a->probs, b->P), [A_CTX] = PLAN_ARRAY(a->ctx, T * H), [A_R1] = PLAN_ARRAY(a->r1, R * H),
		[A_H1] = PLAN_ARRAY(a->h1, R * H), [A_F] = PLAN_ARRAY(a->f, (1 + pre) * R * I),
		[A_GELU] = PLAN_ARRAY(a->gelu, gelu), [A_R2] = PLAN_ARRAY(a->r2, post * R * H),
		[A_Y] = PLAN_ARRAY(a->y, R * H), [A_MEAN1] = PLAN_ARRAY(a->mean1, R), [A_RSTD1] = PLAN_ARRAY(a->rstd1, R),
		[A_MEAN2] = PLAN_ARRAY(a->mean2, post * R), [A_RSTD2] = PLAN_ARRAY(a->rstd2, post * R),
		[A_XC] = PLAN_ARRAY(a->xc, first), [A_CC] = PLAN_ARRAY(a->cc, first), [A_XNC] = PLAN_ARRAY(a->xnc, pre * first),
		[A_SCRATCH] = PLAN_ARRAY(a->scratch, (size_t)omp_get_max_threads() * each),
	};
	if (plan_reserve(&a->mem, &a->cap, arrays, A_KINDS) < 0 || (pre && rope_reserve(a, c, b->maxlen) < 0)) {
		layer_acts_free(a);
		return err_set(E_NOMEM, "out of memory for the activations of %zu tokens", T);
	}
	if (!gelu)
		a->gelu = a->f;
	a->mode = mode;
	a->scratch_each = each;
	return 0;
}

void layer_acts_free(struct layer_acts *a)
{
	free(a->mem);
	free(a->rope);
	memset(a, 0, sizeof *a);
}

/* The scratch of backward, planned the same way. */
enum { S_D1, S_D2, S_DQKV, S_DI, S_DG, S_DXC, S_DQC, S_ATTN, S_KINDS };

int layer_scratch_reserve(struct layer_scratch *s, const struct model_config *c, const struct batch *b)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, T = b->T, B = b->n;
	size_t each = attention_scratch(b->maxlen, H / (size_t)c->heads), pre = (size_t)family_of(c->type)->pre_norm;
	const struct plan_array arrays[S_KINDS] = {
		[S_D1] = PLAN_ARRAY(s->d1, T * H), [S_D2] = PLAN_ARRAY(s->d2, T * H),
		[S_DQKV] = PLAN_ARRAY(s->dqkv, 3 * T * H), [S_DI] = PLAN_ARRAY(s->dI, (1 + pre) * T * I),
		[S_DG] = PLAN_ARRAY(s->dg, pre * T * I), [S_DXC] = PLAN_ARRAY(s->dxc, B * H),
		[S_DQC] = PLAN_ARRAY(s->dqc, B * H), [S_ATTN] = PLAN_ARRAY(s->attn, (size_t)omp_get_max_threads() * each),
	};
	if (plan_reserve(&s->mem, &s->cap, arrays, S_KINDS) < 0) {
		layer_scratch_free(s);
		return err_set(E_NOMEM, "out of memory for the gradients of %zu tokens", T);
	}
	s->attn_each = each;
	return 0;
}

void layer_scratch_free(struct layer_scratch *s)
{
	free(s->mem);
	memset(s, 0, sizeof *s);
}

/* out [n, H] = the first token's row of each example in x (row stride ld); and back; and added. */
static void gather_first(float *out, const float *x, size_t ld, const struct batch *b, size_t H)
{
	for (size_t e = 0; e < b->n; e++)
		memcpy(out + e * H, x + b->start[e] * ld, H * sizeof *out);
}

static void scatter_first(float *x, size_t ld, const float *in, const struct batch *b, size_t H)
{
	for (size_t e = 0; e < b->n; e++)
		memcpy(x + b->start[e] * ld, in + e * H, H * sizeof *x);
}

static void add_first(float *x, const float *in, const struct batch *b, size_t H)
{
	for (size_t e = 0; e < b->n; e++)
		for (size_t k = 0; k < H; k++)
			x[b->start[e] * H + k] += in[e * H + k];
}

/* How the heads of layer w->layer attend: BERT's every key; ModernBERT's with its rotary tables,
 * within the window in a local layer, its attention_dropout on the probabilities. */
static struct attention attention_of(const struct layer_acts *a, const struct layer_weights *w,
				     const struct model_config *c, const struct dropout_cfg *d, const struct mask *m)
{
	size_t D = (size_t)(c->hidden / c->heads), n = a->rope_len * (D / 2);
	struct attention o = { 1.0f / sqrtf((float)D), ATTN_ALL, NULL, NULL, NULL, 0, gemm_bf16() };
	int pre = family_of(c->type)->pre_norm, local = pre && layer_is_local(c, w->layer);
	if (dropout_rate(d, pre ? c->attn_dropout : -1) > 0)
		o.m = m;
	if (pre) {
		o.window = local ? (size_t)c->window / 2 : ATTN_ALL;
		o.cos = a->rope + (local ? 2 * n : 0);
		o.sin = o.cos + n;
	}
	return o;
}

/* Attention of every example and head, one (example, head) per task, in parallel when there is
 * work enough: ctx [T, H] from qkv [T, 3H] (its bias added in place, queries and keys turned by
 * the rotary embeddings), probabilities into probs; for every token's query, or (first) only
 * each example's first token's. */
static void attention_forward(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
			      const struct batch *b, const struct dropout_cfg *d, uint64_t site, int first)
{
	size_t H = (size_t)c->hidden, A = (size_t)c->heads, D = H / A, H3 = 3 * H;
	int pre = family_of(c->type)->pre_norm;
	struct mask m = mask_make(dropout_rate(d, pre ? c->attn_dropout : -1), d ? d->seed : 0, site);
	struct attention o = attention_of(a, w, c, d, &m);
	#pragma omp parallel for schedule(dynamic) if (b->P * D >= PARALLEL_ATTENTION)
	for (size_t item = 0; item < b->n * A; item++) {
		size_t e = item / A, h = item % A, L = b->len[e], r0 = b->start[e];
		struct attention oh = o;
		oh.offset = b->pstart[e] + h * L * L;
		attention_head_forward(a->ctx + r0 * H + h * D, H, a->probs + oh.offset, a->qkv + r0 * H3 + h * D, H3, H,
				       w->qkv_b ? w->qkv_b + h * D : NULL, first ? 1 : L, L, D, &oh,
				       a->scratch + (size_t)omp_get_thread_num() * a->scratch_each);
	}
}

/* Backward of attention_forward: dqkv [T, 3H] from dctx [T, H] (its first-token rows alone
 * with first). */
static void attention_backward(float *dqkv, const float *dctx, const struct layer_acts *a, const struct layer_weights *w,
			       const struct model_config *c, const struct batch *b, const struct dropout_cfg *d,
			       uint64_t site, struct layer_scratch *s, int first)
{
	size_t H = (size_t)c->hidden, A = (size_t)c->heads, D = H / A, H3 = 3 * H;
	int pre = family_of(c->type)->pre_norm;
	struct mask m = mask_make(dropout_rate(d, pre ? c->attn_dropout : -1), d ? d->seed : 0, site);
	struct attention o = attention_of(a, w, c, d, &m);
	#pragma omp parallel for schedule(dynamic) if (b->P * D >= PARALLEL_ATTENTION)
	for (size_t item = 0; item < b->n * A; item++) {
		size_t e = item / A, h = item % A, L = b->len[e], r0 = b->start[e];
		struct attention oh = o;
		oh.offset = b->pstart[e] + h * L * L;
		attention_head_backward(dqkv + r0 * H3 + h * D, dctx + r0 * H + h * D, H, a->qkv + r0 * H3 + h * D, H3, H,
					a->probs + oh.offset, first ? 1 : L, L, D, &oh,
					s->attn + (size_t)omp_get_thread_num() * s->attn_each);
	}
}

/* The attention's input: x, or in a pre-LayerNorm layer with an attention norm LayerNorm(x)
 * (into a->xn, its statistics kept). */
static const float *attention_input(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
				    size_t T)
{
	if (!family_of(c->type)->pre_norm || !w->ln1_w)
		return a->x;
	layernorm_forward(a->xn, a->mean0, a->rstd0, a->x, w->ln1_w, w->ln1_b, T, (size_t)c->hidden, (float)c->eps);
	return a->xn;
}

/* The layer's second half on R rows, from r1 [R, H] = ctx Wo^T (before its bias): the
 * attention output's residual (res: x's rows), LayerNorm, the FFN, its residual, LayerNorm.
 * tok: the token each row holds (NULL: row n is token n), for the dropout masks. */
static void post_tail_forward(struct layer_acts *a, const float *res, const struct layer_weights *w,
			      const struct model_config *c, size_t R, const struct dropout_cfg *d, uint64_t site,
			      const size_t *tok)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
	float p = dropout_rate(d, -1), eps = (float)c->eps, p_attn = family_of(c->type)->attn_out_dropout ? p : 0;
	uint64_t seed = d ? d->seed : 0;
	/* r1 = dropout(r1 + bo) + res (DistilBERT: no dropout there); h1 = LayerNorm(r1) */
	residual_layernorm_forward(a->h1, a->r1, a->mean1, a->rstd1, a->r1, w->o_b, res, w->ln1_w, w->ln1_b, R, H, eps,
				   p_attn, seed, site * LAYER_SITES + SITE_ATTN_OUT, tok);
	/* f [R, I] = h1 W1^T + b1; gelu = GELU(f) */
	gemm(0, 1, R, I, H, 1, a->h1, H, w->fc1_w, H, 0, a->f, I);
	bias_gelu_forward(a->gelu, a->f, w->fc1_b, R, I);
	/* r2 [R, H] = dropout(gelu W2^T + b2) + h1; y = LayerNorm(r2) */
	gemm(0, 1, R, H, I, 1, a->gelu, I, w->fc2_w, I, 0, a->r2, H);
	residual_layernorm_forward(a->y, a->r2, a->mean2, a->rstd2, a->r2, w->fc2_b, a->h1, w->ln2_w, w->ln2_b, R, H, eps,
				   p, seed, site * LAYER_SITES + SITE_FFN_OUT, tok);
}

/* The same for a pre-LayerNorm layer: r1 = dropout(r1 + bo) + res, the residual stream after
 * the attention; h1 = LayerNorm(r1); f = h1 Wi^T + bi; gelu = dropout(GeGLU(f)); y = r1 +
 * gelu Wo^T + bo. */
static void pre_tail_forward(struct layer_acts *a, const float *res, const struct layer_weights *w,
			     const struct model_config *c, size_t R, const struct dropout_cfg *d, uint64_t site,
			     const size_t *tok)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
	uint64_t seed = d ? d->seed : 0;
	residual_layernorm_forward(a->h1, a->r1, a->mean1, a->rstd1, a->r1, w->o_b, res, w->ln2_w, w->ln2_b, R, H,
				   (float)c->eps, dropout_rate(d, c->attn_dropout), seed, site * LAYER_SITES + SITE_ATTN_OUT,
				   tok);
	gemm(0, 1, R, 2 * I, H, 1, a->h1, H, w->fc1_w, H, 0, a->f, 2 * I);
	geglu_forward(a->gelu, a->f, w->fc1_b, R, I, dropout_rate(d, c->mlp_dropout), seed,
		      site * LAYER_SITES + SITE_FFN_OUT, tok);
	memcpy(a->y, a->r1, R * H * sizeof *a->y); /* y = r1 + gelu Wo^T, the residual added by the product */
	gemm(0, 1, R, H, I, 1, a->gelu, I, w->fc2_w, I, 1, a->y, H);
	if (w->fc2_b)
		bias_add(a->y, a->y, w->fc2_b, R, H);
}

static void tail_forward(struct layer_acts *a, const float *res, const struct layer_weights *w,
			 const struct model_config *c, size_t R, const struct dropout_cfg *d, uint64_t site, const size_t *tok)
{
	(family_of(c->type)->pre_norm ? pre_tail_forward : post_tail_forward)(a, res, w, c, R, d, site, tok);
}

/* The top layer in training: its output at each example's first token only, the head's input,
 * with the numbers layer_forward gives at those rows: keys and values at every token, the
 * query, attention, projections and FFN at the n first tokens. */
static void layer_forward_first(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
				const struct batch *b, const struct dropout_cfg *d, uint64_t site)
{
	size_t T = b->T, B = b->n, H = (size_t)c->hidden, H3 = 3 * H;
	int pre = family_of(c->type)->pre_norm;
	const float *xin = attention_input(a, w, c, T);
	/* keys and values [T, 2H] = xin Wkv^T, into qkv's columns H..3H */
	gemm(0, 1, T, 2 * H, H, 1, xin, H, w->qkv_w + H * H, H, 0, a->qkv + H, H3);
	/* the first tokens' queries: xc [B, H] = their rows of x (xnc of xin); their Wq^T into
	 * their rows of qkv */
	gather_first(a->xc, a->x, H, b, H);
	if (pre)
		gather_first(a->xnc, xin, H, b, H);
	gemm(0, 1, B, H, H, 1, pre ? a->xnc : a->xc, H, w->qkv_w, H, 0, a->cc, H);
	scatter_first(a->qkv, H3, a->cc, b, H);
	attention_forward(a, w, c, b, d, site * LAYER_SITES + SITE_PROBS, 1);
	/* cc [B, H] = their rows of ctx; r1 = cc Wo^T */
	gather_first(a->cc, a->ctx, H, b, H);
	gemm(0, 1, B, H, H, 1, a->cc, H, w->o_w, H, 0, a->r1, H);
	tail_forward(a, a->xc, w, c, B, d, site, b->start);
}

void layer_forward(struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
		   const struct batch *b, const struct dropout_cfg *d, uint64_t site)
{
	size_t T = b->T, H = (size_t)c->hidden;
	if (a->mode == LAYER_FIRST_TOKENS) {
		layer_forward_first(a, w, c, b, d, site);
		return;
	}
	/* qkv [T, 3H] = xin [T, H] Wqkv^T [H, 3H]; attention adds the bias: ctx [T, H] */
	const float *xin = attention_input(a, w, c, T);
	gemm(0, 1, T, 3 * H, H, 1, xin, H, w->qkv_w, H, 0, a->qkv, 3 * H);
	attention_forward(a, w, c, b, d, site * LAYER_SITES + SITE_PROBS, 0);
	/* r1 [T, H] = ctx Wo^T, then the rest of the layer */
	gemm(0, 1, T, H, H, 1, a->ctx, H, w->o_w, H, 0, a->r1, H);
	tail_forward(a, a->x, w, c, T, d, site, NULL);
}

/* Backward of post_tail_forward on R rows from dy [R, H]: writes the weights' gradients past
 * the attention, dres [R, H] (the gradient of res; NULL: not needed) and the gradient of ctx's
 * rows into s->d2. s->d1 is used. */
static void post_tail_backward(float *dres, struct layer_weights *g, const float *dy, const struct layer_acts *a,
			       const float *ctx, const struct layer_weights *w, const struct model_config *c, size_t R,
			       const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s, const size_t *tok)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
	float p = dropout_rate(d, -1), *dr = s->d1, *dh1 = s->d2, p_attn = family_of(c->type)->attn_out_dropout ? p : 0;
	uint64_t seed = d ? d->seed : 0;
	/* Output LayerNorm: dh1 = the gradient of r2, which the residual (h1) gets; dr = the FFN
	 * output's, through its dropout; b2's gradient. */
	layernorm_backward(dh1, dr, g->fc2_b, g->ln2_w, g->ln2_b, dy, NULL, a->r2, w->ln2_w, a->mean2, a->rstd2, R, H, p,
			   seed, site * LAYER_SITES + SITE_FFN_OUT, tok);
	/* Feed-forward: fc2 [H, I] = dr^T gelu; dI [R, I] = dr W2, through GELU; fc1; dh1 += dI W1. */
	gemm(1, 0, H, I, R, 1, dr, H, a->gelu, I, 0, g->fc2_w, I);
	gemm(0, 0, R, I, H, 1, dr, H, w->fc2_w, I, 0, s->dI, I);
	gelu_backward(s->dI, s->dI, a->f, R * I);
	gemm(1, 0, I, H, R, 1, s->dI, I, a->h1, H, 0, g->fc1_w, H);
	bias_backward(g->fc1_b, s->dI, R, I, I);
	gemm(0, 0, R, H, I, 1, s->dI, I, w->fc1_w, H, 1, dh1, H);
	/* Attention LayerNorm: dres = the gradient of r1, which the residual gets; dr = the
	 * attention output's, through its dropout; bo's gradient. Then Wo: dctx = dr Wo. */
	layernorm_backward(dres, dr, g->o_b, g->ln1_w, g->ln1_b, dh1, NULL, a->r1, w->ln1_w, a->mean1, a->rstd1, R, H,
			   p_attn, seed, site * LAYER_SITES + SITE_ATTN_OUT, tok);
	gemm(1, 0, H, H, R, 1, dr, H, ctx, H, 0, g->o_w, H);
	gemm(0, 0, R, H, H, 1, dr, H, w->o_w, H, 0, s->d2, H);
}

/* Backward of pre_tail_forward, the same way: dres = the gradient of the residual stream r1
 * (dy's, and the MLP's through its norm), which may be dy itself. */
static void pre_tail_backward(float *dres, struct layer_weights *g, const float *dy, const struct layer_acts *a,
			      const float *ctx, const struct layer_weights *w, const struct model_config *c, size_t R,
			      const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s, const size_t *tok)
{
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
	uint64_t seed = d ? d->seed : 0;
	/* y = r1 + gelu Wo^T + bo: Wo [H, I] = dy^T gelu; dg [R, I] = dy Wo, through the GeGLU; Wi;
	 * dh1 = dI Wi */
	gemm(1, 0, H, I, R, 1, dy, H, a->gelu, I, 0, g->fc2_w, I);
	if (g->fc2_b)
		bias_backward(g->fc2_b, dy, R, H, H);
	gemm(0, 0, R, I, H, 1, dy, H, w->fc2_w, I, 0, s->dg, I);
	geglu_backward(s->dI, s->dg, a->f, R, I, dropout_rate(d, c->mlp_dropout), seed, site * LAYER_SITES + SITE_FFN_OUT,
		       tok);
	gemm(1, 0, 2 * I, H, R, 1, s->dI, 2 * I, a->h1, H, 0, g->fc1_w, H);
	if (g->fc1_b)
		bias_backward(g->fc1_b, s->dI, R, 2 * I, 2 * I);
	gemm(0, 0, R, H, 2 * I, 1, s->dI, 2 * I, w->fc1_w, H, 0, s->d2, H);
	/* The MLP norm, dy passing it by: dres = the gradient of r1; s->d1 = the attention output's,
	 * through its dropout; bo's gradient. Then Wo: dctx = d1 Wo. */
	layernorm_backward(dres, s->d1, g->o_b, g->ln2_w, g->ln2_b, s->d2, dy, a->r1, w->ln2_w, a->mean1, a->rstd1, R, H,
			   dropout_rate(d, c->attn_dropout), seed, site * LAYER_SITES + SITE_ATTN_OUT, tok);
	gemm(1, 0, H, H, R, 1, s->d1, H, ctx, H, 0, g->o_w, H);
	gemm(0, 0, R, H, H, 1, s->d1, H, w->o_w, H, 0, s->d2, H);
}

static void tail_backward(float *dres, struct layer_weights *g, const float *dy, const struct layer_acts *a,
			  const float *ctx, const struct layer_weights *w, const struct model_config *c, size_t R,
			  const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s, const size_t *tok)
{
	(family_of(c->type)->pre_norm ? pre_tail_backward : post_tail_backward)(dres, g, dy, a, ctx, w, c, R, d, site, s,
										 tok);
}

/* The attention's input's gradient dxin [T, H], through the attention norm of a pre-LayerNorm
 * layer: its weights' gradients, and dx = that plus dskip (the residual stream's, passing the
 * norm by, which may be dx itself; NULL: none). dx NULL: not needed. */
static void attention_norm_backward(float *dx, const float *dskip, float *dxin, struct layer_weights *g,
				    const struct layer_acts *a, const struct layer_weights *w, const struct model_config *c,
				    size_t T)
{
	layernorm_backward(dx, NULL, NULL, g->ln1_w, g->ln1_b, dxin, dskip, a->x, w->ln1_w, a->mean0, a->rstd0, T,
			   (size_t)c->hidden, 0, 0, 0, NULL);
}

/* Backward of layer_forward_first from dy [B, H], the first tokens' gradients. */
static void layer_backward_first(float *dx, struct layer_weights *g, const float *dy, const struct layer_acts *a,
				 const struct layer_weights *w, const struct model_config *c, const struct batch *b,
				 const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s)
{
	size_t T = b->T, B = b->n, H = (size_t)c->hidden, H3 = 3 * H;
	int norm = family_of(c->type)->pre_norm && w->ln1_w;
	const float *xin = norm ? a->xn : a->x, *xq = family_of(c->type)->pre_norm ? a->xnc : a->xc;
	tail_backward(dx ? s->dxc : NULL, g, dy, a, a->cc, w, c, B, d, site, s, b->start);
	/* The first tokens' dctx into their rows of d1 [T, H]; attention: their queries' rows of
	 * dqkv, every token's keys' and values' */
	scatter_first(s->d1, H, s->d2, b, H);
	attention_backward(s->dqkv, s->d1, a, w, c, b, d, site * LAYER_SITES + SITE_PROBS, s, 1);
	/* Wk, Wv and their biases from every token; Wq and its bias from the first tokens */
	gemm(1, 0, 2 * H, H, T, 1, s->dqkv + H, H3, xin, H, 0, g->qkv_w + H * H, H);
	if (g->qkv_b)
		bias_backward(g->qkv_b + H, s->dqkv + H, T, 2 * H, H3);
	gather_first(s->dqc, s->dqkv, H3, b, H);
	gemm(1, 0, H, H, B, 1, s->dqc, H, xq, H, 0, g->qkv_w, H);
	if (g->qkv_b)
		bias_backward(g->qkv_b, s->dqc, B, H, H);
	if (norm) { /* dxin = dK Wk + dV Wv, the first tokens' dQ Wq added; through the norm */
		gemm(0, 0, T, H, 2 * H, 1, s->dqkv + H, H3, w->qkv_w + H * H, H, 0, s->d2, H);
		gemm(0, 0, B, H, H, 1, s->dqc, H, w->qkv_w, H, 0, s->d1, H);
		add_first(s->d2, s->d1, b, H);
		attention_norm_backward(dx, NULL, s->d2, g, a, w, c, T);
		if (dx)
			add_first(dx, s->dxc, b, H);
		return;
	}
	if (!dx)
		return;
	/* dx [T, H] = dK Wk + dV Wv; the first tokens add their query's and residual's */
	gemm(0, 0, T, H, 2 * H, 1, s->dqkv + H, H3, w->qkv_w + H * H, H, 0, dx, H);
	gemm(0, 0, B, H, H, 1, s->dqc, H, w->qkv_w, H, 1, s->dxc, H);
	add_first(dx, s->dxc, b, H);
}

void layer_backward(float *dx, struct layer_weights *g, float *dy, const struct layer_acts *a,
		    const struct layer_weights *w, const struct model_config *c, const struct batch *b,
		    const struct dropout_cfg *d, uint64_t site, struct layer_scratch *s)
{
	size_t T = b->T, H = (size_t)c->hidden;
	int norm = family_of(c->type)->pre_norm && w->ln1_w;
	if (a->mode == LAYER_FIRST_TOKENS) {
		layer_backward_first(dx, g, dy, a, w, c, b, d, site, s);
		return;
	}
	tail_backward(dx, g, dy, a, a->ctx, w, c, T, d, site, s, NULL);
	/* Attention, then the Q, K, V projections. */
	attention_backward(s->dqkv, s->d2, a, w, c, b, d, site * LAYER_SITES + SITE_PROBS, s, 0);
	gemm(1, 0, 3 * H, H, T, 1, s->dqkv, 3 * H, norm ? a->xn : a->x, H, 0, g->qkv_w, H);
	if (g->qkv_b)
		bias_backward(g->qkv_b, s->dqkv, T, 3 * H, 3 * H);
	if (norm) {
		gemm(0, 0, T, H, 3 * H, 1, s->dqkv, 3 * H, w->qkv_w, H, 0, s->d1, H);
		attention_norm_backward(dx, dx, s->d1, g, a, w, c, T);
	} else if (dx) {
		gemm(0, 0, T, H, 3 * H, 1, s->dqkv, 3 * H, w->qkv_w, H, 1, dx, H);
	}
}
