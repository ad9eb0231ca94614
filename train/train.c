/* elsa-train: fine-tunes the top layers N..L-1 and the task head on cached states of layer N;
 * with --predict, predicts a stream with a trained run. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "dataset.h"
#include "err.h"
#include "finetune.h"
#include "gemm.h"
#include "infer.h"
#include "io.h"
#include "machine.h"
#include "mem.h"
#include "metrics.h"
#include "optim.h"
#include "predictions.h"
#include "record.h"
#include "rng.h"
#include "runrec.h"
#include "train.h"

static const char usage[] =
	"usage: elsa-train -m MODEL_DIR -t TASK --train TRAIN.zst [--dev DEV.zst] -o RUN_DIR [options]\n"
	"       elsa-train --predict RUN_DIR -m MODEL_DIR [-o FILE] [STREAM|-]\n"
	"Fine-tunes layers N..L-1 and the task head on cached hidden states of layer N (the layer\n"
	"of the input streams); frozen layers cost nothing.\n"
	"  -m, --model DIR        Hugging Face model folder (config.json, model.safetensors)\n"
	"  -t, --task TASK        cola sst2 mrpc stsb qqp mnli mnli-mm qnli rte wnli\n"
	"      --train FILE       training stream (elsa-stream(5)) of layer N\n"
	"      --dev FILE         evaluated after each epoch; its predictions go to RUN_DIR\n"
	"  -o, --output DIR       the run folder (refused if it exists, unless --force)\n"
	"      --lr X             peak learning rate (2e-5)\n"
	"      --epochs N         (3)\n"
	"      --batch N          examples per step (16)\n"
	"      --warmup X         fraction of the steps with a linear warmup (0)\n"
	"      --weight-decay X   AdamW's decoupled decay, not on biases and LayerNorm (0.01)\n"
	"      --dropout X        in trained layers and the head; 0 turns it off (0.1)\n"
	"      --seed N           shuffling, dropout and new head weights (42)\n"
	"      --max-steps N      stop after N optimizer steps (0: epochs decide)\n"
	"      --compute TYPE     the matrix products' inputs: f32 (default) or bf16 (sums, the\n"
	"                         optimizer and its master weights in f32)\n"
	"      --keep last|best   the weights and dev predictions kept: the last epoch's (default),\n"
	"                         or the epoch's with the best dev score (needs --dev)\n"
	"      --no-shuffle       batches in input order\n"
	"      --log-every K      mean training loss every K steps, on stderr and in run.yaml (50)\n"
	"      --train-embeddings also train the embeddings (a full fine-tune; streams of layer 0)\n"
	"      --checkpoint-every K  a checkpoint in RUN_DIR.checkpoint every K steps and at each\n"
	"                         epoch's end (0: none; default: by time, every 1 to 10 minutes)\n"
	"      --no-resume        start over at step 0 even if RUN_DIR.checkpoint is there\n"
	"      --force            replace an existing RUN_DIR (and a checkpoint of other settings)\n"
	"  -j, --threads N        threads (default: ELSA_THREADS, else the usable CPUs)\n"
	"  -q, --quiet            no progress, dev or resume lines on stderr (only what went wrong)\n"
	"      --predict RUN_DIR  predict STREAM with a trained run; predictions on stdout (or -o)\n"
	"      --scores           with --predict: each class's name, logit and probability too\n"
	"      --label-order O    with --predict: number the classes as glue (elsa's, the default) or\n"
	"                         datasets (Hugging Face datasets'; MNLI and AX differ)\n"
	"  -h, --help         this help;  -V, --version  the version\n";

struct options {
	const char *model_dir, *task, *train, *dev, *run_dir, *threads, *compute;
	double lr, warmup, weight_decay, dropout;
	int epochs, batch, shuffle, log_every, force, train_embeddings, resume, keep_best;
	long max_steps, checkpoint_every;
	uint64_t seed;
};

/* Every example has a label the task accepts: a class index, or a finite score. */
static void check_labels(const struct dataset *d, const struct task *t)
{
	for (size_t i = 0; i < d->n; i++) {
		double y = d->label[i];
		if (isnan(y))
			die("%s: record %zu (example %s) has no label", d->name, i + 1, dataset_id(d, i));
		if (t->nlabels && (y != floor(y) || y < 0 || y >= t->nlabels))
			die("%s: record %zu (example %s): label %g is not a class of %s (0..%d)", d->name, i + 1,
			    dataset_id(d, i), y, t->name, t->nlabels - 1);
	}
}

/* The dev evaluation's sums, batch by batch: the loss, and each example's prediction. */
struct dev_sums {
	double loss;
	double *pred;
	size_t done;
};

static int add_batch(void *ctx, struct finetune *f, const struct infer_batch *b, const double *pred)
{
	struct dev_sums *sums = ctx;
	sums->loss += head_loss(&f->head, b->labels, b->n, f->outputs, f->regression) * (double)b->n;
	memcpy(sums->pred + sums->done, pred, b->n * sizeof *pred);
	sums->done += b->n;
	return 0;
}

/* Evaluates f on all of d (dropout off): the mean loss, each example's prediction in pred. */
static double evaluate_set(struct finetune *f, const struct dataset *d, double *pred)
{
	struct infer_source src;
	struct dev_sums sums = { 0, pred, 0 };
	infer_from_dataset(&src, d);
	if (finetune_infer(f, &src, add_batch, &sums) < 0)
		die_lib();
	infer_source_free(&src);
	return sums.loss / (double)d->n;
}

static void write_predictions(const struct dataset *d, const struct task *t, const double *pred, const char *path)
{
	struct out *out = out_open(path, 0, 0);
	int rc = out ? predictions_write_header(out, t, ORDER_GLUE, 0, NULL) : E_IO;
	for (size_t i = 0; i < d->n && rc == 0; i++)
		rc = predictions_write(out, t, ORDER_GLUE, dataset_id(d, i), pred[i], NULL, NULL);
	if (rc < 0 || out_commit(out) < 0)
		die_lib();
}

/* A new zeroed entry at the end of *arr (n entries, capacity *cap, of size bytes). */
static void *append(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (grow(arr, cap, *n + 1, size) < 0)
		die_lib();
	char *entry = (char *)*arr + (*n)++ * size;
	memset(entry, 0, size);
	return entry;
}

/* Everything a training run holds, from its inputs to its record. */
struct session {
	const struct options *o;
	const struct task *task;
	struct model m;
	struct dataset tr, dev;
	struct folder_out rd; /* the run folder, built beside RUN_DIR and renamed into place */
	struct finetune f;
	struct adamw opt;
	struct run_record rec;
	size_t loss_cap, evals_cap; /* of rec.loss and rec.evals */
	long per_epoch, total, warmup;
	struct rng shuffle;
	uint32_t *order; /* the training examples in this epoch's order */
	double *labels;  /* a batch's */
	double *pred;    /* the last dev evaluation's */
	float *best;     /* --keep best: the trained parameters at the best dev evaluation so far */
	struct ckpt_progress progress;
	struct checkpoint ck;
	struct ckpt_setting settings[24];
	double started;       /* now_seconds() when this process began */
	double train_seconds; /* this process's time in training steps */
	long loop_from;       /* the step this process began training at (a resumed run's is past 0) */
	size_t loop_tokens;   /* tokens trained before it */
	double before[4];     /* the costs before a resume: seconds, train_seconds, gemm_seconds, gemm_gflop */
};

/* Opens the model, reads and checks both streams, sets up the model under training. */
static void setup(struct session *s, const struct options *o)
{
	s->o = o;
	s->task = cli_task(o->task);
	if (!strcmp(o->task, "ax"))
		die("-t %s: not a task elsa trains (see --help)", o->task);
	if (model_open(&s->m, o->model_dir) < 0)
		die_lib();
	if (folder_begin(&s->rd, o->run_dir, o->force) < 0)
		die_lib();
	if (dataset_load(&s->tr, o->train, s->rd.tmp) < 0)
		die_lib();
	check_stream(&s->tr.h, s->tr.name, &s->m, s->task);
	check_labels(&s->tr, s->task);
	if (o->dev) {
		if (dataset_load(&s->dev, o->dev, s->rd.tmp) < 0)
			die_lib();
		check_stream(&s->dev.h, s->dev.name, &s->m, s->task);
		if (s->dev.h.layer != s->tr.h.layer)
			die("%s: layer %u, but %s holds layer %u", s->dev.name, s->dev.h.layer, s->tr.name, s->tr.h.layer);
		if (s->dev.h.compute != s->tr.h.compute)
			die("%s: computed with %s products, but %s with %s ones", s->dev.name, gemm_compute_name((int)s->dev.h.compute),
			    s->tr.name, gemm_compute_name((int)s->tr.h.compute));
		check_labels(&s->dev, s->task);
	}
	int N = (int)s->tr.h.layer, new_head;
	if (o->train_embeddings && N != 0)
		die("--train-embeddings: %s holds layer %d; a full fine-tune reads layer 0 (elsa-embed's output)", s->tr.name, N);
	if (finetune_init(&s->f, &s->m, N, o->train_embeddings, (size_t)task_outputs(s->task), s->task->nlabels == 0,
			  (float)o->dropout, o->seed, &new_head) < 0 ||
	    adamw_init(&s->opt, &s->f.ps, (float)o->lr, (float)o->weight_decay) < 0)
		die_lib();
	s->per_epoch = (long)((s->tr.n + (size_t)o->batch - 1) / (size_t)o->batch);
	s->total = o->max_steps > 0 ? o->max_steps : s->per_epoch * o->epochs;
	s->warmup = (long)ceil(o->warmup * (double)s->total);
	if (o->keep_best && !o->dev)
		die("--keep best: chooses on the dev set: give --dev");
	s->order = xmalloc(s->tr.n * sizeof *s->order);
	s->labels = xmalloc((size_t)o->batch * sizeof *s->labels);
	s->pred = xmalloc((s->dev.n + 1) * sizeof *s->pred);
	s->best = o->keep_best ? xmalloc(s->f.ps.size * sizeof *s->best) : NULL;
	for (size_t i = 0; i < s->tr.n; i++)
		s->order[i] = (uint32_t)i;
	s->rec = (struct run_record){ .layers = s->m.cfg.layers, .frozen = N, .train_embeddings = o->train_embeddings,
				      .outputs = task_outputs(s->task), .new_head = new_head, .model = s->m.fingerprint,
				      .model_dir = xstrdup(o->model_dir), .train = xstrdup(o->train),
				      .dev = xstrdup(o->dev ? o->dev : ""), .train_examples = s->tr.n,
				      .train_tokens = s->tr.ntokens, .dev_examples = s->dev.n, .lr = o->lr,
				      .warmup = o->warmup, .weight_decay = o->weight_decay, .dropout = o->dropout,
				      .max_grad_norm = 1.0, .epochs = o->epochs, .batch = o->batch, .shuffle = o->shuffle,
				      .threads = threads_get(), .max_steps = o->max_steps, .steps = s->total,
				      .warmup_steps = s->warmup, .seed = o->seed, .keep_best = o->keep_best,
				      .compute = gemm_bf16(), .cache_compute = (int)s->tr.h.compute };
	snprintf(s->rec.task, sizeof s->rec.task, "%s", s->task->name);
	snprintf(s->rec.model_type, sizeof s->rec.model_type, "%s", model_type_name(s->m.cfg.type));
}

/* One setting a resumed run must share, its value formatted. */
__attribute__((format(printf, 4, 5))) static void setting(struct ckpt_setting *set, size_t *n, const char *name,
							  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set[*n].name = name;
	vsnprintf(set[*n].value, sizeof set[*n].value, fmt, ap);
	va_end(ap);
	(*n)++;
}

static void setting_number(struct ckpt_setting *set, size_t *n, const char *name, double v)
{
	char b[32];
	label_format(v, b);
	setting(set, n, name, "%s", b);
}

/* A stream as a resumed run must find it again: its layer, its size and its content. */
static void setting_stream(struct ckpt_setting *set, size_t *n, const char *name, const struct dataset *d)
{
	if (!d->n)
		setting(set, n, name, "none");
	else
		setting(set, n, name, "layer %u, %zu examples, content %016" PRIx64, d->h.layer, d->n,
			ckpt_dataset_identity(d));
}

/* Everything that shapes the run's numbers, in the order a refused resume names them. Not the
 * thread count: the numbers do not depend on it. */
static size_t run_settings(const struct session *s, struct ckpt_setting *set)
{
	const struct options *o = s->o;
	size_t n = 0;
	setting(set, &n, "elsa", "%s", ELSA_VERSION);
	setting(set, &n, "model", "%016" PRIx64, s->m.fingerprint);
	setting(set, &n, "-t", "%s", s->task->name);
	setting_stream(set, &n, "--train", &s->tr);
	setting_stream(set, &n, "--dev", &s->dev);
	setting(set, &n, "--train-embeddings", "%s", o->train_embeddings ? "yes" : "no");
	setting_number(set, &n, "--lr", o->lr);
	setting(set, &n, "--epochs", "%d", o->epochs);
	setting(set, &n, "--batch", "%d", o->batch);
	setting(set, &n, "--max-steps", "%ld", o->max_steps);
	setting_number(set, &n, "--warmup", o->warmup);
	setting_number(set, &n, "--weight-decay", o->weight_decay);
	setting_number(set, &n, "--dropout", o->dropout);
	setting(set, &n, "--seed", "%" PRIu64, o->seed);
	setting(set, &n, "--no-shuffle", "%s", o->shuffle ? "no" : "yes");
	setting(set, &n, "--log-every", "%d", o->log_every);
	setting(set, &n, "--keep", "%s", run_keep_name(o->keep_best));
	setting(set, &n, "--compute", "%s", gemm_compute_name(gemm_bf16()));
	return n;
}

/* Picks the run up at its checkpoint, unless --no-resume (which removes it) or there is none;
 * then puts the shuffle where the run is: the shuffles of the epochs begun, from the seed. */
static void resume(struct session *s)
{
	const struct options *o = s->o;
	struct ckpt_run run = { &s->f.ps, s->f.c.type, &s->opt, &s->rec, &s->progress, s->task, s->best };
	size_t n = run_settings(s, s->settings);
	int rc = 0;
	if (ckpt_init(&s->ck, o->run_dir, o->checkpoint_every, s->settings, n, &run) < 0)
		die_lib();
	if (!o->resume && ckpt_remove(&s->ck) < 0)
		die_lib();
	if (o->resume && (rc = ckpt_load(&s->ck)) == E_MISMATCH && o->force) {
		warn("%s: starting over (--force)", err_msg());
		if ((rc = ckpt_remove(&s->ck)) < 0)
			die_lib();
	}
	if (rc < 0)
		die("%s (--no-resume starts over)", err_msg());
	if (rc == 1) {
		double *cost[] = { &s->rec.seconds, &s->rec.train_seconds, &s->rec.gemm_seconds, &s->rec.gemm_gflop };
		for (int i = 0; i < 4; i++)
			s->before[i] = *cost[i];
		if (!quiet)
			warn("resuming %s from step %ld of %ld (checkpoint of %s)", o->run_dir, s->progress.step,
			     s->total, s->ck.written);
		char now[96];
		if (*s->ck.kernels && strcmp(s->ck.kernels, machine_kernels(now, sizeof now)))
			warn("%s: the checkpoint was computed with %s, this process computes with %s: the run will "
			     "not be bit-identical to one never interrupted", o->run_dir, s->ck.kernels, now);
	}
	rng_seed(&s->shuffle, o->seed);
	for (long begun = 0; o->shuffle && begun < s->progress.step; begun += s->per_epoch)
		rng_shuffle(&s->shuffle, s->order, (uint32_t)s->tr.n);
}

/* One optimizer step on the batch at `at` in this epoch's order; returns its loss. Stops the
 * run on a non-finite loss or gradient, and removes its checkpoint. */
static double step_once(struct session *s, long step, long at)
{
	const struct options *o = s->o;
	size_t first = (size_t)at * (size_t)o->batch, left = s->tr.n - first;
	size_t n = left < (size_t)o->batch ? left : (size_t)o->batch;
	float lr = schedule_lr((float)o->lr, step, s->warmup, s->total);
	if (infer_load_dataset(&s->f, &s->tr, s->order + first, n, s->labels) < 0)
		die_lib();
	finetune_forward(&s->f, 1, step);
	double loss = finetune_backward(&s->f, s->labels, 1, step);
	double norm = grad_norm(s->f.grad, s->f.ps.size);
	if (!isfinite(loss) || !isfinite(norm)) {
		ckpt_remove(&s->ck); /* a resume would only stop here again */
		die("step %ld: the %s is %g (lr %g): stopped, nothing written", step + 1,
		    isfinite(loss) ? "gradient norm" : "loss", unsigned_nan(isfinite(loss) ? norm : loss), (double)lr);
	}
	adamw_step(&s->opt, &s->f.ps, s->f.grad, lr, clip_factor(norm, 1.0));
	s->progress.trained_tokens += s->f.b.T;
	return loss;
}

/* The mean training loss since the last line, on stderr and in the record. */
static void log_loss(struct session *s, long step, long epoch)
{
	float lr = schedule_lr((float)s->o->lr, step, s->warmup, s->total);
	double mean = s->progress.window / (double)s->progress.in_window;
	struct run_loss *entry = append((void **)&s->rec.loss, &s->rec.nloss, &s->loss_cap, sizeof *s->rec.loss);
	*entry = (struct run_loss){ step + 1, mean, lr };
	/* this process's rate, and the time the steps left take at it */
	double rate = (double)(s->progress.trained_tokens - s->loop_tokens) / (s->train_seconds > 0 ? s->train_seconds : 1e-9);
	double left = s->train_seconds / (double)(step + 1 - s->loop_from) * (double)(s->total - step - 1);
	const char *slash = strrchr(s->o->run_dir, '/'), *name = slash && slash[1] ? slash + 1 : s->o->run_dir;
	if (!quiet)
		fprintf(stderr, "%s: %s: step %ld/%ld epoch %ld loss %.6f lr %.3g, %.0f tokens/s, %ldm%02lds left\n", prog,
			name, step + 1, s->total, epoch, unsigned_nan(mean), (double)lr, rate, (long)left / 60, (long)left % 60);
	s->progress.window = 0;
	s->progress.in_window = 0;
}

/* The dev set's loss and metrics after an epoch, on stderr and in the record. */
static void evaluate_epoch(struct session *s, long step, long epoch)
{
	struct run_eval *ev = append((void **)&s->rec.evals, &s->rec.nevals, &s->evals_cap, sizeof *s->rec.evals);
	ev->epoch = (int)epoch;
	ev->step = step + 1;
	ev->loss = evaluate_set(&s->f, &s->dev, s->pred);
	if (metrics_evaluate(s->task, s->dev.label, s->pred, s->dev.n, &ev->e) < 0)
		die_lib();
	if (!quiet)
		fprintf(stderr, "%s: epoch %ld dev loss %.6f %s %.6f\n", prog, epoch, unsigned_nan(ev->loss),
			ev->e.m[ev->e.primary].name, unsigned_nan(ev->e.m[ev->e.primary].value));
	if (s->best && run_best(s->rec.evals, s->rec.nevals) == s->rec.nevals - 1)
		memcpy(s->best, s->f.ps.mem, s->f.ps.size * sizeof *s->best);
}

/* The epoch the run keeps; for an earlier one than the last, its weights go back in place and
 * its predictions are made again (dropout off, the same batches: the same numbers). */
static void choose_kept(struct session *s)
{
	if (!s->rec.nevals)
		return;
	size_t kept = s->best ? run_best(s->rec.evals, s->rec.nevals) : s->rec.nevals - 1;
	s->rec.kept_epoch = s->rec.evals[kept].epoch;
	if (kept == s->rec.nevals - 1)
		return;
	memcpy(s->f.ps.mem, s->best, s->f.ps.size * sizeof *s->best);
	evaluate_set(&s->f, &s->dev, s->pred);
	if (!quiet)
		warn("%s: kept epoch %d, the best dev %s", s->o->run_dir, s->rec.kept_epoch,
		     s->rec.evals[kept].e.m[s->rec.evals[kept].e.primary].name);
}

/* The costs so far into the record: those before a resume and this process's. */
static void count_costs(struct session *s)
{
	double gs, gf, train = s->before[1] + s->train_seconds;
	gemm_totals(&gs, &gf);
	s->rec.seconds = s->before[0] + now_seconds() - s->started;
	s->rec.train_seconds = train;
	s->rec.tokens_per_second = (double)s->progress.trained_tokens / (train > 0 ? train : 1e-9);
	s->rec.gemm_seconds = s->before[2] + gs;
	s->rec.gemm_gflop = s->before[3] + gf / 1e9;
	struct machine m;
	struct run_machine *rm = &s->rec.machine;
	machine_get(&m);
	snprintf(rm->cpu, sizeof rm->cpu, "%s", m.cpu);
	snprintf(rm->cpu_family, sizeof rm->cpu_family, "%s", m.cpu_family);
	snprintf(rm->blis, sizeof rm->blis, "%s", m.blis);
	snprintf(rm->gemm, sizeof rm->gemm, "%s", m.gemm);
	snprintf(rm->simd, sizeof rm->simd, "%s", m.simd);
}

static void train_loop(struct session *s)
{
	const struct options *o = s->o;
	s->loop_from = s->progress.step;
	s->loop_tokens = s->progress.trained_tokens;
	for (long step = s->progress.step; step < s->total; step++) {
		long at = step % s->per_epoch, epoch = step / s->per_epoch + 1;
		if (at == 0 && o->shuffle)
			rng_shuffle(&s->shuffle, s->order, (uint32_t)s->tr.n);
		double t = now_seconds();
		s->progress.window += step_once(s, step, at);
		s->progress.in_window++;
		s->train_seconds += now_seconds() - t;
		if ((step + 1) % o->log_every == 0 || step + 1 == s->total)
			log_loss(s, step, epoch);
		if (o->dev && (at == s->per_epoch - 1 || step + 1 == s->total))
			evaluate_epoch(s, step, epoch);
		s->progress.step = step + 1;
		if (step + 1 < s->total && ckpt_due(&s->ck, step + 1, at == s->per_epoch - 1)) {
			count_costs(s);
			if (ckpt_save(&s->ck) < 0)
				die_lib();
		}
	}
	count_costs(s);
}

/* The run folder: weights, dev predictions, and run.yaml last; then renamed into place; then
 * the checkpoint goes. */
static void finish(struct session *s)
{
	choose_kept(s);
	char *weights = folder_file(&s->rd, "model.safetensors");
	if (!weights)
		die_lib();
	if (params_write(&s->f.ps, s->f.c.type, weights, DT_F32) < 0)
		die_lib();
	if (s->o->dev) {
		char *path = folder_file(&s->rd, "predictions.tsv");
		if (!path)
			die_lib();
		write_predictions(&s->dev, s->task, s->pred, path);
	}
	s->rec.peak_mb = peak_memory_mb();
	char *yaml = folder_file(&s->rd, "run.yaml");
	if (!yaml || run_write(yaml, &s->rec) < 0)
		die_lib();
	int rc = folder_commit(&s->rd);
	if (rc < 0)
		die_lib();
	if (rc > 0)
		warn("%s", err_msg());
	if (!s->o->dev)
		warn("note: no --dev: %s has no dev metrics and no predictions.tsv (elsa-evaluate and elsa-report need "
		     "them; elsa-train --predict makes predictions)", s->o->run_dir);
	if (ckpt_remove(&s->ck) < 0)
		warn("%s", err_msg());
}

static void session_free(struct session *s)
{
	run_free(&s->rec);
	free(s->order);
	free(s->labels);
	free(s->pred);
	free(s->best);
	ckpt_free(&s->ck);
	adamw_free(&s->opt);
	finetune_free(&s->f);
	dataset_free(&s->tr);
	dataset_free(&s->dev);
	model_close(&s->m);
}

static int train(const struct options *o)
{
	struct session s = { .started = now_seconds() };
	setup(&s, o);
	resume(&s);
	train_loop(&s);
	finish(&s);
	session_free(&s);
	return cli_exit();
}

int main(int argc, char **argv)
{
	enum { LR = 256, EPOCHS, BATCH, WARMUP, DECAY, DROPOUT, SEED, MAX_STEPS, NO_SHUFFLE, LOG_EVERY, FORCE, TRAIN, DEV, PREDICT, TRAIN_EMB,
	       CHECKPOINT_EVERY, NO_RESUME, KEEP, COMPUTE };
	static const struct option opts[] = {
		{ "model", 1, 0, 'm' },	      { "task", 1, 0, 't' },	       { "train", 1, 0, TRAIN },
		{ "dev", 1, 0, DEV },	      { "output", 1, 0, 'o' },	       { "lr", 1, 0, LR },
		{ "epochs", 1, 0, EPOCHS },   { "batch", 1, 0, BATCH },	       { "warmup", 1, 0, WARMUP },
		{ "weight-decay", 1, 0, DECAY }, { "dropout", 1, 0, DROPOUT }, { "seed", 1, 0, SEED },
		{ "max-steps", 1, 0, MAX_STEPS }, { "no-shuffle", 0, 0, NO_SHUFFLE }, { "log-every", 1, 0, LOG_EVERY },
		{ "force", 0, 0, FORCE },     { "train-embeddings", 0, 0, TRAIN_EMB },     { "threads", 1, 0, 'j' },	       { "predict", 1, 0, PREDICT },
		{ "checkpoint-every", 1, 0, CHECKPOINT_EVERY }, { "no-resume", 0, 0, NO_RESUME },
		{ "keep", 1, 0, KEEP },	      { "quiet", 0, 0, 'q' },	       { "compute", 1, 0, COMPUTE },
		{ "help", 0, 0, 'h' },	      { "version", 0, 0, 'V' },	       { 0 },
	};
	struct options o = { .lr = 2e-5, .weight_decay = 0.01, .dropout = 0.1, .epochs = 3, .batch = 16, .shuffle = 1,
			     .log_every = 50, .seed = 42, .resume = 1, .checkpoint_every = CKPT_BY_TIME };
	int c;
	cli_init("elsa-train");
	for (int i = 1; i < argc; i++) /* --predict is a mode of its own, with its own options */
		if (!strcmp(argv[i], "--predict") || !strncmp(argv[i], "--predict=", 10))
			return main_predict(argc, argv);
	while ((c = getopt_long(argc, argv, "m:t:o:j:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model_dir = optarg; break;
		case 't': o.task = optarg; break;
		case 'o': o.run_dir = optarg; break;
		case 'j': o.threads = optarg; break;
		case 'q': quiet = 1; break;
		case TRAIN: o.train = optarg; break;
		case DEV: o.dev = optarg; break;
		case LR: o.lr = cli_double("--lr", optarg, 1e-12, 10); break;
		case EPOCHS: o.epochs = (int)cli_long("--epochs", optarg, 1, 100000); break;
		case BATCH: o.batch = (int)cli_long("--batch", optarg, 1, 1 << 16); break;
		case WARMUP: o.warmup = cli_double("--warmup", optarg, 0, 1); break;
		case DECAY: o.weight_decay = cli_double("--weight-decay", optarg, 0, 10); break;
		case DROPOUT: o.dropout = cli_double("--dropout", optarg, 0, 0.99); break;
		case SEED: o.seed = (uint64_t)cli_long("--seed", optarg, 0, (long)1 << 62); break;
		case MAX_STEPS: o.max_steps = cli_long("--max-steps", optarg, 0, (long)1 << 40); break;
		case NO_SHUFFLE: o.shuffle = 0; break;
		case LOG_EVERY: o.log_every = (int)cli_long("--log-every", optarg, 1, 1 << 30); break;
		case FORCE: o.force = 1; break;
		case TRAIN_EMB: o.train_embeddings = 1; break;
		case CHECKPOINT_EVERY: o.checkpoint_every = cli_long("--checkpoint-every", optarg, 0, (long)1 << 40); break;
		case NO_RESUME: o.resume = 0; break;
		case COMPUTE: o.compute = optarg; break;
		case KEEP:
			if ((o.keep_best = run_keep_parse(optarg)) < 0)
				die("--keep '%s': best or last", optarg);
			break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (!o.model_dir || !o.task || !o.train || !o.run_dir)
		die("-m MODEL_DIR, -t TASK, --train FILE and -o RUN_DIR are required (see --help)");
	if (optind < argc)
		die("unexpected argument '%s' (streams go with --train and --dev)", argv[optind]);
	cli_compute(o.threads, o.compute);
	return train(&o);
}
