/* elsa-report: run records (run.yaml) to the paper's table and figure: per task and frozen-layer
 * count the dev score of the best learning rate (mean and spread over seeds), its quality relative
 * to fine-tuning every layer, the fewest trained layers that keep 90% of it, and the costs. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "glue.h"
#include "io.h"
#include "json.h"
#include "metrics.h"
#include "predictions.h"
#include "record.h"
#include "runrec.h"

static const char usage[] =
	"usage: elsa-report [--format md|tsv|csv|yaml] [--plot FILE] [--costs DIR] [-o FILE] RUN...\n"
	"Reads run records (RUN is a run folder, a run.yaml, or a folder searched for them, such as\n"
	"a sweep's runs/) and prints the study's table: per task and frozen-layer count, the dev score\n"
	"of the best learning rate (mean +- standard deviation over seeds), its quality relative to\n"
	"frozen 0 (every layer trained), and the fewest trained layers that keep 90% of it.\n"
	"  -f, --format F   md (default), tsv, csv or yaml\n"
	"  -p, --plot FILE  also draw the figure (relative quality against trained layers, one line\n"
	"                   per task) with gnuplot, as FILE.svg and FILE.png\n"
	"  -c, --costs DIR  add the costs: encoding (elsa-encode --stats files under DIR) and training,\n"
	"                   and what the cache saved against recomputing the frozen prefix every step\n"
	"  -o, --output F   write F (complete or not at all) instead of stdout\n"
	"  -h, --help       this help;  -V, --version  the version\n";

struct run {
	struct run_record r;
	char *path;         /* its run.yaml, resolved (a run given twice is one run) */
	double score;       /* the final dev score of the task's primary metric */
	double lo, hi;      /* its 95% bootstrap interval from eval.yaml beside it; NAN: none */
	const char *metric;
	int collapsed;      /* a classifier that predicts one class for every dev example */
};

/* A run that failed (elsa-sweep's NAME.failed marker): what it was, and its log's last line. */
struct failure {
	char *name, *task, *last;
	int row;
};

/* One table cell: a task at a frozen-layer count, with its best learning rate. */
struct cell {
	int present;
	double lr, mean, sd, rel; /* sd NAN: one seed */
	double lo, hi;            /* the seeds' bootstrap intervals, bound by bound averaged; NAN: none */
	int seeds, collapsed, failed;
	double train_seconds, tokens_per_second; /* means over the cell's runs */
};

#define TABLE_TASKS_MAX 32

/* The study: the runs and failures found, the table's columns (tasks) and rows (frozen counts),
 * and its cells. */
struct table {
	struct run *runs;
	size_t nruns;
	struct failure *failures;
	size_t nfailures;
	const char *tasks[TABLE_TASKS_MAX]; /* the columns, in the order first met */
	int ntasks;
	int *rows;            /* the frozen counts run, ascending; -1: full fine-tunes (embeddings trained) */
	size_t nrows;
	int layers;           /* the model's */
	struct cell *cells;   /* [nrows][ntasks] */
	int *baseline;        /* [ntasks]: the row relative quality is against (frozen 0, else the fewest
			       * frozen layers run); -2 when the task has no cell that can be one */
	int *claim;           /* [ntasks]: the baseline learned (no collapsed run, a positive score): a 90% claim holds */
	double *scratch;      /* 5 x nruns: the values of one cell's seeds, for their statistics */
};

static struct cell *cell_at(const struct table *tb, size_t row, int t)
{
	return &tb->cells[row * (size_t)tb->ntasks + (size_t)t];
}

/* Collecting run records */

/* nftw's callbacks take no argument of ours: the table being filled. */
static struct table *collecting;

/* NAME.failed: task, frozen, embeddings, last (see elsa-sweep). */
static void add_failure(struct table *tb, const char *path, const char *base)
{
	struct json *j = json_load(path);
	int root = j ? json_root(j) : 0;
	const char *task = j ? json_str(j, json_get(j, root, "task"), NULL) : NULL;
	const char *last = j ? json_str(j, json_get(j, root, "last"), NULL) : NULL;
	double frozen, emb;
	if (!task || json_number(j, json_get(j, root, "frozen"), &frozen) < 0 ||
	    json_number(j, json_get(j, root, "embeddings"), &emb) < 0 || !(frozen >= 0 && frozen <= INT_MAX))
		die("%s: not an elsa-sweep failure marker", path);
	struct failure *more = xrealloc(tb->failures, (tb->nfailures + 1) * sizeof *more);
	tb->failures = more;
	struct failure *f = &tb->failures[tb->nfailures++];
	f->name = xprintf("%.*s", (int)(strlen(base) - (sizeof ".failed" - 1)), base);
	f->task = xstrdup(task);
	f->last = xstrdup(last ? last : "");
	f->row = emb ? -1 : (int)frozen;
	json_free(j);
}

static void add_run(struct table *tb, const char *path)
{
	struct run *more = xrealloc(tb->runs, (tb->nruns + 1) * sizeof *more);
	tb->runs = more;
	struct run *r = &tb->runs[tb->nruns];
	memset(r, 0, sizeof *r);
	if (!(r->path = realpath(path, NULL)))
		die("%s:", path);
	tb->nruns++;
}

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	const char *base = path + ftw->base;
	size_t n = strlen(base);
	if (type == FTW_D && strstr(base, ".tmp."))
		return 0; /* an unfinished run (elsa-train writes RUN.tmp.XXXXXX): nftw cannot skip it, we do below */
	if (type == FTW_F && n > 7 && !strcmp(base + n - 7, ".failed"))
		add_failure(collecting, path, base);
	if (type != FTW_F || strcmp(base, "run.yaml") || strstr(path, ".tmp."))
		return 0;
	add_run(collecting, path);
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct run *)a)->path, ((const struct run *)b)->path);
}

/* NAME in the folder of the run's run.yaml, malloc'd. */
static char *beside(const struct run *r, const char *name)
{
	char *dir = strndup(r->path, (size_t)(strrchr(r->path, '/') - r->path));
	char *path = dir ? path_join(dir, name) : NULL;
	if (!path)
		die("out of memory");
	free(dir);
	return path;
}

/* On small GLUE sets some runs collapse: they predict one class for every dev example. Tell them
 * from the rest by the run's predictions.tsv, when it is there. */
static int collapsed(const struct run *r)
{
	const struct task *t = task_find(r->r.task);
	char *path = beside(r, "predictions.tsv");
	struct scores s = { 0 };
	int one_class = 0;
	if (t && t->nlabels && access(path, R_OK) == 0) {
		if (predictions_read(path, t, &s) < 0)
			die_lib();
		one_class = s.n > 1;
		for (size_t i = 1; i < s.n; i++)
			one_class &= s.v[i].value == s.v[0].value;
	}
	scores_free(&s);
	free(path);
	return one_class;
}

/* The bootstrap interval of the run's score, from the eval.yaml elsa-sweep writes beside run.yaml
 * (elsa-evaluate --bootstrap): METRIC_ci95: [lo, hi]. */
static void read_interval(struct run *r)
{
	char *path = beside(r, "eval.yaml"), key[64];
	r->lo = r->hi = NAN;
	if (access(path, R_OK) < 0) {
		free(path);
		return;
	}
	struct json *j = json_load(path);
	if (!j)
		die_lib();
	if ((size_t)snprintf(key, sizeof key, "%s_ci95", r->metric) >= sizeof key)
		die("%s: a metric name longer than %zu bytes: %s", path, sizeof key - sizeof "_ci95", r->metric);
	int ci = json_get(j, json_root(j), key);
	if (json_len(j, ci) != 2 || json_number(j, json_at(j, ci, 0, NULL), &r->lo) < 0 ||
	    json_number(j, json_at(j, ci, 1, NULL), &r->hi) < 0)
		r->lo = r->hi = NAN;
	json_free(j);
	free(path);
}

/* Sorts the runs by path and drops those given twice (a folder and its run.yaml). */
static void unique_runs(struct table *tb)
{
	size_t unique = 0;
	qsort(tb->runs, tb->nruns, sizeof *tb->runs, by_path);
	for (size_t i = 0; i < tb->nruns; i++) {
		if (unique && !strcmp(tb->runs[unique - 1].path, tb->runs[i].path)) {
			free(tb->runs[i].path);
			continue;
		}
		tb->runs[unique++] = tb->runs[i];
	}
	tb->nruns = unique;
}

/* Reads each run's record, its score, whether it collapsed and its interval. */
static void read_records(struct table *tb)
{
	for (size_t i = 0; i < tb->nruns; i++) {
		struct run *r = &tb->runs[i], *first = &tb->runs[0];
		if (run_read(r->path, &r->r) < 0)
			die_lib();
		const struct run_eval *ev = run_final(&r->r);
		if (!ev)
			die("%s: the run has no dev evaluation (train with --dev)", r->path);
		r->score = ev->e.m[ev->e.primary].value;
		r->metric = ev->e.m[ev->e.primary].name;
		if (r->r.model != first->r.model)
			die("%s: made with another model (%016llx) than %s (%016llx)", r->path, (unsigned long long)r->r.model,
			    first->path, (unsigned long long)first->r.model);
		r->collapsed = collapsed(r);
		read_interval(r);
	}
}

static void read_runs(struct table *tb, char **args, int n)
{
	collecting = tb;
	for (int i = 0; i < n; i++) {
		struct stat sb;
		if (stat(args[i], &sb) < 0)
			die("%s:", args[i]);
		if (nftw(args[i], collect, 16, FTW_PHYS) != 0)
			die("%s:", args[i]);
	}
	collecting = NULL;
	if (!tb->nruns)
		die("no run.yaml under %s%s%s", args[0], n > 1 ? " and the others" : "",
		    tb->nfailures ? " (every run failed)" : "");
	unique_runs(tb);
	read_records(tb);
}

static void table_free(struct table *tb)
{
	for (size_t i = 0; i < tb->nruns; i++) {
		run_free(&tb->runs[i].r);
		free(tb->runs[i].path);
	}
	for (size_t i = 0; i < tb->nfailures; i++)
		free(tb->failures[i].name), free(tb->failures[i].task), free(tb->failures[i].last);
	free(tb->runs), free(tb->failures), free(tb->rows), free(tb->cells);
	free(tb->baseline), free(tb->claim), free(tb->scratch);
}

/* The table */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Row key: the frozen count, with full fine-tunes (embeddings trained) as -1. */
static int row_of(const struct run *r)
{
	return r->r.train_embeddings ? -1 : r->r.frozen;
}

static void add_task(struct table *tb, const char *task)
{
	for (int t = 0; t < tb->ntasks; t++)
		if (!strcmp(tb->tasks[t], task))
			return;
	if (tb->ntasks == TABLE_TASKS_MAX)
		die("more than %d tasks", TABLE_TASKS_MAX);
	tb->tasks[tb->ntasks++] = task;
}

/* rows has room for a row per run and failure, so a new one always fits. */
static void add_row(struct table *tb, int row)
{
	for (size_t f = 0; f < tb->nrows; f++)
		if (tb->rows[f] == row)
			return;
	tb->rows[tb->nrows++] = row;
}

/* The table's columns (tasks) and rows (frozen counts) of every run, failed ones too. */
static void axes(struct table *tb)
{
	tb->rows = xmalloc((tb->nruns + tb->nfailures) * sizeof *tb->rows);
	for (size_t i = 0; i < tb->nruns; i++) {
		add_task(tb, tb->runs[i].r.task);
		add_row(tb, row_of(&tb->runs[i]));
	}
	for (size_t i = 0; i < tb->nfailures; i++) {
		add_task(tb, tb->failures[i].task);
		add_row(tb, tb->failures[i].row);
	}
	qsort(tb->rows, tb->nrows, sizeof *tb->rows, cmp_int);
}

/* Runs of one cell differ in their seed only: pooling other settings would average two studies. */
static void same_settings(const struct run *a, const struct run *b)
{
	const struct run_record *x = &a->r, *y = &b->r;
	const char *what = x->epochs != y->epochs		? "epochs" :
			   x->max_steps != y->max_steps	? "max_steps" :
			   x->batch != y->batch		? "batch" :
			   x->warmup != y->warmup		? "warmup" :
			   x->weight_decay != y->weight_decay	? "weight_decay" :
			   x->dropout != y->dropout		? "dropout" :
			   x->keep_best != y->keep_best	? "keep (best or last epoch)" :
			   x->compute != y->compute		? "compute (f32 or bf16 products)" :
			   x->cache_compute != y->cache_compute ? "caches' compute (f32 or bf16 products)" :
			   x->train_examples != y->train_examples ? "the training examples" :
			   x->dev_examples != y->dev_examples	? "the dev examples" :
									  NULL;
	if (what)
		die("%s and %s: one cell (%s, frozen %d, lr %g) of runs whose %s differ: report them apart", a->path, b->path,
		    x->task, x->frozen, x->lr, what);
}

/* The runs of r's task, row and learning rate (its seeds), as one cell: the mean and spread of
 * their scores, their intervals bound by bound averaged, their mean costs. */
static struct cell seeds_cell(const struct table *tb, const struct run *r)
{
	struct cell c = { .present = 1, .lr = r->r.lr, .rel = NAN };
	double *score = tb->scratch, *lo = score + tb->nruns, *hi = lo + tb->nruns, *seconds = hi + tb->nruns,
	       *rate = seconds + tb->nruns;
	size_t n = 0;
	for (size_t k = 0; k < tb->nruns; k++) {
		const struct run *s = &tb->runs[k];
		if (strcmp(s->r.task, r->r.task) || row_of(s) != row_of(r) || s->r.lr != r->r.lr)
			continue;
		same_settings(r, s);
		score[n] = isnan(s->score) ? 0 : s->score; /* an undefined score (constant predictions) counts as 0 */
		lo[n] = s->lo;
		hi[n] = s->hi;
		seconds[n] = s->r.train_seconds;
		rate[n] = s->r.tokens_per_second;
		c.collapsed += s->collapsed;
		n++;
	}
	c.seeds = (int)n;
	c.mean = metric_mean(score, n);
	c.sd = metric_sd(score, n);
	c.lo = metric_mean(lo, n); /* NAN when a seed has no interval */
	c.hi = metric_mean(hi, n);
	c.train_seconds = metric_mean(seconds, n);
	c.tokens_per_second = metric_mean(rate, n);
	return c;
}

/* The best learning rate of (task, row) by mean dev score over seeds, and its statistics. */
static struct cell make_cell(const struct table *tb, const char *task, int row)
{
	struct cell best = { 0 };
	int failed = 0;
	for (size_t i = 0; i < tb->nfailures; i++)
		failed += !strcmp(tb->failures[i].task, task) && tb->failures[i].row == row;
	for (size_t i = 0; i < tb->nruns; i++) {
		const struct run *r = &tb->runs[i];
		if (strcmp(r->r.task, task) || row_of(r) != row)
			continue;
		struct cell c = seeds_cell(tb, r);
		if (!best.present || c.mean > best.mean)
			best = c;
	}
	best.failed = failed;
	return best;
}

/* The baseline of task t: frozen 0 (every layer trained) when it was run, else the fewest
 * frozen layers that were (the caption says which). */
static int baseline_row(const struct table *tb, int t)
{
	for (size_t f = 0; f < tb->nrows; f++)
		if (tb->rows[f] >= 0 && make_cell(tb, tb->tasks[t], tb->rows[f]).present)
			return tb->rows[f];
	return -2;
}

static void fill_cells(struct table *tb)
{
	tb->cells = xcalloc(tb->nrows * (size_t)tb->ntasks, sizeof *tb->cells);
	tb->baseline = xcalloc((size_t)tb->ntasks, sizeof *tb->baseline);
	tb->claim = xcalloc((size_t)tb->ntasks, sizeof *tb->claim);
	tb->scratch = xmalloc(5 * tb->nruns * sizeof *tb->scratch);
	tb->layers = tb->runs[0].r.layers;
	for (int t = 0; t < tb->ntasks; t++) {
		tb->baseline[t] = baseline_row(tb, t);
		struct cell base = make_cell(tb, tb->tasks[t], tb->baseline[t]);
		tb->claim[t] = base.present && base.mean > 0 && !base.collapsed;
		for (size_t f = 0; f < tb->nrows; f++) {
			struct cell *c = cell_at(tb, f, t);
			*c = make_cell(tb, tb->tasks[t], tb->rows[f]);
			c->rel = base.present && base.mean > 0 ? 100 * c->mean / base.mean : NAN;
		}
	}
}

/* The fewest trained layers whose quality is at least 90% of the baseline, or -1 (none, or a
 * baseline that did not learn: collapsed, or a score of 0 or less). */
static int fewest_for_90(const struct table *tb, int t)
{
	int best = -1;
	if (!tb->claim[t])
		return -1;
	for (size_t f = 0; f < tb->nrows; f++) {
		const struct cell *c = cell_at(tb, f, t);
		int trained = tb->layers - tb->rows[f];
		if (tb->rows[f] >= 0 && c->present && c->rel >= 90 && (best < 0 || trained < best))
			best = trained;
	}
	return best;
}

static const char *metric_of(const struct table *tb, const char *task)
{
	for (size_t i = 0; i < tb->nruns; i++)
		if (!strcmp(tb->runs[i].r.task, task))
			return tb->runs[i].metric;
	return "?";
}

static void row_label(int row, char *buf, size_t n)
{
	if (row < 0)
		snprintf(buf, n, "0 (+ embeddings)");
	else
		snprintf(buf, n, "%d", row);
}

/* The markdown table */

/* "frozen 0 (every encoder layer trained, embeddings frozen)." or, without that row, the fewest
 * frozen layers each task ran. */
static void print_baselines(const struct table *tb, struct out *o)
{
	int all_zero = 1;
	for (int t = 0; t < tb->ntasks; t++)
		all_zero &= tb->baseline[t] == 0;
	if (all_zero) {
		out_printf(o, "frozen 0 (every encoder layer trained, embeddings frozen).");
		return;
	}
	out_printf(o, "the fewest frozen layers run, frozen 0 being absent:");
	for (int t = 0; t < tb->ntasks; t++)
		out_printf(o, t ? ", %s frozen %d" : " %s frozen %d", tb->tasks[t], tb->baseline[t]);
	out_printf(o, ".");
}

/* Tasks whose baseline did not learn make no 90% claim: say why. */
static void print_no_claims(const struct table *tb, struct out *o)
{
	for (int t = 0; t < tb->ntasks; t++)
		if (!tb->claim[t] && tb->baseline[t] >= -1)
			out_printf(o, "\n%s makes no claim of the fewest layers for 90%%: its baseline (frozen %d) %s.\n",
				   tb->tasks[t], tb->baseline[t],
				   make_cell(tb, tb->tasks[t], tb->baseline[t]).collapsed ? "has collapsed runs" : "scores 0 or less");
}

/* Runs that kept their best dev epoch score it: a choice made on the very set scored. */
static void print_keep_note(const struct table *tb, struct out *o)
{
	size_t best = 0;
	for (size_t i = 0; i < tb->nruns; i++)
		best += tb->runs[i].r.keep_best;
	if (best == tb->nruns)
		out_printf(o, "Every run ");
	else if (best)
		out_printf(o, "%zu of the %zu runs ", best, tb->nruns);
	if (best)
		out_printf(o, "kept the epoch of its best dev score (elsa-train --keep best): a choice made on the dev set "
			      "it is scored on, so an optimistic estimate.\n");
}

/* Runs whose products took bf16 inputs (elsa-train --compute bf16), or trained from caches
 * computed so: said, since their numbers are not f32's. */
static void print_compute_note(const struct table *tb, struct out *o)
{
	size_t bf16 = 0;
	for (size_t i = 0; i < tb->nruns; i++)
		bf16 += tb->runs[i].r.compute || tb->runs[i].r.cache_compute;
	if (bf16 == tb->nruns)
		out_printf(o, "Every run ");
	else if (bf16)
		out_printf(o, "%zu of the %zu runs ", bf16, tb->nruns);
	if (bf16)
		out_printf(o, "computed its matrix products, or its cache's, with bf16 inputs (--compute bf16; sums in f32).\n");
}

/* " (2 collapsed, 1 failed)" */
static const char *cell_notes(const struct cell *c, char *buf, size_t n)
{
	buf[0] = 0;
	if (c->collapsed && c->failed)
		snprintf(buf, n, " (%d collapsed, %d failed)", c->collapsed, c->failed);
	else if (c->collapsed || c->failed)
		snprintf(buf, n, " (%d %s)", c->collapsed ? c->collapsed : c->failed, c->collapsed ? "collapsed" : "failed");
	return buf;
}

static void print_failures(const struct table *tb, struct out *o)
{
	if (!tb->nfailures)
		return;
	out_printf(o, "\n%zu run%s failed, left out of the table's means:\n\n", tb->nfailures, tb->nfailures == 1 ? "" : "s");
	for (size_t i = 0; i < tb->nfailures; i++)
		out_printf(o, "- %s %s: %s\n", tb->failures[i].task, tb->failures[i].name, tb->failures[i].last);
}

/* A table's head: "| frozen |" (and " trained |"), a column per task (column: a format of the
 * task's name and of its metric, in that order), and the alignment line. */
static void print_head(const struct table *tb, struct out *o, int trained, const char *column)
{
	out_printf(o, trained ? "| frozen | trained |" : "| frozen |");
	for (int t = 0; t < tb->ntasks; t++)
		out_printf(o, column, tb->tasks[t], metric_of(tb, tb->tasks[t]));
	out_printf(o, trained ? "\n|---:|---:|" : "\n|---:|");
	for (int t = 0; t < tb->ntasks; t++)
		out_printf(o, "---|");
	out_printf(o, "\n");
}

/* The scores: a row per frozen count, then the fewest trained layers for 90%. */
static void print_scores(const struct table *tb, struct out *o)
{
	char label[32];
	print_head(tb, o, 1, " %s (%s) |");
	for (size_t f = 0; f < tb->nrows; f++) {
		row_label(tb->rows[f], label, sizeof label);
		out_printf(o, "| %s | %d |", label, tb->layers - (tb->rows[f] < 0 ? 0 : tb->rows[f]));
		for (int t = 0; t < tb->ntasks; t++) {
			const struct cell *c = cell_at(tb, f, t);
			char spread[32] = " (1 seed)";
			if (c->present && !isnan(c->sd))
				snprintf(spread, sizeof spread, " ± %.2f", 100 * c->sd);
			if (!c->present)
				out_printf(o, c->failed ? " failed |" : " |");
			else if (isnan(c->rel))
				out_printf(o, " %.2f%s |", 100 * c->mean, spread);
			else
				out_printf(o, " %.2f%s (%.1f%%) |", 100 * c->mean, spread, c->rel);
		}
		out_printf(o, "\n");
	}
	out_printf(o, "| **fewest trained layers for 90%%** | |");
	for (int t = 0; t < tb->ntasks; t++) {
		int k = fewest_for_90(tb, t);
		if (k < 0)
			out_printf(o, " - |");
		else
			out_printf(o, " **%d** |", k);
	}
}

/* What the numbers are, and the notes on keep best and on claims not made. */
static void print_caption(const struct table *tb, struct out *o)
{
	out_printf(o, "\n\nScores are dev scores x 100, mean ± standard deviation over seeds, at each cell's best "
		      "learning rate (chosen on dev, as the paper does); percentages are relative to ");
	print_baselines(tb, o);
	out_printf(o, " %zu run%s of a %d-layer model; a cell of one seed has no spread. A collapsed run predicts one "
		      "class for every dev example. The intervals are 95%% bootstrap intervals of each seed's score over "
		      "the dev examples (elsa-evaluate --bootstrap), bound by bound averaged over the seeds.\n",
		   tb->nruns, tb->nruns == 1 ? "" : "s", tb->layers);
	print_keep_note(tb, o);
	print_compute_note(tb, o);
	print_no_claims(tb, o);
}

/* Each cell's learning rate, seeds (collapsed, failed) and interval. */
static void print_details(const struct table *tb, struct out *o)
{
	char label[32], notes[64];
	out_printf(o, "\n");
	print_head(tb, o, 0, " %s: lr, seeds (collapsed), interval |");
	for (size_t f = 0; f < tb->nrows; f++) {
		row_label(tb->rows[f], label, sizeof label);
		out_printf(o, "| %s |", label);
		for (int t = 0; t < tb->ntasks; t++) {
			const struct cell *c = cell_at(tb, f, t);
			if (!c->present && c->failed)
				out_printf(o, " %d failed |", c->failed);
			else if (!c->present)
				out_printf(o, " |");
			else if (isnan(c->lo))
				out_printf(o, " %g, %d%s |", c->lr, c->seeds, cell_notes(c, notes, sizeof notes));
			else
				out_printf(o, " %g, %d%s, [%.2f, %.2f] |", c->lr, c->seeds, cell_notes(c, notes, sizeof notes),
					   100 * c->lo, 100 * c->hi);
		}
		out_printf(o, "\n");
	}
}

static void print_markdown(const struct table *tb, struct out *o)
{
	print_scores(tb, o);
	print_caption(tb, o);
	print_details(tb, o);
	print_failures(tb, o);
}

/* Delimited text and YAML */

/* A statistic as delimited text: the shortest form that reads back to it; empty when undefined. */
static const char *stat_text(double v, char *buf)
{
	if (isnan(v))
		buf[0] = 0;
	else
		label_format(v, buf);
	return buf;
}

static void print_delimited(const struct table *tb, struct out *o, char sep)
{
	char m[32], sd[32], rel[32], lo[32], hi[32];
	out_printf(o, "task%cmetric%cfrozen%ctrained%cembeddings%clr%cseeds%ccollapsed%cfailed%cmean%csd%crelative%cci95_lo%c"
		      "ci95_hi%ctrain_seconds%ctokens_per_second\n", sep, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep,
		   sep, sep, sep);
	for (int t = 0; t < tb->ntasks; t++)
		for (size_t f = 0; f < tb->nrows; f++) {
			const struct cell *c = cell_at(tb, f, t);
			if (!c->present)
				continue;
			int row = tb->rows[f], N = row < 0 ? 0 : row;
			out_printf(o, "%s%c%s%c%d%c%d%c%d%c%g%c%d%c%d%c%d%c%s%c%s%c%s%c%s%c%s%c%.6g%c%.6g\n", tb->tasks[t], sep,
				   metric_of(tb, tb->tasks[t]), sep, N, sep, tb->layers - N, sep, row < 0, sep, c->lr, sep, c->seeds,
				   sep, c->collapsed, sep, c->failed, sep, stat_text(c->mean, m), sep, stat_text(c->sd, sd), sep,
				   stat_text(c->rel / 100, rel), sep, stat_text(c->lo, lo), sep, stat_text(c->hi, hi), sep,
				   c->train_seconds, sep, c->tokens_per_second);
		}
}

static void print_yaml(const struct table *tb, struct out *o)
{
	out_printf(o, "layers: %d\nruns: %zu\ntasks:\n", tb->layers, tb->nruns);
	for (int t = 0; t < tb->ntasks; t++) {
		int k = fewest_for_90(tb, t);
		out_printf(o, "  %s:\n    metric: %s\n    fewest_trained_for_90: ", tb->tasks[t], metric_of(tb, tb->tasks[t]));
		out_printf(o, k < 0 ? "null\n" : "%d\n", k);
		out_printf(o, "    rows:\n");
		for (size_t f = 0; f < tb->nrows; f++) {
			const struct cell *c = cell_at(tb, f, t);
			if (!c->present)
				continue;
			int row = tb->rows[f], N = row < 0 ? 0 : row;
			char m[32], sd[32], rel[32], lo[32], hi[32];
			yaml_number(c->mean, m), yaml_number(c->sd, sd), yaml_number(c->rel / 100, rel);
			yaml_number(c->lo, lo), yaml_number(c->hi, hi);
			out_printf(o, "      - {frozen: %d, trained: %d, embeddings: %s, lr: %g, seeds: %d, collapsed: %d, failed: %d, "
				      "mean: %s, sd: %s, relative: %s, ci95: [%s, %s]}\n",
				   N, tb->layers - N, row < 0 ? "true" : "false", c->lr, c->seeds, c->collapsed, c->failed, m, sd,
				   rel, lo, hi);
		}
	}
}

/* Costs */

struct encoding {
	double seconds, layer_tokens; /* tokens x layers computed */
	size_t passes;
};

/* nftw's callbacks take no argument of ours: the sums being made. */
static struct encoding *encoding_sums;

static int add_stats(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	size_t n = strlen(path);
	if (type != FTW_F || n < 12 || strcmp(path + n - 12, ".encode.yaml") || !ftw)
		return 0;
	struct json *j = json_load(path);
	double seconds, tokens, from, to;
	int root = j ? json_root(j) : 0;
	if (!j || json_number(j, json_get(j, root, "seconds"), &seconds) < 0 ||
	    json_number(j, json_get(j, root, "tokens"), &tokens) < 0 ||
	    json_number(j, json_get(j, root, "from_layer"), &from) < 0 || json_number(j, json_get(j, root, "to_layer"), &to) < 0)
		die("%s: not an elsa-encode --stats file", path);
	encoding_sums->seconds += seconds;
	encoding_sums->layer_tokens += tokens * (to - from);
	encoding_sums->passes++;
	json_free(j);
	return 0;
}

/* The encoding passes' elsa-encode --stats files under dir, summed. */
static struct encoding read_encoding(const char *dir)
{
	struct encoding enc = { 0 };
	encoding_sums = &enc;
	if (nftw(dir, add_stats, 16, FTW_PHYS) != 0)
		die("%s:", dir);
	encoding_sums = NULL;
	if (!enc.passes)
		die("--costs %s: no elsa-encode --stats files (*.encode.yaml) there", dir);
	return enc;
}

/* Each cell's seconds per run and tokens per second. */
static void print_cell_costs(const struct table *tb, struct out *o)
{
	char label[32];
	out_printf(o, "\n");
	print_head(tb, o, 0, " %s: s/run, tokens/s |");
	for (size_t f = 0; f < tb->nrows; f++) {
		row_label(tb->rows[f], label, sizeof label);
		out_printf(o, "| %s |", label);
		for (int t = 0; t < tb->ntasks; t++) {
			const struct cell *c = cell_at(tb, f, t);
			if (c->present)
				out_printf(o, " %.2f, %.0f |", c->train_seconds, c->tokens_per_second);
			else
				out_printf(o, " |");
		}
		out_printf(o, "\n");
	}
}

static void print_costs(const struct table *tb, struct out *o, const char *dir)
{
	struct encoding enc = read_encoding(dir);
	double train = 0, processed = 0, recompute = 0, per_layer_token = enc.layer_tokens > 0 ? enc.seconds / enc.layer_tokens : NAN;
	for (size_t i = 0; i < tb->nruns; i++) {
		const struct run_record *r = &tb->runs[i].r;
		double tokens = r->tokens_per_second * r->train_seconds;
		train += r->train_seconds;
		processed += tokens;
		recompute += tokens * r->frozen * per_layer_token;
	}
	out_printf(o, "\n## Costs\n\n");
	out_printf(o, "| | passes | seconds | tokens/s |\n|---|---:|---:|---:|\n");
	out_printf(o, "| encoding the frozen layers (once) | %zu | %.1f | %.0f layer-tokens/s |\n", enc.passes, enc.seconds,
		   enc.seconds > 0 ? enc.layer_tokens / enc.seconds : 0);
	out_printf(o, "| training (every run) | %zu | %.1f | %.0f |\n", tb->nruns, train, train > 0 ? processed / train : 0);
	if (recompute > 0)
		out_printf(o, "\nThe frozen prefix was computed once, in %.1f s. The usual recipe recomputes it at every "
			      "training step: about %.1f s more for these runs at the measured encoding rate, %.1fx what the "
			      "cache cost.\n",
			   enc.seconds, recompute, recompute / enc.seconds);
	print_cell_costs(tb, o);
}

/* The figure */

/* The relative qualities task t has to plot. */
static int points(const struct table *tb, int t)
{
	int n = 0;
	for (size_t f = 0; f < tb->nrows; f++)
		n += tb->rows[f] >= 0 && cell_at(tb, f, t)->present && !isnan(cell_at(tb, f, t)->rel);
	return n;
}

/* The gnuplot script: each task's points (trained layers, relative quality), then the figure
 * drawn as BASE.svg and BASE.png. */
static void plot_script(const struct table *tb, FILE *g, const char *base)
{
	for (int t = 0; t < tb->ntasks; t++) {
		fprintf(g, "$d%d << EOD\n", t);
		for (size_t f = tb->nrows; f-- > 0;) {
			const struct cell *c = cell_at(tb, f, t);
			if (tb->rows[f] >= 0 && c->present && !isnan(c->rel))
				fprintf(g, "%d %.6f\n", tb->layers - tb->rows[f], c->rel);
		}
		fprintf(g, "EOD\n");
	}
	fprintf(g, "set xlabel 'trained layers (of %d)'\nset ylabel 'quality relative to the baseline (%%)'\n", tb->layers);
	fprintf(g, "set key bottom right\nset grid\nset xrange [0:%d]\nset xtics 1\n", tb->layers);
	/* the 90% line always shows: the y axis reaches 90 whatever the points (all above it, or below) */
	fprintf(g, "set yrange [*<90:90<*]\n");
	fprintf(g, "set arrow from 0,90 to %d,90 nohead dashtype 2 lc rgb 'gray'\n", tb->layers);
	const char *const terms[][2] = { { "svg size 720,480 dynamic", "svg" }, { "pngcairo size 720,480", "png" } };
	for (int k = 0; k < 2; k++) {
		fprintf(g, "set terminal %s\nset output '%s.%s'\nplot ", terms[k][0], base, terms[k][1]);
		for (int t = 0, first = 1; t < tb->ntasks; t++)
			if (points(tb, t)) {
				fprintf(g, "%s$d%d using 1:2 with linespoints lw 2 title '%s'", first ? "" : ", ", t, tb->tasks[t]);
				first = 0;
			}
		fprintf(g, "\nset output\n");
	}
}

/* The figure, drawn by gnuplot through a pipe: relative quality against trained layers, for the
 * tasks that have any (gnuplot's messages go to FILE.log, shown only when it fails). */
static void plot(const struct table *tb, const char *file)
{
	char *base = xprintf("%s", file);
	size_t n = strlen(base);
	if (n > 4 && (!strcmp(base + n - 4, ".svg") || !strcmp(base + n - 4, ".png")))
		base[n - 4] = 0;
	int drawn = 0;
	for (int t = 0; t < tb->ntasks; t++)
		drawn += points(tb, t) > 0;
	if (!drawn) {
		warn("--plot: no relative quality is defined (no baseline that scored above 0): no figure");
		free(base);
		return;
	}
	char *cmd = xprintf("gnuplot >'%s.log' 2>&1", base), *log = xprintf("%s.log", base);
	FILE *g = popen(cmd, "w");
	if (!g)
		die("--plot: cannot run gnuplot:");
	plot_script(tb, g, base);
	if (pclose(g) != 0)
		die("--plot: gnuplot failed (its messages: %s.log; scripts/deps installs gnuplot-nox)", base);
	unlink(log);
	free(cmd), free(log), free(base);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", 1, 0, 'f' }, { "plot", 1, 0, 'p' },    { "costs", 1, 0, 'c' }, { "output", 1, 0, 'o' },
		{ "help", 0, 0, 'h' },	 { "version", 0, 0, 'V' }, { 0 },
	};
	const char *format = "md", *plot_file = NULL, *costs = NULL, *output = "-";
	int o;
	cli_init("elsa-report");
	while ((o = getopt_long(argc, argv, "f:p:c:o:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'f': format = optarg; break;
		case 'p': plot_file = optarg; break;
		case 'c': costs = optarg; break;
		case 'o': output = optarg; break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (strcmp(format, "md") && strcmp(format, "tsv") && strcmp(format, "csv") && strcmp(format, "yaml"))
		die("--format: md, tsv, csv or yaml, not '%s'", format);
	if (optind == argc)
		die("no runs given (see --help)");
	if (costs && strcmp(format, "md"))
		die("--costs: the costs are tables of the md format, not of --format %s", format);
	struct table tb = { 0 };
	read_runs(&tb, argv + optind, argc - optind);
	axes(&tb);
	fill_cells(&tb);
	struct out *out = out_open(output, 0, 0);
	if (!out)
		die_lib();
	if (!strcmp(format, "md")) {
		print_markdown(&tb, out);
		if (costs)
			print_costs(&tb, out, costs);
	} else if (!strcmp(format, "yaml")) {
		print_yaml(&tb, out);
	} else {
		print_delimited(&tb, out, format[0] == 't' ? '\t' : ',');
	}
	if (plot_file)
		plot(&tb, plot_file);
	if (out_commit(out) < 0)
		die_lib();
	table_free(&tb);
	return cli_exit();
}
