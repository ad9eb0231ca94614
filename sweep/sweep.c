/* elsa-sweep: the paper's study from an experiment file: writes the whole grid of jobs as a
 * Makefile (tokenize and embed each split once, one elsa-encode pass per split saving every
 * frozen-layer count, then every training run and its evaluation, then the report) and runs it
 * with make -j, so that an interrupted or extended study redoes only what is missing. */
#include <errno.h>
#include <glob.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cpu.h"
#include "err.h"
#include "experiment.h"
#include "gemm.h"
#include "glue.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "runrec.h"
#include "stream.h"
#include "sweep.h"

static const char usage[] =
	"usage: elsa-sweep [-o DIR] [-j JOBS] [--slurm [--sbatch-args ARGS]] [--dry-run] EXPERIMENT.yaml\n"
	"       elsa-sweep --status DIR\n"
	"Runs the study an experiment file (elsa-experiment(5)) describes: caches every frozen-layer\n"
	"count in one encoding pass per split, trains every (task, frozen layers, learning rate, seed),\n"
	"evaluates each run and prints the report (elsa-report(1)). Reruns do only what is missing.\n"
	"  -o, --output DIR   the sweep folder (default: EXPERIMENT without .yaml, plus .sweep)\n"
	"  -j, --jobs N       jobs at once (default: the experiment's jobs, else 1); each job gets\n"
	"                     ELSA_THREADS = cores / N threads\n"
	"      --slurm        submit the study as Slurm jobs (caches, an array of the runs not done, the\n"
	"                     report) instead of running make here\n"
	"      --sbatch-args A  more sbatch options for every job (split at spaces)\n"
	"      --status DIR   each run of the sweep folder DIR: done, running, failed (why), missing\n"
	"      --dry-run      write DIR/Makefile and DIR/runs.list only (with --slurm: print the sbatch\n"
	"                     lines too, submitting nothing)\n"
	"  -q, --quiet        no progress on a terminal, nor where the results are\n"
	"  -h, --help         this help;  -V, --version  the version\n";

/* Writing the job graph */

/* Dies of a failed write to the file name (the library's message, named by it when it is not). */
static _Noreturn void write_failed(const char *name)
{
	const char *msg = err_msg();
	if (strncmp(msg, name, strlen(name)))
		die("%s: %s", name, msg);
	die("%s", msg);
}

/* out_printf into the Makefile or runs.list, or death naming the file (a full disk). */
static __attribute__((format(printf, 2, 3))) void emit(struct out *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = xvprintf(fmt, ap);
	va_end(ap);
	if (out_write(out, text, strlen(text)) < 0)
		write_failed(out_name(out));
	free(text);
}

/* A stamp file that changes (and so makes its dependents rebuild) only when its text does. */
static void stamp(const char *dir, const char *name, const char *text)
{
	char *path = path_join(dir, name);
	size_t n;
	if (!path)
		die("out of memory");
	char *old = read_file(path, &n);
	if ((!old || strcmp(old, text)) && write_file_atomic(path, text, strlen(text)) < 0)
		write_failed(path);
	free(old);
	free(path);
}

static int max_frozen(const struct experiment *e)
{
	int m = 0;
	for (int i = 0; i < e->nfrozen; i++)
		m = e->frozen[i] > m ? e->frozen[i] : m;
	return m;
}

void run_name(char *buf, size_t n, int frozen, double lr, long seed, int emb)
{
	if ((size_t)snprintf(buf, n, "N%d%s-lr%g-seed%ld", frozen, emb ? "+emb" : "", lr, seed) >= n)
		die("a run name longer than %zu bytes (N%d, lr %g, seed %ld)", n - 1, frozen, lr, seed);
}

/* One training run's command, with the sweep folder, the binaries' folder and the model given
 * as S, BIN and MODEL (make variables, or the real paths for runs.list); make replaces a run
 * whose settings changed (--force), runs.list skips a finished one. */
static char *train_command(const struct experiment *e, const char *T, int N, double lr, long seed, const char *S,
			   const char *BIN, const char *MODEL, int force)
{
	char name[128];
	int emb = N == 0 && e->train_embeddings;
	run_name(name, sizeof name, N, lr, seed, emb);
	return xprintf("%s/elsa-train -m %s -t %s --train %s/cache/%s/train.L%d.zst --dev %s/cache/%s/dev.L%d.zst "
			  "-o %s/runs/%s/%s%s --lr %g --seed %ld --epochs %ld --batch %ld --warmup %g --weight-decay %g "
			  "--dropout %g --max-steps %ld --keep %s --compute %s%s",
			  BIN, MODEL, T, S, T, N, S, T, N, S, T, name, force ? " --force" : "", lr, seed, e->epochs, e->batch,
			  e->warmup, e->weight_decay, e->dropout, e->max_steps, run_keep_name(e->keep_best),
			  gemm_compute_name(e->bf16), emb ? " --train-embeddings" : "");
}

/* A run's failure marker, NAME.failed beside its folder: what the run was and its log's last
 * line, which elsa-report shows as a failed cell and elsa-sweep lists at the end. As shell text. */
static char *failure_marker(const char *S, const char *T, const char *name, int N, double lr, long seed, int emb)
{
	return xprintf("{ printf 'task: %s\\nfrozen: %d\\nembeddings: %d\\nlr: %g\\nseed: %ld\\nlast: '; "
			  "tail -n 1 %s/runs/%s/%s.log | sed 's/[\\\\\"]/\\\\&/g; s/.*/\"&\"/'; } >%s/runs/%s/%s.failed",
			  T, N, emb, lr, seed, S, T, name, S, T, name);
}

/* One encoding pass from IN to the deepest frozen count, saving the others on the way (a grouped
 * target): the split's files, or those of its shard SUFFIX (".3"). */
static void encode_rule(const struct experiment *e, const char *T, const char *split, const char *suffix, struct out *mk)
{
	int top = max_frozen(e);
	for (int f = 0; f < e->nfrozen; f++)
		if (e->frozen[f] > 0)
			emit(mk, "$(S)/cache/%s/%s.L%d%s.zst ", T, split, e->frozen[f], suffix);
	emit(mk, "&: $(S)/cache/%s/%s.L0%s.zst\n\t$(BIN)/elsa-encode -m $(MODEL) --to %d --dtype %s --compute %s", T, split,
	     suffix, top, e->dtype, gemm_compute_name(e->bf16));
	for (int f = 0; f < e->nfrozen; f++)
		if (e->frozen[f] > 0 && e->frozen[f] < top)
			emit(mk, " --save %d=$(S)/cache/%s/%s.L%d%s.zst", e->frozen[f], T, split, e->frozen[f], suffix);
	emit(mk, " --stats $(S)/cache/%s/%s%s.encode.yaml -o $(S)/cache/%s/%s.L%d%s.zst $<\n", T, split, suffix, T,
	     split, top, suffix);
}

/* A split in n shards: each embedded (elsa-embed --shard k/n) and encoded on its own, a job of
 * its own (make's shard-k), then each layer's shards joined in order. */
static void shard_rules(const struct experiment *e, const char *T, const char *split, long n, struct out *mk)
{
	char suffix[32];
	for (long k = 1; k <= n; k++) {
		snprintf(suffix, sizeof suffix, ".%ld", k);
		emit(mk, "$(S)/cache/%s/%s.L0%s.zst: $(S)/cache/%s/%s.tokens\n", T, split, suffix, T, split);
		emit(mk, "\t$(BIN)/elsa-embed -m $(MODEL) --dtype %s --shard %ld/%ld -o $@ $<\n", e->dtype, k, n);
		emit(mk, "SHARD_%ld += $(S)/cache/%s/%s.L0%s.zst\n", k, T, split, suffix);
		if (max_frozen(e) > 0) {
			encode_rule(e, T, split, suffix, mk);
			emit(mk, "SHARD_%ld += $(S)/cache/%s/%s.L%d%s.zst\n", k, T, split, max_frozen(e), suffix);
		}
	}
	int layers[EXPERIMENT_MAX_LIST + 1], nl = 0;
	layers[nl++] = 0;
	for (int f = 0; f < e->nfrozen; f++)
		if (e->frozen[f] > 0)
			layers[nl++] = e->frozen[f];
	for (int i = 0; i < nl; i++) {
		emit(mk, "$(S)/cache/%s/%s.L%d.zst:", T, split, layers[i]);
		for (long k = 1; k <= n; k++)
			emit(mk, " $(S)/cache/%s/%s.L%d.%ld.zst", T, split, layers[i], k);
		emit(mk, "\n\tcat $^ >$@.part && mv $@.part $@\n");
	}
}

/* Tokenize each split once; embed it, and encode it to the deepest frozen count in one pass
 * saving the others on the way: whole, or in the experiment's shards. */
static void cache_rules(const struct experiment *e, const struct task *tk, struct out *mk)
{
	const char *T = tk->name;
	for (int s = 0; s < 2; s++) {
		const char *split = s ? "dev" : "train";
		char *tsv = xprintf("%s/%s/%s", e->data, tk->folder, s ? task_dev_file(tk) : task_train_file(tk));
		emit(mk, "$(S)/cache/%s/%s.tokens: %s $(MODEL_FILES) $(S)/settings.cache\n", T, split, tsv);
		emit(mk, "\t@mkdir -p $(@D)\n\t$(BIN)/elsa-tokenize -m $(MODEL) -t %s --max-len %ld -o $@ %s\n", T,
		     e->max_len, tsv);
		emit(mk, "TOKENS += $(S)/cache/%s/%s.tokens\n", T, split);
		free(tsv);
		if (e->shards[s] > 1) {
			shard_rules(e, T, split, e->shards[s], mk);
			continue;
		}
		emit(mk, "$(S)/cache/%s/%s.L0.zst: $(S)/cache/%s/%s.tokens\n", T, split, T, split);
		emit(mk, "\t$(BIN)/elsa-embed -m $(MODEL) --dtype %s -o $@ $<\n", e->dtype);
		if (max_frozen(e) > 0)
			encode_rule(e, T, split, "", mk);
	}
}

/* One run's rule: train (logging to NAME.log), or on failure leave NAME.failed and fail. */
static void run_rule(const struct experiment *e, const char *T, int N, double lr, long seed, struct out *mk)
{
	char name[128];
	int emb = N == 0 && e->train_embeddings;
	run_name(name, sizeof name, N, lr, seed, emb);
	char *cmd = train_command(e, T, N, lr, seed, "$(S)", "$(BIN)", "$(MODEL)", 1);
	char *marker = failure_marker("$(S)", T, name, N, lr, seed, emb);
	emit(mk, "$(S)/runs/%s/%s/run.yaml: $(S)/cache/%s/train.L%d.zst $(S)/cache/%s/dev.L%d.zst $(S)/settings.train\n"
		 "\t@mkdir -p $(S)/runs/%s; rm -f $(S)/runs/%s/%s.failed\n"
		 "\t%s 2>$(S)/runs/%s/%s.log || { %s; exit 1; }\n",
	     T, name, T, N, T, N, T, T, name, cmd, T, name, marker);
	emit(mk, "$(S)/runs/%s/%s/eval.yaml: $(S)/runs/%s/%s/run.yaml\n\t$(BIN)/elsa-evaluate -t %s "
		 "--gold $(S)/cache/%s/dev.tokens --pred $(S)/runs/%s/%s/predictions.tsv --bootstrap 1000 "
		 "-o $@\nEVALS += $(S)/runs/%s/%s/eval.yaml\n",
	     T, name, T, name, T, T, T, name, T, name);
	free(cmd), free(marker);
}

/* One run's line of runs.list, a shell command that stands alone (GNU parallel, a Slurm array):
 * it makes the task's folder, skips a finished run, sets the threads (ELSA_THREADS, else the
 * Makefile's share of the cores) and logs as the Makefile does. */
static void run_line(const struct experiment *e, const char *T, int N, double lr, long seed, const char *dir,
		     const char *bin, long threads, struct out *list)
{
	char name[128];
	int emb = N == 0 && e->train_embeddings;
	run_name(name, sizeof name, N, lr, seed, emb);
	char *cmd = train_command(e, T, N, lr, seed, dir, bin, e->model, 0);
	char *marker = failure_marker(dir, T, name, N, lr, seed, emb);
	emit(list, "mkdir -p %s/runs/%s && { [ -f %s/runs/%s/%s/run.yaml ] || { ELSA_THREADS=${ELSA_THREADS:-%ld} "
		   "%s 2>%s/runs/%s/%s.log && rm -f %s/runs/%s/%s.failed; } || { %s; exit 1; }; }\n",
	     dir, T, dir, T, name, threads, cmd, dir, T, name, dir, T, name, marker);
	free(cmd), free(marker);
}

/* Every (frozen count, learning rate, seed) of a task: its training run and its evaluation. */
static void run_rules(const struct experiment *e, const struct task *tk, const char *dir, const char *bin, long threads,
		      struct out *mk, struct out *list)
{
	for (int f = 0; f < e->nfrozen; f++)
		for (int l = 0; l < e->nlr; l++)
			for (int sd = 0; sd < e->nseeds; sd++) {
				run_rule(e, tk->name, e->frozen[f], e->lr[l], e->seeds[sd], mk);
				run_line(e, tk->name, e->frozen[f], e->lr[l], e->seeds[sd], dir, bin, threads, list);
			}
}

static void write_makefile(const struct experiment *e, const char *dir, const char *bin, int jobs, struct out *mk,
			   struct out *list)
{
	long cores = cpu_usable(), threads = cores / jobs > 0 ? cores / jobs : 1;
	emit(mk, "# The jobs of an elsa study, written by elsa-sweep: make -f %s/Makefile -j N\n", dir);
	/* Threads: the CPUs elsa-sweep may use / jobs, whatever the environment says, so that jobs
	 * never share a core. */
	emit(mk, "BIN = %s\nMODEL = %s\nS = %s\nexport ELSA_THREADS = %ld\n", bin, e->model, dir, threads);
	emit(mk, "MODEL_FILES = $(wildcard $(MODEL)/config.json $(MODEL)/model.safetensors $(MODEL)/vocab.* "
		 "$(MODEL)/merges.txt $(MODEL)/tokenizer*.json)\n");
	emit(mk, ".DELETE_ON_ERROR:\n.PHONY: all caches runs\nall: $(S)/report.md\n\ncaches:");
	for (int t = 0; t < e->ntasks; t++)
		for (int f = 0; f < e->nfrozen; f++)
			emit(mk, " $(S)/cache/%s/train.L%d.zst $(S)/cache/%s/dev.L%d.zst", e->tasks[t]->name, e->frozen[f],
			     e->tasks[t]->name, e->frozen[f]);
	emit(mk, "\n\n");
	for (int t = 0; t < e->ntasks; t++) {
		cache_rules(e, e->tasks[t], mk);
		run_rules(e, e->tasks[t], dir, bin, threads, mk, list);
	}
	/* tokens, shard-1 ... shard-N: the cache jobs, for elsa-sweep --slurm */
	long most = e->shards[0] > e->shards[1] ? e->shards[0] : e->shards[1];
	emit(mk, "\n.PHONY: tokens\ntokens: $(TOKENS)\n");
	for (long k = 1; most > 1 && k <= most; k++)
		emit(mk, ".PHONY: shard-%ld\nshard-%ld: $(SHARD_%ld)\n", k, k, k);
	/* the cache's costs when some run trains from a cache (frozen 0 alone makes none) */
	emit(mk, "\nruns: $(EVALS)\n$(S)/report.md: $(EVALS)\n"
		 "\t$(BIN)/elsa-report%s --plot $(S)/figure -o $@ $(S)/runs\n", max_frozen(e) > 0 ? " --costs $(S)/cache" : "");
}

/* Running make: in a process group of its own, so that a signal to elsa-sweep (SIGINT, SIGTERM,
 * SIGHUP) reaches every job, which removes its partial outputs; elsa-sweep then dies of it. */
static volatile pid_t jobs_group;
static volatile sig_atomic_t stopped_by;

static void forward(int sig)
{
	stopped_by = sig;
	if (jobs_group > 0)
		kill(-jobs_group, sig);
}

/* The runs of the study: the lines of DIR/runs.list. */
static size_t count_runs(const char *dir)
{
	char *path = xprintf("%s/runs.list", dir);
	size_t len, n = 0;
	char *text = read_file(path, &len);
	if (!text)
		die_lib();
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	free(path);
	return n;
}

/* Runs make on DIR/Makefile; on a terminal, its messages come through a pipe to watch_study. */
static int run_make(const char *dir, const struct experiment *e, int jobs)
{
	char jobs_arg[32], *mkpath = xprintf("%s/Makefile", dir);
	int watched = isatty(2) && !quiet, pipe_fd[2];
	snprintf(jobs_arg, sizeof jobs_arg, "-j%d", jobs);
	fflush(stdout);
	/* -k: a run that fails (a diverging learning rate) does not stop the others */
	char *args[] = { "make", "--no-print-directory", "-s", "-k", "-f", mkpath, jobs_arg, "all", NULL };
	struct sigaction sa = { .sa_handler = forward }, old[3];
	const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	if (watched && pipe(pipe_fd) < 0)
		die("cannot make a pipe:");
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		/* the study's make is a make of its own, not a sub-make of one elsa-sweep runs under
		 * (make demo): no jobserver or flags of that one, and its messages say "make:" */
		unsetenv("MAKEFLAGS"), unsetenv("MFLAGS"), unsetenv("MAKELEVEL");
		if (watched) {
			dup2(pipe_fd[1], 2);
			close(pipe_fd[0]);
			close(pipe_fd[1]);
		}
		dup2(2, 1); /* make's chatter goes to stderr; stdout is the report's */
		execvp("make", args);
		_exit(127);
	}
	if (pid < 0)
		die("cannot start make:");
	setpgid(pid, pid); /* also here: no signal may come before the child has its group */
	jobs_group = pid;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	if (watched) {
		close(pipe_fd[1]);
		watch_study(pipe_fd[0], dir, e, count_runs(dir));
		close(pipe_fd[0]);
	}
	int status, got = 0;
	while ((got = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	free(mkpath);
	if (got < 0)
		die("make:");
	if (stopped_by)
		raise(stopped_by); /* the study was stopped: die of the same signal (cli's handler) */
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Every NAME.failed marker under DIR/runs: listed on stderr (TASK/NAME and its log's last line). */
static size_t list_failures(const char *dir)
{
	char *pattern = xprintf("%s/runs/*/*.failed", dir);
	glob_t g;
	int none = glob(pattern, 0, NULL, &g) != 0;
	free(pattern);
	if (none)
		return 0;
	size_t skip = strlen(dir) + sizeof "/runs/" - 1;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *path = g.gl_pathv[i];
		struct json *j = json_load(path);
		const char *last = j ? json_str(j, json_get(j, json_root(j), "last"), NULL) : NULL;
		warn("failed: %.*s: %s", (int)(strlen(path) - skip - (sizeof ".failed" - 1)), path + skip,
		     last && *last ? last : "(its log is empty)");
		json_free(j);
	}
	size_t n = g.gl_pathc;
	globfree(&g);
	return n;
}

/* Where the study's report and figure are, and the time this pass took (which trained only the
 * runs not done before it), on stderr. */
static void say_written(const char *dir, double seconds, size_t trained, size_t runs)
{
	char *svg = xprintf("%s/figure.svg", dir);
	char *what = xprintf("this pass took %.0fs (%zu of the %zu runs trained in it)", seconds, trained, runs);
	int drawn = access(svg, F_OK) == 0;
	free(svg);
	if (drawn)
		warn("%s: report %s/report.md, figure %s/figure.svg and .png", what, dir, dir);
	else
		warn("%s: report %s/report.md (no figure: see elsa-report --plot)", what, dir);
	free(what);
}

/* DIR/report.md on stdout. */
static void print_report(const char *dir)
{
	char *path = xprintf("%s/report.md", dir);
	size_t len;
	char *report = read_file(path, &len);
	if (!report)
		die_lib();
	fwrite(report, 1, len, stdout);
	fflush(stdout);
	free(report);
	free(path);
}

/* The report of what finished, marking what failed, as the Makefile's last rule writes it. */
static void partial_report(const char *dir, const char *bin, int cached)
{
	char *pattern = xprintf("%s/runs/*/*/run.yaml", dir);
	glob_t g;
	int any = glob(pattern, 0, NULL, &g) == 0;
	free(pattern);
	if (any)
		globfree(&g);
	if (!any) {
		warn("no run finished: no report");
		return;
	}
	/* dir and bin have no quote (folders refuses one) */
	char *costs = cached ? xprintf(" --costs '%s/cache'", dir) : xprintf("%s", "");
	char *cmd = xprintf("'%s/elsa-report'%s --plot '%s/figure' -o '%s/report.md' '%s/runs' >&2", bin, costs, dir,
			    dir, dir);
	free(costs);
	int failed = system(cmd) != 0;
	free(cmd);
	if (failed) {
		warn("elsa-report failed on the finished runs");
		return;
	}
	print_report(dir);
	warn("the report above covers the runs that finished (%s/report.md)", dir);
}

/* The model must open, and every frozen count must fit it. */
static void check_model(const struct experiment *e, const char *path)
{
	struct model m;
	if (model_open(&m, e->model) < 0)
		die_lib();
	for (int i = 0; i < e->nfrozen; i++)
		if (e->frozen[i] > m.cfg.layers)
			die("%s: line %zu: frozen: %d, the model has %d layers; give 0 to %d", path, e->frozen_line[i],
			    e->frozen[i], m.cfg.layers, m.cfg.layers);
	model_close(&m);
}

/* The folder of this program's binary (the other tools are beside it), malloc'd. */
static char *own_folder(void)
{
	for (size_t cap = 256;; cap *= 2) {
		char *buf = xmalloc(cap);
		ssize_t n = readlink("/proc/self/exe", buf, cap);
		if (n <= 0)
			die("cannot find my own folder:");
		if ((size_t)n < cap) {
			buf[n] = 0;
			*strrchr(buf, '/') = 0;
			return buf;
		}
		free(buf);
	}
}

/* Paths written into the Makefile and runs.list go unquoted to make (which splits targets at
 * spaces and gives $#%:;= meanings) and to sh (|&<>()` and quotes, *? globs): refused. */
static void buildable(const char *path, const char *hint)
{
	for (const unsigned char *c = (const unsigned char *)path; *c; c++)
		if (*c < 0x20 || *c == 0x7f || strchr(" $#%:;'\"\\|&<>()`*?=", *c))
			die("%s: make cannot build a path with a space, a control character or any of "
			    "$#%%:;'\"\\|&<>()`*?= (%s)", path, hint);
}

/* The sweep folder (made, absolute) and the binaries' folder, malloc'd: paths make can build. */
static void folders(const struct experiment *e, const char *path, const char *out_dir, char **dir, char **bin)
{
	char *made = out_dir ? xprintf("%s", out_dir) :
			       xprintf("%.*s.sweep", (int)(strlen(path) - (strstr(path, ".yaml") ? 5 : 0)), path);
	if (mkdir(made, 0755) < 0 && errno != EEXIST)
		die("%s:", made);
	if (!(*dir = realpath(made, NULL)))
		die("%s:", made);
	free(made);
	*bin = own_folder();
	buildable(*dir, "choose another -o DIR");
	buildable(*bin, "install elsa elsewhere");
	buildable(e->model, "move or link it");
	buildable(e->data, "move or link it");
}

/* DIR/Makefile and DIR/runs.list, and the stamps they depend on: caches on the tokenizer and
 * storage settings, runs on the training ones. */
static void write_jobs(const struct experiment *e, const char *dir, const char *bin, int jobs)
{
	char *text = xprintf("max_len %ld\ndtype %s\ncompute %s\n", e->max_len, e->dtype, gemm_compute_name(e->bf16));
	stamp(dir, "settings.cache", text);
	free(text);
	text = xprintf("epochs %ld\nbatch %ld\nwarmup %g\nweight_decay %g\ndropout %g\nmax_steps %ld\nkeep %s\ncompute %s\n",
			  e->epochs, e->batch, e->warmup, e->weight_decay, e->dropout, e->max_steps,
			  run_keep_name(e->keep_best), gemm_compute_name(e->bf16));
	stamp(dir, "settings.train", text);
	free(text);
	char *mkpath = xprintf("%s/Makefile", dir), *listpath = xprintf("%s/runs.list", dir);
	struct out *mk = out_open(mkpath, 0, 0), *list = out_open(listpath, 0, 0);
	if (!mk || !list)
		die_lib();
	write_makefile(e, dir, bin, jobs, mk, list);
	if (out_commit(mk) < 0)
		write_failed(mkpath);
	if (out_commit(list) < 0)
		write_failed(listpath);
	free(mkpath), free(listpath);
}

struct options {
	const char *out_dir, *sbatch_args, *path;
	int jobs, dry, slurm;
};

static struct options parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", 1, 0, 'o' },  { "jobs", 1, 0, 'j' },   { "dry-run", 0, 0, 'n' }, { "slurm", 0, 0, 'S' },
		{ "sbatch-args", 1, 0, 'A' }, { "status", 1, 0, 's' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { "quiet", 0, 0, 'q' },
		{ 0 },
	};
	struct options o = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "o:j:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out_dir = optarg; break;
		case 'j': o.jobs = (int)cli_long("-j", optarg, 1, 1024); break;
		case 'n': o.dry = 1; break;
		case 'S': o.slurm = 1; break;
		case 'A': o.sbatch_args = optarg; break;
		case 's': sweep_status(optarg); exit(cli_exit());
		case 'h': cli_help(usage);
		case 'V': cli_version();
		case 'q': quiet = 1; break;
		default: cli_usage_error();
		}
	}
	if (optind + 1 != argc)
		die("one experiment file (see --help)");
	if (o.sbatch_args && !o.slurm)
		die("--sbatch-args goes with --slurm");
	o.path = argv[optind];
	return o;
}

int main(int argc, char **argv)
{
	cli_init("elsa-sweep");
	struct options o = parse(argc, argv);
	struct experiment e;
	char *dir, *bin;
	if (experiment_read(o.path, &e) < 0)
		die_lib();
	int jobs = o.jobs ? o.jobs : (int)e.jobs;
	check_model(&e, o.path);
	folders(&e, o.path, o.out_dir, &dir, &bin);
	write_jobs(&e, dir, bin, jobs);
	char *mkpath = xprintf("%s/Makefile", dir);
	if (o.slurm) {
		char *exp_abs = realpath(o.path, NULL);
		if (!exp_abs)
			die("%s:", o.path);
		slurm_submit(&e, exp_abs, dir, bin, o.sbatch_args, o.dry);
		free(exp_abs);
	}
	if (o.slurm || o.dry) {
		if (o.dry && !o.slurm)
			printf("%s\n", mkpath);
		experiment_free(&e);
		free(mkpath), free(dir), free(bin);
		return cli_exit();
	}
	double started = now_seconds();
	struct timespec began;
	clock_gettime(CLOCK_REALTIME, &began);
	int rc = run_make(dir, &e, jobs), cached = max_frozen(&e) > 0;
	experiment_free(&e);
	if (rc != 0) {
		size_t failed = list_failures(dir);
		partial_report(dir, bin, cached);
		die("the study is not complete (%zu failed run%s; make -f %s): rerun to retry what is missing", failed,
		    failed == 1 ? "" : "s", mkpath);
	}
	print_report(dir);
	if (!quiet)
		say_written(dir, now_seconds() - started, sweep_count(dir, "runs/*/*/run.yaml", &began), count_runs(dir));
	free(mkpath), free(dir), free(bin);
	return cli_exit();
}
