/* slurm.c: elsa-sweep --slurm and --status: the study as Slurm jobs with dependencies, and the
 * state of a sweep folder's runs, however they were run. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "experiment.h"
#include "io.h"
#include "json.h"
#include "sweep.h"

#define SBATCH_ARGS_MAX 128

struct sbatch {
	char *argv[SBATCH_ARGS_MAX + 1];
	int n;
};

static void arg(struct sbatch *s, const char *fmt, const char *v)
{
	if (s->n == SBATCH_ARGS_MAX)
		die("--sbatch-args: more than %d options", SBATCH_ARGS_MAX);
	s->argv[s->n++] = xprintf(fmt, v);
	s->argv[s->n] = NULL;
}

/* sbatch --parsable -J NAME -o LOG --cpus-per-task C, the experiment's slurm: settings, the
 * command line's, then the dependency and the script (added by the caller). */
static void common(struct sbatch *s, const struct experiment *e, const char *dir, const char *name, int array,
		   const char *sbatch_args)
{
	char cpus[32], *log = xprintf("%s/slurm/%%x-%s.out", dir, array ? "%A_%a" : "%j");
	s->n = 0;
	arg(s, "%s", "sbatch");
	arg(s, "%s", "--parsable");
	arg(s, "--job-name=%s", name);
	arg(s, "--output=%s", log);
	free(log);
	snprintf(cpus, sizeof cpus, "%ld", e->slurm.cpus_per_task ? e->slurm.cpus_per_task : 1);
	arg(s, "--cpus-per-task=%s", cpus);
	if (e->slurm.partition)
		arg(s, "--partition=%s", e->slurm.partition);
	if (e->slurm.account)
		arg(s, "--account=%s", e->slurm.account);
	if (e->slurm.time)
		arg(s, "--time=%s", e->slurm.time);
	if (e->slurm.mem)
		arg(s, "--mem=%s", e->slurm.mem);
	for (int i = 0; i < e->slurm.nextra; i++)
		arg(s, "%s", e->slurm.extra[i]);
	char *copy = sbatch_args ? strdup(sbatch_args) : NULL, *save = NULL;
	for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w; w = strtok_r(NULL, " \t", &save))
		arg(s, "%s", w);
	free(copy);
}

static void sbatch_free(struct sbatch *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->argv[i]);
	s->n = 0;
}

/* Runs sbatch (or, dry, prints its line); returns the job id it printed ("$NAME" when dry). */
static char *submit(struct sbatch *s, int dry, const char *name)
{
	if (dry) {
		for (int i = 0; i < s->n; i++)
			printf("%s%s", i ? " " : "", s->argv[i]);
		printf("\n");
		return xprintf("$%s", name);
	}
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe:");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execvp("sbatch", s->argv);
		fprintf(stderr, "elsa-sweep: sbatch: %s\n", strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	char out[256] = "";
	ssize_t got = pid > 0 ? read(fd[0], out, sizeof out - 1) : -1;
	close(fd[0]);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || got <= 0)
		die("sbatch failed for the %s job (is Slurm there? SLURM_CONF?)", name);
	out[got] = 0;
	out[strcspn(out, ";\n")] = 0; /* --parsable: "ID" or "ID;cluster" */
	char *id = xstrdup(out);
	return id;
}

/* A job script in DIR/slurm: its threads are the job's CPUs. */
static char *script(const char *dir, const char *name, const char *body)
{
	char *path = xprintf("%s/slurm/%s.sh", dir, name);
	char *text = xprintf("#!/bin/sh\n# written by elsa-sweep --slurm\nexport ELSA_THREADS=${SLURM_CPUS_PER_TASK:-1}\n%s",
				body);
	if (write_file_atomic(path, text, strlen(text)) < 0)
		die_lib();
	if (chmod(path, 0755) < 0)
		die("%s:", path);
	free(text);
	return path;
}

/* s in single quotes for sh, each ' in it as '\'' (a malloc'd string). */
static char *sh_quote(const char *s)
{
	size_t n = 3;
	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 4 : 1;
	char *q = xmalloc(n), *p = q;
	*p++ = '\'';
	for (const char *c = s; *c; c++)
		if (*c == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *c;
		}
	*p++ = '\'';
	*p = 0;
	return q;
}

/* The run folder a line of runs.list trains: the argument of its " -o ", malloc'd; NULL: none. */
static char *line_run(const char *line)
{
	const char *o = strstr(line, " -o ");
	if (!o)
		return NULL;
	o += 4;
	char *run = xprintf("%.*s", (int)(strcspn(o, " ")), o);
	return run;
}

static int exists(const char *fmt, const char *run)
{
	char *path = xprintf(fmt, run);
	int there = access(path, F_OK) == 0;
	free(path);
	return there;
}

/* "1,4,5": the lines of runs.list whose run is not done (at most n - 1 bytes of them), and how many. */
static size_t missing_lines(const char *dir, char *list, size_t n)
{
	char *path = xprintf("%s/runs.list", dir), *line;
	struct in *in = in_open(path);
	size_t len, k = 0, count = 0, used = 0;
	if (!in)
		die_lib();
	list[0] = 0;
	while (in_line(in, &line, &len) > 0) {
		k++;
		char *run = line_run(line);
		if (!run)
			die("%s: line %zu: no -o RUN_DIR", path, k);
		int done = exists("%s/run.yaml", run);
		free(run);
		if (done)
			continue;
		int w = snprintf(list + used, n - used, "%s%zu", count ? "," : "", k);
		if (w < 0 || (size_t)w >= n - used)
			die("%s: too many runs for one job array: its list of lines passes %zu bytes", path, n - 1);
		used += (size_t)w;
		count++;
	}
	in_close(in);
	free(path);
	return count;
}

/* Are the caches up to date? make -q says. */
static int caches_done(const char *dir)
{
	char *mk = xprintf("%s/Makefile", dir);
	char *args[] = { "make", "-q", "-s", "-f", mk, "caches", NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execvp("make", args);
		_exit(127);
	}
	int status, done = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	free(mk);
	return done;
}

/* The caches: one job; or, with shards, the token streams, then an array of one job per shard
 * (make shard-K: its embedding and encoding for every split), then the joins. Returns the last
 * job's id. */
static char *submit_caches(const struct experiment *e, const char *dir, const char *sbatch_args, int dry,
			   const char *cache_sh)
{
	struct sbatch s;
	char range[64];
	long most = e->shards[0] > e->shards[1] ? e->shards[0] : e->shards[1];
	char *shards_id = NULL;
	if (most > 1) {
		char *body = xprintf("exec make -s -f '%s/Makefile' tokens\n", dir);
		char *tokens_sh = script(dir, "tokens", body);
		free(body);
		common(&s, e, dir, "elsa-tokens", 0, sbatch_args);
		arg(&s, "%s", tokens_sh);
		char *tokens_id = submit(&s, dry, "TOKENS");
		sbatch_free(&s);
		body = xprintf("exec make -s -f '%s/Makefile' shard-$SLURM_ARRAY_TASK_ID\n", dir);
		char *shard_sh = script(dir, "shard", body);
		free(body);
		common(&s, e, dir, "elsa-shards", 1, sbatch_args);
		snprintf(range, sizeof range, "1-%ld", most);
		arg(&s, "--array=%s", range);
		arg(&s, "--dependency=afterok:%s", tokens_id);
		arg(&s, "%s", shard_sh);
		shards_id = submit(&s, dry, "SHARDS");
		sbatch_free(&s);
		free(tokens_sh), free(shard_sh), free(tokens_id);
	}
	common(&s, e, dir, "elsa-caches", 0, sbatch_args);
	if (shards_id)
		arg(&s, "--dependency=afterok:%s", shards_id);
	arg(&s, "%s", cache_sh);
	char *id = submit(&s, dry, "CACHES");
	sbatch_free(&s);
	free(shards_id);
	return id;
}

/* The job scripts in DIR/slurm: the caches (make caches), a run (its line of runs.list) and the
 * report (elsa-sweep itself, after the runs). dir and bin have no quote (elsa-sweep refuses one);
 * the experiment's path is quoted. */
static void job_scripts(const char *experiment, const char *dir, const char *bin, char *sh[3])
{
	char *body = xprintf("exec make -s -k -f '%s/Makefile' caches\n", dir);
	sh[0] = script(dir, "caches", body);
	free(body);
	body = xprintf("line=$(sed -n \"${SLURM_ARRAY_TASK_ID}p\" '%s/runs.list')\nexec sh -c \"$line\"\n", dir);
	sh[1] = script(dir, "runs", body);
	free(body);
	char *quoted = sh_quote(experiment);
	body = xprintf("exec '%s/elsa-sweep' -o '%s' -j 1 %s >'%s/slurm/report.out'\n", bin, dir, quoted, dir);
	sh[2] = script(dir, "report", body);
	free(body), free(quoted);
}

void slurm_submit(const struct experiment *e, const char *experiment, const char *dir, const char *bin,
		  const char *sbatch_args, int dry)
{
	char *path = xprintf("%s/slurm", dir), lines[1 << 16], *sh[3];
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("%s:", path);
	free(path);
	size_t runs = missing_lines(dir, lines, sizeof lines);
	int caches = !caches_done(dir);
	struct sbatch s;
	char *cache_id = NULL, *runs_id = NULL;
	job_scripts(experiment, dir, bin, sh);
	if (caches)
		cache_id = submit_caches(e, dir, sbatch_args, dry, sh[0]);
	if (runs) {
		common(&s, e, dir, "elsa-runs", 1, sbatch_args);
		arg(&s, "--array=%s", lines);
		arg(&s, "%s", "--requeue"); /* a preempted run goes back in the queue, and resumes (elsa-train) */
		if (cache_id)
			arg(&s, "--dependency=afterok:%s", cache_id);
		arg(&s, "%s", sh[1]);
		runs_id = submit(&s, dry, "RUNS");
		sbatch_free(&s);
	}
	/* The report after the runs, succeeded or not: elsa-sweep lists what failed and reports the rest */
	common(&s, e, dir, "elsa-report", 0, sbatch_args);
	if (runs_id)
		arg(&s, "--dependency=afterany:%s", runs_id);
	else if (cache_id)
		arg(&s, "--dependency=afterok:%s", cache_id);
	arg(&s, "%s", sh[2]);
	char *report_id = submit(&s, dry, "REPORT");
	sbatch_free(&s);
	if (!dry) {
		if (cache_id)
			fprintf(stderr, "elsa-sweep: the caches: job %s\n", cache_id);
		if (runs_id)
			fprintf(stderr, "elsa-sweep: %zu run%s: job array %s\n", runs, runs == 1 ? "" : "s", runs_id);
		fprintf(stderr, "elsa-sweep: the report: job %s writes %s/report.md (the jobs' logs: %s/slurm/)\n", report_id,
			dir, dir);
	}
	free(cache_id), free(runs_id), free(report_id);
	free(sh[0]), free(sh[1]), free(sh[2]);
}

/* Status */

static const char *last_line_of(const char *failed, char *buf, size_t n)
{
	struct json *j = json_load(failed);
	const char *last = j ? json_str(j, json_get(j, json_root(j), "last"), NULL) : NULL;
	snprintf(buf, n, "%s", last && *last ? last : "(its log is empty)");
	json_free(j);
	return buf;
}

/* The step of the run's checkpoint (RUN.checkpoint/state's "step S" line), or 0. */
static long checkpoint_step(const char *run)
{
	char *path = xprintf("%s.checkpoint/state", run), line[256];
	long step = 0;
	FILE *f = fopen(path, "r");
	free(path);
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "step %ld", &step) == 1)
			break;
	fclose(f);
	return step;
}

static int running(const char *run)
{
	char *pattern = xprintf("%s.tmp.*", run);
	glob_t g;
	int any = glob(pattern, 0, NULL, &g) == 0;
	if (any)
		globfree(&g);
	free(pattern);
	return any;
}

/* Prints the state of a run (0 done, 1 running, 2 failed, 3 missing), named TASK/NAME below
 * DIR/runs, and returns it. */
static int run_state(const char *dir, const char *run)
{
	static const char *const states[] = { "done", "running", "failed", "missing" };
	char *failed = xprintf("%s.failed", run), why[512], ck[96] = "";
	int st = exists("%s/run.yaml", run) ? 0 : running(run) ? 1 : access(failed, F_OK) == 0 ? 2 : 3;
	long step = st ? checkpoint_step(run) : 0;
	size_t skip = strlen(dir) + sizeof "/runs/" - 1;
	const char *task = strlen(run) > skip && !strncmp(run, dir, strlen(dir)) ? run + skip : run;
	if (step)
		snprintf(ck, sizeof ck, " (checkpoint at step %ld: resumes from there)", step);
	printf("%-8s %s%s%s%s\n", states[st], task, st == 2 ? ": " : "", st == 2 ? last_line_of(failed, why, sizeof why) : "",
	       ck);
	free(failed);
	return st;
}

void sweep_status(const char *folder)
{
	char *dir = realpath(folder, NULL);
	if (!dir)
		die("%s:", folder);
	size_t counts[4] = { 0 }, k = 0, len;
	char *path = xprintf("%s/runs.list", dir), *line;
	struct in *in = in_open(path);
	if (!in)
		die_lib();
	while (in_line(in, &line, &len) > 0) {
		k++;
		char *run = line_run(line);
		if (!run)
			die("%s: line %zu: no -o RUN_DIR", path, k);
		counts[run_state(dir, run)]++;
		free(run);
	}
	in_close(in);
	free(path);
	path = xprintf("%s/report.md", dir);
	printf("%zu runs: %zu done, %zu running, %zu failed, %zu missing; the report %s\n", k, counts[0], counts[1], counts[2],
	       counts[3], access(path, F_OK) == 0 ? "is written" : "is not written");
	free(path), free(dir);
}
