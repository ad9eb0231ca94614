/* Finite-difference checks of every backward kernel: for a scalar f(x) = sum(r * op(x)) with a
 * fixed random r, the analytic gradient must match central differences (in float, so to a
 * tolerance that float rounding allows); and of a whole model's training step with dropout on.
 *
 * What these checks can and cannot see. A sample's error is |fd - g| / max(|fd| + |g|, 1e-2), so
 * a gradient 4% off shows as 2%. Central differences of a float function with a step of 1e-2 are
 * off by truncation (the step squared times the third derivative: GELU, softmax, LayerNorm) and
 * by rounding (float's 6e-8 of f, over the step). Over the seeds 1..60 of the sampling rng the
 * worst sample reached 5% for an encoder layer's weights and 2.4% for the head's, so those checks
 * keep tolerances of 2-3%, which hold for the seed used here (2024): they catch a wrong formula,
 * a missing term, a gradient sent to the wrong place, a mask that differs between forward and
 * backward, but not an error of a few percent. Where f is smooth at the step's scale the worst
 * was 2e-4 (LayerNorm's weight and bias, tanh) and the tolerances are 10 times that; for a whole
 * model's training step, 7e-3 and 2e-2. The guard against small gradient errors is
 * tests/unit/finetune.c: every gradient of a training step against PyTorch's
 * (tests/fixtures/train) within 1e-4 of the tensor's largest, and the losses of 20 AdamW steps
 * within 1e-5. */
#include <math.h>

#include "check.h"
#include "encoder.h"
#include "err.h"
#include "finetune.h"
#include "gemm.h"
#include "head.h"
#include "kernels.h"
#include "model.h"
#include "rng.h"

static struct rng rng;

static float *randn(size_t n, double scale)
{
	float *x = malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(scale * rng_normal(&rng));
	return x;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* When set, a hash of the branches the last evaluation of f took (which of ReLU's inputs were
 * below 0): a sample whose two evaluations took different branches straddles a kink, where
 * central differences mean nothing, and is drawn anew. */
static uint64_t (*fd_branches)(void *ctx);

/* Which of n ReLU outputs are 0, hashed. */
static uint64_t relu_zeros(const float *h, size_t n)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = mix64(x ^ (h[i] > 0 ? i + 1 : 0));
	return x;
}

/* Compares analytic gradient g of f at x (n entries, k of them sampled) with central differences;
 * NAN when fewer than k samples keep clear of kinks in 20 k draws. */
static double fd_error(double (*f)(void *ctx), void *ctx, float *x, const float *g, size_t n, size_t k, float eps)
{
	double worst = 0;
	size_t s = 0;
	for (size_t draws = 0; s < k && draws < 20 * k; draws++) {
		size_t i = (size_t)rng_below(&rng, n);
		float keep = x[i];
		x[i] = keep + eps;
		double up = f(ctx);
		uint64_t branches = fd_branches ? fd_branches(ctx) : 0;
		x[i] = keep - eps;
		double down = f(ctx);
		x[i] = keep;
		if (fd_branches && fd_branches(ctx) != branches)
			continue;
		s++;
		double fd = (up - down) / (2.0 * eps), e = fabs(fd - g[i]) / fmax(fabs(fd) + fabs(g[i]), 1e-2);
		worst = fmax(worst, e);
	}
	return s == k ? worst : NAN;
}

/* LayerNorm */
struct ln_ctx {
	float *x, *w, *b, *r, *y;
	size_t N, C;
};

static double ln_f(void *p)
{
	struct ln_ctx *c = p;
	layernorm_forward(c->y, NULL, NULL, c->x, c->w, c->b, c->N, c->C, 1e-5f);
	return dot(c->y, c->r, c->N * c->C);
}

TEST(layernorm_backward)
{
	size_t N = 5, C = 24;
	struct ln_ctx c = { randn(N * C, 1), randn(C, 1), randn(C, 1), randn(N * C, 1), malloc(N * C * 4), N, C };
	float mean[5], rstd[5], *dx = malloc(N * C * 4), *dw = calloc(C, 4), *db = calloc(C, 4);
	layernorm_forward(c.y, mean, rstd, c.x, c.w, c.b, N, C, 1e-5f);
	layernorm_backward(dx, NULL, NULL, dw, db, c.r, NULL, c.x, c.w, mean, rstd, N, C, 0, 0, 0, NULL);
	CHECK(fd_error(ln_f, &c, c.x, dx, N * C, 40, 1e-2f) < 2e-2, "d input");
	CHECK(fd_error(ln_f, &c, c.w, dw, C, 20, 1e-2f) < 2e-3, "d weight");
	CHECK(fd_error(ln_f, &c, c.b, db, C, 20, 1e-2f) < 2e-3, "d bias");
	free(c.x), free(c.w), free(c.b), free(c.r), free(c.y), free(dx), free(dw), free(db);
}

/* GELU and tanh */
struct ew_ctx {
	float *x, *r, *y;
	size_t n;
	int which;
};

static double ew_f(void *p)
{
	struct ew_ctx *c = p;
	static const float zero[64];
	memcpy(c->y, c->x, c->n * 4);
	if (c->which == 0) /* one row of n with a zero bias */
		bias_gelu_forward(c->y, c->y, zero, 1, c->n);
	else
		tanh_forward(c->y, c->n);
	return dot(c->y, c->r, c->n);
}

TEST(gelu_and_tanh_backward)
{
	size_t n = 64;
	struct ew_ctx c = { randn(n, 2), randn(n, 1), malloc(n * 4), n, 0 };
	float *dx = malloc(n * 4);
	gelu_backward(dx, c.r, c.x, n);
	CHECK(fd_error(ew_f, &c, c.x, dx, n, 40, 1e-2f) < 1e-2, "gelu");
	c.which = 1;
	ew_f(&c);
	tanh_backward(dx, c.r, c.y, n);
	CHECK(fd_error(ew_f, &c, c.x, dx, n, 40, 1e-2f) < 3e-3, "tanh");
	free(c.x), free(c.r), free(c.y), free(dx);
}

/* A small model's config: 16 wide, 2 heads, 24 intermediate. ModernBERT's: a window of 4 (2
 * keys each side: examples of 5 and 7 tokens see a part), layers 0 and 2 global, every bias
 * when biases, its dropout rates all p (the run's rate does not apply to them). */
static struct model_config small_config(enum model_type type, int biases, float p)
{
	struct model_config c = { .type = type, .hidden = 16, .layers = 3, .heads = 2, .intermediate = 24, .vocab = 10,
				  .max_pos = 16, .type_vocab = type == MODEL_MODERNBERT ? 0 : 2, .eps = 1e-12,
				  .head_act = family_of(type)->head_act, .head_dropout = -1 };
	if (type == MODEL_MODERNBERT)
		c = (struct model_config){ .type = type, .hidden = 16, .layers = 3, .heads = 2, .intermediate = 24, .vocab = 10,
					   .max_pos = 64, .eps = 1e-5, .head_act = ACT_GELU, .norm_bias = biases,
					   .attn_bias = biases, .mlp_bias = biases, .head_bias = biases, .window = 4,
					   .global_every = 2, .rope_global = 160000, .rope_local = 10000, .emb_dropout = p,
					   .attn_dropout = p, .mlp_dropout = p, .head_dropout = p };
	return c;
}

/* A whole encoder layer (attention, projections, LayerNorms, FFN) with dropout, through
 * layer_backward, for the input and every weight. */
struct layer_ctx {
	struct model_config c;
	struct params ps;
	struct layer_weights w;
	struct layer_acts a;
	struct batch b;
	struct dropout_cfg d;
	float *x, *r;
};

static double layer_f(void *p)
{
	struct layer_ctx *c = p;
	c->a.x = c->x;
	layer_forward(&c->a, &c->w, &c->c, &c->b, &c->d, 3);
	size_t rows = c->a.mode == LAYER_FIRST_TOKENS ? c->b.n : c->b.T;
	return dot(c->a.y, c->r, rows * (size_t)c->c.hidden);
}

/* Layer l of config mc with the run's dropout p, in that mode. */
static void layer_case(struct model_config mc, int l, float p, enum layer_mode mode)
{
	struct layer_ctx c = { .c = mc };
	uint32_t len[3] = { 5, 1, 7 };
	params_init(&c.ps, &c.c, 0, l, l + 1, 0);
	for (size_t i = 0; i < c.ps.size; i++)
		c.ps.mem[i] = (float)(0.3 * rng_normal(&rng));
	params_layer(&c.ps, c.ps.mem, l, &c.w);
	batch_set(&c.b, 3, len, c.c.heads);
	layer_acts_reserve(&c.a, &c.c, &c.b, mode);
	c.d = (struct dropout_cfg){ p, 1234 };
	size_t TH = c.b.T * 16;
	c.x = randn(TH, 1);
	c.r = randn(TH, 1);
	float *grad = calloc(c.ps.size, 4), *dx = malloc(TH * 4), *dy = malloc(TH * 4);
	struct layer_weights g;
	struct layer_scratch s = { 0 };
	params_layer(&c.ps, grad, l, &g);
	layer_scratch_reserve(&s, &c.c, &c.b);
	layer_f(&c);
	memcpy(dy, c.r, TH * 4);
	layer_backward(dx, &g, dy, &c.a, &c.w, &c.c, &c.b, &c.d, 3, &s);
	double e = fd_error(layer_f, &c, c.x, dx, TH, 60, 1e-2f);
	const char *name = model_type_name(mc.type);
	CHECK(e < 3e-2, "%s layer %d mode %d dropout %g: d input off by %g", name, l, mode, p, e);
	for (size_t t = 0; t < c.ps.n; t++) {
		const struct param *pa = &c.ps.p[t];
		size_t n = (size_t)pa->rows * (size_t)(pa->cols ? pa->cols : 1);
		double et = fd_error(layer_f, &c, c.ps.mem + pa->offset, grad + pa->offset, n, 12, 1e-2f);
		CHECK(et < 3e-2, "%s layer %d mode %d dropout %g: %s off by %g", name, l, mode, p, pa->name, et);
	}
	free(grad), free(dx), free(dy), free(c.x), free(c.r);
	layer_scratch_free(&s);
	layer_acts_free(&c.a);
	batch_free(&c.b);
	params_free(&c.ps);
}

TEST(encoder_layer_backward)
{
	layer_case(small_config(MODEL_BERT, 1, 0), 0, 0, LAYER_ALL_TOKENS);
	layer_case(small_config(MODEL_BERT, 1, 0), 0, 0.25f, LAYER_ALL_TOKENS);
	layer_case(small_config(MODEL_BERT, 1, 0), 0, 0, LAYER_FIRST_TOKENS);
	layer_case(small_config(MODEL_BERT, 1, 0), 0, 0.25f, LAYER_FIRST_TOKENS);
	/* DistilBERT's layer: no dropout on the attention output */
	layer_case(small_config(MODEL_DISTILBERT, 1, 0), 0, 0.25f, LAYER_ALL_TOKENS);
	layer_case(small_config(MODEL_DISTILBERT, 1, 0), 0, 0.25f, LAYER_FIRST_TOKENS);
	/* ModernBERT's: layer 0 (global, no attention norm), layer 1 (local: a window, its own
	 * rotary base), with and without biases, its own dropout rates */
	for (int l = 0; l < 2; l++) {
		layer_case(small_config(MODEL_MODERNBERT, l, 0), l, 0, LAYER_ALL_TOKENS);
		layer_case(small_config(MODEL_MODERNBERT, !l, 0.25f), l, 0.5f, LAYER_ALL_TOKENS);
		layer_case(small_config(MODEL_MODERNBERT, l, 0.25f), l, 0.5f, LAYER_FIRST_TOKENS);
	}
}

/* Does the layer's output change when dropout turns on (the run's rate p; ModernBERT's rates,
 * by site, are mc's)? Only one site can act: ATTN_OUT, the values and the FFN's output zero (the
 * attention's output is its bias); FFN_OUT, the values, the attention's output bias and the
 * FFN's output weights zero (the FFN's output is its bias); ANY, nothing zero. */
enum { ATTN_OUT, FFN_OUT, ANY };
static int output_dropped(struct model_config mc, int l, float p, int site)
{
	struct params ps;
	struct layer_weights w;
	struct layer_acts a = { 0 };
	struct batch b = { 0 };
	size_t H = 16, I = 24;
	uint32_t len[2] = { 6, 3 };
	params_init(&ps, &mc, 0, l, l + 1, 0);
	for (size_t i = 0; i < ps.size; i++)
		ps.mem[i] = (float)(0.3 * rng_normal(&rng));
	params_layer(&ps, ps.mem, l, &w);
	if (site != ANY) {
		memset(w.qkv_w + 2 * H * H, 0, H * H * sizeof(float));
		if (w.qkv_b)
			memset(w.qkv_b + 2 * H, 0, H * sizeof(float));
		memset(w.fc2_w, 0, H * I * sizeof(float));
	}
	if (site == ATTN_OUT && w.fc2_b)
		memset(w.fc2_b, 0, H * sizeof(float));
	if (site == FFN_OUT && w.o_b)
		memset(w.o_b, 0, H * sizeof(float));
	batch_set(&b, 2, len, mc.heads);
	layer_acts_reserve(&a, &mc, &b, LAYER_ALL_TOKENS);
	float *x = randn(b.T * H, 1), *y0 = malloc(b.T * H * sizeof *y0);
	struct dropout_cfg off = { 0, 0 }, on = { p, 99 };
	a.x = x;
	layer_forward(&a, &w, &mc, &b, &off, 3);
	memcpy(y0, a.y, b.T * H * sizeof *y0);
	layer_forward(&a, &w, &mc, &b, &on, 3);
	int differs = memcmp(y0, a.y, b.T * H * sizeof *y0) != 0;
	free(x), free(y0);
	layer_acts_free(&a);
	batch_free(&b);
	params_free(&ps);
	return differs;
}

TEST(dropout_sites_of_each_family)
{
	CHECK(output_dropped(small_config(MODEL_BERT, 1, 0), 0, 0.5f, ATTN_OUT), "BERT's attention output has dropout");
	CHECK(output_dropped(small_config(MODEL_ELECTRA, 1, 0), 0, 0.5f, ATTN_OUT), "ELECTRA's attention output has dropout");
	CHECK(!output_dropped(small_config(MODEL_DISTILBERT, 1, 0), 0, 0.5f, ATTN_OUT), "DistilBERT's attention output has none");
	CHECK(output_dropped(small_config(MODEL_BERT, 1, 0), 0, 0.5f, FFN_OUT), "BERT's FFN output (its bias too) has dropout");
	/* ModernBERT: the config's rates, not the run's; attention_dropout after the attention's Wo
	 * (its bias dropped), mlp_dropout before the MLP's Wo (its bias never dropped) */
	struct model_config mb = small_config(MODEL_MODERNBERT, 1, 0), attn = mb, mlp = mb;
	attn.attn_dropout = 0.5;
	mlp.mlp_dropout = 0.5;
	CHECK(!output_dropped(mb, 1, 0.5f, ANY), "ModernBERT, its config's rates 0: the run's rate drops nothing");
	CHECK(output_dropped(attn, 1, 0.5f, ATTN_OUT), "ModernBERT's attention output has dropout at attention_dropout");
	CHECK(!output_dropped(attn, 1, 0.5f, FFN_OUT), "... and its MLP none");
	CHECK(!output_dropped(mlp, 1, 0.5f, ATTN_OUT), "ModernBERT's attention output has none at mlp_dropout");
	CHECK(!output_dropped(mlp, 1, 0.5f, FFN_OUT), "... nor its MLP's output bias: the dropout is before Wo");
	CHECK(output_dropped(mlp, 1, 0.5f, ANY), "... where it acts, on GeGLU's output");
}

/* The top layer computed at the first tokens only gives the whole layer's output there, bit
 * for bit, and the same gradients when the rest of the output gets none (as from the head). */
static void first_token_case(struct model_config mc, int l)
{
	uint32_t len[4] = { 9, 1, 30, 17 };
	struct params ps;
	struct layer_weights w, g[2];
	struct batch b = { 0 };
	params_init(&ps, &mc, 0, l, l + 1, 0);
	for (size_t i = 0; i < ps.size; i++)
		ps.mem[i] = (float)(0.1 * rng_normal(&rng));
	params_layer(&ps, ps.mem, l, &w);
	batch_set(&b, 4, len, mc.heads);
	size_t H = (size_t)mc.hidden, TH = b.T * H;
	float *x = randn(TH, 1), *dy1 = randn(b.n * H, 1), *dyall = calloc(TH, 4), *grad[2], *dx[2];
	for (size_t e = 0; e < b.n; e++)
		memcpy(dyall + b.start[e] * H, dy1 + e * H, H * 4);
	struct layer_acts a[2] = { { 0 } };
	struct layer_scratch s = { 0 };
	struct dropout_cfg d = { 0.1f, 99 };
	enum layer_mode modes[2] = { LAYER_ALL_TOKENS, LAYER_FIRST_TOKENS };
	layer_scratch_reserve(&s, &mc, &b);
	for (int k = 0; k < 2; k++) {
		grad[k] = calloc(ps.size, 4);
		dx[k] = malloc(TH * 4);
		params_layer(&ps, grad[k], l, &g[k]);
		layer_acts_reserve(&a[k], &mc, &b, modes[k]);
		a[k].x = x;
		layer_forward(&a[k], &w, &mc, &b, &d, 5);
	}
	int same = 1;
	for (size_t e = 0; e < b.n; e++)
		same &= !memcmp(a[1].y + e * H, a[0].y + b.start[e] * H, H * 4);
	CHECK(same, "%s layer %d: the first tokens' outputs differ from the whole layer's", model_type_name(mc.type), l);
	memcpy(dx[0], dyall, TH * 4);
	layer_backward(dx[0], &g[0], dx[0], &a[0], &w, &mc, &b, &d, 5, &s);
	memcpy(dx[1], dy1, b.n * H * 4);
	layer_backward(dx[1], &g[1], dx[1], &a[1], &w, &mc, &b, &d, 5, &s);
	double worst = 0, scale = 0;
	for (size_t i = 0; i < ps.size; i++) {
		worst = fmax(worst, fabs(grad[0][i] - grad[1][i]));
		scale = fmax(scale, fabs(grad[0][i]));
	}
	CHECK(worst <= 1e-6 * scale, "%s layer %d: weight gradients differ by %g (largest %g)", model_type_name(mc.type), l,
	      worst, scale);
	worst = scale = 0;
	for (size_t i = 0; i < TH; i++) {
		worst = fmax(worst, fabs(dx[0][i] - dx[1][i]));
		scale = fmax(scale, fabs(dx[0][i]));
	}
	CHECK(worst <= 1e-6 * scale, "%s layer %d: input gradients differ by %g (largest %g)", model_type_name(mc.type), l,
	      worst, scale);
	for (int k = 0; k < 2; k++)
		free(grad[k]), free(dx[k]), layer_acts_free(&a[k]);
	free(x), free(dy1), free(dyall);
	layer_scratch_free(&s);
	batch_free(&b);
	params_free(&ps);
}

TEST(first_token_layer_equals_the_whole_layer_at_those_rows)
{
	struct model_config bert = { .type = MODEL_BERT, .hidden = 64, .layers = 1, .heads = 4, .intermediate = 96,
				     .vocab = 10, .max_pos = 64, .type_vocab = 2, .eps = 1e-12 };
	first_token_case(bert, 0);
	/* ModernBERT's local layer 1 (a window of 8 in examples of up to 30 tokens: the first
	 * token's keys are its first 5), with its dropout; and layer 0, without an attention norm */
	struct model_config mb = small_config(MODEL_MODERNBERT, 1, 0.1f);
	mb.hidden = 64;
	mb.heads = 4;
	mb.intermediate = 96;
	mb.window = 8;
	first_token_case(mb, 1);
	first_token_case(mb, 0);
}

/* The head and its loss, every family's, classification and regression; the head reads every
 * token's row (as when no layer trains), so the gradient of the rows it does not read is 0. */
struct head_ctx {
	struct model_config mc;
	struct params ps;
	struct head_weights w;
	struct head_acts a;
	struct batch b;
	struct dropout_cfg d;
	size_t C;
	float *y;
	double labels[3];
};

static double head_f(void *p)
{
	struct head_ctx *c = p;
	head_forward(&c->a, &c->w, &c->mc, c->y, &c->b, 0, c->C, &c->d, 99);
	return head_loss(&c->a, c->labels, c->b.n, c->C, c->C == 1);
}

static uint64_t head_branches(void *p)
{
	struct head_ctx *c = p;
	return relu_zeros(c->a.h, c->b.n * 16);
}

static void head_case(struct model_config mc, size_t C)
{
	enum model_type type = mc.type;
	struct head_ctx c = { .mc = mc, .C = C, .labels = { 1, 0, C == 1 ? 2.5 : (double)(2 % C) } };
	uint32_t len[3] = { 4, 2, 3 };
	params_init(&c.ps, &c.mc, 0, 1, 1, (int)C);
	for (size_t i = 0; i < c.ps.size; i++)
		c.ps.mem[i] = (float)(0.5 * rng_normal(&rng));
	params_head(&c.ps, c.ps.mem, &c.w);
	batch_set(&c.b, 3, len, 2);
	head_acts_reserve(&c.a, &c.mc, &c.b, C);
	c.d = (struct dropout_cfg){ 0.2f, 77 };
	c.y = randn(c.b.T * 16, 1);
	float *grad = calloc(c.ps.size, 4), *dy = calloc(c.b.T * 16, 4);
	struct head_weights g;
	params_head(&c.ps, grad, &g);
	fd_branches = c.mc.head_act == ACT_RELU ? head_branches : NULL;
	head_f(&c);
	head_backward(dy, &g, &c.a, &c.w, &c.mc, c.y, &c.b, 0, C, &c.d, 99);
	double e0 = fd_error(head_f, &c, c.y, dy, c.b.T * 16, 40, 1e-2f);
	CHECK(e0 < 2e-2, "%s C=%zu pooling %d: d states off by %g", model_type_name(type), C, mc.pool_mean, e0);
	for (size_t t = 0; t < c.ps.n; t++) {
		const struct param *pa = &c.ps.p[t];
		size_t n = (size_t)pa->rows * (size_t)(pa->cols ? pa->cols : 1);
		double e = fd_error(head_f, &c, c.ps.mem + pa->offset, grad + pa->offset, n, 12, 1e-2f);
		CHECK(e < 2e-2, "%s C=%zu pooling %d: %s off by %g", model_type_name(type), C, mc.pool_mean, pa->name, e);
	}
	fd_branches = NULL;
	free(grad), free(dy), free(c.y);
	head_acts_free(&c.a);
	batch_free(&c.b);
	params_free(&c.ps);
}

TEST(head_and_loss_backward)
{
	head_case(small_config(MODEL_BERT, 1, 0), 2);
	head_case(small_config(MODEL_ROBERTA, 1, 0), 3);
	head_case(small_config(MODEL_BERT, 1, 0), 1);
	head_case(small_config(MODEL_ROBERTA, 1, 0), 1);
	head_case(small_config(MODEL_DISTILBERT, 1, 0), 2); /* ReLU */
	head_case(small_config(MODEL_ELECTRA, 1, 0), 3);    /* GELU */
	/* ModernBERT's: final_norm, the first token or the mean of every token, head.dense, GELU
	 * or tanh, head.norm; with and without biases */
	for (int mean = 0; mean < 2; mean++) {
		struct model_config mb = small_config(MODEL_MODERNBERT, mean, 0.2f);
		mb.pool_mean = mean;
		head_case(mb, 2);
		mb.norm_bias = mb.head_bias = !mean;
		mb.head_act = ACT_TANH;
		head_case(mb, 1);
	}
}

/* A whole model under fine-tuning with dropout on, through finetune_forward and
 * finetune_backward: the masks are drawn for the step given, so every evaluation of the loss at
 * that step drops the same elements, and the gradient of each layer, head and embedding tensor
 * must match central differences of that very function. As a control, the differences of another
 * step's loss (other masks) must not match. */
struct ft_ctx {
	struct finetune f;
	float *x;      /* the input states [T, H] (unused with embeddings) */
	double labels[4];
	long step;
};

static double ft_f(void *p)
{
	struct ft_ctx *c = p;
	if (!c->f.emb)
		memcpy(c->f.x, c->x, c->f.b.T * (size_t)c->f.c.hidden * sizeof *c->x);
	finetune_forward(&c->f, 1, c->step);
	return head_loss(&c->f.head, c->labels, c->f.b.n, c->f.outputs, c->f.regression);
}

static uint64_t ft_branches(void *p)
{
	struct ft_ctx *c = p;
	return relu_zeros(c->f.head.h, c->f.b.n * (size_t)c->f.c.hidden);
}

static void finetune_case(const char *args, int first, int emb, size_t C)
{
	char dir[4096], cmd[8192];
	static const uint32_t len[4] = { 5, 2, 8, 4 };
	struct model m;
	struct ft_ctx c = { .labels = { 1, 0, C == 1 ? 2.5 : (double)(2 % C), C == 1 ? -1 : 1 }, .step = 7 };
	int new_head;
	snprintf(dir, sizeof dir, "%s", check_tmp("model"));
	snprintf(cmd, sizeof cmd, "%s/mkmodel %s %s >/dev/null", getenv("ELSA_BIN") ? getenv("ELSA_BIN") : "build", args, dir);
	if (system(cmd) != 0 || model_open(&m, dir) < 0) {
		CHECK(0, "%s: mkmodel or model_open: %s", args, err_msg());
		return;
	}
	if (finetune_init(&c.f, &m, first, emb, C, C == 1, 0.2f, 31, &new_head) < 0 || finetune_batch(&c.f, 4, len) < 0) {
		CHECK(0, "%s: %s", args, err_msg());
		model_close(&m);
		return;
	}
	size_t T = c.f.b.T, H = (size_t)c.f.c.hidden;
	/* Every parameter drawn anew, N(0, 0.3^2) as layer_case's: at mkmodel's sd of 0.02 a step of
	 * 1e-2 is half an embedding and moves the head's pre-activations across ReLU's kink. */
	for (size_t i = 0; i < c.f.ps.size; i++)
		c.f.ps.mem[i] = (float)(0.3 * rng_normal(&rng));
	c.x = randn(T * H, 1);
	for (size_t t = 0; t < T; t++) {
		c.f.tokens[t] = (uint32_t)rng_below(&rng, (uint64_t)c.f.c.vocab);
		c.f.types[t] = c.f.c.type_vocab ? (uint32_t)rng_below(&rng, (uint64_t)c.f.c.type_vocab) : 0;
	}
	fd_branches = family_of(c.f.c.type)->head_act == ACT_RELU ? ft_branches : NULL;
	float *grad = malloc(c.f.ps.size * sizeof *grad);
	double loss = ft_f(&c);
	CHECK(finetune_backward(&c.f, c.labels, 1, c.step) == loss, "%s: backward's loss is not forward's", args);
	memcpy(grad, c.f.grad, c.f.ps.size * sizeof *grad);
	c.step = 8;
	CHECK(ft_f(&c) != loss, "%s: steps 7 and 8 give the same loss: dropout is off", args);
	double worst = 0, control = 0;
	const char *worst_name = "";
	for (size_t t = 0; t < c.f.ps.n; t++) {
		const struct param *pa = &c.f.ps.p[t];
		size_t n = (size_t)pa->rows * (size_t)(pa->cols ? pa->cols : 1);
		c.step = 7; /* the worst over the sampling seeds 1..60 was 7e-3 */
		double e = fd_error(ft_f, &c, c.f.ps.mem + pa->offset, grad + pa->offset, n, 12, 1e-2f);
		CHECK(e < 2e-2, "%s: %s off by %g", args, pa->name, e);
		if (e > worst)
			worst = e, worst_name = pa->name;
		c.step = 8; /* other masks: the differences of another function */
		control = fmax(control, fd_error(ft_f, &c, c.f.ps.mem + pa->offset, grad + pa->offset, n, 12, 1e-2f));
	}
	CHECK(control > 10 * 2e-2, "%s: step 7's gradient matches step 8's differences (%g): the masks do not follow the step",
	      args, control);
	printf("# %s, first %d%s: worst relative error %.3g (%s); against another step's masks %.3g\n", args, first,
	       emb ? " + embeddings" : "", worst, worst_name, control);
	fd_branches = NULL;
	free(grad), free(c.x);
	finetune_free(&c.f);
	model_close(&m);
}

/* Every layer in training (the top one at the first tokens only), then one frozen; RoBERTa's
 * head has a dropout on its input too; the embeddings and their dropout (ELECTRA's projected,
 * DistilBERT's without token types, and its ReLU head). */
TEST(finetune_backward_with_dropout)
{
	finetune_case("--type bert --layers 2 --hidden 16 --heads 2 --intermediate 24 --labels 2 --seed 5", 0, 0, 2);
	finetune_case("--type roberta --layers 3 --hidden 16 --heads 2 --intermediate 24 --labels 1 --seed 6", 1, 0, 1);
	finetune_case("--type electra --layers 2 --hidden 16 --heads 2 --intermediate 24 --embedding-size 8 --labels 3 --seed 7", 0, 1, 3);
	finetune_case("--type distilbert --layers 2 --hidden 16 --heads 2 --intermediate 24 --labels 2 --seed 8", 0, 1, 2);
	/* ModernBERT, its dropout at every site (the config's rates): the top layer at the first
	 * tokens (cls) or at every token (mean), local layers within a window of 4 */
	finetune_case("--type modernbert --layers 3 --hidden 16 --heads 2 --intermediate 24 --window 4 --pooling cls "
		      "--dropout 0.2 --labels 2 --seed 9", 1, 0, 2);
	finetune_case("--type modernbert --layers 2 --hidden 16 --heads 2 --intermediate 24 --window 4 --global-every 2 "
		      "--pooling mean --bias --dropout 0.2 --labels 1 --seed 10", 0, 1, 1);
}

int main(void)
{
	rng_seed(&rng, 2024);
	threads_set(2);
	RUN(layernorm_backward);
	RUN(gelu_and_tanh_backward);
	RUN(encoder_layer_backward);
	RUN(first_token_layer_equals_the_whole_layer_at_those_rows);
	RUN(head_and_loss_backward);
	RUN(dropout_sites_of_each_family);
	RUN(finetune_backward_with_dropout);
	return check_done();
}
