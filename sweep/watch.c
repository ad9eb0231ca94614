/* elsa-sweep's view of a study running on a terminal: the messages of make and of its jobs come
 * through a pipe and are printed above one progress line, redrawn every second: the caches and
 * the runs done of all, the failures, the time elapsed and the time left. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "experiment.h"
#include "glue.h"
#include "sweep.h"

/* Files under dir matching pattern (a glob below it). */
static size_t count(const char *dir, const char *pattern)
{
	char path[PATH_MAX + 64];
	glob_t g;
	snprintf(path, sizeof path, "%s/%s", dir, pattern);
	if (glob(path, 0, NULL, &g) != 0)
		return 0;
	size_t n = g.gl_pathc;
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
	size_t done_before;      /* runs finished before this elsa-sweep began */
	double start, cached_at; /* when it began; when the caches were all there (0: not yet) */
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

/* The progress line, from the sweep folder's files: a run is done when its eval.yaml is. */
static void draw(struct watch *w)
{
	double now = now_seconds();
	size_t caches = caches_made(w), done = count(w->dir, "runs/*/*/eval.yaml");
	size_t failed = count(w->dir, "runs/*/*.failed");
	char elapsed[32], left[64] = "";
	if (!w->cached_at && caches >= w->caches)
		w->cached_at = now;
	size_t ended = done + failed; /* a failed run is not redone in this sweep */
	if (w->cached_at && ended > w->done_before && ended < w->runs) {
		char t[32];
		duration(t, sizeof t, (now - w->cached_at) / (double)(ended - w->done_before) * (double)(w->runs - ended));
		snprintf(left, sizeof left, ", about %s left", t);
	}
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
	w.done_before = count(dir, "runs/*/*/eval.yaml");
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
