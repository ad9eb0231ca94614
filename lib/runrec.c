#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gemm.h"
#include "glue.h"
#include "io.h"
#include "json.h"
#include "record.h"
#include "runrec.h"



static int put_key_str(struct out *o, const char *indent, const char *key, const char *v)
{
	int rc = out_printf(o, "%s%s: ", indent, key);
	rc = rc ? rc : out_yaml_string(o, v);
	return rc ? rc : out_write(o, "\n", 1);
}

static int put_key_num(struct out *o, const char *indent, const char *key, double v)
{
	char b[32];
	yaml_number(v, b);
	return out_printf(o, "%s%s: %s\n", indent, key, b);
}

static int put_eval(struct out *o, const struct run_eval *ev)
{
	char b[32];
	int rc = out_printf(o, "  - epoch: %d\n    step: %ld\n", ev->epoch, ev->step);
	rc = rc ? rc : put_key_num(o, "    ", "loss", ev->loss);
	for (int i = 0; i < ev->e.count && rc == 0; i++)
		rc = put_key_num(o, "    ", ev->e.m[i].name, ev->e.m[i].value);
	yaml_number(ev->e.m[ev->e.primary].value, b);
	return rc ? rc : out_printf(o, "    primary: %s\n    score: %s\n", ev->e.m[ev->e.primary].name, b);
}

int run_keep_parse(const char *name)
{
	return !name ? -1 : !strcmp(name, "best") ? 1 : !strcmp(name, "last") ? 0 : -1;
}

const char *run_keep_name(int keep_best)
{
	return keep_best ? "best" : "last";
}

int run_write(const char *path, const struct run_record *r)
{
	struct out *o = out_open(path, 0, 0);
	char fp[20];
	int rc;
	if (!o)
		return E_IO;
	snprintf(fp, sizeof fp, "%016" PRIx64, r->model);
	rc = out_printf(o, "# elsa-train run record (elsa-run(5))\nelsa: %s\n", ELSA_VERSION);
	rc = rc ? rc : put_key_str(o, "", "task", r->task);
	rc = rc ? rc : out_printf(o, "model:\n");
	rc = rc ? rc : put_key_str(o, "  ", "dir", r->model_dir);
	rc = rc ? rc : put_key_str(o, "  ", "fingerprint", fp);
	rc = rc ? rc : put_key_str(o, "  ", "type", r->model_type);
	rc = rc ? rc : out_printf(o, "  layers: %d\nfrozen_layers: %d\ntrained_layers: %d\ntrain_embeddings: %s\n",
				  r->layers, r->frozen, r->layers - r->frozen, r->train_embeddings ? "true" : "false");
	rc = rc ? rc : out_printf(o, "head:\n  outputs: %d\n  new_tensors: %d\n", r->outputs, r->new_head);
	rc = rc ? rc : out_printf(o, "data:\n");
	rc = rc ? rc : put_key_str(o, "  ", "train", r->train);
	rc = rc ? rc : out_printf(o, "  train_examples: %zu\n  train_tokens: %zu\n", r->train_examples, r->train_tokens);
	rc = rc ? rc : put_key_str(o, "  ", "dev", r->dev);
	rc = rc ? rc : out_printf(o, "  dev_examples: %zu\n", r->dev_examples);
	rc = rc ? rc : out_printf(o, "  cache_compute: %s\n", gemm_compute_name(r->cache_compute));
	rc = rc ? rc : out_printf(o, "hyperparameters:\n");
	rc = rc ? rc : put_key_num(o, "  ", "lr", r->lr);
	rc = rc ? rc : out_printf(o, "  epochs: %d\n  batch: %d\n", r->epochs, r->batch);
	rc = rc ? rc : put_key_num(o, "  ", "warmup", r->warmup);
	rc = rc ? rc : out_printf(o, "  warmup_steps: %ld\n", r->warmup_steps);
	rc = rc ? rc : put_key_num(o, "  ", "weight_decay", r->weight_decay);
	rc = rc ? rc : put_key_num(o, "  ", "dropout", r->dropout);
	rc = rc ? rc : put_key_num(o, "  ", "max_grad_norm", r->max_grad_norm);
	rc = rc ? rc : out_printf(o, "  optimizer: adamw\n  betas: [0.9, 0.999]\n  eps: 1.0e-08\n");
	rc = rc ? rc : out_printf(o, "  seed: %" PRIu64 "\n  max_steps: %ld\n  shuffle: %s\n  threads: %d\n", r->seed,
				  r->max_steps, r->shuffle ? "true" : "false", r->threads);
	rc = rc ? rc : out_printf(o, "  keep: %s\n", run_keep_name(r->keep_best));
	rc = rc ? rc : out_printf(o, "  compute: %s\n", gemm_compute_name(r->compute));
	rc = rc ? rc : out_printf(o, "steps: %ld\ntrain_loss:\n", r->steps);
	for (size_t i = 0; i < r->nloss && rc == 0; i++) {
		char l[32], lr[32];
		yaml_number(r->loss[i].loss, l);
		yaml_number(r->loss[i].lr, lr);
		rc = out_printf(o, "  - {step: %ld, loss: %s, lr: %s}\n", r->loss[i].step, l, lr);
	}
	rc = rc ? rc : out_printf(o, "dev:%s\n", r->nevals ? "" : " []");
	for (size_t i = 0; i < r->nevals && rc == 0; i++)
		rc = put_eval(o, &r->evals[i]);
	rc = rc ? rc : out_printf(o, "kept_epoch: %d\n", r->kept_epoch);
	rc = rc ? rc : out_printf(o, "cost:\n");
	rc = rc ? rc : put_key_num(o, "  ", "seconds", r->seconds);
	rc = rc ? rc : put_key_num(o, "  ", "train_seconds", r->train_seconds);
	rc = rc ? rc : put_key_num(o, "  ", "tokens_per_second", r->tokens_per_second);
	rc = rc ? rc : put_key_num(o, "  ", "peak_memory_mb", r->peak_mb);
	rc = rc ? rc : put_key_num(o, "  ", "gemm_seconds", r->gemm_seconds);
	rc = rc ? rc : put_key_num(o, "  ", "gemm_gflop", r->gemm_gflop);
	rc = rc ? rc : put_key_str(o, "  ", "cpu", r->machine.cpu);
	rc = rc ? rc : put_key_str(o, "  ", "cpu_family", r->machine.cpu_family);
	rc = rc ? rc : put_key_str(o, "  ", "blis", r->machine.blis);
	rc = rc ? rc : put_key_str(o, "  ", "gemm", r->machine.gemm);
	rc = rc ? rc : put_key_str(o, "  ", "simd", r->machine.simd);
	if (rc < 0) {
		out_abort(o);
		return rc;
	}
	return out_commit(o);
}

/* Reading */

/* The static name of a metric elsa-evaluate computes, or NULL. */
static const char *metric_name(const char *key)
{
	static const char *const names[] = { "acc", "f1", "acc_and_f1", "mcc", "pearson", "spearmanr", "corr" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(names[i], key))
			return names[i];
	return NULL;
}

struct reader {
	const struct json *j;
	const char *path;
	int rc;
};

static int node(struct reader *rd, int parent, const char *key)
{
	int n = json_get(rd->j, parent, key);
	if (!n && rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: no %s", rd->path, key);
	return n;
}

static double get_num(struct reader *rd, int parent, const char *key)
{
	double v = NAN;
	int n = node(rd, parent, key);
	if (n && json_type(rd->j, n) != J_NULL && json_number(rd->j, n, &v) < 0 && rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: %s is not a number", rd->path, key);
	return v;
}

static long get_long(struct reader *rd, int parent, const char *key)
{
	long long v = 0;
	int n = node(rd, parent, key);
	if (n && json_int(rd->j, n, -1, INT64_MAX, &v) < 0 && rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: %s is not a whole number", rd->path, key);
	return (long)v;
}

static char *get_str(struct reader *rd, int parent, const char *key)
{
	const char *s = json_str(rd->j, node(rd, parent, key), NULL);
	char *copy = strdup(s ? s : "");
	if (!copy && rd->rc == 0)
		rd->rc = err_set(E_NOMEM, "out of memory");
	return copy;
}

static void get_fixed(struct reader *rd, int parent, const char *key, char *dst, size_t n)
{
	const char *s = json_str(rd->j, node(rd, parent, key), NULL);
	if (s && strlen(s) < n)
		strcpy(dst, s);
	else if (rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: %s is missing or too long", rd->path, key);
}

/* An optional string of a record: left "" when absent (records written before it). */
static void get_optional(struct reader *rd, int parent, const char *key, char *dst, size_t n)
{
	if (json_get(rd->j, parent, key))
		get_fixed(rd, parent, key, dst, n);
}

/* A compute type of a record, f32 when absent (records written before bf16 products). */
static int read_compute(struct reader *rd, int parent, const char *key)
{
	char name[8] = "f32";
	get_optional(rd, parent, key, name, sizeof name);
	int bf16 = gemm_compute_parse(name);
	if (bf16 < 0 && rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: %s: '%s' is not f32 or bf16", rd->path, key, name);
	return bf16 > 0;
}

static void read_evals(struct reader *rd, struct run_record *r, int list, const struct task *task)
{
	size_t n = json_len(rd->j, list);
	if (!n)
		return;
	if (!(r->evals = calloc(n, sizeof *r->evals))) {
		rd->rc = err_set(E_NOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n && rd->rc == 0; i++) {
		int ev = json_at(rd->j, list, i, NULL);
		struct run_eval *e = &r->evals[r->nevals++];
		e->epoch = (int)get_long(rd, ev, "epoch");
		e->step = get_long(rd, ev, "step");
		e->loss = get_num(rd, ev, "loss");
		e->e.task = task;
		e->e.examples = r->dev_examples;
		/* The metrics are every key but the bookkeeping ones, in order. */
		const char *primary = json_str(rd->j, node(rd, ev, "primary"), NULL);
		for (size_t k = 0; k < json_len(rd->j, ev) && rd->rc == 0; k++) {
			const char *key;
			int v = json_at(rd->j, ev, k, &key);
			if (!strcmp(key, "epoch") || !strcmp(key, "step") || !strcmp(key, "loss") || !strcmp(key, "primary") ||
			    !strcmp(key, "score") || e->e.count == METRICS_MAX)
				continue;
			struct metric *m = &e->e.m[e->e.count];
			m->lo = m->hi = m->value = NAN;
			m->name = metric_name(key);
			if (!m->name)
				continue;
			if (json_type(rd->j, v) != J_NULL)
				json_number(rd->j, v, &m->value);
			if (primary && !strcmp(primary, key))
				e->e.primary = e->e.count;
			e->e.count++;
		}
		if (!e->e.count && rd->rc == 0)
			rd->rc = err_set(E_FORMAT, "%s: dev entry %zu has no metrics", rd->path, i + 1);
	}
}

/* keep: best or last; a record older than --keep has none, and kept the last epoch. */
static void read_keep(struct reader *rd, struct run_record *r, int hp)
{
	int n = json_get(rd->j, hp, "keep");
	int keep = run_keep_parse(n ? json_str(rd->j, n, NULL) : "last");
	if (keep < 0 && rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: keep is not best or last", rd->path);
	r->keep_best = keep == 1;
}

/* kept_epoch: one of the dev entries' epochs (absent: the last one's). */
static void read_kept(struct reader *rd, struct run_record *r, int root)
{
	long long v = r->nevals ? r->evals[r->nevals - 1].epoch : 0;
	int n = json_get(rd->j, root, "kept_epoch");
	if (n && json_int(rd->j, n, 0, INT32_MAX, &v) < 0 && rd->rc == 0)
		rd->rc = err_set(E_FORMAT, "%s: kept_epoch is not a whole number", rd->path);
	r->kept_epoch = (int)v;
	if (rd->rc == 0 && r->nevals && !run_final(r))
		rd->rc = err_set(E_FORMAT, "%s: kept_epoch %d is none of the dev entries' epochs", rd->path, r->kept_epoch);
	if (rd->rc == 0 && !r->nevals && v)
		rd->rc = err_set(E_FORMAT, "%s: kept_epoch %d, but no dev entries", rd->path, r->kept_epoch);
}

int run_read(const char *path, struct run_record *r)
{
	struct json *j = json_load(path);
	memset(r, 0, sizeof *r);
	if (!j)
		return err_code();
	struct reader rd = { j, path, 0 };
	int root = json_root(j), model = node(&rd, root, "model"), head = node(&rd, root, "head");
	int data = node(&rd, root, "data"), hp = node(&rd, root, "hyperparameters"), cost = node(&rd, root, "cost");
	get_fixed(&rd, root, "task", r->task, sizeof r->task);
	const struct task *task = rd.rc ? NULL : task_find(r->task);
	if (!task && rd.rc == 0)
		rd.rc = err_set(E_FORMAT, "%s: unknown task %s", path, r->task);
	r->model_dir = get_str(&rd, model, "dir");
	char fp[32] = "";
	get_fixed(&rd, model, "fingerprint", fp, sizeof fp);
	r->model = strtoull(fp, NULL, 16);
	get_fixed(&rd, model, "type", r->model_type, sizeof r->model_type);
	r->layers = (int)get_long(&rd, model, "layers");
	r->frozen = (int)get_long(&rd, root, "frozen_layers");
	r->train_embeddings = json_bool(j, node(&rd, root, "train_embeddings")) == 1;
	r->outputs = (int)get_long(&rd, head, "outputs");
	r->new_head = (int)get_long(&rd, head, "new_tensors");
	r->train = get_str(&rd, data, "train");
	r->dev = get_str(&rd, data, "dev");
	r->train_examples = (size_t)get_long(&rd, data, "train_examples");
	r->train_tokens = (size_t)get_long(&rd, data, "train_tokens");
	r->dev_examples = (size_t)get_long(&rd, data, "dev_examples");
	r->lr = get_num(&rd, hp, "lr");
	r->epochs = (int)get_long(&rd, hp, "epochs");
	r->batch = (int)get_long(&rd, hp, "batch");
	r->warmup = get_num(&rd, hp, "warmup");
	r->warmup_steps = get_long(&rd, hp, "warmup_steps");
	r->weight_decay = get_num(&rd, hp, "weight_decay");
	r->dropout = get_num(&rd, hp, "dropout");
	r->max_grad_norm = get_num(&rd, hp, "max_grad_norm");
	r->seed = (uint64_t)get_long(&rd, hp, "seed");
	r->max_steps = get_long(&rd, hp, "max_steps");
	r->shuffle = json_bool(j, node(&rd, hp, "shuffle")) == 1;
	r->threads = (int)get_long(&rd, hp, "threads");
	read_keep(&rd, r, hp);
	r->compute = read_compute(&rd, hp, "compute");
	r->cache_compute = read_compute(&rd, data, "cache_compute");
	r->steps = get_long(&rd, root, "steps");
	int losses = node(&rd, root, "train_loss");
	size_t nl = json_len(j, losses);
	if (nl && rd.rc == 0 && !(r->loss = calloc(nl, sizeof *r->loss)))
		rd.rc = err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < nl && rd.rc == 0; i++) {
		int e = json_at(j, losses, i, NULL);
		r->loss[i] = (struct run_loss){ get_long(&rd, e, "step"), get_num(&rd, e, "loss"), get_num(&rd, e, "lr") };
		r->nloss++;
	}
	if (rd.rc == 0)
		read_evals(&rd, r, node(&rd, root, "dev"), task);
	read_kept(&rd, r, root);
	r->seconds = get_num(&rd, cost, "seconds");
	r->train_seconds = get_num(&rd, cost, "train_seconds");
	r->tokens_per_second = get_num(&rd, cost, "tokens_per_second");
	r->peak_mb = get_num(&rd, cost, "peak_memory_mb");
	r->gemm_seconds = get_num(&rd, cost, "gemm_seconds");
	r->gemm_gflop = get_num(&rd, cost, "gemm_gflop");
	struct run_machine *m = &r->machine;
	get_optional(&rd, cost, "cpu", m->cpu, sizeof m->cpu);
	get_optional(&rd, cost, "cpu_family", m->cpu_family, sizeof m->cpu_family);
	get_optional(&rd, cost, "blis", m->blis, sizeof m->blis);
	get_optional(&rd, cost, "gemm", m->gemm, sizeof m->gemm);
	get_optional(&rd, cost, "simd", m->simd, sizeof m->simd);
	json_free(j);
	if (rd.rc < 0)
		run_free(r);
	return rd.rc;
}

void run_free(struct run_record *r)
{
	free(r->model_dir);
	free(r->train);
	free(r->dev);
	free(r->loss);
	free(r->evals);
	memset(r, 0, sizeof *r);
}

const struct run_eval *run_final(const struct run_record *r)
{
	for (size_t i = r->nevals; i-- > 0;)
		if (r->evals[i].epoch == r->kept_epoch)
			return &r->evals[i];
	return NULL;
}

size_t run_best(const struct run_eval *evals, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++) {
		double s = evals[i].e.m[evals[i].e.primary].value, b = evals[best].e.m[evals[best].e.primary].value;
		if (s > b || (isnan(b) && !isnan(s)))
			best = i;
	}
	return best;
}
