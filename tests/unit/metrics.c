/* metrics: GLUE's metrics against scikit-learn and scipy (tests/fixtures/evaluate, written by
 * tests/ref/metrics_fixtures.py), their edge cases, the bootstrap, and the predictions file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "glue.h"
#include "io.h"
#include "metrics.h"
#include "predictions.h"

#define TOL 1e-12

static char fixtures[2048];

static const char *fixture(const char *name)
{
	static char buf[4][4096];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", fixtures, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* The fixture cases: every task (gold as GLUE TSV and as token stream) and the edge cases */

struct expect {
	char name[32];
	double value; /* NAN: null */
};

static struct {
	char name[64], task[16], gold[64], pred[64];
	int count;
	struct expect m[METRICS_MAX];
} fixture_case;

/* Reads gold and predictions as elsa-evaluate does, and its metrics into e. 0 or a code. */
static int evaluate_files(const struct task *t, const char *gold_path, const char *pred_path, struct evaluation *e)
{
	struct scores gold = { 0 }, pred = { 0 };
	int tokens = strstr(gold_path, ".tok") != NULL;
	int rc = tokens ? gold_read_tokens(gold_path, t, &gold) : gold_read_tsv(gold_path, t, ORDER_UNSAID, &gold);
	if (!rc)
		rc = predictions_read(pred_path, t, &pred);
	double *g = calloc(2 * gold.n + 1, sizeof *g), *p = g + gold.n;
	for (size_t i = 0; i < gold.n; i++)
		g[i] = gold.v[i].value;
	if (!rc)
		rc = scores_match(&gold, &pred, p);
	if (!rc)
		rc = metrics_evaluate(t, g, p, gold.n, e);
	free(g);
	scores_free(&gold);
	scores_free(&pred);
	return rc;
}

static void test_fixture_case(void)
{
	const struct task *t = task_find(fixture_case.task);
	struct evaluation e;
	CHECK(t, "task %s", fixture_case.task);
	int rc = evaluate_files(t, fixture(fixture_case.gold), fixture(fixture_case.pred), &e);
	CHECK(rc == 0, "%s", err_msg());
	if (rc)
		return;
	CHECK(e.count == fixture_case.count, "%d metrics, expected %d", e.count, fixture_case.count);
	CHECK(!strcmp(e.m[e.primary].name, t->metric), "primary %s", e.m[e.primary].name);
	for (int k = 0; k < e.count && k < fixture_case.count; k++) {
		const struct expect *x = &fixture_case.m[k];
		CHECK(!strcmp(e.m[k].name, x->name), "metric %d is %s, expected %s", k, e.m[k].name, x->name);
		if (isnan(x->value))
			CHECK(isnan(e.m[k].value), "%s is %.17g, expected null", x->name, e.m[k].value);
		else
			CHECK_CLOSE(e.m[k].value, x->value, TOL);
	}
	int undefined = isnan(e.m[e.primary].value), note = e.note[0] != 0;
	if (undefined)
		CHECK(note, "an undefined metric without a note");
}

static char tasks_seen[512]; /* " cola sst2 ..." : the tasks of the fixture cases */

TEST(every_task_has_a_fixture)
{
	size_t n;
	const struct task *t = task_all(&n);
	for (size_t i = 0; i < n; i++) {
		char word[32];
		snprintf(word, sizeof word, " %s ", t[i].name);
		CHECK(strstr(tasks_seen, word), "no fixture case of task %s", t[i].name);
	}
}

/* Runs one TAP test per case of expected.tsv (rows of one case are consecutive). */
static void run_fixture_cases(void)
{
	FILE *f = fopen(fixture("expected.tsv"), "r");
	char line[512];
	if (!f) {
		check_skip("fixtures", "tests/fixtures/evaluate/expected.tsv not found (set ELSA_TOP)");
		return;
	}
	fixture_case.name[0] = 0;
	while (fgets(line, sizeof line, f)) {
		char name[64], task[16], gold[64], pred[64], metric[32], value[64];
		if (sscanf(line, "%63[^\t]\t%15[^\t]\t%63[^\t]\t%63[^\t]\t%31[^\t]\t%63s", name, task, gold, pred, metric,
			   value) != 6 || !strcmp(name, "case"))
			continue;
		if (strcmp(name, fixture_case.name)) {
			if (fixture_case.name[0])
				check_run(fixture_case.name, test_fixture_case);
			memset(&fixture_case, 0, sizeof fixture_case);
			strcpy(fixture_case.name, name);
			strcpy(fixture_case.task, task);
			if (strlen(tasks_seen) + strlen(task) + 2 < sizeof tasks_seen)
				strcat(strcat(strcat(tasks_seen, " "), task), " ");
			strcpy(fixture_case.gold, gold);
			strcpy(fixture_case.pred, pred);
		}
		if (fixture_case.count < METRICS_MAX) {
			struct expect *x = &fixture_case.m[fixture_case.count++];
			strcpy(x->name, metric);
			x->value = strcmp(value, "null") ? strtod(value, NULL) : NAN;
		}
	}
	if (fixture_case.name[0])
		check_run(fixture_case.name, test_fixture_case);
	fclose(f);
}

/* Pieces against scipy and numpy */

TEST(ranks_as_scipy_rankdata)
{
	FILE *f = fopen(fixture("ranks.tsv"), "r");
	double x[100], want[100], got[100];
	size_t n = 0;
	CHECK(f, "ranks.tsv");
	if (!f)
		return;
	while (n < 100 && fscanf(f, "%lf\t%lf", &x[n], &want[n]) == 2)
		n++;
	fclose(f);
	CHECK(n > 40, "%zu values", n);
	CHECK(metric_ranks(x, n, got) == 0, "ranks");
	for (size_t i = 0; i < n; i++)
		CHECK(got[i] == want[i], "rank of x[%zu] = %g: %g, scipy %g", i, x[i], got[i], want[i]);
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

TEST(quantiles_as_numpy_percentile)
{
	FILE *f = fopen(fixture("ranks.tsv"), "r"), *q = fopen(fixture("quantiles.tsv"), "r");
	double x[100], r, p, want;
	size_t n = 0, tested = 0;
	CHECK(f && q, "ranks.tsv, quantiles.tsv");
	if (!f || !q)
		return;
	while (n < 100 && fscanf(f, "%lf\t%lf", &x[n], &r) == 2)
		n++;
	qsort(x, n, sizeof *x, by_double);
	while (fscanf(q, "%lf\t%lf", &p, &want) == 2) {
		CHECK_CLOSE(metric_quantile(x, n, p), want, TOL);
		tested++;
	}
	CHECK(tested >= 5, "%zu quantiles", tested);
	fclose(f);
	fclose(q);
}

TEST(multiclass_mcc_as_sklearn)
{
	FILE *f = fopen(fixture("multiclass.tsv"), "r");
	double g[100], p[100], want = NAN;
	size_t n = 0;
	CHECK(f && fscanf(f, "# mcc %lf", &want) == 1, "multiclass.tsv");
	if (!f)
		return;
	while (n < 100 && fscanf(f, "%lf\t%lf", &g[n], &p[n]) == 2)
		n++;
	fclose(f);
	CHECK(n == 50, "%zu examples", n);
	CHECK_CLOSE(metric_mcc(g, p, n, 3), want, TOL);
}

/* Conventions and undefined values */

TEST(constant_and_tiny_inputs)
{
	double zeros[4] = { 0, 0, 0, 0 }, mixed[4] = { 0, 1, 1, 0 }, ones[4] = { 1, 1, 1, 1 };
	CHECK(metric_mcc(mixed, zeros, 4, 2) == 0, "constant prediction: mcc 0");
	CHECK(metric_mcc(ones, mixed, 4, 2) == 0, "constant gold: mcc 0");
	CHECK(metric_f1(mixed, zeros, 4) == 0, "nothing predicted positive: f1 0");
	CHECK(metric_f1(zeros, zeros, 4) == 0, "no positives at all: f1 0");
	CHECK(metric_f1(mixed, mixed, 4) == 1, "f1 of a perfect prediction");
	CHECK(isnan(metric_pearson(mixed, zeros, 4)), "pearson of a constant is undefined");
	CHECK(isnan(metric_pearson(zeros, mixed, 4)), "pearson against a constant is undefined");
	CHECK(isnan(metric_pearson(mixed, mixed, 1)), "pearson of one example is undefined");
	double a[2] = { 1, 3 }, b[2] = { 5, 2 }, rho = 0;
	CHECK(metric_pearson(a, b, 2) == -1, "two examples: exactly -1");
	CHECK(metric_spearman(mixed, zeros, 4, &rho) == 0 && isnan(rho), "spearman of a constant is undefined");
	double x[3] = { 1, 2, 3 }, y[3] = { 2, 4, 6.5 };
	CHECK(metric_pearson(x, y, 3) <= 1, "clamped to 1");
	CHECK(metric_spearman(x, y, 3, &rho) == 0, "spearman");
	CHECK_CLOSE(rho, 1, TOL);
}

TEST(notes_and_primary)
{
	const struct task *stsb = task_find("stsb"), *cola = task_find("cola"), *mrpc = task_find("mrpc");
	double g[3] = { 1, 2, 3 }, c[3] = { 2, 2, 2 }, y[3] = { 0, 1, 1 }, n[3] = { 0, 0, 0 };
	struct evaluation e;
	CHECK(metrics_evaluate(stsb, g, c, 3, &e) == 0, "%s", err_msg());
	CHECK(isnan(e.m[0].value) && isnan(e.m[1].value) && isnan(e.m[2].value), "undefined correlations");
	CHECK(strstr(e.note, "undefined: the predictions are constant"), "note: %s", e.note);
	CHECK(metrics_evaluate(stsb, c, g, 3, &e) == 0 && strstr(e.note, "the gold labels are constant"), "%s", e.note);
	CHECK(metrics_evaluate(stsb, g, g, 1, &e) == 0 && strstr(e.note, "fewer than 2"), "%s", e.note);
	CHECK(metrics_evaluate(stsb, g, g, 3, &e) == 0 && !e.note[0], "%s", e.note);
	CHECK_CLOSE(e.m[2].value, 1, TOL);
	CHECK(metrics_evaluate(cola, y, n, 3, &e) == 0 && e.m[0].value == 0, "mcc 0");
	CHECK(strstr(e.note, "mcc is 0 by convention: the predictions are constant"), "note: %s", e.note);
	CHECK(!strcmp(e.m[e.primary].name, "mcc"), "primary %s", e.m[e.primary].name);
	CHECK(metrics_evaluate(mrpc, y, n, 3, &e) == 0 && e.m[1].value == 0, "f1 0");
	CHECK(strstr(e.note, "nothing is predicted positive"), "note: %s", e.note);
	CHECK(!strcmp(e.m[e.primary].name, "acc_and_f1") && e.count == 3, "primary %s", e.m[e.primary].name);
	CHECK(metrics_evaluate(mrpc, n, n, 3, &e) == 0 && strstr(e.note, "no example is positive"), "%s", e.note);
}

TEST(evaluate_refuses_values_outside_the_task)
{
	const struct task *rte = task_find("rte"), *stsb = task_find("stsb");
	double g[2] = { 0, 1 }, bad[2] = { 0, 2 }, half[2] = { 0.5, 1 }, inf[2] = { 1, INFINITY };
	struct evaluation e;
	CHECK(metrics_evaluate(rte, g, bad, 2, &e) == E_ARG, "class 2 of rte");
	CHECK(strstr(err_msg(), "example 2: prediction 2 is not a class of rte"), "%s", err_msg());
	CHECK(metrics_evaluate(rte, half, g, 2, &e) == E_ARG, "label 0.5 of rte");
	CHECK(metrics_evaluate(stsb, g, inf, 2, &e) == E_ARG, "an infinite score");
	CHECK(metrics_evaluate(rte, g, g, 0, &e) == E_ARG, "no examples");
}

/* The bootstrap */

/* n examples, the first right ones right (gold 1, prediction 1), the others wrong. */
static void right_and_wrong(double *g, double *p, size_t n, size_t right)
{
	for (size_t i = 0; i < n; i++) {
		g[i] = 1;
		p[i] = i < right;
	}
}

TEST(bootstrap_is_seeded)
{
	const struct task *rte = task_find("rte");
	double g[277], p[277];
	right_and_wrong(g, p, 277, 180);
	struct evaluation a, b, c;
	CHECK(metrics_evaluate(rte, g, p, 277, &a) == 0 && metrics_bootstrap(&a, g, p, 277, 500, 42) == 0, "a");
	CHECK(metrics_evaluate(rte, g, p, 277, &b) == 0 && metrics_bootstrap(&b, g, p, 277, 500, 42) == 0, "b");
	CHECK(metrics_evaluate(rte, g, p, 277, &c) == 0 && metrics_bootstrap(&c, g, p, 277, 500, 43) == 0, "c");
	CHECK(a.m[0].lo == b.m[0].lo && a.m[0].hi == b.m[0].hi, "same seed, same interval");
	CHECK(a.m[0].lo != c.m[0].lo || a.m[0].hi != c.m[0].hi, "another seed, another interval");
	CHECK(a.m[0].lo < a.m[0].value && a.m[0].value < a.m[0].hi, "[%g, %g] around %g", a.m[0].lo, a.m[0].hi,
	      a.m[0].value);
}

/* The q-quantile of Binomial(n, p): the smallest k with P(X <= k) >= q. */
static double binomial_quantile(size_t n, double p, double q)
{
	double cdf = 0;
	for (size_t k = 0; k <= n; k++) {
		cdf += exp(lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + k * log(p) + (n - k) * log1p(-p));
		if (cdf >= q)
			return (double)k;
	}
	return (double)n;
}

/* The bootstrapped accuracy of n examples, m of them right, is Binomial(n, m/n) / n: with many
 * samples the interval's ends are its quantiles (within a step 1/n of the discrete distribution). */
TEST(bootstrap_accuracy_matches_the_binomial)
{
	const struct task *rte = task_find("rte");
	enum { N = 277, RIGHT = 180, REPS = 20000 };
	double g[N], p[N];
	right_and_wrong(g, p, N, RIGHT);
	struct evaluation e;
	CHECK(metrics_evaluate(rte, g, p, N, &e) == 0 && metrics_bootstrap(&e, g, p, N, REPS, 42) == 0, "%s",
	      err_msg());
	double lo = binomial_quantile(N, (double)RIGHT / N, 0.025) / N;
	double hi = binomial_quantile(N, (double)RIGHT / N, 0.975) / N;
	CHECK(fabs(e.m[0].lo - lo) <= 1.0 / N + 1e-12, "lo %.6f, binomial %.6f", e.m[0].lo, lo);
	CHECK(fabs(e.m[0].hi - hi) <= 1.0 / N + 1e-12, "hi %.6f, binomial %.6f", e.m[0].hi, hi);
}

TEST(bootstrap_of_degenerate_sets)
{
	const struct task *stsb = task_find("stsb"), *mrpc = task_find("mrpc");
	double g[3] = { 1, 2, 3 }, c[3] = { 2, 2, 2 };
	struct evaluation e;
	CHECK(metrics_evaluate(stsb, g, c, 3, &e) == 0 && metrics_bootstrap(&e, g, c, 3, 100, 1) == 0, "stsb");
	CHECK(isnan(e.m[0].lo) && isnan(e.m[2].hi), "no interval for an undefined metric");
	double one[1] = { 1 };
	CHECK(metrics_evaluate(mrpc, one, one, 1, &e) == 0 && metrics_bootstrap(&e, one, one, 1, 50, 1) == 0, "one");
	CHECK(e.m[0].lo == 1 && e.m[0].hi == 1 && e.m[1].lo == 1, "one example: [1, 1]");
	/* Samples of two examples of STS-B are often constant: they are left out, not NaN. */
	double g2[2] = { 1, 4 }, p2[2] = { 0.5, 3 };
	CHECK(metrics_evaluate(stsb, g2, p2, 2, &e) == 0 && metrics_bootstrap(&e, g2, p2, 2, 100, 3) == 0, "two");
	CHECK(e.m[0].lo == 1 && e.m[0].hi == 1, "[%g, %g]", e.m[0].lo, e.m[0].hi);
}

/* The predictions file */

static int write_predictions(const char *path, const struct task *t, const double *v, size_t n)
{
	struct out *out = out_open(path, 0, 0);
	int rc = out ? predictions_write_header(out, t, ORDER_GLUE, 0, NULL) : E_IO;
	for (size_t i = 0; i < n && !rc; i++) {
		char id[32];
		snprintf(id, sizeof id, "ex%zu", i);
		rc = predictions_write(out, t, ORDER_GLUE, id, v[i], NULL, NULL);
	}
	if (rc) {
		out_abort(out);
		return rc;
	}
	return out_commit(out);
}

/* 2, 4, 4, 4, 5, 5, 7, 9: the sum is 40, so the mean 5; the squared deviations 9 + 1 + 1 + 1 + 0 + 0
 * + 4 + 16 = 32, so the sample variance 32 / 7 and the standard deviation sqrt(32 / 7) = 2.138...
 * (the population one, over 8, would be 2). */
TEST(mean_and_sample_sd)
{
	const double x[] = { 2, 4, 4, 4, 5, 5, 7, 9 }, same[] = { 0.45, 0.45, 0.45 }, gap[] = { 0.1, NAN, 0.3 };
	CHECK(metric_mean(x, 8) == 5, "mean %.17g", metric_mean(x, 8));
	CHECK_CLOSE(metric_sd(x, 8), sqrt(32.0 / 7), TOL);
	CHECK_CLOSE(metric_sd(x, 8), 2.1380899352993950, TOL);
	CHECK_CLOSE(metric_mean((const double[]){ 1, 2 }, 2), 1.5, 0);
	CHECK_CLOSE(metric_sd((const double[]){ 1, 2 }, 2), sqrt(0.5), TOL); /* (1/4 + 1/4) / 1 */
	CHECK(metric_sd(same, 3) == 0, "a constant sample's spread is %.17g, not 0", metric_sd(same, 3));
	CHECK(metric_mean(x, 1) == 2 && isnan(metric_sd(x, 1)), "one value: its mean, no spread");
	CHECK(isnan(metric_mean(gap, 3)), "a NAN among the values leaves the mean undefined");
}

/* Readers keep their constructors' codes: a file that cannot be opened is an I/O error, a
 * malformed one a format error. */
TEST(readers_keep_their_codes)
{
	const struct task *rte = task_find("rte");
	const char *bad = check_tmp("garbage.tsv");
	struct scores s = { 0 };
	CHECK(gold_read_tsv(check_tmp("absent.tsv"), rte, ORDER_UNSAID, &s) == E_IO && strstr(err_msg(), "absent.tsv"), "%s", err_msg());
	scores_free(&s);
	CHECK(gold_read_tokens(check_tmp("absent.tok"), rte, &s) == E_IO, "%s", err_msg());
	scores_free(&s);
	CHECK(predictions_read(check_tmp("absent.pred"), rte, &s) == E_IO, "%s", err_msg());
	scores_free(&s);
	FILE *f = fopen(bad, "w");
	CHECK(f && fputs("not a header\n", f) >= 0 && fclose(f) == 0, "write %s", bad);
	CHECK(gold_read_tsv(bad, rte, ORDER_UNSAID, &s) == E_FORMAT, "%s", err_msg());
	scores_free(&s);
	CHECK(gold_read_tokens(bad, rte, &s) == E_FORMAT, "%s", err_msg());
	scores_free(&s);
}

TEST(predictions_round_trip)
{
	const struct task *stsb = task_find("stsb"), *mnli = task_find("mnli");
	double v[] = { 0.1, 1.0 / 3, 4.999999999999999, 1e-300, -2.5, 5, 0x1.fffffffffffffp-2, 3.0e10 };
	size_t n = sizeof v / sizeof *v;
	const char *path = check_tmp("pred.tsv");
	struct scores s = { 0 };
	CHECK(write_predictions(path, stsb, v, n) == 0, "%s", err_msg());
	CHECK(predictions_read(path, stsb, &s) == 0, "%s", err_msg());
	CHECK(s.n == n, "%zu predictions", s.n);
	for (size_t i = 0; i < n && i < s.n; i++)
		CHECK(s.v[i].value == v[i] && s.v[i].line == i + 2, "%zu: %.17g, wrote %.17g", i, s.v[i].value, v[i]);
	scores_free(&s);
	double c[] = { 2, 0, 1 };
	CHECK(write_predictions(path, mnli, c, 3) == 0, "%s", err_msg());
	size_t len;
	char *text = read_file(path, &len);
	CHECK(text && !strcmp(text, "id\tprediction\nex0\t2\nex1\t0\nex2\t1\n"), "%s", text);
	free(text);
	remove(path);
}

TEST(predictions_writer_refuses_bad_values)
{
	const struct task *stsb = task_find("stsb"), *rte = task_find("rte");
	const char *path = check_tmp("bad.tsv");
	double nan[1] = { NAN }, two[1] = { 2 }, half[1] = { 0.5 };
	CHECK(write_predictions(path, stsb, nan, 1) == E_ARG, "NaN");
	CHECK(strstr(err_msg(), "example 'ex0': value '-' is not a number"), "%s", err_msg());
	CHECK(write_predictions(path, rte, two, 1) == E_ARG, "class 2 of rte");
	CHECK(strstr(err_msg(), "value '2' is not a class of rte (0 to 1)"), "%s", err_msg());
	CHECK(write_predictions(path, rte, half, 1) == E_ARG, "0.5");
	FILE *f = fopen(path, "r");
	CHECK(!f, "nothing written");
	if (f)
		fclose(f);
}

/* Reads text as a predictions file of task; returns the code, the message in err_msg(). */
static int read_text(const char *task, const char *text)
{
	const char *path = check_tmp("p.tsv");
	struct scores s = { 0 };
	write_text(path, text);
	int rc = predictions_read(path, task_find(task), &s);
	scores_free(&s);
	remove(path);
	return rc;
}

static int message_has(const char *what)
{
	return strstr(err_msg(), what) != NULL;
}

TEST(predictions_with_scores)
{
	const struct task *mnli = task_find("mnli"), *stsb = task_find("stsb");
	const char *path = check_tmp("scores.tsv");
	float logits[3] = { 0.25f, -1.5f, 2.0f };
	struct out *out = out_open(path, 0, 0);
	CHECK(out && predictions_write_header(out, mnli, ORDER_GLUE, 1, NULL) == 0 && predictions_write(out, mnli, ORDER_GLUE, "a", 2, logits, NULL) == 0 &&
		      out_commit(out) == 0, "%s", err_msg());
	size_t len;
	char *text = read_file(path, &len);
	/* softmax of (0.25, -1.5, 2) by hand: exp(x - 2) / sum */
	double e0 = exp(-1.75), e1 = exp(-3.5), sum = e0 + e1 + 1;
	char want[512];
	snprintf(want, sizeof want,
		 "id\tprediction\tlabel\tlogit_contradiction\tlogit_entailment\tlogit_neutral\tprob_contradiction"
		 "\tprob_entailment\tprob_neutral\na\t2\tneutral\t0.25\t-1.5\t2\t%.9g\t%.9g\t%.9g\n",
		 e0 / sum, e1 / sum, 1 / sum);
	CHECK(text && !strcmp(text, want), "%s", text);
	free(text);
	struct scores s = { 0 };
	CHECK(predictions_read(path, mnli, &s) == 0 && s.n == 1 && s.v[0].value == 2, "read back: %s", err_msg());
	scores_free(&s);
	CHECK(read_text("mnli", "id\tprediction\tlabel\n0\t1\n") == E_FORMAT &&
		      message_has("line 2: 2 fields, the header has 3"), "%s", err_msg());
	out = out_open(path, 0, 0);
	CHECK(out && predictions_write_header(out, stsb, ORDER_GLUE, 1, NULL) == 0 && predictions_write(out, stsb, ORDER_GLUE, "a", 1.5, logits, NULL) == 0 &&
		      out_commit(out) == 0, "%s", err_msg());
	text = read_file(path, &len);
	CHECK(text && !strcmp(text, "id\tprediction\na\t1.5\n"), "regression: the score is the output: %s", text);
	free(text);
	remove(path);
}

TEST(predictions_reader_errors)
{
	CHECK(read_text("rte", "") == E_FORMAT && message_has("p.tsv: empty file"), "%s", err_msg());
	CHECK(read_text("rte", "id\tprediction\n") == E_FORMAT && message_has("no predictions"), "%s", err_msg());
	CHECK(read_text("rte", "id\tlabel\n0\t1\n") == E_FORMAT && message_has("line 1: not a predictions file"), "%s",
	      err_msg());
	CHECK(read_text("rte", "id\tprediction\n0\t1\n1\tx\n") == E_FORMAT &&
		      message_has("p.tsv: line 3: prediction 'x' is not a number"), "%s", err_msg());
	CHECK(read_text("rte", "id\tprediction\n0\t2\n") == E_FORMAT &&
		      message_has("line 2: prediction '2' is not a class of rte (0 to 1)"), "%s", err_msg());
	CHECK(read_text("mnli", "id\tprediction\n0\t1.5\n") == E_FORMAT && message_has("'1.5' is not a class of mnli"),
	      "%s", err_msg());
	CHECK(read_text("stsb", "id\tprediction\n0\tnan\n") == E_FORMAT && message_has("'nan' is not a number"), "%s",
	      err_msg());
	CHECK(read_text("stsb", "id\tprediction\n0\t1e999\n") == E_FORMAT, "overflow");
	CHECK(read_text("rte", "id\tprediction\n0\t1\t0\n") == E_FORMAT && message_has("line 2: 3 fields, the header has 2"),
	      "%s", err_msg());
	CHECK(read_text("rte", "id\tprediction\n0\n") == E_FORMAT && message_has("line 2: 1 field, the header has 2"), "%s", err_msg());
	CHECK(read_text("rte", "id\tprediction\n\t1\n") == E_FORMAT && message_has("line 2: the id is empty"), "%s",
	      err_msg());
	CHECK(read_text("rte", "id\tprediction\na\t1\nb\t0\na\t0\nb\t1\n") == E_FORMAT &&
		      message_has("line 4: duplicate id 'a' (first on line 2)"), "%s", err_msg());
	CHECK(read_text("rte", "id\tprediction\n0\t1\n1\t0") == E_TRUNC && message_has("line 3: truncated"), "%s",
	      err_msg());
	CHECK(read_text("rte", "id\tprediction\r\n0\t1\r\n") == 0, "CRLF lines: %s", err_msg());
}

TEST(match_names_missing_and_extra_ids)
{
	const char *gp = check_tmp("g.tsv"), *pp = check_tmp("p.tsv");
	const struct task *rte = task_find("rte");
	write_text(gp, "index\tsentence1\tsentence2\tlabel\n"
		       "7\ta\tb\tentailment\n8\ta\tb\tnot_entailment\n9\ta\tb\tentailment\n10\ta\tb\tentailment\n");
	struct scores g = { 0 }, p = { 0 };
	double out[4];
	CHECK(gold_read_tsv(gp, rte, ORDER_UNSAID, &g) == 0 && g.n == 4, "%s", err_msg());
	write_text(pp, "id\tprediction\n7\t0\n10\t1\n");
	CHECK(predictions_read(pp, rte, &p) == 0, "%s", err_msg());
	CHECK(scores_match(&g, &p, out) == E_MISMATCH && message_has("p.tsv: no prediction for id '8' (")
	      && message_has("g.tsv: line 3)"), "%s", err_msg());
	scores_free(&p);
	write_text(pp, "id\tprediction\n7\t0\n8\t1\n9\t0\n12\t1\n10\t1\n11\t1\n");
	CHECK(predictions_read(pp, rte, &p) == 0, "%s", err_msg());
	CHECK(scores_match(&g, &p, out) == E_MISMATCH && message_has("p.tsv: line 5: id '12' is not in"), "%s",
	      err_msg());
	scores_free(&p);
	write_text(pp, "id\tprediction\n10\t1\n8\t1\n9\t0\n7\t0\n");
	CHECK(predictions_read(pp, rte, &p) == 0 && scores_match(&g, &p, out) == 0, "%s", err_msg());
	CHECK(out[0] == 0 && out[1] == 1 && out[2] == 0 && out[3] == 1, "matched by id, in gold order");
	scores_free(&p);
	scores_free(&g);
	remove(gp);
	remove(pp);
}

TEST(gold_errors)
{
	const char *path = check_tmp("g.tok");
	const struct task *sst2 = task_find("sst2");
	struct scores s = { 0 };
	write_text(path, "#elsa-tokens 1 task=sst2 tokenizer=0 max_len=0\na\t1\t1 2\t0 0\nb\t3\t1 2\t0 0\n#end 2\n");
	CHECK(gold_read_tokens(path, sst2, &s) == E_FORMAT && message_has("g.tok: line 3: label '3' is not a class of "
									  "sst2 (0 to 1)"), "%s", err_msg());
	scores_free(&s);
	write_text(path, "#elsa-tokens 1 task=rte tokenizer=0 max_len=0\na\t1\t1 2\t0 0\n#end 1\n");
	CHECK(gold_read_tokens(path, sst2, &s) == E_MISMATCH && message_has("tokenized for task rte, not sst2"), "%s",
	      err_msg());
	scores_free(&s);
	write_text(path, "#elsa-tokens 1 task=mnli tokenizer=0 max_len=0\na\t1\t1 2\t0 0\nb\t-\t1\t0\n#end 2\n");
	CHECK(gold_read_tokens(path, task_find("mnli-mm"), &s) == 0 && s.n == 2, "mnli-mm from mnli: %s", err_msg());
	CHECK(scores_check_labelled(&s) == E_FORMAT && message_has("g.tok: line 3: no gold label"), "%s", err_msg());
	scores_free(&s);
	write_text(path, "#elsa-tokens 1 task=sst2 tokenizer=0 max_len=0\n#end 0\n");
	CHECK(gold_read_tokens(path, sst2, &s) == E_FORMAT && message_has("g.tok: no examples"), "%s", err_msg());
	scores_free(&s);
	remove(path);
}

TEST(submission)
{
	const char *pp = check_tmp("p.tsv"), *sp = check_tmp("s.tsv");
	struct scores p = { 0 };
	write_text(pp, "id\tprediction\n0\t1\n1\t0\n2\t2\n");
	CHECK(predictions_read(pp, task_find("ax"), &p) == 0, "%s", err_msg());
	struct out *out = out_open(sp, 0, 0);
	CHECK(out && submission_write(out, task_find("ax"), &p) == 0 && out_commit(out) == 0, "%s", err_msg());
	size_t n;
	char *text = read_file(sp, &n);
	CHECK(text && !strcmp(text, "index\tprediction\n0\tentailment\n1\tcontradiction\n2\tneutral\n"), "%s", text);
	free(text);
	scores_free(&p);
	write_text(pp, "id\tprediction\n0\t3.25\n1\t0.1\n");
	CHECK(predictions_read(pp, task_find("stsb"), &p) == 0, "%s", err_msg());
	out = out_open(sp, 0, 0);
	CHECK(out && submission_write(out, task_find("stsb"), &p) == 0 && out_commit(out) == 0, "%s", err_msg());
	text = read_file(sp, &n);
	CHECK(text && !strcmp(text, "index\tprediction\n0\t3.25\n1\t0.1\n"), "%s", text);
	free(text);
	scores_free(&p);
	remove(pp);
	remove(sp);
}

int main(void)
{
	const char *top = getenv("ELSA_TOP");
	snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures/evaluate", top ? top : ".");
	run_fixture_cases();
	RUN(every_task_has_a_fixture);
	RUN(ranks_as_scipy_rankdata);
	RUN(quantiles_as_numpy_percentile);
	RUN(multiclass_mcc_as_sklearn);
	RUN(constant_and_tiny_inputs);
	RUN(notes_and_primary);
	RUN(evaluate_refuses_values_outside_the_task);
	RUN(bootstrap_is_seeded);
	RUN(bootstrap_accuracy_matches_the_binomial);
	RUN(bootstrap_of_degenerate_sets);
	RUN(mean_and_sample_sd);
	RUN(readers_keep_their_codes);
	RUN(predictions_round_trip);
	RUN(predictions_with_scores);
	RUN(predictions_writer_refuses_bad_values);
	RUN(predictions_reader_errors);
	RUN(match_names_missing_and_extra_ids);
	RUN(gold_errors);
	RUN(submission);
	return check_done();
}
