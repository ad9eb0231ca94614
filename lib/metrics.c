#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "glue.h"
#include "metrics.h"
#include "record.h"
#include "rng.h"

/* Sums: Neumaier's compensated summation, whose error does not grow with the number of terms. */

struct sum {
	double s, c;
};

static void add(struct sum *k, double x)
{
	double t = k->s + x;
	k->c += fabs(k->s) >= fabs(x) ? (k->s - t) + x : (x - t) + k->s;
	k->s = t;
}

static double total(const struct sum *k)
{
	return k->s + k->c;
}

static int constant(const double *x, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (x[i] != x[0])
			return 0;
	return 1;
}

/* Classification */

double metric_accuracy(const double *gold, const double *pred, size_t n)
{
	size_t right = 0;
	for (size_t i = 0; i < n; i++)
		right += gold[i] == pred[i];
	return (double)right / (double)n;
}

double metric_f1(const double *gold, const double *pred, size_t n)
{
	size_t tp = 0, fp = 0, fn = 0;
	for (size_t i = 0; i < n; i++) {
		tp += gold[i] == 1 && pred[i] == 1;
		fp += gold[i] != 1 && pred[i] == 1;
		fn += gold[i] == 1 && pred[i] != 1;
	}
	if (2 * tp + fp + fn == 0)
		return 0;
	return 2.0 * (double)tp / (double)(2 * tp + fp + fn);
}

double metric_mcc(const double *gold, const double *pred, size_t n, int nclasses)
{
	double t_sum[GLUE_MAX_LABELS] = { 0 }, p_sum[GLUE_MAX_LABELS] = { 0 };
	double correct = 0, samples = (double)n;
	for (size_t i = 0; i < n; i++) {
		t_sum[(int)gold[i]]++;
		p_sum[(int)pred[i]]++;
		correct += gold[i] == pred[i];
	}
	/* As sklearn.metrics.matthews_corrcoef, operation for operation. */
	double tp = 0, pp = 0, tt = 0;
	for (int k = 0; k < nclasses; k++) {
		tp += t_sum[k] * p_sum[k];
		pp += p_sum[k] * p_sum[k];
		tt += t_sum[k] * t_sum[k];
	}
	double cov_ytyp = correct * samples - tp;
	double cov_ypyp = samples * samples - pp;
	double cov_ytyt = samples * samples - tt;
	if (cov_ypyp * cov_ytyt == 0)
		return 0;
	return cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
}

/* Regression */

static double sign(double x)
{
	return (x > 0) - (x < 0);
}

double metric_pearson(const double *x, const double *y, size_t n)
{
	if (n < 2 || constant(x, n) || constant(y, n))
		return NAN;
	if (n == 2) /* as scipy: exactly +-1 */
		return sign(x[1] - x[0]) * sign(y[1] - y[0]);
	/* As scipy: centre, divide by the norms, then the dot product. */
	struct sum sx = { 0 }, sy = { 0 }, sxx = { 0 }, syy = { 0 }, r = { 0 };
	for (size_t i = 0; i < n; i++) {
		add(&sx, x[i]);
		add(&sy, y[i]);
	}
	double mx = total(&sx) / (double)n, my = total(&sy) / (double)n;
	for (size_t i = 0; i < n; i++) {
		add(&sxx, (x[i] - mx) * (x[i] - mx));
		add(&syy, (y[i] - my) * (y[i] - my));
	}
	double nx = sqrt(total(&sxx)), ny = sqrt(total(&syy));
	for (size_t i = 0; i < n; i++)
		add(&r, (x[i] - mx) / nx * ((y[i] - my) / ny));
	double rho = total(&r);
	return rho > 1 ? 1 : rho < -1 ? -1 : rho;
}

struct ranked {
	double v;
	size_t i;
};

static int by_value(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}

int metric_ranks(const double *x, size_t n, double *rank)
{
	struct ranked *s = malloc((n ? n : 1) * sizeof *s);
	if (!s)
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		s[i] = (struct ranked){ x[i], i };
	qsort(s, n, sizeof *s, by_value);
	for (size_t a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && s[b].v == s[a].v; b++)
			;
		/* positions a+1 .. b share their mean */
		double r = 0.5 * (double)(a + 1 + b);
		for (size_t k = a; k < b; k++)
			rank[s[k].i] = r;
	}
	free(s);
	return 0;
}

int metric_spearman(const double *x, const double *y, size_t n, double *rho)
{
	double *rx = malloc((2 * n + 1) * sizeof *rx);
	if (!rx)
		return err_set(E_NOMEM, "out of memory");
	double *ry = rx + n;
	int rc = metric_ranks(x, n, rx);
	if (!rc)
		rc = metric_ranks(y, n, ry);
	if (!rc)
		*rho = metric_pearson(rx, ry, n);
	free(rx);
	return rc;
}

double metric_quantile(const double *sorted, size_t n, double p)
{
	double h = p * (double)(n - 1);
	size_t i = (size_t)h;
	if (i + 1 >= n)
		return sorted[n - 1];
	double t = h - (double)i, a = sorted[i], b = sorted[i + 1], d = b - a;
	return t >= 0.5 ? b - d * (1 - t) : a + d * t; /* numpy's _lerp */
}

double metric_mean(const double *x, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return sum / (double)n;
}

double metric_sd(const double *x, size_t n)
{
	double sum = 0, sq = 0;
	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		sum += x[i];
		sq += x[i] * x[i];
	}
	return sqrt(fmax(0, (sq - sum * sum / (double)n) / (double)(n - 1)));
}

/* Each task's set of metrics */

typedef int compute_fn(const struct task *t, const double *gold, const double *pred, size_t n, double *v);

static int compute_acc(const struct task *t, const double *gold, const double *pred, size_t n, double *v)
{
	(void)t;
	v[0] = metric_accuracy(gold, pred, n);
	return 0;
}

static int compute_mcc(const struct task *t, const double *gold, const double *pred, size_t n, double *v)
{
	v[0] = metric_mcc(gold, pred, n, t->nlabels);
	return 0;
}

static int compute_acc_f1(const struct task *t, const double *gold, const double *pred, size_t n, double *v)
{
	(void)t;
	v[0] = metric_accuracy(gold, pred, n);
	v[1] = metric_f1(gold, pred, n);
	v[2] = (v[0] + v[1]) / 2;
	return 0;
}

static int compute_corr(const struct task *t, const double *gold, const double *pred, size_t n, double *v)
{
	(void)t;
	v[0] = metric_pearson(pred, gold, n);
	int rc = metric_spearman(pred, gold, n, &v[1]);
	v[2] = (v[0] + v[1]) / 2; /* NAN when either is */
	return rc;
}

static const struct metric_set {
	const char *primary; /* task->metric; always the last of names */
	int count;
	const char *names[METRICS_MAX];
	compute_fn *compute;
} sets[] = {
	{ "acc", 1, { "acc" }, compute_acc },
	{ "mcc", 1, { "mcc" }, compute_mcc },
	{ "acc_and_f1", 3, { "acc", "f1", "acc_and_f1" }, compute_acc_f1 },
	{ "corr", 3, { "pearson", "spearmanr", "corr" }, compute_corr },
};

static const struct metric_set *set_of(const struct task *t)
{
	for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
		if (!strcmp(sets[i].primary, t->metric))
			return &sets[i];
	return NULL;
}

/* 0, or E_ARG when v is not one of the task's classes (or, for regression, not finite). */
static int check_value(const struct task *t, double v, const char *what, size_t i)
{
	if (t->nlabels ? v == floor(v) && v >= 0 && v < t->nlabels : isfinite(v))
		return 0;
	return err_set(E_ARG, "example %zu: %s %g is not %s of %s", i + 1, what, unsigned_nan(v),
		       t->nlabels ? "a class" : "a finite score", t->name);
}

static const char *constant_what(int gold_constant, int pred_constant)
{
	if (gold_constant && pred_constant)
		return "the gold labels and the predictions are constant";
	return gold_constant ? "the gold labels are constant" : "the predictions are constant";
}

/* Says why a metric of the set is undefined or 0 by convention ("" when none is). */
static void explain(const struct metric_set *s, const double *gold, const double *pred, size_t n, char *note,
		    size_t size)
{
	int gc = constant(gold, n), pc = constant(pred, n);
	*note = 0;
	if (s->compute == compute_corr && n < 2)
		snprintf(note, size, "pearson, spearmanr and corr are undefined: fewer than 2 examples");
	else if (s->compute == compute_corr && (gc || pc))
		snprintf(note, size, "pearson, spearmanr and corr are undefined: %s", constant_what(gc, pc));
	else if (s->compute == compute_mcc && (gc || pc))
		snprintf(note, size, "mcc is 0 by convention: %s", constant_what(gc, pc));
	else if (s->compute == compute_acc_f1) {
		int gold_pos = 0, pred_pos = 0;
		for (size_t i = 0; i < n; i++) {
			gold_pos |= gold[i] == 1;
			pred_pos |= pred[i] == 1;
		}
		if (!gold_pos && !pred_pos)
			snprintf(note, size, "f1 is 0 by convention: no example is positive in the gold labels or "
					     "the predictions");
		else if (!pred_pos)
			snprintf(note, size, "f1 is 0: nothing is predicted positive (precision is undefined)");
	}
}

int metrics_evaluate(const struct task *task, const double *gold, const double *pred, size_t n,
		     struct evaluation *e)
{
	const struct metric_set *s = set_of(task);
	if (!s)
		return err_set(E_ARG, "task %s: unknown metric '%s'", task->name, task->metric);
	if (!n)
		return err_set(E_ARG, "no examples");
	for (size_t i = 0; i < n; i++) {
		int rc = check_value(task, gold[i], "label", i);
		if (!rc)
			rc = check_value(task, pred[i], "prediction", i);
		if (rc)
			return rc;
	}
	memset(e, 0, sizeof *e);
	e->task = task;
	e->examples = n;
	e->count = s->count;
	e->primary = s->count - 1;
	double v[METRICS_MAX];
	int rc = s->compute(task, gold, pred, n, v);
	if (rc)
		return rc;
	for (int k = 0; k < s->count; k++)
		e->m[k] = (struct metric){ s->names[k], v[k] + 0.0, NAN, NAN }; /* + 0.0: no -0 */
	explain(s, gold, pred, n, e->note, sizeof e->note);
	return 0;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sets m->lo, m->hi from the replicate values v[0..reps), leaving out NANs (v is reordered). */
static void interval(struct metric *m, double *v, size_t reps)
{
	size_t k = 0;
	for (size_t b = 0; b < reps; b++)
		if (!isnan(v[b]))
			v[k++] = v[b];
	if (isnan(m->value) || !k)
		return;
	qsort(v, k, sizeof *v, by_double);
	m->lo = metric_quantile(v, k, 0.025) + 0.0;
	m->hi = metric_quantile(v, k, 0.975) + 0.0;
}

int metrics_bootstrap(struct evaluation *e, const double *gold, const double *pred, size_t n, size_t reps,
		      uint64_t seed)
{
	const struct metric_set *s = set_of(e->task);
	double *g = malloc(2 * n * sizeof *g), *rep = malloc((size_t)s->count * reps * sizeof *rep);
	if (!g || !rep) {
		free(g);
		free(rep);
		return err_set(E_NOMEM, "out of memory");
	}
	double *p = g + n, v[METRICS_MAX];
	struct rng r;
	rng_seed(&r, seed);
	int rc = 0;
	for (size_t b = 0; b < reps && !rc; b++) {
		for (size_t i = 0; i < n; i++) {
			size_t j = (size_t)rng_below(&r, n);
			g[i] = gold[j];
			p[i] = pred[j];
		}
		rc = s->compute(e->task, g, p, n, v);
		for (int k = 0; k < s->count; k++)
			rep[(size_t)k * reps + b] = v[k];
	}
	for (int k = 0; k < s->count && !rc; k++)
		interval(&e->m[k], rep + (size_t)k * reps, reps);
	free(g);
	free(rep);
	return rc;
}
