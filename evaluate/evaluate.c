/* elsa-evaluate: a task's GLUE metrics for elsa-train's predictions against gold labels, printed
 * as YAML (with bootstrap intervals on request); or the predictions as a GLUE leaderboard
 * submission file. See elsa-evaluate(1). */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "glue.h"
#include "io.h"
#include "metrics.h"
#include "predictions.h"
#include "record.h"

static const char usage[] =
	"usage: elsa-evaluate -t TASK (--gold FILE | --gold-tsv FILE) --pred FILE [--bootstrap N [--seed S]]\n"
	"                     [-o FILE]\n"
	"       elsa-evaluate -t TASK --submission [--gold FILE | --gold-tsv FILE] --pred FILE [-o FILE]\n"
	"Prints the task's GLUE metrics as YAML: the predictions of FILE (elsa-train's predictions.tsv)\n"
	"against the gold labels, matched by example id.\n"
	"  -t, --task TASK      cola sst2 mrpc stsb qqp mnli mnli-mm qnli rte wnli ax\n"
	"  -g, --gold FILE      gold labels from a token stream (elsa-tokens(5))\n"
	"      --gold-tsv FILE  gold labels from the task's GLUE TSV file (dev.tsv)\n"
	"  -p, --pred FILE      the predictions (elsa-predictions(5)); - is stdin\n"
	"  -b, --bootstrap N    add a 95% percentile bootstrap interval to each metric, from N samples\n"
	"  -s, --seed S         the bootstrap's random seed (default 42)\n"
	"      --label-order O  the class numbers of the --pred file and of a --gold-tsv file: glue\n"
	"                       (elsa's, the default) or datasets (Hugging Face datasets' numbering;\n"
	"                       MNLI and AX differ)\n"
	"      --submission     write the predictions as the GLUE leaderboard's test-set file instead\n"
	"                       (rows in the gold file's order when one is given)\n"
	"  -o, --output FILE    write to FILE (atomically) instead of stdout\n"
	"  -h, --help           this help;  -V, --version  the version\n";

struct options {
	const struct task *task;
	const char *gold, *gold_tsv, *pred, *output;
	long bootstrap; /* samples; 0: none */
	uint64_t seed;
	int seed_given, submission;
	enum label_order order; /* of the class numbers of --pred and --gold-tsv; ORDER_UNSAID: elsa's */
};

static void check_options(const struct options *o)
{
	if (!o->task)
		die("-t TASK is required");
	if (!o->pred)
		die("--pred FILE is required");
	if (o->gold && o->gold_tsv)
		die("--gold and --gold-tsv exclude each other");
	if (!o->gold && !o->gold_tsv && !o->submission)
		die("--gold FILE or --gold-tsv FILE is required (only --submission works without gold labels)");
	const char *gold = o->gold ? o->gold : o->gold_tsv;
	if (gold && !strcmp(gold, "-") && !strcmp(o->pred, "-"))
		die("the gold labels and the predictions cannot both come from stdin");
	if (o->submission && o->bootstrap)
		die("--bootstrap has no meaning with --submission");
	if (o->seed_given && !o->bootstrap)
		die("--seed has no meaning without --bootstrap");
}

static struct options parse_options(int argc, char **argv)
{
	enum { GOLD_TSV = 256, SUBMISSION, LABEL_ORDER };
	static const struct option longs[] = {
		{ "task", required_argument, NULL, 't' },     { "gold", required_argument, NULL, 'g' },
		{ "gold-tsv", required_argument, NULL, GOLD_TSV }, { "pred", required_argument, NULL, 'p' },
		{ "bootstrap", required_argument, NULL, 'b' }, { "seed", required_argument, NULL, 's' },
		{ "submission", no_argument, NULL, SUBMISSION }, { "output", required_argument, NULL, 'o' },
		{ "label-order", required_argument, NULL, LABEL_ORDER },
		{ "help", no_argument, NULL, 'h' },           { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .seed = 42, .order = ORDER_UNSAID };
	int c;
	while ((c = getopt_long(argc, argv, "t:g:p:b:s:o:hV", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			o.task = cli_task(optarg);
			break;
		case 'g': o.gold = optarg; break;
		case GOLD_TSV: o.gold_tsv = optarg; break;
		case 'p': o.pred = optarg; break;
		case 'b': o.bootstrap = cli_long("--bootstrap", optarg, 1, 1000000); break;
		case 's':
			o.seed = (uint64_t)cli_long("--seed", optarg, 0, (long)1 << 62);
			o.seed_given = 1;
			break;
		case SUBMISSION: o.submission = 1; break;
		case 'o': o.output = optarg; break;
		case LABEL_ORDER:
			o.order = cli_label_order(optarg);
			break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see '%s --help')", argv[optind], prog);
	check_options(&o);
	return o;
}

/* Output */

/* "name: value", and with the bootstrap "name_ci95: [lo, hi]" (null when there is none). */
static int put_metric(struct out *out, const struct metric *m, int bootstrap)
{
	char v[40], lo[40], hi[40];
	yaml_number(m->value, v);
	int rc = out_printf(out, "%s: %s\n", m->name, v);
	if (rc || !bootstrap)
		return rc;
	if (isnan(m->lo))
		return out_printf(out, "%s_ci95: null\n", m->name);
	yaml_number(m->lo, lo);
	yaml_number(m->hi, hi);
	return out_printf(out, "%s_ci95: [%s, %s]\n", m->name, lo, hi);
}

static int put_evaluation(struct out *out, const struct evaluation *e, const struct options *o)
{
	int rc = out_printf(out, "task: %s\nexamples: %zu\n", e->task->name, e->examples);
	if (!rc && o->bootstrap)
		rc = out_printf(out, "bootstrap: %ld\nseed: %llu\n", o->bootstrap, (unsigned long long)o->seed);
	for (int k = 0; k < e->count && !rc; k++)
		rc = put_metric(out, &e->m[k], o->bootstrap > 0);
	char score[40];
	yaml_number(e->m[e->primary].value, score);
	if (!rc)
		rc = out_printf(out, "primary: %s\nscore: %s\n", e->m[e->primary].name, score);
	if (!rc && e->note[0])
		rc = out_printf(out, "note: \"%s\"\n", e->note);
	return rc;
}

/* The two jobs */

static void evaluate(struct out *out, const struct options *o, const struct scores *gold, const struct scores *pred)
{
	size_t n = gold->n;
	double *g = xmalloc(2 * n * sizeof *g);
	double *p = g + n;
	for (size_t i = 0; i < n; i++)
		g[i] = gold->v[i].value;
	struct evaluation e;
	if (scores_check_labelled(gold) < 0 || scores_match(gold, pred, p) < 0 ||
	    metrics_evaluate(o->task, g, p, n, &e) < 0 ||
	    (o->bootstrap && metrics_bootstrap(&e, g, p, n, (size_t)o->bootstrap, o->seed) < 0) ||
	    put_evaluation(out, &e, o) < 0)
		die_lib();
	free(g);
}

/* With gold examples, the rows are theirs (in their order) with the matching predictions. */
static void submit(struct out *out, const struct options *o, struct scores *gold, const struct scores *pred)
{
	if (!gold->n) {
		if (submission_write(out, o->task, pred) < 0)
			die_lib();
		return;
	}
	double *p = xmalloc(gold->n * sizeof *p);
	if (scores_match(gold, pred, p) < 0)
		die_lib();
	for (size_t i = 0; i < gold->n; i++)
		gold->v[i].value = p[i];
	free(p);
	if (submission_write(out, o->task, gold) < 0)
		die_lib();
}

/* A run folder's predictions.tsv is missing when the run had no dev set: say so. */
static _Noreturn void die_pred(const char *path)
{
	const char *slash = strrchr(path, '/');
	char run[4096];
	snprintf(run, sizeof run, "%.*s/run.yaml", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (access(path, F_OK) < 0 && access(run, R_OK) == 0)
		die("%s: no such file: the run was trained without --dev, so it has no predictions (elsa-train --predict "
		    "makes them from any stream)", path);
	die_lib();
}

int main(int argc, char **argv)
{
	cli_init("elsa-evaluate");
	struct options o = parse_options(argc, argv);
	struct scores gold = { 0 }, pred = { 0 };
	if ((o.gold && gold_read_tokens(o.gold, o.task, &gold) < 0) ||
	    (o.gold_tsv && gold_read_tsv(o.gold_tsv, o.task, o.order, &gold) < 0))
		die_lib();
	if (predictions_read(o.pred, o.task, &pred) < 0)
		die_pred(o.pred);
	for (size_t i = 0; o.task->nlabels && i < pred.n; i++) /* into elsa's numbering */
		pred.v[i].value = class_from_order(o.task, o.order, (int)pred.v[i].value);
	struct out *out = out_open(o.output, 0, 0);
	if (!out)
		die_lib();
	if (o.submission)
		submit(out, &o, &gold, &pred);
	else
		evaluate(out, &o, &gold, &pred);
	if (out_commit(out) < 0)
		die_lib();
	scores_free(&gold);
	scores_free(&pred);
	return cli_exit();
}
