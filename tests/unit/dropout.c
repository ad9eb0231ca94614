/* Dropout (kernels.h: mask_make, mask_keep, dropout, residual_layernorm_forward; finetune_forward
 * with its step and training flag): the fraction kept, the expectation kept by the 1 / (1 - p)
 * scaling, the exact values of dropped and kept elements, p 0 as the identity, and masks that
 * repeat for the same (seed, site, token, step) and change with any of them.
 *
 * Statistical bounds are 5 standard deviations of the quantity under independent Bernoulli
 * draws: a correct mask exceeds one with probability below 6e-7, and the masks are seeded, so a
 * pass or failure repeats exactly. */
#include <float.h>
#include <math.h>

#include "check.h"
#include "err.h"
#include "finetune.h"
#include "gemm.h"
#include "kernels.h"
#include "rng.h"

#define N_BIG ((size_t)1 << 20)

static const float rates[] = { 0.1f, 0.25f, 0.5f, 0.9f };
#define NRATES (sizeof rates / sizeof *rates)

static struct rng rng;

/* n floats ~ N(mu, 1). */
static float *normal(size_t n, double mu)
{
	float *x = malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(mu + rng_normal(&rng));
	return x;
}

/* Over n elements, kept ~ Binomial(n, 1 - p): mean n (1 - p), sd sqrt(n p (1 - p)). */
TEST(kept_fraction_is_1_minus_p)
{
	for (size_t r = 0; r < NRATES; r++) {
		double p = rates[r], n = (double)N_BIG, sd = sqrt(n * p * (1 - p));
		struct mask m = mask_make(rates[r], 11, 3);
		size_t kept = 0;
		for (size_t i = 0; i < N_BIG; i++)
			kept += (size_t)mask_keep(&m, i);
		CHECK(fabs((double)kept - n * (1 - p)) <= 5 * sd, "p %g: %zu of %.0f kept, expected %.0f +- %.0f (5 sd)", p, kept,
		      n, n * (1 - p), 5 * sd);
	}
}

/* mean(out) - mean(in) = (1/n) sum x_i (k_i / (1 - p) - 1), k_i ~ Bernoulli(1 - p): mean 0 and,
 * for the given x, sd sqrt(p / (1 - p) sum x_i^2) / n. Without the 1 / (1 - p) scaling the mean
 * is (1 - p) mean(in), which for mean(in) near 1 is off by about p, hundreds of sd. Checked for
 * dropout() and for the sublayers' tail (residual_layernorm_forward's r, without bias and
 * residual: dropout(inp)), the vector kernels' own loop. */
static void check_mean(const char *what, const float *in, const float *out, size_t n, double p)
{
	double sum_in = 0, sum_out = 0, sq = 0;
	for (size_t i = 0; i < n; i++) {
		sum_in += in[i];
		sum_out += out[i];
		sq += (double)in[i] * in[i];
	}
	double d = (sum_out - sum_in) / (double)n, sd = sqrt(p / (1 - p) * sq) / (double)n;
	CHECK(fabs(d) <= 5 * sd, "%s p %g: mean out %.6f, mean in %.6f: %.3g apart, more than 5 sd (%.3g)", what, p,
	      sum_out / (double)n, sum_in / (double)n, d, 5 * sd);
}

TEST(expectation_is_kept)
{
	size_t C = 1024, N = N_BIG / C;
	float *x = normal(N_BIG, 1), *y = malloc(N_BIG * sizeof *y), *r = malloc(N_BIG * sizeof *r);
	float *w = malloc(C * sizeof *w), *b = calloc(C, sizeof *b), *mean = malloc(N * sizeof *mean),
	      *rstd = malloc(N * sizeof *rstd);
	for (size_t c = 0; c < C; c++)
		w[c] = 1;
	for (size_t k = 0; k < NRATES; k++) {
		dropout(y, x, N_BIG, rates[k], 21, 5);
		check_mean("dropout", x, y, N_BIG, rates[k]);
		residual_layernorm_forward(y, r, mean, rstd, x, NULL, NULL, w, b, N, C, 1e-5f, rates[k], 21, 5, NULL);
		check_mean("residual_layernorm_forward", x, r, N_BIG, rates[k]);
	}
	free(x), free(y), free(r), free(w), free(b), free(mean), free(rstd);
}

/* Every output is 0 where the mask drops and in / (1 - p) where it keeps: exactly for p 0.5
 * and 0.75 (scales 2 and 4), within 4 float epsilons of the double quotient otherwise (three
 * roundings: 1 - p, its reciprocal, the product). In place gives the same bits. */
TEST(dropped_are_zero_kept_are_scaled)
{
	static const float ps[] = { 0.1f, 0.3f, 0.5f, 0.75f };
	size_t n = 100000;
	float *x = normal(n, 0), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
	for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
		float p = ps[k];
		int exact = p == 0.5f || p == 0.75f;
		struct mask m = mask_make(p, 8, 2);
		size_t bad_zero = 0, bad_kept = 0, kept = 0;
		double worst = 0;
		dropout(y, x, n, p, 8, 2);
		for (size_t i = 0; i < n; i++) {
			if (!mask_keep(&m, i)) {
				bad_zero += y[i] != 0.0f;
				continue;
			}
			kept++;
			double want = x[i] / (1.0 - (double)p), e = fabs(y[i] - want) / fabs(want);
			worst = fmax(worst, e);
			bad_kept += exact ? y[i] != (float)want : !(e <= 4 * FLT_EPSILON);
		}
		CHECK(kept > 0 && kept < n, "p %g: %zu of %zu kept", p, kept, n);
		CHECK(bad_zero == 0, "p %g: %zu dropped elements are not 0", p, bad_zero);
		CHECK(bad_kept == 0, "p %g: %zu kept elements are not in / (1 - p) (worst relative error %.3g)", p, bad_kept,
		      worst);
		memcpy(z, x, n * sizeof *z);
		dropout(z, z, n, p, 8, 2);
		CHECK(!memcmp(y, z, n * sizeof *y), "p %g: in place differs", p);
	}
	free(x), free(y), free(z);
}

TEST(p_zero_is_the_identity)
{
	size_t C = 48, N = 50, n = N * C;
	float *x = normal(n, 0.5), *y = malloc(n * sizeof *y), *r = malloc(n * sizeof *r), w[48], b[48], mean[50], rstd[50];
	for (size_t c = 0; c < C; c++)
		w[c] = 1, b[c] = 0;
	struct mask m = mask_make(0, 8, 2);
	size_t dropped = 0;
	for (size_t i = 0; i < N_BIG; i++)
		dropped += !mask_keep(&m, i);
	CHECK(dropped == 0 && m.scale == 1.0f, "p 0: %zu dropped, scale %g", dropped, m.scale);
	dropout(y, x, n, 0, 8, 2);
	CHECK(!memcmp(x, y, n * sizeof *x), "dropout with p 0 changed its input");
	dropout(y, y, n, 0, 8, 2);
	CHECK(!memcmp(x, y, n * sizeof *x), "dropout with p 0, in place, changed its input");
	residual_layernorm_forward(y, r, mean, rstd, x, NULL, NULL, w, b, N, C, 1e-5f, 0, 8, 2, NULL);
	CHECK(!memcmp(x, r, n * sizeof *x), "the sublayer tail with p 0 dropped something");
	free(x), free(y), free(r);
}

/* a == b element by element (a dropped element may be 0 or -0: x * 0 for a negative x). */
static int same_values(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* Two independent masks of rate p disagree on an element with probability 2 p (1 - p). */
static void check_independent(const char *what, const float *a, const float *b, size_t n, double p)
{
	size_t differ = 0;
	for (size_t i = 0; i < n; i++)
		differ += (a[i] == 0) != (b[i] == 0);
	double q = 2 * p * (1 - p), sd = sqrt((double)n * q * (1 - q));
	CHECK(fabs((double)differ - (double)n * q) <= 5 * sd, "%s: masks differ at %zu of %zu elements, expected %.0f +- %.0f",
	      what, differ, n, (double)n * q, 5 * sd);
}

TEST(masks_repeat_for_seed_site_and_token)
{
	size_t C = 64, N = 4096, n = N * C;
	float p = 0.5f, *x = normal(n, 3), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
	for (size_t i = 0; i < n; i++) /* no input is 0, so a 0 output is a dropped element */
		x[i] = x[i] == 0 ? 1 : x[i];
	dropout(a, x, n, p, 7, 3);
	dropout(b, x, n, p, 7, 3);
	CHECK(!memcmp(a, b, n * sizeof *a), "the same seed and site gave another mask");
	dropout(b, x, n, p, 8, 3);
	check_independent("another seed", a, b, n, p);
	dropout(b, x, n, p, 7, 4);
	check_independent("another site", a, b, n, p);

	/* The sublayer tail draws dropout()'s mask; rows holding tokens tok[] draw those tokens'. */
	float *w = malloc(C * sizeof *w), *bias0 = calloc(C, sizeof *bias0), *y = malloc(n * sizeof *y),
	      *r = malloc(n * sizeof *r), *mean = malloc(N * sizeof *mean), *rstd = malloc(N * sizeof *rstd);
	for (size_t c = 0; c < C; c++)
		w[c] = 1;
	residual_layernorm_forward(y, r, mean, rstd, x, NULL, NULL, w, bias0, N, C, 1e-5f, p, 7, 3, NULL);
	CHECK(same_values(a, r, n), "the sublayer tail's mask is not dropout()'s");
	size_t tok[4] = { 17, 0, 4095, 17 };
	float xs[4 * 64], rs[4 * 64], ys[4 * 64];
	for (size_t k = 0; k < 4; k++)
		memcpy(xs + k * C, x + tok[k] * C, C * sizeof *xs);
	residual_layernorm_forward(ys, rs, mean, rstd, xs, NULL, NULL, w, bias0, 4, C, 1e-5f, p, 7, 3, tok);
	int same = 1;
	for (size_t k = 0; k < 4; k++)
		same &= same_values(rs + k * C, a + tok[k] * C, C);
	CHECK(same, "rows named by their tokens do not draw those tokens' masks");
	free(x), free(a), free(b), free(w), free(bias0), free(y), free(r), free(mean), free(rstd);
}

/* A small model under fine-tuning: its logits for one batch, at a step, with dropout on or off. */
struct model_run {
	struct model m;
	struct finetune f;
	float *x;
	int ok;
};

static void model_open_run(struct model_run *mr, uint64_t seed, float p)
{
	char dir[4096], cmd[8192];
	static const uint32_t len[3] = { 6, 3, 9 };
	int new_head;
	memset(mr, 0, sizeof *mr);
	snprintf(dir, sizeof dir, "%s", check_tmp("model"));
	snprintf(cmd, sizeof cmd, "%s/mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 24 --labels 2 --seed 3 %s >/dev/null",
		 getenv("ELSA_BIN") ? getenv("ELSA_BIN") : "build", dir);
	if (system(cmd) != 0 || model_open(&mr->m, dir) < 0) {
		CHECK(0, "mkmodel or model_open: %s", err_msg());
		return;
	}
	if (finetune_init(&mr->f, &mr->m, 0, 0, 2, 0, p, seed, &new_head) < 0 || finetune_batch(&mr->f, 3, len) < 0) {
		CHECK(0, "finetune: %s", err_msg());
		model_close(&mr->m);
		return;
	}
	CHECK(new_head == 0, "the model's head was not loaded: %d new tensors", new_head);
	struct rng xr;
	rng_seed(&xr, 5);
	size_t n = mr->f.b.T * (size_t)mr->f.c.hidden;
	mr->x = malloc(n * sizeof *mr->x);
	for (size_t i = 0; i < n; i++)
		mr->x[i] = (float)rng_normal(&xr);
	mr->ok = 1;
}

/* logits (6 floats) of the batch at `step`. */
static void model_logits(struct model_run *mr, int train, long step, float *logits)
{
	memcpy(mr->f.x, mr->x, mr->f.b.T * (size_t)mr->f.c.hidden * sizeof *mr->x);
	finetune_forward(&mr->f, train, step);
	memcpy(logits, mr->f.head.logits, 6 * sizeof *logits);
}

static void model_close_run(struct model_run *mr)
{
	if (!mr->ok)
		return;
	finetune_free(&mr->f);
	model_close(&mr->m);
	free(mr->x);
}

TEST(training_masks_follow_the_step_and_seed)
{
	struct model_run a, b;
	float l3[6], again[6], l4[6], other[6], eval3[6], eval4[6];
	model_open_run(&a, 42, 0.3f);
	model_open_run(&b, 43, 0.3f);
	if (!a.ok || !b.ok) {
		model_close_run(&a), model_close_run(&b);
		return;
	}
	model_logits(&a, 1, 3, l3);
	model_logits(&a, 1, 4, l4);
	model_logits(&a, 1, 3, again);
	model_logits(&b, 1, 3, other);
	model_logits(&a, 0, 3, eval3);
	model_logits(&a, 0, 4, eval4);
	CHECK(!memcmp(l3, again, sizeof l3), "step 3 twice gave other logits (%g vs %g)", l3[0], again[0]);
	CHECK(memcmp(l3, l4, sizeof l3), "steps 3 and 4 gave the same logits: the same masks");
	CHECK(memcmp(l3, other, sizeof l3), "seeds 42 and 43 gave the same logits at step 3: the same masks");
	CHECK(!memcmp(eval3, eval4, sizeof eval3), "without training the step changed the logits");
	CHECK(memcmp(l3, eval3, sizeof l3), "training at p 0.3 gave the logits of inference: no dropout");
	model_close_run(&a);
	model_close_run(&b);
}

int main(void)
{
	rng_seed(&rng, 2025);
	threads_set(2);
	RUN(kept_fraction_is_1_minus_p);
	RUN(expectation_is_kept);
	RUN(dropped_are_zero_kept_are_scaled);
	RUN(p_zero_is_the_identity);
	RUN(masks_repeat_for_seed_site_and_token);
	RUN(training_masks_follow_the_step_and_seed);
	return check_done();
}
