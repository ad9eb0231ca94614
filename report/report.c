/* elsa-report: run records (run.yaml) to the paper's table and figure: per task and frozen-layer
 * count the dev score of the best learning rate (mean and spread over seeds), its quality relative
 * to fine-tuning every layer, the fewest trained layers that keep 90% of it, and the costs. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
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
	"      --help, --version\n";

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
	long train_tokens;                        /* tokens processed in training, all its runs */
};

static struct run *runs;
static size_t nruns;
static struct failure *failures;
static size_t nfailures;

/* Collecting run records */

/* NAME.failed: task, frozen, embeddings, last (see elsa-sweep). */
static void add_failure(const char *path, const char *base)
{
	struct json *j = json_load(path);
	int root = j ? json_root(j) : 0;
	const char *task = j ? json_str(j, json_get(j, root, "task"), NULL) : NULL;
	const char *last = j ? json_str(j, json_get(j, root, "last"), NULL) : NULL;
	double frozen, emb;
	if (!task || json_number(j, json_get(j, root, "frozen"), &frozen) < 0 ||
	    json_number(j, json_get(j, root, "embeddings"), &emb) < 0)
		die("%s: not an elsa-sweep failure marker", path);
	failures = realloc(failures, (nfailures + 1) * sizeof *failures);
	if (!failures)
		die("out of memory");
	struct failure *f = &failures[nfailures++];
	f->name = strndup(base, strlen(base) - (sizeof ".failed" - 1));
	f->task = strdup(task);
	f->last = strdup(last ? last : "");
	f->row = emb ? -1 : (int)frozen;
	if (!f->name || !f->task || !f->last)
		die("out of memory");
	json_free(j);
}

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	const char *base = path + ftw->base;
	size_t n = strlen(base);
	if (type == FTW_D && strstr(base, ".tmp."))
		return 0; /* an unfinished run (elsa-train writes RUN.tmp.XXXXXX): nftw cannot skip it, we do below */
	if (type == FTW_F && n > 7 && !strcmp(base + n - 7, ".failed"))
		add_failure(path, base);
	if (type != FTW_F || strcmp(base, "run.yaml") || strstr(path, ".tmp."))
		return 0;
	runs = realloc(runs, (nruns + 1) * sizeof *runs);
	if (!runs)
		die("out of memory");
	memset(&runs[nruns], 0, sizeof *runs);
	if (!(runs[nruns].path = realpath(path, NULL)))
		die("%s: %s", path, strerror(errno));
	nruns++;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct run *)a)->path, ((const struct run *)b)->path);
}

/* Small GLUE sets make some runs collapse to one class (PAPER.md): tell them from the rest by
 * the run's predictions.tsv, when it is there. */
static int collapsed(const struct run *r)
{
	const struct task *t = task_find(r->r.task);
	char path[4096];
	struct scores s = { 0 };
	int one_class = 0;
	snprintf(path, sizeof path, "%.*s/predictions.tsv", (int)(strrchr(r->path, '/') - r->path), r->path);
	if (t && t->nlabels && access(path, R_OK) == 0) {
		if (predictions_read(path, t, &s) < 0)
			die_lib();
		one_class = s.n > 1;
		for (size_t i = 1; i < s.n; i++)
			one_class &= s.v[i].value == s.v[0].value;
	}
	scores_free(&s);
	return one_class;
}

/* The bootstrap interval of the run's score, from the eval.yaml elsa-sweep writes beside run.yaml
 * (elsa-evaluate --bootstrap): METRIC_ci95: [lo, hi]. */
static void read_interval(struct run *r)
{
	char path[4096], key[64];
	r->lo = r->hi = NAN;
	snprintf(path, sizeof path, "%.*s/eval.yaml", (int)(strrchr(r->path, '/') - r->path), r->path);
	if (access(path, R_OK) < 0)
		return;
	struct json *j = json_load(path);
	if (!j)
		die_lib();
	snprintf(key, sizeof key, "%s_ci95", r->metric);
	int ci = json_get(j, json_root(j), key);
	if (json_len(j, ci) != 2 || json_number(j, json_at(j, ci, 0, NULL), &r->lo) < 0 ||
	    json_number(j, json_at(j, ci, 1, NULL), &r->hi) < 0)
		r->lo = r->hi = NAN;
	json_free(j);
}

static void read_runs(char **args, int n)
{
	for (int i = 0; i < n; i++) {
		struct stat sb;
		if (stat(args[i], &sb) < 0)
			die("%s: %s", args[i], strerror(errno));
		if (nftw(args[i], collect, 16, FTW_PHYS) != 0)
			die("%s: %s", args[i], strerror(errno));
	}
	if (!nruns)
		die("no run.yaml under %s%s%s", args[0], n > 1 ? " and the others" : "", nfailures ? " (every run failed)" : "");
	qsort(runs, nruns, sizeof *runs, by_path);
	size_t unique = 0;
	for (size_t i = 0; i < nruns; i++) { /* a run given twice (its folder and its run.yaml) is one */
		if (unique && !strcmp(runs[unique - 1].path, runs[i].path)) {
			free(runs[i].path);
			continue;
		}
		runs[unique++] = runs[i];
	}
	nruns = unique;
	for (size_t i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		if (run_read(r->path, &r->r) < 0)
			die_lib();
		const struct run_eval *ev = run_final(&r->r);
		if (!ev)
			die("%s: the run has no dev evaluation (train with --dev)", r->path);
		r->score = ev->e.m[ev->e.primary].value;
		r->metric = ev->e.m[ev->e.primary].name;
		if (r->r.model != runs[0].r.model)
			die("%s: made with another model (%016llx) than %s (%016llx)", r->path, (unsigned long long)r->r.model,
			    runs[0].path, (unsigned long long)runs[0].r.model);
		r->collapsed = collapsed(r);
		read_interval(r);
	}
}

/* The table */

static const char *tasks[32];
static int ntasks, frozen[1100], nfrozen;

static void add_unique_int(int *v, int *n, int x)
{
	for (int i = 0; i < *n; i++)
		if (v[i] == x)
			return;
	v[(*n)++] = x;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Row key: the frozen count, with full fine-tunes (embeddings trained) as -1. */
static int row_of(const struct run *r)
{
	return r->r.train_embeddings ? -1 : r->r.frozen;
}

static void add_task(const char *task)
{
	for (int t = 0; t < ntasks; t++)
		if (!strcmp(tasks[t], task))
			return;
	if (ntasks == 32)
		die("more than 32 tasks");
	tasks[ntasks++] = task;
}

/* The table's columns (tasks) and rows (frozen counts) of every run, failed ones too. */
static void axes(void)
{
	for (size_t i = 0; i < nruns; i++) {
		add_task(runs[i].r.task);
		add_unique_int(frozen, &nfrozen, row_of(&runs[i]));
	}
	for (size_t i = 0; i < nfailures; i++) {
		add_task(failures[i].task);
		add_unique_int(frozen, &nfrozen, failures[i].row);
	}
	qsort(frozen, (size_t)nfrozen, sizeof *frozen, cmp_int);
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
			   x->train_examples != y->train_examples ? "the training examples" :
			   x->dev_examples != y->dev_examples	? "the dev examples" :
									  NULL;
	if (what)
		die("%s and %s: one cell (%s, frozen %d, lr %g) of runs whose %s differ: report them apart", a->path, b->path,
		    x->task, x->frozen, x->lr, what);
}

/* The best learning rate of (task, row) by mean dev score over seeds, and its statistics. */
static struct cell make_cell(const char *task, int row)
{
	struct cell best = { 0 };
	int failed = 0;
	for (size_t i = 0; i < nfailures; i++)
		failed += !strcmp(failures[i].task, task) && failures[i].row == row;
	for (size_t i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];
		if (strcmp(r->r.task, task) || row_of(r) != row)
			continue;
		struct cell c = { .present = 1, .lr = r->r.lr, .rel = NAN };
		double sum = 0, sq = 0, lo = 0, hi = 0;
		for (size_t k = 0; k < nruns; k++) {
			const struct run *s = &runs[k];
			if (strcmp(s->r.task, task) || row_of(s) != row || s->r.lr != r->r.lr)
				continue;
			same_settings(r, s);
			lo += s->lo;
			hi += s->hi;
			double v = isnan(s->score) ? 0 : s->score; /* an undefined score (constant predictions) counts as 0 */
			sum += v;
			sq += v * v;
			c.seeds++;
			c.collapsed += s->collapsed;
			c.train_seconds += s->r.train_seconds;
			c.tokens_per_second += s->r.tokens_per_second;
			c.train_tokens += (long)(s->r.tokens_per_second * s->r.train_seconds);
		}
		c.mean = sum / c.seeds;
		c.sd = c.seeds > 1 ? sqrt(fmax(0, (sq - sum * sum / c.seeds) / (c.seeds - 1))) : NAN;
		c.lo = lo / c.seeds; /* NAN when a seed has no interval */
		c.hi = hi / c.seeds;
		c.train_seconds /= c.seeds;
		c.tokens_per_second /= c.seeds;
		if (!best.present || c.mean > best.mean)
			best = c;
	}
	best.failed = failed;
	return best;
}

static struct cell *cells; /* [nfrozen][ntasks] */
static int layers;
static int *baseline;       /* [ntasks]: the row relative quality is against (frozen 0, else the fewest
			     * frozen layers run); -2 when the task has no cell that can be one */
static int *claim;          /* [ntasks]: the baseline learned (no collapsed run, a positive score): a 90% claim holds */

/* The baseline of task t: frozen 0 (every layer trained) when it was run, else the fewest
 * frozen layers that were (the caption says which). */
static int baseline_row(int t)
{
	for (int f = 0; f < nfrozen; f++)
		if (frozen[f] >= 0 && make_cell(tasks[t], frozen[f]).present)
			return frozen[f];
	return -2;
}

static void fill_cells(void)
{
	cells = calloc((size_t)(nfrozen * ntasks), sizeof *cells);
	baseline = calloc((size_t)ntasks, sizeof *baseline);
	claim = calloc((size_t)ntasks, sizeof *claim);
	if (!cells || !baseline || !claim)
		die("out of memory");
	layers = runs[0].r.layers;
	for (int t = 0; t < ntasks; t++) {
		baseline[t] = baseline_row(t);
		struct cell base = make_cell(tasks[t], baseline[t]);
		claim[t] = base.present && base.mean > 0 && !base.collapsed;
		for (int f = 0; f < nfrozen; f++) {
			struct cell *c = &cells[f * ntasks + t];
			*c = make_cell(tasks[t], frozen[f]);
			c->rel = base.present && base.mean > 0 ? 100 * c->mean / base.mean : NAN;
		}
	}
}

/* The fewest trained layers whose quality is at least 90% of the baseline, or -1 (none, or a
 * baseline that did not learn: collapsed, or a score of 0 or less). */
static int fewest_for_90(int t)
{
	int best = -1;
	if (!claim[t])
		return -1;
	for (int f = 0; f < nfrozen; f++) {
		const struct cell *c = &cells[f * ntasks + t];
		int trained = layers - frozen[f];
		if (frozen[f] >= 0 && c->present && c->rel >= 90 && (best < 0 || trained < best))
			best = trained;
	}
	return best;
}

static const char *metric_of(const char *task)
{
	for (size_t i = 0; i < nruns; i++)
		if (!strcmp(runs[i].r.task, task))
			return runs[i].metric;
	return "?";
}

static void row_label(int row, char *buf, size_t n)
{
	if (row < 0)
		snprintf(buf, n, "0 (+ embeddings)");
	else
		snprintf(buf, n, "%d", row);
}

/* "frozen 0 (every encoder layer trained, embeddings frozen)." or, without that row, the fewest
 * frozen layers each task ran. */
static void print_baselines(struct out *o)
{
	int all_zero = 1;
	for (int t = 0; t < ntasks; t++)
		all_zero &= baseline[t] == 0;
	if (all_zero) {
		out_printf(o, "frozen 0 (every encoder layer trained, embeddings frozen).");
		return;
	}
	out_printf(o, "the fewest frozen layers run, frozen 0 being absent:");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, t ? ", %s frozen %d" : " %s frozen %d", tasks[t], baseline[t]);
	out_printf(o, ".");
}

/* Tasks whose baseline did not learn make no 90% claim: say why. */
static void print_no_claims(struct out *o)
{
	for (int t = 0; t < ntasks; t++)
		if (!claim[t] && baseline[t] >= -1)
			out_printf(o, "\n%s makes no claim of the fewest layers for 90%%: its baseline (frozen %d) %s.\n", tasks[t],
				   baseline[t], make_cell(tasks[t], baseline[t]).collapsed ? "has collapsed runs" : "scores 0 or less");
}

/* " (2 collapsed, 1 failed)" */
/* Runs that kept their best dev epoch score it: a choice made on the very set scored. */
static void print_keep_note(struct out *o)
{
	size_t best = 0;
	for (size_t i = 0; i < nruns; i++)
		best += runs[i].r.keep_best;
	if (best == nruns)
		out_printf(o, "Every run ");
	else if (best)
		out_printf(o, "%zu of the %zu runs ", best, nruns);
	if (best)
		out_printf(o, "kept the epoch of its best dev score (elsa-train --keep best): a choice made on the dev set "
			      "it is scored on, so an optimistic estimate.\n");
}

static const char *cell_notes(const struct cell *c, char *buf, size_t n)
{
	buf[0] = 0;
	if (c->collapsed && c->failed)
		snprintf(buf, n, " (%d collapsed, %d failed)", c->collapsed, c->failed);
	else if (c->collapsed || c->failed)
		snprintf(buf, n, " (%d %s)", c->collapsed ? c->collapsed : c->failed, c->collapsed ? "collapsed" : "failed");
	return buf;
}

static void print_failures(struct out *o)
{
	if (!nfailures)
		return;
	out_printf(o, "\n%zu run%s failed, left out of the table's means:\n\n", nfailures, nfailures == 1 ? "" : "s");
	for (size_t i = 0; i < nfailures; i++)
		out_printf(o, "- %s %s: %s\n", failures[i].task, failures[i].name, failures[i].last);
}

static void print_markdown(struct out *o)
{
	char label[32], notes[64];
	out_printf(o, "| frozen | trained |");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, " %s (%s) |", tasks[t], metric_of(tasks[t]));
	out_printf(o, "\n|---:|---:|");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, "---|");
	out_printf(o, "\n");
	for (int f = 0; f < nfrozen; f++) {
		row_label(frozen[f], label, sizeof label);
		out_printf(o, "| %s | %d |", label, layers - (frozen[f] < 0 ? 0 : frozen[f]));
		for (int t = 0; t < ntasks; t++) {
			const struct cell *c = &cells[f * ntasks + t];
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
	for (int t = 0; t < ntasks; t++) {
		int k = fewest_for_90(t);
		if (k < 0)
			out_printf(o, " - |");
		else
			out_printf(o, " **%d** |", k);
	}
	out_printf(o, "\n\nScores are dev scores x 100, mean ± standard deviation over seeds, at each cell's best "
		      "learning rate (chosen on dev, as the paper does); percentages are relative to ");
	print_baselines(o);
	out_printf(o, " %zu run%s of a %d-layer model; a cell of one seed has no spread. A collapsed run predicts one "
		      "class for every dev example. The intervals are 95%% bootstrap intervals of each seed's score over "
		      "the dev examples (elsa-evaluate --bootstrap), bound by bound averaged over the seeds.\n",
		   nruns, nruns == 1 ? "" : "s", layers);
	print_keep_note(o);
	print_no_claims(o);
	out_printf(o, "\n| frozen |");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, " %s: lr, seeds (collapsed), interval |", tasks[t]);
	out_printf(o, "\n|---:|");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, "---|");
	out_printf(o, "\n");
	for (int f = 0; f < nfrozen; f++) {
		row_label(frozen[f], label, sizeof label);
		out_printf(o, "| %s |", label);
		for (int t = 0; t < ntasks; t++) {
			const struct cell *c = &cells[f * ntasks + t];
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
	print_failures(o);
}

/* A statistic as delimited text: the shortest form that reads back to it; empty when undefined. */
static const char *stat_text(double v, char *buf)
{
	if (isnan(v))
		buf[0] = 0;
	else
		label_format(v, buf);
	return buf;
}

static void print_delimited(struct out *o, char sep)
{
	char m[32], sd[32], rel[32], lo[32], hi[32];
	out_printf(o, "task%cmetric%cfrozen%ctrained%cembeddings%clr%cseeds%ccollapsed%cfailed%cmean%csd%crelative%cci95_lo%c"
		      "ci95_hi%ctrain_seconds%ctokens_per_second\n", sep, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep,
		   sep, sep, sep);
	for (int t = 0; t < ntasks; t++)
		for (int f = 0; f < nfrozen; f++) {
			const struct cell *c = &cells[f * ntasks + t];
			if (!c->present)
				continue;
			int N = frozen[f] < 0 ? 0 : frozen[f];
			out_printf(o, "%s%c%s%c%d%c%d%c%d%c%g%c%d%c%d%c%d%c%s%c%s%c%s%c%s%c%s%c%.6g%c%.6g\n", tasks[t], sep,
				   metric_of(tasks[t]), sep, N, sep, layers - N, sep, frozen[f] < 0, sep, c->lr, sep, c->seeds,
				   sep, c->collapsed, sep, c->failed, sep, stat_text(c->mean, m), sep, stat_text(c->sd, sd), sep,
				   stat_text(c->rel / 100, rel), sep, stat_text(c->lo, lo), sep, stat_text(c->hi, hi), sep,
				   c->train_seconds, sep, c->tokens_per_second);
		}
}

static void print_yaml(struct out *o)
{
	out_printf(o, "layers: %d\nruns: %zu\ntasks:\n", layers, nruns);
	for (int t = 0; t < ntasks; t++) {
		int k = fewest_for_90(t);
		out_printf(o, "  %s:\n    metric: %s\n    fewest_trained_for_90: ", tasks[t], metric_of(tasks[t]));
		out_printf(o, k < 0 ? "null\n" : "%d\n", k);
		out_printf(o, "    rows:\n");
		for (int f = 0; f < nfrozen; f++) {
			const struct cell *c = &cells[f * ntasks + t];
			if (!c->present)
				continue;
			int N = frozen[f] < 0 ? 0 : frozen[f];
			char m[32], sd[32], rel[32], lo[32], hi[32];
			yaml_number(c->mean, m), yaml_number(c->sd, sd), yaml_number(c->rel / 100, rel);
			yaml_number(c->lo, lo), yaml_number(c->hi, hi);
			out_printf(o, "      - {frozen: %d, trained: %d, embeddings: %s, lr: %g, seeds: %d, collapsed: %d, failed: %d, "
				      "mean: %s, sd: %s, relative: %s, ci95: [%s, %s]}\n",
				   N, layers - N, frozen[f] < 0 ? "true" : "false", c->lr, c->seeds, c->collapsed, c->failed, m, sd,
				   rel, lo, hi);
		}
	}
}

/* Costs */

struct encoding {
	double seconds, layer_tokens; /* tokens x layers computed */
	size_t passes;
};

static struct encoding enc;

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
	enc.seconds += seconds;
	enc.layer_tokens += tokens * (to - from);
	enc.passes++;
	json_free(j);
	return 0;
}

static void print_costs(struct out *o, const char *dir)
{
	if (nftw(dir, add_stats, 16, FTW_PHYS) != 0)
		die("%s: %s", dir, strerror(errno));
	if (!enc.passes)
		die("--costs %s: no elsa-encode --stats files (*.encode.yaml) there", dir);
	double train = 0, processed = 0, recompute = 0, per_layer_token = enc.layer_tokens > 0 ? enc.seconds / enc.layer_tokens : NAN;
	for (size_t i = 0; i < nruns; i++) {
		double tokens = runs[i].r.tokens_per_second * runs[i].r.train_seconds;
		train += runs[i].r.train_seconds;
		processed += tokens;
		recompute += tokens * runs[i].r.frozen * per_layer_token;
	}
	out_printf(o, "\n## Costs\n\n");
	out_printf(o, "| | passes | seconds | tokens/s |\n|---|---:|---:|---:|\n");
	out_printf(o, "| encoding the frozen layers (once) | %zu | %.1f | %.0f layer-tokens/s |\n", enc.passes, enc.seconds,
		   enc.seconds > 0 ? enc.layer_tokens / enc.seconds : 0);
	out_printf(o, "| training (every run) | %zu | %.1f | %.0f |\n", nruns, train, train > 0 ? processed / train : 0);
	if (enc.passes && recompute > 0)
		out_printf(o, "\nThe frozen prefix was computed once, in %.1f s. The usual recipe recomputes it at every "
			      "training step: about %.1f s more for these runs at the measured encoding rate, %.1fx what the "
			      "cache cost.\n",
			   enc.seconds, recompute, recompute / enc.seconds);
	out_printf(o, "\n| frozen |");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, " %s: s/run, tokens/s |", tasks[t]);
	out_printf(o, "\n|---:|");
	for (int t = 0; t < ntasks; t++)
		out_printf(o, "---|");
	out_printf(o, "\n");
	for (int f = 0; f < nfrozen; f++) {
		char label[32];
		row_label(frozen[f], label, sizeof label);
		out_printf(o, "| %s |", label);
		for (int t = 0; t < ntasks; t++) {
			const struct cell *c = &cells[f * ntasks + t];
			if (c->present)
				out_printf(o, " %.2f, %.0f |", c->train_seconds, c->tokens_per_second);
			else
				out_printf(o, " |");
		}
		out_printf(o, "\n");
	}
}

/* The relative qualities task t has to plot. */
static int points(int t)
{
	int n = 0;
	for (int f = 0; f < nfrozen; f++)
		n += frozen[f] >= 0 && cells[f * ntasks + t].present && !isnan(cells[f * ntasks + t].rel);
	return n;
}

/* The figure, drawn by gnuplot through a pipe: relative quality against trained layers, for the
 * tasks that have any (gnuplot's messages go to FILE.log, shown only when it fails). */
static void plot(const char *file)
{
	char base[4096], cmd[4200];
	snprintf(base, sizeof base, "%s", file);
	size_t n = strlen(base);
	if (n > 4 && (!strcmp(base + n - 4, ".svg") || !strcmp(base + n - 4, ".png")))
		base[n - 4] = 0;
	int drawn = 0;
	for (int t = 0; t < ntasks; t++)
		drawn += points(t) > 0;
	if (!drawn) {
		warn("--plot: no relative quality is defined (no baseline that scored above 0): no figure");
		return;
	}
	snprintf(cmd, sizeof cmd, "gnuplot >'%s.log' 2>&1", base);
	FILE *g = popen(cmd, "w");
	if (!g)
		die("--plot: cannot run gnuplot: %s", strerror(errno));
	for (int t = 0; t < ntasks; t++) {
		fprintf(g, "$d%d << EOD\n", t);
		for (int f = nfrozen - 1; f >= 0; f--) {
			const struct cell *c = &cells[f * ntasks + t];
			if (frozen[f] >= 0 && c->present && !isnan(c->rel))
				fprintf(g, "%d %.6f\n", layers - frozen[f], c->rel);
		}
		fprintf(g, "EOD\n");
	}
	fprintf(g, "set xlabel 'trained layers (of %d)'\nset ylabel 'quality relative to the baseline (%%)'\n", layers);
	fprintf(g, "set key bottom right\nset grid\nset xrange [0:%d]\nset xtics 1\n", layers);
	fprintf(g, "set arrow from 0,90 to %d,90 nohead dashtype 2 lc rgb 'gray'\n", layers);
	const char *const terms[][2] = { { "svg size 720,480 dynamic", "svg" }, { "pngcairo size 720,480", "png" } };
	for (int k = 0; k < 2; k++) {
		fprintf(g, "set terminal %s\nset output '%s.%s'\nplot ", terms[k][0], base, terms[k][1]);
		for (int t = 0, first = 1; t < ntasks; t++)
			if (points(t)) {
				fprintf(g, "%s$d%d using 1:2 with linespoints lw 2 title '%s'", first ? "" : ", ", t, tasks[t]);
				first = 0;
			}
		fprintf(g, "\nset output\n");
	}
	if (pclose(g) != 0)
		die("--plot: gnuplot failed (its messages: %s.log; scripts/deps installs gnuplot-nox)", base);
	snprintf(cmd, sizeof cmd, "%s.log", base);
	unlink(cmd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", 1, 0, 'f' }, { "plot", 1, 0, 'p' },    { "costs", 1, 0, 'c' }, { "output", 1, 0, 'o' },
		{ "help", 0, 0, 'h' },	 { "version", 0, 0, 'v' }, { 0 },
	};
	const char *format = "md", *plot_file = NULL, *costs = NULL, *output = "-";
	int o;
	cli_init("elsa-report");
	while ((o = getopt_long(argc, argv, "f:p:c:o:", opts, NULL)) != -1) {
		switch (o) {
		case 'f': format = optarg; break;
		case 'p': plot_file = optarg; break;
		case 'c': costs = optarg; break;
		case 'o': output = optarg; break;
		case 'h': cli_help(usage);
		case 'v': cli_version();
		default: cli_usage_error();
		}
	}
	if (strcmp(format, "md") && strcmp(format, "tsv") && strcmp(format, "csv") && strcmp(format, "yaml"))
		die("--format: md, tsv, csv or yaml, not '%s'", format);
	if (optind == argc)
		die("no runs given (see --help)");
	if (costs && strcmp(format, "md"))
		die("--costs: the costs are tables of the md format, not of --format %s", format);
	read_runs(argv + optind, argc - optind);
	axes();
	fill_cells();
	struct out *out = out_open(output, 0, 0);
	if (!out)
		die_lib();
	if (!strcmp(format, "md")) {
		print_markdown(out);
		if (costs)
			print_costs(out, costs);
	} else if (!strcmp(format, "yaml")) {
		print_yaml(out);
	} else {
		print_delimited(out, format[0] == 't' ? '\t' : ',');
	}
	if (plot_file)
		plot(plot_file);
	if (out_commit(out) < 0)
		die_lib();
	return cli_exit();
}
