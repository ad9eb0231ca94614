#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "experiment.h"
#include "gemm.h"
#include "glue.h"
#include "half.h"
#include "json.h"
#include "runrec.h"
#include "stream.h"

/* The first error wins; later lookups are no-ops. */
struct reader {
	struct json *j;
	const char *path;
	int rc;
};

static void fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct reader *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (r->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->rc = err_set(E_FORMAT, "%s: %s", r->path, msg);
}

/* The settings an experiment file may give, and names users bring from elsewhere. */
static const char *const settings[] = {
	"model", "data", "tasks", "frozen", "lr", "seeds", "epochs", "batch", "max_len", "max_steps", "jobs",
	"warmup", "weight_decay", "dropout", "dtype", "train_embeddings", "keep", "compute", "slurm", "shards",
};
static const char *const slurm_settings[] = { "partition", "account", "time", "mem", "cpus_per_task", "extra" };
static const char *const aliases[][2] = {
	{ "learning_rate", "lr" },      { "max_length", "max_len" },   { "max_seq_length", "max_len" },
	{ "num_train_epochs", "epochs" }, { "batch_size", "batch" },   { "per_device_train_batch_size", "batch" },
	{ "warmup_ratio", "warmup" },   { "task", "tasks" },           { "task_name", "tasks" },
	{ "seed", "seeds" }, { "load_best_model_at_end", "keep" }, { "bf16", "compute" },            { "model_name_or_path", "model" }, { "frozen_layers", "frozen" },
};

/* The setting a user most likely meant by name, or NULL. */
static const char *meant(const char *name)
{
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (!strcmp(name, aliases[i][0]))
			return aliases[i][1];
	return err_nearest(name, settings, sizeof settings / sizeof *settings);
}

/* Every key of the file is a setting: an unknown one is a typo or a setting from elsewhere. */
static void check_keys(struct reader *r)
{
	int root = json_root(r->j);
	for (size_t i = 0; i < json_len(r->j, root); i++) {
		const char *name, *before;
		int node = json_at(r->j, root, i, &name);
		for (size_t b = 0; b < i; b++)
			if (json_at(r->j, root, b, &before) && !strcmp(before, name))
				fail(r, "line %zu: %.40s is given twice", json_line(r->j, node), name);
		size_t k = 0;
		while (k < sizeof settings / sizeof *settings && strcmp(name, settings[k]))
			k++;
		if (k < sizeof settings / sizeof *settings)
			continue;
		const char *m = meant(name);
		if (m)
			fail(r, "line %zu: %.40s is not a setting; did you mean %s?", json_line(r->j, node), name, m);
		else
			fail(r, "line %zu: %.40s is not a setting (see elsa-experiment(5))", json_line(r->j, node), name);
	}
}

static int key(struct reader *r, const char *name, int required)
{
	int n = json_get(r->j, json_root(r->j), name);
	if (!n && required)
		fail(r, "no %s", name);
	return n;
}

/* A number in [lo, hi], whole when whole is set. */
static double number(struct reader *r, int node, const char *what, double lo, double hi, int whole)
{
	double v = lo;
	const char *text = json_str(r->j, node, NULL);
	if (json_number(r->j, node, &v) < 0 || v < lo || v > hi || (whole && v != floor(v))) {
		fail(r, "line %zu: %s: '%.40s' is not a %snumber in [%g, %g]", json_line(r->j, node), what, text ? text : "?",
		     whole ? "whole " : "", lo, hi);
		return lo;
	}
	return v;
}

static double scalar(struct reader *r, const char *name, double dflt, double lo, double hi, int whole)
{
	int n = key(r, name, 0);
	return n ? number(r, n, name, lo, hi, whole) : dflt;
}

/* A list (or a single value) of numbers, and the line of each (lines may be NULL); returns the
 * count. */
static int numbers(struct reader *r, const char *name, double *out, size_t *lines, double lo, double hi, int whole)
{
	int n = key(r, name, 1), list = json_type(r->j, n) == J_ARRAY, count = list ? (int)json_len(r->j, n) : 1;
	if (!n)
		return 0;
	if (count < 1 || count > EXPERIMENT_MAX_LIST) {
		fail(r, "line %zu: %s: give 1 to %d values", json_line(r->j, n), name, EXPERIMENT_MAX_LIST);
		return 0;
	}
	for (int i = 0; i < count; i++) {
		int item = list ? json_at(r->j, n, (size_t)i, NULL) : n;
		out[i] = number(r, item, name, lo, hi, whole);
		if (lines)
			lines[i] = json_line(r->j, item);
		for (int k = 0; k < i; k++)
			if (out[k] == out[i])
				fail(r, "line %zu: %s: %g is given twice", json_line(r->j, item), name, out[i]);
	}
	return count;
}

/* A folder given relative to the experiment file's own, made absolute; it must exist. */
static char *folder(struct reader *r, const char *name)
{
	int n = key(r, name, 1);
	const char *p = json_str(r->j, n, NULL), *slash = strrchr(r->path, '/');
	char joined[PATH_MAX];
	if (!p) {
		if (n)
			fail(r, "line %zu: %s: not a folder name", json_line(r->j, n), name);
		return NULL;
	}
	if (p[0] == '/' || !slash)
		snprintf(joined, sizeof joined, "%s", p);
	else
		snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - r->path), r->path, p);
	char *real = realpath(joined, NULL);
	if (!real)
		fail(r, "line %zu: %s: %s: %s", json_line(r->j, n), name, joined, strerror(errno));
	return real;
}

/* A task's train and dev files must be in the data folder before any job starts. */
static void task_files_exist(struct reader *r, struct experiment *e, int i, int item)
{
	const char *files[2] = { task_train_file(e->tasks[i]), task_dev_file(e->tasks[i]) };
	for (int s = 0; s < 2 && e->data; s++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s/%s", e->data, e->tasks[i]->folder, files[s]);
		if (access(path, R_OK) < 0)
			fail(r, "line %zu: tasks: %s: %s: %s", json_line(r->j, item), e->tasks[i]->name, path, strerror(errno));
	}
}

static void read_tasks(struct reader *r, struct experiment *e)
{
	int n = key(r, "tasks", 1), list = json_type(r->j, n) == J_ARRAY;
	if (!n)
		return;
	e->ntasks = list ? (int)json_len(r->j, n) : 1;
	if (e->ntasks < 1 || e->ntasks > EXPERIMENT_MAX_LIST) {
		fail(r, "line %zu: tasks: give 1 to %d tasks", json_line(r->j, n), EXPERIMENT_MAX_LIST);
		return;
	}
	for (int i = 0; i < e->ntasks; i++) {
		int item = list ? json_at(r->j, n, (size_t)i, NULL) : n;
		const char *name = json_str(r->j, item, NULL);
		if (!name || !(e->tasks[i] = task_find(name)) || !strcmp(name, "ax")) {
			const struct task *m = name ? task_meant(name) : NULL;
			if (m && strcmp(m->name, "ax"))
				fail(r, "line %zu: tasks: '%.40s' is not a GLUE task elsa trains; did you mean %s?",
				     json_line(r->j, item), name, m->name);
			else
				fail(r, "line %zu: tasks: '%.40s' is not a GLUE task elsa trains (see elsa-experiment(5))",
				     json_line(r->j, item), name ? name : "?");
			continue;
		}
		for (int k = 0; k < i; k++)
			if (e->tasks[k] == e->tasks[i])
				fail(r, "line %zu: tasks: %s is given twice", json_line(r->j, item), name);
		task_files_exist(r, e, i, item);
	}
}

/* A string of the slurm section: no quotes or newlines, which would break the scripts. */
static char *slurm_string(struct reader *r, int sec, const char *name)
{
	int n = json_get(r->j, sec, name);
	const char *v = n ? json_str(r->j, n, NULL) : NULL;
	if (!n)
		return NULL;
	if (!v || json_type(r->j, n) == J_ARRAY || json_type(r->j, n) == J_OBJECT || strpbrk(v, "'\"\n\\$`")) {
		fail(r, "line %zu: slurm: %s: a plain value (no quotes, $, ` or newlines)", json_line(r->j, n), name);
		return NULL;
	}
	char *copy = strdup(v);
	if (!copy && !r->rc)
		r->rc = err_set(E_NOMEM, "out of memory");
	return copy;
}

/* slurm: {partition, account, time, mem, cpus_per_task, extra: [--qos=low, ...]} */
static void read_slurm(struct reader *r, struct experiment *e)
{
	int sec = json_get(r->j, json_root(r->j), "slurm");
	if (!sec)
		return;
	if (json_type(r->j, sec) != J_OBJECT) {
		fail(r, "line %zu: slurm: a mapping of sbatch settings", json_line(r->j, sec));
		return;
	}
	for (size_t i = 0; i < json_len(r->j, sec); i++) {
		const char *name;
		int node = json_at(r->j, sec, i, &name);
		size_t k = 0;
		while (k < sizeof slurm_settings / sizeof *slurm_settings && strcmp(name, slurm_settings[k]))
			k++;
		if (k == sizeof slurm_settings / sizeof *slurm_settings)
			fail(r, "line %zu: slurm: %.40s is not a setting (partition, account, time, mem, cpus_per_task, extra)",
			     json_line(r->j, node), name);
	}
	e->slurm.partition = slurm_string(r, sec, "partition");
	e->slurm.account = slurm_string(r, sec, "account");
	e->slurm.time = slurm_string(r, sec, "time");
	e->slurm.mem = slurm_string(r, sec, "mem");
	int cpus = json_get(r->j, sec, "cpus_per_task");
	e->slurm.cpus_per_task = cpus ? (long)number(r, cpus, "slurm: cpus_per_task", 1, 4096, 1) : 0;
	int extra = json_get(r->j, sec, "extra");
	if (extra && json_type(r->j, extra) != J_ARRAY)
		fail(r, "line %zu: slurm: extra: a list of sbatch options", json_line(r->j, extra));
	for (size_t i = 0; extra && i < json_len(r->j, extra) && i < EXPERIMENT_MAX_LIST; i++) {
		const char *v = json_str(r->j, json_at(r->j, extra, i, NULL), NULL);
		if (!v || v[0] != '-' || strpbrk(v, "'\"\n\\$` "))
			fail(r, "line %zu: slurm: extra: '%.40s' is not one sbatch option (--qos=low)",
			     json_line(r->j, json_at(r->j, extra, i, NULL)), v ? v : "?");
		else if (!(e->slurm.extra[e->slurm.nextra++] = strdup(v)) && !r->rc)
			r->rc = err_set(E_NOMEM, "out of memory");
	}
}

/* shards: N (both splits) or {train: N, dev: M}; 1 by default. */
static void read_shards(struct reader *r, struct experiment *e)
{
	int n = json_get(r->j, json_root(r->j), "shards");
	e->shards[0] = e->shards[1] = 1;
	if (!n)
		return;
	if (json_type(r->j, n) != J_OBJECT) {
		e->shards[0] = e->shards[1] = (long)number(r, n, "shards", 1, 10000, 1);
		return;
	}
	for (size_t i = 0; i < json_len(r->j, n); i++) {
		const char *split;
		int v = json_at(r->j, n, i, &split);
		if (strcmp(split, "train") && strcmp(split, "dev"))
			fail(r, "line %zu: shards: %.40s is not a split (train, dev)", json_line(r->j, v), split);
		else
			e->shards[strcmp(split, "train") ? 1 : 0] = (long)number(r, v, "shards", 1, 10000, 1);
	}
}

int experiment_read(const char *path, struct experiment *e)
{
	struct reader r = { json_load(path), path, 0 };
	double v[EXPERIMENT_MAX_LIST];
	memset(e, 0, sizeof *e);
	if (!r.j)
		return E_FORMAT;
	if (json_type(r.j, json_root(r.j)) != J_OBJECT) {
		json_free(r.j);
		return err_set(E_FORMAT, "%s: not a mapping of settings", path);
	}
	check_keys(&r);
	e->model = folder(&r, "model");
	e->data = folder(&r, "data");
	read_tasks(&r, e);
	e->nfrozen = numbers(&r, "frozen", v, e->frozen_line, 0, LAYER_MAX, 1);
	for (int i = 0; i < e->nfrozen; i++)
		e->frozen[i] = (int)v[i];
	e->nlr = numbers(&r, "lr", e->lr, NULL, 1e-12, 10, 0);
	e->nseeds = numbers(&r, "seeds", v, NULL, 0, 1e15, 1);
	for (int i = 0; i < e->nseeds; i++)
		e->seeds[i] = (long)v[i];
	e->epochs = (long)scalar(&r, "epochs", 3, 1, 1e5, 1);
	e->batch = (long)scalar(&r, "batch", 16, 1, 65536, 1);
	e->max_len = (long)scalar(&r, "max_len", 128, 0, 65536, 1);
	e->max_steps = (long)scalar(&r, "max_steps", 0, 0, 1e12, 1);
	e->jobs = (long)scalar(&r, "jobs", 1, 1, 1024, 1);
	e->warmup = scalar(&r, "warmup", 0, 0, 1, 0);
	e->weight_decay = scalar(&r, "weight_decay", 0.01, 0, 10, 0);
	e->dropout = scalar(&r, "dropout", 0.1, 0, 0.99, 0);
	int d = key(&r, "dtype", 0), te = key(&r, "train_embeddings", 0);
	const char *dtype = d ? json_str(r.j, d, NULL) : "f32";
	if (!dtype || dtype_parse(dtype) < 0)
		fail(&r, "line %zu: dtype: f32, f16 or bf16", json_line(r.j, d));
	else if (!(e->dtype = strdup(dtype)) && r.rc == 0)
		r.rc = err_set(E_NOMEM, "out of memory");
	if (te && json_bool(r.j, te) < 0)
		fail(&r, "line %zu: train_embeddings: true or false", json_line(r.j, te));
	e->train_embeddings = te && json_bool(r.j, te) == 1;
	int kp = key(&r, "keep", 0);
	int keep = run_keep_parse(kp ? json_str(r.j, kp, NULL) : "last");
	if (keep < 0)
		fail(&r, "line %zu: keep: best or last", json_line(r.j, kp));
	e->keep_best = keep == 1;
	int cp = key(&r, "compute", 0);
	e->bf16 = gemm_compute_parse(cp ? json_str(r.j, cp, NULL) : "f32");
	if (e->bf16 < 0)
		fail(&r, "line %zu: compute: f32 or bf16", json_line(r.j, cp));
	read_slurm(&r, e);
	read_shards(&r, e);
	json_free(r.j);
	if (r.rc < 0)
		experiment_free(e);
	return r.rc;
}

void experiment_free(struct experiment *e)
{
	free(e->model);
	free(e->data);
	free(e->dtype);
	free(e->slurm.partition), free(e->slurm.account), free(e->slurm.time), free(e->slurm.mem);
	for (int i = 0; i < e->slurm.nextra; i++)
		free(e->slurm.extra[i]);
	memset(e, 0, sizeof *e);
}
