/* elsa-sweep: the paper's study from an experiment file: writes the whole grid of jobs as a
 * Makefile (tokenize and embed each split once, one elsa-encode pass per split saving every
 * frozen-layer count, then every training run and its evaluation, then the report) and runs it
 * with make -j, so that an interrupted or extended study redoes only what is missing. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "experiment.h"
#include "glue.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "stream.h"

static const char usage[] =
	"usage: elsa-sweep [-o DIR] [-j JOBS] [--dry-run] EXPERIMENT.yaml\n"
	"Runs the study an experiment file (elsa-experiment(5)) describes: caches every frozen-layer\n"
	"count in one encoding pass per split, trains every (task, frozen layers, learning rate, seed),\n"
	"evaluates each run and prints the report (elsa-report(1)). Reruns do only what is missing.\n"
	"  -o, --output DIR   the sweep folder (default: EXPERIMENT without .yaml, plus .sweep)\n"
	"  -j, --jobs N       jobs at once (default: the experiment's jobs, else 1); each job gets\n"
	"                     ELSA_THREADS = cores / N threads\n"
	"      --dry-run      write DIR/Makefile and DIR/runs.list only\n"
	"      --help, --version\n";

/* Writing the job graph */

static const char *dev_file(const struct task *t)
{
	return !strcmp(t->name, "mnli") ? "dev_matched.tsv" : !strcmp(t->name, "mnli-mm") ? "dev_mismatched.tsv" : "dev.tsv";
}

/* A stamp file that changes (and so makes its dependents rebuild) only when its text does. */
static void stamp(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	size_t n;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *old = read_file(path, &n);
	if (!old || strcmp(old, text))
		if (write_file_atomic(path, text, strlen(text)) < 0)
			die_lib();
	free(old);
}

static int max_frozen(const struct experiment *e)
{
	int m = 0;
	for (int i = 0; i < e->nfrozen; i++)
		m = e->frozen[i] > m ? e->frozen[i] : m;
	return m;
}

static void run_name(char *buf, size_t n, int frozen, double lr, long seed, int emb)
{
	snprintf(buf, n, "N%d%s-lr%g-seed%ld", frozen, emb ? "+emb" : "", lr, seed);
}

/* One training run's command, with the sweep folder, the binaries' folder and the model given
 * as S, BIN and MODEL (make variables, or the real paths for runs.list). */
static void train_command(char *buf, size_t n, const struct experiment *e, const char *T, int N, double lr, long seed,
			  const char *S, const char *BIN, const char *MODEL)
{
	char name[128];
	int emb = N == 0 && e->train_embeddings;
	run_name(name, sizeof name, N, lr, seed, emb);
	snprintf(buf, n,
		 "%s/elsa-train -m %s -t %s --train %s/cache/%s/train.L%d.zst --dev %s/cache/%s/dev.L%d.zst "
		 "-o %s/runs/%s/%s --force --lr %g --seed %ld --epochs %ld --batch %ld --warmup %g --weight-decay %g "
		 "--dropout %g --max-steps %ld%s",
		 BIN, MODEL, T, S, T, N, S, T, N, S, T, name, lr, seed, e->epochs, e->batch, e->warmup, e->weight_decay,
		 e->dropout, e->max_steps, emb ? " --train-embeddings" : "");
}

/* Tokenize and embed each split once; one encoding pass per split to the deepest frozen count,
 * saving the others on the way (a grouped target). */
static void cache_rules(const struct experiment *e, const struct task *tk, struct out *mk)
{
	const char *T = tk->name;
	int top = max_frozen(e);
	for (int s = 0; s < 2; s++) {
		const char *split = s ? "dev" : "train";
		char tsv[PATH_MAX];
		snprintf(tsv, sizeof tsv, "%s/%s/%s", e->data, tk->folder, s ? dev_file(tk) : "train.tsv");
		out_printf(mk, "$(S)/cache/%s/%s.tokens: %s $(MODEL_FILES) $(S)/settings.cache\n", T, split, tsv);
		out_printf(mk, "\t@mkdir -p $(@D)\n\t$(BIN)/elsa-tokenize -m $(MODEL) -t %s --max-len %ld -o $@ %s\n", T,
			   e->max_len, tsv);
		out_printf(mk, "$(S)/cache/%s/%s.L0.zst: $(S)/cache/%s/%s.tokens\n", T, split, T, split);
		out_printf(mk, "\t$(BIN)/elsa-embed -m $(MODEL) --dtype %s -o $@ $<\n", e->dtype);
		if (top == 0)
			continue;
		for (int f = 0; f < e->nfrozen; f++)
			if (e->frozen[f] > 0)
				out_printf(mk, "$(S)/cache/%s/%s.L%d.zst ", T, split, e->frozen[f]);
		out_printf(mk, "&: $(S)/cache/%s/%s.L0.zst\n\t$(BIN)/elsa-encode -m $(MODEL) --to %d --dtype %s", T, split,
			   top, e->dtype);
		for (int f = 0; f < e->nfrozen; f++)
			if (e->frozen[f] > 0 && e->frozen[f] < top)
				out_printf(mk, " --save %d=$(S)/cache/%s/%s.L%d.zst", e->frozen[f], T, split, e->frozen[f]);
		out_printf(mk, " --stats $(S)/cache/%s/%s.encode.yaml -o $(S)/cache/%s/%s.L%d.zst $<\n", T, split, T, split,
			   top);
	}
}

/* Every (frozen count, learning rate, seed) of a task: its training run and its evaluation. */
static void run_rules(const struct experiment *e, const struct task *tk, const char *dir, const char *bin,
		      struct out *mk, struct out *list)
{
	const char *T = tk->name;
	for (int f = 0; f < e->nfrozen; f++)
		for (int l = 0; l < e->nlr; l++)
			for (int sd = 0; sd < e->nseeds; sd++) {
				int N = e->frozen[f];
				char name[128], cmd[8192];
				run_name(name, sizeof name, N, e->lr[l], e->seeds[sd], N == 0 && e->train_embeddings);
				train_command(cmd, sizeof cmd, e, T, N, e->lr[l], e->seeds[sd], "$(S)", "$(BIN)", "$(MODEL)");
				out_printf(mk, "$(S)/runs/%s/%s/run.yaml: $(S)/cache/%s/train.L%d.zst $(S)/cache/%s/dev.L%d.zst "
					       "$(S)/settings.train\n\t@mkdir -p $(S)/runs/%s\n\t%s 2>$(S)/runs/%s/%s.log\n",
					   T, name, T, N, T, N, T, cmd, T, name);
				out_printf(mk, "$(S)/runs/%s/%s/eval.yaml: $(S)/runs/%s/%s/run.yaml\n\t$(BIN)/elsa-evaluate -t %s "
					       "--gold $(S)/cache/%s/dev.tokens --pred $(S)/runs/%s/%s/predictions.tsv --bootstrap 1000 "
					       "-o $@\nEVALS += $(S)/runs/%s/%s/eval.yaml\n",
					   T, name, T, name, T, T, T, name, T, name);
				train_command(cmd, sizeof cmd, e, T, N, e->lr[l], e->seeds[sd], dir, bin, e->model);
				out_printf(list, "%s\n", cmd);
			}
}

static void write_makefile(const struct experiment *e, const char *dir, const char *bin, int jobs, struct out *mk,
			   struct out *list)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN), threads = cores / jobs > 0 ? cores / jobs : 1;
	out_printf(mk, "# The jobs of an elsa study, written by elsa-sweep: make -f %s/Makefile -j N\n", dir);
	/* Threads: cores / jobs, whatever the environment says, so that jobs never share a core. */
	out_printf(mk, "BIN = %s\nMODEL = %s\nS = %s\nexport ELSA_THREADS = %ld\n", bin, e->model, dir, threads);
	out_printf(mk, "MODEL_FILES = $(wildcard $(MODEL)/config.json $(MODEL)/model.safetensors $(MODEL)/vocab.* "
		       "$(MODEL)/merges.txt $(MODEL)/tokenizer*.json)\n");
	out_printf(mk, ".DELETE_ON_ERROR:\n.PHONY: all caches runs\nall: $(S)/report.md\n\ncaches:");
	for (int t = 0; t < e->ntasks; t++)
		for (int f = 0; f < e->nfrozen; f++)
			out_printf(mk, " $(S)/cache/%s/train.L%d.zst $(S)/cache/%s/dev.L%d.zst", e->tasks[t]->name, e->frozen[f],
				   e->tasks[t]->name, e->frozen[f]);
	out_printf(mk, "\n\n");
	for (int t = 0; t < e->ntasks; t++) {
		cache_rules(e, e->tasks[t], mk);
		run_rules(e, e->tasks[t], dir, bin, mk, list);
	}
	out_printf(mk, "\nruns: $(EVALS)\n$(S)/report.md: $(EVALS)\n"
		       "\t$(BIN)/elsa-report --costs $(S)/cache --plot $(S)/figure -o $@ $(S)/runs\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", 1, 0, 'o' }, { "jobs", 1, 0, 'j' }, { "dry-run", 0, 0, 'n' }, { "help", 0, 0, 'h' },
		{ "version", 0, 0, 'v' }, { 0 },
	};
	const char *out_dir = NULL;
	int jobs = 0, dry = 0, o;
	cli_init("elsa-sweep");
	while ((o = getopt_long(argc, argv, "o:j:", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out_dir = optarg; break;
		case 'j': jobs = (int)cli_long("-j", optarg, 1, 1024); break;
		case 'n': dry = 1; break;
		case 'h': cli_help(usage);
		case 'v': cli_version();
		default: cli_usage_error();
		}
	}
	if (optind + 1 != argc)
		die("one experiment file (see --help)");
	const char *path = argv[optind];
	struct experiment e;
	if (experiment_read(path, &e) < 0)
		die_lib();
	jobs = jobs ? jobs : (int)e.jobs;

	/* The model must open, and every frozen count must fit it. */
	struct model m;
	if (model_open(&m, e.model) < 0)
		die_lib();
	for (int i = 0; i < e.nfrozen; i++)
		if (e.frozen[i] > m.cfg.layers)
			die("%s: frozen: %d, the model has %d layers", path, e.frozen[i], m.cfg.layers);
	model_close(&m);

	char dir[PATH_MAX], bin[PATH_MAX], buf[PATH_MAX + 32];
	if (out_dir)
		snprintf(buf, sizeof buf, "%s", out_dir);
	else
		snprintf(buf, sizeof buf, "%.*s.sweep", (int)(strlen(path) - (strstr(path, ".yaml") ? 5 : 0)), path);
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die("%s: %s", buf, strerror(errno));
	if (!realpath(buf, dir))
		die("%s: %s", buf, strerror(errno));
	ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
	if (n <= 0)
		die("cannot find my own folder: %s", strerror(errno));
	bin[n] = 0;
	*strrchr(bin, '/') = 0;

	/* Stamps: caches depend on the tokenizer and storage settings, runs on the training ones. */
	snprintf(buf, sizeof buf, "max_len %ld\ndtype %s\n", e.max_len, e.dtype);
	stamp(dir, "settings.cache", buf);
	snprintf(buf, sizeof buf, "epochs %ld\nbatch %ld\nwarmup %g\nweight_decay %g\ndropout %g\nmax_steps %ld\n",
		 e.epochs, e.batch, e.warmup, e.weight_decay, e.dropout, e.max_steps);
	stamp(dir, "settings.train", buf);

	char mkpath[PATH_MAX + 32], listpath[PATH_MAX + 32];
	snprintf(mkpath, sizeof mkpath, "%s/Makefile", dir);
	snprintf(listpath, sizeof listpath, "%s/runs.list", dir);
	struct out *mk = out_open(mkpath, 0, 0), *list = out_open(listpath, 0, 0);
	if (!mk || !list)
		die_lib();
	write_makefile(&e, dir, bin, jobs, mk, list);
	if (out_commit(mk) < 0 || out_commit(list) < 0)
		die_lib();
	experiment_free(&e);
	if (dry) {
		printf("%s\n", mkpath);
		return cli_exit();
	}
	char jobs_arg[32];
	snprintf(jobs_arg, sizeof jobs_arg, "-j%d", jobs);
	fflush(stdout);
	char *args[] = { "make", "--no-print-directory", "-s", "-f", mkpath, jobs_arg, "all", NULL };
	pid_t pid = fork();
	if (pid == 0) {
		dup2(2, 1); /* make's chatter goes to stderr; stdout is the report's */
		execvp("make", args);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the study stopped (make -f %s): rerun to do what is missing", mkpath);
	size_t len;
	snprintf(buf, sizeof buf, "%s/report.md", dir);
	char *report = read_file(buf, &len);
	if (!report)
		die_lib();
	fwrite(report, 1, len, stdout);
	free(report);
	return cli_exit();
}
