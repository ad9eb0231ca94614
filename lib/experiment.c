#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "experiment.h"
#include "glue.h"
#include "half.h"
#include "json.h"
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
		fail(r, "%s: '%.40s' is not a %snumber in [%g, %g]", what, text ? text : "?", whole ? "whole " : "", lo, hi);
		return lo;
	}
	return v;
}

static double scalar(struct reader *r, const char *name, double dflt, double lo, double hi, int whole)
{
	int n = key(r, name, 0);
	return n ? number(r, n, name, lo, hi, whole) : dflt;
}

/* A list (or a single value) of numbers; returns the count. */
static int numbers(struct reader *r, const char *name, double *out, double lo, double hi, int whole)
{
	int n = key(r, name, 1), list = json_type(r->j, n) == J_ARRAY, count = list ? (int)json_len(r->j, n) : 1;
	if (!n)
		return 0;
	if (count < 1 || count > EXPERIMENT_MAX_LIST) {
		fail(r, "%s: give 1 to %d values", name, EXPERIMENT_MAX_LIST);
		return 0;
	}
	for (int i = 0; i < count; i++)
		out[i] = number(r, list ? json_at(r->j, n, (size_t)i, NULL) : n, name, lo, hi, whole);
	return count;
}

/* A folder given relative to the experiment file's own, made absolute; it must exist. */
static char *folder(struct reader *r, const char *name)
{
	const char *p = json_str(r->j, key(r, name, 1), NULL), *slash = strrchr(r->path, '/');
	char joined[PATH_MAX];
	if (!p) {
		if (json_get(r->j, json_root(r->j), name))
			fail(r, "%s: not a folder name", name);
		return NULL;
	}
	if (p[0] == '/' || !slash)
		snprintf(joined, sizeof joined, "%s", p);
	else
		snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - r->path), r->path, p);
	char *real = realpath(joined, NULL);
	if (!real)
		fail(r, "%s: %s: %s", name, joined, strerror(errno));
	return real;
}

static void read_tasks(struct reader *r, struct experiment *e)
{
	int n = key(r, "tasks", 1), list = json_type(r->j, n) == J_ARRAY;
	if (!n)
		return;
	e->ntasks = list ? (int)json_len(r->j, n) : 1;
	if (e->ntasks < 1 || e->ntasks > EXPERIMENT_MAX_LIST) {
		fail(r, "tasks: give 1 to %d tasks", EXPERIMENT_MAX_LIST);
		return;
	}
	for (int i = 0; i < e->ntasks; i++) {
		const char *name = json_str(r->j, list ? json_at(r->j, n, (size_t)i, NULL) : n, NULL);
		if (!name || !(e->tasks[i] = task_find(name)) || !strcmp(name, "ax"))
			fail(r, "tasks: '%.40s' is not a GLUE task elsa trains", name ? name : "?");
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
	e->model = folder(&r, "model");
	e->data = folder(&r, "data");
	read_tasks(&r, e);
	e->nfrozen = numbers(&r, "frozen", v, 0, LAYER_MAX, 1);
	for (int i = 0; i < e->nfrozen; i++)
		e->frozen[i] = (int)v[i];
	e->nlr = numbers(&r, "lr", e->lr, 1e-12, 10, 0);
	e->nseeds = numbers(&r, "seeds", v, 0, 1e15, 1);
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
		fail(&r, "dtype: f32, f16 or bf16");
	else if (!(e->dtype = strdup(dtype)) && r.rc == 0)
		r.rc = err_set(E_NOMEM, "out of memory");
	if (te && json_bool(r.j, te) < 0)
		fail(&r, "train_embeddings: true or false");
	e->train_embeddings = te && json_bool(r.j, te) == 1;
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
	memset(e, 0, sizeof *e);
}
