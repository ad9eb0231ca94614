/* sweep.h: what elsa-sweep's parts share: the names of runs, formatted text, submitting the study
 * to Slurm (slurm.c), and the state of a sweep folder's runs (--status, the progress line). */
#ifndef ELSA_SWEEP_H
#define ELSA_SWEEP_H

#include <stddef.h>

struct experiment;
struct timespec;

/* A run's folder name: N6-lr2e-05-seed1 (N0+emb-... when the embeddings train too). Dies when
 * it does not fit in n bytes. */
void run_name(char *buf, size_t n, int frozen, double lr, long seed, int emb);

/* Submits the study in DIR (its Makefile and runs.list written) as Slurm jobs: the caches, an
 * array of the runs that are not done (after the caches), and a job that runs elsa-sweep itself
 * to evaluate and report (after the runs, whether or not they all succeeded). sbatch_args: more
 * options for every sbatch, split at spaces (NULL: none). With dry, prints the sbatch lines and
 * submits nothing. Dies on error. */
void slurm_submit(const struct experiment *e, const char *experiment, const char *dir, const char *bin,
		  const char *sbatch_args, int dry);

/* Prints each run of DIR's runs.list with its state (done, running, failed and why, missing)
 * and the counts. Dies when DIR is no sweep folder. */
void sweep_status(const char *dir);

/* How many files under dir match the glob pattern (a path below dir, such as every run's
 * run.yaml); with since set, only those written at or after it (CLOCK_REALTIME, the clock of
 * file times). */
size_t sweep_count(const char *dir, const char *pattern, const struct timespec *since);

/* Shows a study running in DIR on the terminal (watch.c): what comes through fd (make's and its
 * jobs' messages) above a progress line of e's caches and the runs (of `runs`) done, failed,
 * the time elapsed and left; returns at fd's end. */
void watch_study(int fd, const char *dir, const struct experiment *e, size_t runs);

#endif
