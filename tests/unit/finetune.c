/* Training against the PyTorch reference (tests/fixtures/train, made by tests/ref/make_fixtures.py):
 * the first step's loss and every gradient, then the loss of each of 20 steps of AdamW with
 * warmup, decay and clipping; every family, classification and regression, and a full
 * fine-tune that trains the embeddings too; ModernBERT with either pooling. */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "dataset.h"
#include "err.h"
#include "finetune.h"
#include "optim.h"
#include "safetensors.h"

struct setup {
	int first, outputs, steps, batch, embeddings;
	double lr, warmup, weight_decay;
};

/* A fixture's file: tests/fixtures/train/NAME/FILE, or with ELSA_TRAIN_FIXTURES=DIR (cases made
 * on the fly, cli/families' at ModernBERT-base's shapes) DIR/NAME/FILE. */
static const char *fixture(const char *name, const char *file)
{
	static char path[8][4096];
	static int n;
	char *p = path[n++ % 8];
	const char *dir = getenv("ELSA_TRAIN_FIXTURES");
	if (dir)
		snprintf(p, sizeof path[0], "%s/%s/%s", dir, name, file);
	else
		snprintf(p, sizeof path[0], "%s/tests/fixtures/train/%s/%s", getenv("ELSA_TOP") ? getenv("ELSA_TOP") : ".", name,
			 file);
	return p;
}

static int read_setup(const char *name, struct setup *s)
{
	FILE *f = fopen(fixture(name, "setup"), "r");
	char key[64];
	double v;
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lf", key, &v) == 2) {
		if (!strcmp(key, "first")) s->first = (int)v;
		if (!strcmp(key, "embeddings")) s->embeddings = (int)v;
		if (!strcmp(key, "outputs")) s->outputs = (int)v;
		if (!strcmp(key, "steps")) s->steps = (int)v;
		if (!strcmp(key, "batch")) s->batch = (int)v;
		if (!strcmp(key, "lr")) s->lr = v;
		if (!strcmp(key, "warmup")) s->warmup = v;
		if (!strcmp(key, "weight_decay")) s->weight_decay = v;
	}
	fclose(f);
	return 0;
}

/* The case's model, made by mkmodel from its mkmodel.args; or ELSA_TRAIN_MODEL, a folder those
 * arguments made (cli/families' ModernBERT-base, made once for its tests). */
static const char *make_model(const char *name)
{
	static char dir[4096];
	char cmd[8192], args[1024] = "";
	if (getenv("ELSA_TRAIN_MODEL"))
		return getenv("ELSA_TRAIN_MODEL");
	FILE *f = fopen(fixture(name, "mkmodel.args"), "r");
	if (!f || !fgets(args, sizeof args, f))
		return NULL;
	fclose(f);
	args[strcspn(args, "\n")] = 0;
	snprintf(dir, sizeof dir, "%s", check_tmp(name));
	snprintf(cmd, sizeof cmd, "%s/mkmodel %s %s", getenv("ELSA_BIN") ? getenv("ELSA_BIN") : "build", args, dir);
	return system(cmd) == 0 ? dir : NULL;
}

/* max |a - b| / max |b| over one tensor. A gradient that is zero in exact arithmetic (the key
 * bias's: softmax ignores a constant added to a row of scores) is float noise on both sides, so
 * the scale has a floor of 1e-4. */
static double rel_error(const float *a, const float *b, size_t n)
{
	double diff = 0, scale = 1e-4;
	for (size_t i = 0; i < n; i++) {
		diff = fmax(diff, fabs((double)a[i] - b[i]));
		scale = fmax(scale, fabs((double)b[i]));
	}
	return diff / scale;
}

static void run_case(const char *name)
{
	struct setup s = { 0 };
	struct model m;
	struct dataset d;
	struct finetune f;
	struct adamw opt;
	struct safetensors ref;
	int new_head;
	const char *dir = make_model(name);
	CHECK(dir && read_setup(name, &s) == 0, "%s: fixture or mkmodel", name);
	if (!dir || model_open(&m, dir) < 0 || dataset_load(&d, fixture(name, "states.elsa"), getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") < 0) {
		CHECK(0, "%s: %s", name, err_msg());
		return;
	}
	CHECK(finetune_init(&f, &m, s.first, s.embeddings, (size_t)s.outputs, s.outputs == 1, 0, 42, &new_head) == 0, "%s", err_msg());
	CHECK(new_head == 0, "%s: the checkpoint's head was not used", name);
	CHECK(adamw_init(&opt, &f.ps, (float)s.lr, (float)s.weight_decay) == 0, "adamw");
	CHECK(st_open(&ref, fixture(name, "grads.safetensors")) == 0, "%s", err_msg());
	FILE *lf = fopen(fixture(name, "losses"), "r");
	if (!lf) {
		CHECK(0, "%s: %s: %s", name, fixture(name, "losses"), strerror(errno));
		st_close(&ref);
		adamw_free(&opt);
		finetune_free(&f);
		dataset_free(&d);
		model_close(&m);
		return;
	}
	long warmup = (long)ceil(s.warmup * s.steps), per_epoch = ((long)d.n + s.batch - 1) / s.batch;
	double worst_loss = 0, worst_grad = 0;
	const char *worst_name = "";
	for (long step = 0; step < s.steps; step++) {
		size_t first = (size_t)(step % per_epoch) * (size_t)s.batch;
		size_t n = d.n - first < (size_t)s.batch ? d.n - first : (size_t)s.batch;
		double labels[64], want;
		CHECK(finetune_batch(&f, n, d.len + first) == 0, "batch");
		for (size_t i = 0; i < n; i++) {
			size_t at = f.b.start[i];
			dataset_states(&d, first + i, f.x + at * (size_t)m.cfg.hidden);
			memcpy(f.tokens + at, dataset_tokens(&d, first + i), d.len[first + i] * sizeof *f.tokens);
			memcpy(f.types + at, dataset_types(&d, first + i), d.len[first + i] * sizeof *f.types);
			labels[i] = d.label[first + i];
		}
		finetune_forward(&f, 1, step);
		double loss = finetune_backward(&f, labels, 1, step);
		CHECK(fscanf(lf, "%lf", &want) == 1, "losses file");
		worst_loss = fmax(worst_loss, fabs(loss - want));
		if (step == 0)
			for (size_t t = 0; t < f.ps.n; t++) {
				const struct param *p = &f.ps.p[t];
				char full[160];
				param_full_name(p, m.cfg.type, full, sizeof full);
				const struct st_tensor *rt = st_find(&ref, full);
				size_t numel = (size_t)p->rows * (size_t)(p->cols ? p->cols : 1);
				CHECK(rt && st_numel(rt) == numel, "%s: no reference gradient for %s", name, full);
				if (!rt || st_numel(rt) != numel)
					continue;
				float *g = malloc(numel * sizeof *g);
				st_read_f32(&ref, rt, g);
				double e = rel_error(f.grad + p->offset, g, numel);
				if (e > worst_grad) {
					worst_grad = e;
					worst_name = p->name;
				}
				free(g);
			}
		float clip = clip_factor(grad_norm(f.grad, f.ps.size), 1.0);
		adamw_step(&opt, &f.ps, f.grad, schedule_lr((float)s.lr, step, warmup, s.steps), clip);
	}
	CHECK(worst_grad <= 1e-4, "%s: gradient of %s off by %g (relative)", name, worst_name, worst_grad);
	CHECK(worst_loss <= 1e-5, "%s: a loss off by %g", name, worst_loss);
	printf("# %s: max relative gradient error %.3g (%s), max loss error over %d steps %.3g\n", name, worst_grad,
	       worst_name, s.steps, worst_loss);
	fclose(lf);
	st_close(&ref);
	adamw_free(&opt);
	finetune_free(&f);
	dataset_free(&d);
	model_close(&m);
}

TEST(bert_classification) { run_case("bert-cls"); }
TEST(roberta_classification) { run_case("roberta-cls"); }
TEST(bert_regression) { run_case("bert-reg"); }
TEST(roberta_regression) { run_case("roberta-reg"); }
TEST(bert_with_embeddings) { run_case("bert-emb"); }
TEST(roberta_with_embeddings) { run_case("roberta-emb"); }
TEST(distilbert_classification) { run_case("distilbert-cls"); }
TEST(distilbert_regression) { run_case("distilbert-reg"); }
TEST(distilbert_with_embeddings) { run_case("distilbert-emb"); }
TEST(electra_classification) { run_case("electra-cls"); }
TEST(electra_regression) { run_case("electra-reg"); }
TEST(electra_with_projected_embeddings) { run_case("electra-emb"); }
TEST(modernbert_cls_pooling_classification) { run_case("modernbert-cls"); }
TEST(modernbert_mean_pooling_classification) { run_case("modernbert-mean"); }
TEST(modernbert_cls_pooling_regression_with_biases) { run_case("modernbert-cls-reg"); }
TEST(modernbert_mean_pooling_regression_with_biases) { run_case("modernbert-mean-reg"); }
TEST(modernbert_with_embeddings) { run_case("modernbert-emb"); }

/* The cases ELSA_TRAIN_CASES names (in ELSA_TRAIN_FIXTURES), one test each. */
static const char *named_case;
static void run_named(void)
{
	run_case(named_case);
}

static int run_named_cases(char *names)
{
	for (char *save, *name = strtok_r(names, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		named_case = name;
		check_run(name, run_named);
	}
	return check_done();
}

int main(void)
{
	if (getenv("ELSA_TRAIN_FIXTURES") && getenv("ELSA_TRAIN_CASES"))
		return run_named_cases(strdup(getenv("ELSA_TRAIN_CASES")));
	RUN(bert_classification);
	RUN(roberta_classification);
	RUN(bert_regression);
	RUN(roberta_regression);
	RUN(bert_with_embeddings);
	RUN(roberta_with_embeddings);
	RUN(distilbert_classification);
	RUN(distilbert_regression);
	RUN(distilbert_with_embeddings);
	RUN(electra_classification);
	RUN(electra_regression);
	RUN(electra_with_projected_embeddings);
	RUN(modernbert_cls_pooling_classification);
	RUN(modernbert_mean_pooling_classification);
	RUN(modernbert_cls_pooling_regression_with_biases);
	RUN(modernbert_mean_pooling_regression_with_biases);
	RUN(modernbert_with_embeddings);
	return check_done();
}
