/* elsa-train: fine-tunes the top layers N..L-1 and the task head on cached states of layer N;
 * with --predict, predicts a stream with a trained run. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "err.h"
#include "finetune.h"
#include "gemm.h"
#include "io.h"
#include "metrics.h"
#include "optim.h"
#include "predictions.h"
#include "rng.h"
#include "runrec.h"
#include "safetensors.h"
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
	"      --no-shuffle       batches in input order\n"
	"      --log-every K      mean training loss every K steps, on stderr and in run.yaml (50)\n"
	"      --train-embeddings also train the embeddings (a full fine-tune; streams of layer 0)\n"
	"      --force            replace an existing RUN_DIR\n"
	"  -j, --threads N        threads (default: ELSA_THREADS, else every core)\n"
	"      --predict RUN_DIR  predict STREAM with a trained run; predictions on stdout (or -o)\n"
	"      --help, --version\n";

struct options {
	const char *model_dir, *task, *train, *dev, *run_dir, *threads;
	double lr, warmup, weight_decay, dropout;
	int epochs, batch, shuffle, log_every, force, train_embeddings;
	long max_steps;
	uint64_t seed;
};

static int same_labels(const struct task *a, const char *b)
{
	const struct task *t = task_find(b);
	return t && t->nlabels == a->nlabels && (t->nlabels == 0 || !strcmp(t->labels[0], a->labels[0])) &&
	       (t == a || t->nlabels == 3);
}

void check_stream(const struct stream_header *h, const char *name, const struct model *m, const struct task *t)
{
	if (stream_check(h, name, m->fingerprint, (uint32_t)m->cfg.hidden) < 0)
		die_lib();
	if (h->layer > (uint32_t)m->cfg.layers)
		die("%s: layer %u, the model has %d layers", name, h->layer, m->cfg.layers);
	if (h->task[0] && !same_labels(t, h->task))
		die("%s: tokenized for task %s, not %s", name, h->task, t->name);
}

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

/* Puts examples idx[0..n) of d into f's batch and their labels into labels. */
static void load_batch(struct finetune *f, const struct dataset *d, const uint32_t *idx, size_t n, double *labels)
{
	uint32_t *len = calloc(n ? n : 1, sizeof *len);
	if (!len)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		len[i] = d->len[idx[i]];
	if (finetune_batch(f, n, len) < 0)
		die_lib();
	free(len);
	for (size_t i = 0; i < n; i++) {
		size_t at = f->b.start[i];
		if (f->emb) { /* a full fine-tune computes its own embeddings from the tokens */
			memcpy(f->tokens + at, dataset_tokens(d, idx[i]), d->len[idx[i]] * sizeof *f->tokens);
			memcpy(f->types + at, dataset_types(d, idx[i]), d->len[idx[i]] * sizeof *f->types);
		} else {
			dataset_states(d, idx[i], f->x + at * (size_t)f->c.hidden);
		}
		labels[i] = d->label[idx[i]];
	}
}

/* Evaluates f on all of d (dropout off): the mean loss, each example's prediction in pred. */
static double evaluate_set(struct finetune *f, const struct dataset *d, double *pred)
{
	enum { MAX_EXAMPLES = 256, MAX_TOKENS = 4096 };
	uint32_t idx[MAX_EXAMPLES];
	double labels[MAX_EXAMPLES], loss = 0;
	for (size_t i = 0; i < d->n;) {
		size_t n = 0, T = 0;
		while (i + n < d->n && n < MAX_EXAMPLES && (n == 0 || T + d->len[i + n] <= MAX_TOKENS)) {
			idx[n] = (uint32_t)(i + n);
			T += d->len[i + n++];
		}
		load_batch(f, d, idx, n, labels);
		finetune_forward(f, 0, 0);
		loss += head_loss(&f->head, labels, n, f->outputs, f->regression) * (double)n;
		head_predict(f->head.logits, n, f->outputs, f->regression, pred + i);
		i += n;
	}
	return loss / (double)d->n;
}

static char *join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);
	if (!p)
		die("out of memory");
	snprintf(p, n, "%s/%s", dir, file);
	return p;
}

/* The run folder is built as RUN_DIR.tmp.XXXXXX beside RUN_DIR and renamed into place at the
 * end, so an interrupted run leaves no RUN_DIR (and no run.yaml). */
struct rundir {
	char *tmp, *files[3];
	int nfiles;
};

static void rundir_create(struct rundir *rd, const struct options *o)
{
	struct stat sb;
	if (!o->force && stat(o->run_dir, &sb) == 0)
		die("%s: exists (use --force to replace it)", o->run_dir);
	size_t n = strlen(o->run_dir) + 16;
	rd->tmp = malloc(n);
	if (!rd->tmp)
		die("out of memory");
	snprintf(rd->tmp, n, "%s.tmp.XXXXXX", o->run_dir);
	if (!mkdtemp(rd->tmp))
		die("%s: cannot create a folder beside it: %s", o->run_dir, strerror(errno));
	mode_t mask = umask(0); /* mkdtemp makes 0700; a run folder is an ordinary folder */
	umask(mask);
	chmod(rd->tmp, 0777 & ~mask);
	if (temp_track(rd->tmp) < 0)
		die_lib();
}

/* A file of the run, once written: removed with the folder if the run is interrupted. */
static void rundir_keep(struct rundir *rd, char *path)
{
	if (temp_track(path) < 0)
		die_lib();
	rd->files[rd->nfiles++] = path;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rundir_commit(struct rundir *rd, const char *run_dir)
{
	struct stat sb;
	char old[4096] = "";
	if (stat(run_dir, &sb) == 0) { /* --force: move the old run aside, then remove it */
		snprintf(old, sizeof old, "%s.old", rd->tmp);
		if (rename(run_dir, old) < 0)
			die("%s: cannot replace it: %s", run_dir, strerror(errno));
	}
	if (rename(rd->tmp, run_dir) < 0)
		die("%s: %s", run_dir, strerror(errno));
	for (int i = 0; i < rd->nfiles; i++) {
		temp_forget(rd->files[i]);
		free(rd->files[i]);
	}
	temp_forget(rd->tmp);
	free(rd->tmp);
	if (*old && nftw(old, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		warn("%s: could not remove the replaced run: %s", old, strerror(errno));
}

static void write_weights(const struct finetune *f, const char *path)
{
	struct st_entry *e = calloc(f->ps.n, sizeof *e);
	char (*names)[160] = calloc(f->ps.n, sizeof *names);
	if (!e || !names)
		die("out of memory");
	for (size_t i = 0; i < f->ps.n; i++) {
		const struct param *p = &f->ps.p[i];
		param_full_name(p, f->c.type, names[i], sizeof names[i]);
		e[i] = (struct st_entry){ names[i], f->ps.mem + p->offset, p->cols ? 2 : 1, { p->rows, p->cols } };
	}
	if (st_write(path, e, f->ps.n, DT_F32) < 0)
		die_lib();
	free(e);
	free(names);
}

static void write_predictions(const struct dataset *d, const struct task *t, const double *pred, const char *path)
{
	struct out *out = out_open(path, 0, 0);
	int rc = out ? predictions_write_header(out) : E_IO;
	for (size_t i = 0; i < d->n && rc == 0; i++)
		rc = predictions_write(out, t, dataset_id(d, i), pred[i]);
	if (rc < 0 || out_commit(out) < 0)
		die_lib();
}

static double peak_mb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : NAN;
}

/* Appends to a growing array of n items of size sz. */
static void *push(void *arr, size_t *n, size_t sz)
{
	char *p = realloc(arr, (*n + 1) * sz);
	if (!p)
		die("out of memory");
	memset(p + *n * sz, 0, sz);
	(*n)++;
	return p;
}

static int train(const struct options *o)
{
	double t0 = now_seconds();
	const struct task *task = cli_task(o->task);
	struct model m;
	struct dataset tr, dev = { 0 };
	struct rundir rd = { 0 };
	if (!strcmp(o->task, "ax"))
		die("-t %s: not a task elsa trains (see --help)", o->task);
	if (model_open(&m, o->model_dir) < 0)
		die_lib();
	rundir_create(&rd, o);
	if (dataset_load(&tr, o->train, rd.tmp) < 0)
		die_lib();
	check_stream(&tr.h, tr.name, &m, task);
	check_labels(&tr, task);
	if (o->dev) {
		if (dataset_load(&dev, o->dev, rd.tmp) < 0)
			die_lib();
		check_stream(&dev.h, dev.name, &m, task);
		if (dev.h.layer != tr.h.layer)
			die("%s: layer %u, but %s holds layer %u", dev.name, dev.h.layer, tr.name, tr.h.layer);
		check_labels(&dev, task);
	}

	struct finetune f;
	struct adamw opt;
	int new_head, N = (int)tr.h.layer;
	size_t C = (size_t)task_outputs(task);
	if (o->train_embeddings && N != 0)
		die("--train-embeddings: %s holds layer %d; a full fine-tune reads layer 0 (elsa-embed's output)", tr.name, N);
	if (finetune_init(&f, &m, N, o->train_embeddings, C, task->nlabels == 0, (float)o->dropout, o->seed, &new_head) < 0 ||
	    adamw_init(&opt, &f.ps, (float)o->lr, (float)o->weight_decay) < 0)
		die_lib();

	long per_epoch = (long)((tr.n + (size_t)o->batch - 1) / (size_t)o->batch);
	long total = o->max_steps > 0 ? o->max_steps : per_epoch * o->epochs;
	long warmup = (long)ceil(o->warmup * (double)total);
	struct run_record rec = { .layers = m.cfg.layers, .frozen = N, .train_embeddings = o->train_embeddings, .outputs = (int)C, .new_head = new_head,
				  .model = m.fingerprint, .model_dir = (char *)o->model_dir, .train = (char *)o->train,
				  .dev = (char *)(o->dev ? o->dev : ""), .train_examples = tr.n, .train_tokens = tr.ntokens,
				  .dev_examples = dev.n, .lr = o->lr, .warmup = o->warmup, .weight_decay = o->weight_decay,
				  .dropout = o->dropout, .max_grad_norm = 1.0, .epochs = o->epochs, .batch = o->batch,
				  .shuffle = o->shuffle, .threads = threads_get(), .max_steps = o->max_steps,
				  .steps = total, .warmup_steps = warmup, .seed = o->seed };
	snprintf(rec.task, sizeof rec.task, "%s", task->name);
	snprintf(rec.model_type, sizeof rec.model_type, "%s", model_type_name(m.cfg.type));

	uint32_t *order = malloc(tr.n * sizeof *order);
	double *labels = malloc((size_t)o->batch * sizeof *labels), *pred = malloc((dev.n + 1) * sizeof *pred);
	if (!order || !labels || !pred)
		die("out of memory");
	for (size_t i = 0; i < tr.n; i++)
		order[i] = (uint32_t)i;
	struct rng shuffle;
	rng_seed(&shuffle, o->seed);
	double window = 0, train_time = 0;
	size_t trained_tokens = 0;
	long in_window = 0;
	for (long step = 0; step < total; step++) {
		long at = step % per_epoch, epoch = step / per_epoch + 1;
		if (at == 0 && o->shuffle)
			rng_shuffle(&shuffle, order, (uint32_t)tr.n);
		size_t first = (size_t)at * (size_t)o->batch, n = tr.n - first < (size_t)o->batch ? tr.n - first : (size_t)o->batch;
		double ts = now_seconds();
		load_batch(&f, &tr, order + first, n, labels);
		finetune_forward(&f, 1, step);
		double loss = finetune_backward(&f, labels, 1, step);
		double norm = clip_grad_norm(f.grad, f.ps.size, 1.0);
		if (!isfinite(loss) || !isfinite(norm))
			die("step %ld: the %s is %g (lr %g): stopped, nothing written", step + 1, isfinite(loss) ? "gradient norm" : "loss",
			    isfinite(loss) ? norm : loss, (double)schedule_lr((float)o->lr, step, warmup, total));
		float lr = schedule_lr((float)o->lr, step, warmup, total);
		adamw_step(&opt, &f.ps, f.grad, lr);
		train_time += now_seconds() - ts;
		trained_tokens += f.b.T;
		window += loss;
		in_window++;
		if ((step + 1) % o->log_every == 0 || step + 1 == total) {
			rec.loss = push(rec.loss, &rec.nloss, sizeof *rec.loss);
			rec.loss[rec.nloss - 1] = (struct run_loss){ step + 1, window / (double)in_window, lr };
			fprintf(stderr, "%s: step %ld/%ld epoch %ld loss %.6f lr %.3g\n", prog, step + 1, total, epoch,
				window / (double)in_window, (double)lr);
			window = 0;
			in_window = 0;
		}
		if (o->dev && (at == per_epoch - 1 || step + 1 == total)) {
			rec.evals = push(rec.evals, &rec.nevals, sizeof *rec.evals);
			struct run_eval *ev = &rec.evals[rec.nevals - 1];
			ev->epoch = (int)epoch;
			ev->step = step + 1;
			ev->loss = evaluate_set(&f, &dev, pred);
			if (metrics_evaluate(task, dev.label, pred, dev.n, &ev->e) < 0)
				die_lib();
			fprintf(stderr, "%s: epoch %ld dev loss %.6f %s %.6f\n", prog, epoch, ev->loss,
				ev->e.m[ev->e.primary].name, ev->e.m[ev->e.primary].value);
		}
	}
	rec.train_seconds = train_time;
	double gs, gf;
	gemm_totals(&gs, &gf);
	rec.gemm_seconds = gs;
	rec.gemm_gflop = gf / 1e9;
	rec.tokens_per_second = (double)trained_tokens / (train_time > 0 ? train_time : 1e-9);

	char *weights = join(rd.tmp, "model.safetensors");
	write_weights(&f, weights);
	rundir_keep(&rd, weights);
	if (o->dev) {
		char *path = join(rd.tmp, "predictions.tsv");
		write_predictions(&dev, task, pred, path);
		rundir_keep(&rd, path);
	}
	rec.seconds = now_seconds() - t0;
	rec.peak_mb = peak_mb();
	char *yaml = join(rd.tmp, "run.yaml");
	if (run_write(yaml, &rec) < 0)
		die_lib();
	rundir_keep(&rd, yaml);
	rundir_commit(&rd, o->run_dir);

	free(rec.loss);
	free(rec.evals);
	free(order);
	free(labels);
	free(pred);
	adamw_free(&opt);
	finetune_free(&f);
	dataset_free(&tr);
	dataset_free(&dev);
	model_close(&m);
	return cli_exit();
}

int main(int argc, char **argv)
{
	enum { LR = 256, EPOCHS, BATCH, WARMUP, DECAY, DROPOUT, SEED, MAX_STEPS, NO_SHUFFLE, LOG_EVERY, FORCE, TRAIN, DEV, PREDICT, TRAIN_EMB };
	static const struct option opts[] = {
		{ "model", 1, 0, 'm' },	      { "task", 1, 0, 't' },	       { "train", 1, 0, TRAIN },
		{ "dev", 1, 0, DEV },	      { "output", 1, 0, 'o' },	       { "lr", 1, 0, LR },
		{ "epochs", 1, 0, EPOCHS },   { "batch", 1, 0, BATCH },	       { "warmup", 1, 0, WARMUP },
		{ "weight-decay", 1, 0, DECAY }, { "dropout", 1, 0, DROPOUT }, { "seed", 1, 0, SEED },
		{ "max-steps", 1, 0, MAX_STEPS }, { "no-shuffle", 0, 0, NO_SHUFFLE }, { "log-every", 1, 0, LOG_EVERY },
		{ "force", 0, 0, FORCE },     { "train-embeddings", 0, 0, TRAIN_EMB },     { "threads", 1, 0, 'j' },	       { "predict", 1, 0, PREDICT },
		{ "help", 0, 0, 'h' },	      { "version", 0, 0, 'v' },	       { 0 },
	};
	struct options o = { .lr = 2e-5, .weight_decay = 0.01, .dropout = 0.1, .epochs = 3, .batch = 16, .shuffle = 1,
			     .log_every = 50, .seed = 42 };
	int c;
	cli_init("elsa-train");
	for (int i = 1; i < argc; i++) /* --predict is a mode of its own, with its own options */
		if (!strcmp(argv[i], "--predict") || !strncmp(argv[i], "--predict=", 10))
			return main_predict(argc, argv);
	while ((c = getopt_long(argc, argv, "m:t:o:j:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model_dir = optarg; break;
		case 't': o.task = optarg; break;
		case 'o': o.run_dir = optarg; break;
		case 'j': o.threads = optarg; break;
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
		case 'h': cli_help(usage);
		case 'v': cli_version();
		default: cli_usage_error();
		}
	}
	if (!o.model_dir || !o.task || !o.train || !o.run_dir)
		die("-m MODEL_DIR, -t TASK, --train FILE and -o RUN_DIR are required (see --help)");
	if (optind < argc)
		die("unexpected argument '%s' (streams go with --train and --dev)", argv[optind]);
	cli_threads(o.threads);
	return train(&o);
}
