/* elsa-sweep's view of a study running on a terminal: the messages of make and of its jobs come
 * through a pipe and are printed above one progress line, redrawn every second: the caches and
 * the runs done of all (a run is done once trained, as --status counts it), the failures, the
 * time elapsed and the time left. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "experiment.h"
#include "glue.h"
#include "sweep.h"

size_t sweep_count(const char *dir, const char *pattern, const struct timespec *since)
{
	char path[PATH_MAX + 64];
	glob_t g;
	snprintf(path, sizeof path, "%s/%s", dir, pattern);
	if (glob(path, 0, NULL, &g) != 0)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		n += !since || (stat(g.gl_pathv[i], &st) == 0 &&
				(st.st_mtim.tv_sec > since->tv_sec ||
				 (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec >= since->tv_nsec)));
	}
	globfree(&g);
	return n;
}

static void duration(char *buf, size_t n, double seconds)
{
	long s = (long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
}

struct watch {
	const char *dir;
	const struct experiment *e;
	size_t caches, runs;     /* of the whole study */
	struct timespec began;   /* when this elsa-sweep began, on the wall clock of file times */
	double start;            /* when it began */
	double runs_began;       /* when the first run of this pass began (its log appeared; 0: not yet) */
	size_t ended;            /* runs ended (trained or failed) in this pass, at the last draw */
	double ended_at;         /* when the last of them ended */
	char pending[4096];      /* a message line not yet ended */
	size_t npending;
};

/* The caches the runs read that are there: DIR/cache/TASK/{train,dev}.LN.zst for each frozen N. */
static size_t caches_made(const struct watch *w)
{
	static const char *const splits[] = { "train", "dev" };
	char path[PATH_MAX + 64];
	size_t n = 0;
	for (int t = 0; t < w->e->ntasks; t++)
		for (int f = 0; f < w->e->nfrozen; f++)
			for (int s = 0; s < 2; s++) {
				snprintf(path, sizeof path, "%s/cache/%s/%s.L%d.zst", w->dir, w->e->tasks[t]->name, splits[s],
					 w->e->frozen[f]);
				n += access(path, F_OK) == 0;
			}
	return n;
}

/* The time left: the pace of the runs that ended in this pass (the time since the first run
 * began over the runs ended, however many run at once), for the runs not yet ended, counted
 * down from the last run's end (so it does not grow while the runs under way go on). Empty
 * before a run has ended. */
static void time_left(struct watch *w, double now, size_t ended, size_t left_runs, char *buf, size_t n)
{
	buf[0] = 0;
	if (!w->runs_began && sweep_count(w->dir, "runs/*/*.log", &w->began))
		w->runs_began = now;
	if (ended > w->ended) {
		w->ended = ended;
		w->ended_at = now;
	}
	if (!w->runs_began || !w->ended || !left_runs)
		return;
	double pace = (w->ended_at - w->runs_began) / (double)w->ended;
	double left = pace * (double)left_runs - (now - w->ended_at);
	char t[32];
	duration(t, sizeof t, left > 0 ? left : 0);
	snprintf(buf, n, ", about %s left", t);
}

/* The progress line, from the sweep folder's files: a run is done when its run.yaml is there. */
static void draw(struct watch *w)
{
	double now = now_seconds();
	size_t caches = caches_made(w), done = sweep_count(w->dir, "runs/*/*/run.yaml", NULL);
	size_t failed = sweep_count(w->dir, "runs/*/*.failed", NULL);
	size_t ended = sweep_count(w->dir, "runs/*/*/run.yaml", &w->began) +
		       sweep_count(w->dir, "runs/*/*.failed", &w->began);
	char elapsed[32], left[64];
	/* a failed run is not redone in this sweep */
	time_left(w, now, ended, done + failed < w->runs ? w->runs - done - failed : 0, left, sizeof left);
	duration(elapsed, sizeof elapsed, now - w->start);
	fprintf(stderr, "\r\033[K%s: caches %zu/%zu, runs %zu/%zu done", prog, caches, w->caches, done, w->runs);
	if (failed)
		fprintf(stderr, " (%zu failed)", failed);
	fprintf(stderr, ", %s elapsed%s", elapsed, left);
}

/* Prints the ended lines of what came, above the progress line. */
static void pass_on(struct watch *w, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (w->npending < sizeof w->pending - 1)
			w->pending[w->npending++] = buf[i];
		if (buf[i] == '\n' || w->npending == sizeof w->pending - 1) {
			fprintf(stderr, "\r\033[K%.*s", (int)w->npending, w->pending);
			w->npending = 0;
		}
	}
}

void watch_study(int fd, const char *dir, const struct experiment *e, size_t runs)
{
	struct watch w = { .dir = dir, .e = e, .caches = 2 * (size_t)e->ntasks * (size_t)e->nfrozen, .runs = runs,
			   .start = now_seconds() };
	clock_gettime(CLOCK_REALTIME, &w.began);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	for (;;) {
		draw(&w);
		int ready = poll(&p, 1, 1000);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0)
			continue;
		ssize_t got = read(fd, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		pass_on(&w, buf, (size_t)got);
	}
	if (w.npending)
		pass_on(&w, "\n", 1);
	draw(&w);
	fputc('\n', stderr);
}
