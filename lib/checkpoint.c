#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "clock.h"
#include "err.h"
#include "glue.h"
#include "half.h"
#include "hash.h"
#include "io.h"
#include "machine.h"
#include "mem.h"
#include "metrics.h"
#include "safetensors.h"

#define FORMAT_LINE "elsa-train checkpoint 1"

int ckpt_init(struct checkpoint *c, const char *run_dir, long every, const struct ckpt_setting *settings,
	      size_t nsettings, const struct ckpt_run *run)
{
	size_t n = strlen(run_dir);
	memset(c, 0, sizeof *c);
	while (n > 1 && run_dir[n - 1] == '/') /* "run/" has its checkpoint beside it too */
		n--;
	if (!(c->dir = malloc(n + 16)))
		return err_set(E_NOMEM, "out of memory");
	snprintf(c->dir, n + 16, "%.*s.checkpoint", (int)n, run_dir);
	if (!(c->state = path_join(c->dir, "state"))) {
		ckpt_free(c);
		return E_NOMEM;
	}
	c->every = every;
	c->settings = settings;
	c->nsettings = nsettings;
	c->run = *run;
	c->last = now_seconds();
	return 0;
}

void ckpt_free(struct checkpoint *c)
{
	free(c->dir);
	free(c->state);
	memset(c, 0, sizeof *c);
}

int ckpt_due(const struct checkpoint *c, long done, int epoch_end)
{
	if (c->every != CKPT_BY_TIME)
		return c->every > 0 && (done % c->every == 0 || epoch_end);
	double since = now_seconds() - c->last;
	return since >= CKPT_COST_SHARE * c->cost && (since >= CKPT_SECONDS || (epoch_end && since >= CKPT_EPOCH_SECONDS));
}

/* Tensors: set k (0 the parameters, 1 and 2 AdamW's moments, 3 --keep best's copy) of the run,
 * and p's name in it. */

static int tensor_sets(const struct ckpt_run *r)
{
	return r->best ? 4 : 3;
}

static float *tensor_set(const struct ckpt_run *r, int k)
{
	return k == 0 ? r->ps->mem : k == 1 ? r->opt->m : k == 2 ? r->opt->v : r->best;
}

static void tensor_name(int k, const struct param *p, char *buf, size_t n)
{
	static const char *const prefix[] = { "", "adamw.m.", "adamw.v.", "best." };
	snprintf(buf, n, "%s%s", prefix[k], p->name);
}

static uint64_t tensors_hash(const struct ckpt_run *r)
{
	uint64_t h = 0;
	for (int k = 0; k < tensor_sets(r); k++)
		h = xxh64(tensor_set(r, k), r->ps->size * sizeof(float), h);
	return h;
}

static int save_tensors(const struct ckpt_run *r, const char *path)
{
	size_t n = r->ps->n, sets = (size_t)tensor_sets(r);
	struct st_entry *e = calloc(sets * n + 1, sizeof *e);
	char (*names)[128] = calloc(sets * n + 1, sizeof *names);
	int rc = e && names ? 0 : err_set(E_NOMEM, "out of memory");
	for (int k = 0; k < (int)sets && rc == 0; k++)
		for (size_t i = 0; i < n; i++) {
			const struct param *p = &r->ps->p[i];
			size_t at = (size_t)k * n + i;
			tensor_name(k, p, names[at], sizeof *names);
			e[at] = (struct st_entry){ names[at], tensor_set(r, k) + p->offset, p->cols ? 2 : 1, { p->rows, p->cols } };
		}
	rc = rc ? rc : st_write(path, e, sets * n, DT_F32);
	free(e);
	free(names);
	return rc;
}

/* Reads every tensor of the run from path, checking each one's dtype and size, then their hash. */
static int load_tensors(const struct ckpt_run *r, const char *path, uint64_t hash)
{
	struct safetensors st;
	int rc = st_open(&st, path), opened = rc == 0;
	for (int k = 0; k < tensor_sets(r) && rc == 0; k++)
		for (size_t i = 0; i < r->ps->n && rc == 0; i++) {
			const struct param *p = &r->ps->p[i];
			size_t numel = (size_t)p->rows * (size_t)(p->cols ? p->cols : 1);
			char name[128];
			tensor_name(k, p, name, sizeof name);
			const struct st_tensor *t = st_find(&st, name);
			if (!t || strcmp(t->dtype, "F32") || st_numel(t) != numel)
				rc = err_set(E_FORMAT, "%s: tensor %s is missing or not %zu f32 values", path, name, numel);
			else
				rc = st_read_f32(&st, t, tensor_set(r, k) + p->offset);
		}
	if (opened)
		st_close(&st);
	if (rc == 0 && tensors_hash(r) != hash)
		rc = err_set(E_FORMAT, "%s: corrupt: its tensors do not match the state's checksum", path);
	return rc;
}

/* Writing */

static void format_eval(FILE *f, const struct run_eval *ev)
{
	fprintf(f, "eval %d %ld %a %zu %d %d", ev->epoch, ev->step, ev->loss, ev->e.examples, ev->e.primary, ev->e.count);
	for (int i = 0; i < ev->e.count; i++)
		fprintf(f, " %s %a %a %a", ev->e.m[i].name, ev->e.m[i].value, ev->e.m[i].lo, ev->e.m[i].hi);
	fputc('\n', f);
}

/* The state file's text but its checksum line, malloc'd into *text. */
static int format_state(const struct checkpoint *c, const char *tensors, char **text, size_t *len)
{
	const struct ckpt_run *r = &c->run;
	const struct run_record *rec = r->rec;
	char date[40];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime_r(&now, &tm));
	FILE *f = open_memstream(text, len);
	if (!f)
		return err_set(E_NOMEM, "out of memory");
	char kernels[96];
	fprintf(f, FORMAT_LINE "\nwritten %s\nkernels %s\n", date, machine_kernels(kernels, sizeof kernels));
	for (size_t i = 0; i < c->nsettings; i++)
		fprintf(f, "setting %s %s\n", c->settings[i].name, c->settings[i].value);
	fprintf(f, "step %ld\nadamw_step %ld\ntensors %s %016" PRIx64 "\n", r->progress->step, r->opt->step, tensors,
		tensors_hash(r));
	fprintf(f, "window %a %ld\ntrained_tokens %zu\n", r->progress->window, r->progress->in_window,
		r->progress->trained_tokens);
	fprintf(f, "cost %a %a %a %a\n", rec->seconds, rec->train_seconds, rec->gemm_seconds, rec->gemm_gflop);
	for (size_t i = 0; i < rec->nloss; i++)
		fprintf(f, "loss %ld %a %a\n", rec->loss[i].step, rec->loss[i].loss, rec->loss[i].lr);
	for (size_t i = 0; i < rec->nevals; i++)
		format_eval(f, &rec->evals[i]);
	if (fclose(f) != 0) {
		free(*text);
		return err_set(E_NOMEM, "out of memory");
	}
	return 0;
}

static int write_state(const struct checkpoint *c, const char *tensors)
{
	char *text;
	size_t len;
	int rc = format_state(c, tensors, &text, &len);
	if (rc < 0)
		return rc;
	struct out *out = out_open(c->state, 0, 0);
	rc = out ? out_write(out, text, len) : E_IO;
	rc = rc ? rc : out_printf(out, "xxh64 %016" PRIx64 "\n", xxh64(text, len, 0));
	free(text);
	if (rc < 0) {
		out_abort(out);
		return rc;
	}
	return out_commit(out);
}

/* Makes the renames in dir durable. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int rc = err_set(E_IO, "%s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

/* Removes from dir every file but the state and keep (none: all of them); 0, or E_IO naming the
 * first file that stayed. */
static int remove_files(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	int rc = 0;
	if (!d)
		return errno == ENOENT ? 0 : err_set(E_IO, "%s: %s", dir, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (keep && !strcmp(e->d_name, "state")) ||
		    (keep && !strcmp(e->d_name, keep)))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && rc == 0)
			rc = err_set(E_IO, "%s/%s: cannot remove it: %s", dir, e->d_name, strerror(errno));
	}
	closedir(d);
	return rc;
}

int ckpt_save(struct checkpoint *c)
{
	double start = now_seconds();
	char name[64], *path;
	snprintf(name, sizeof name, "step-%ld.safetensors", c->run.progress->step);
	if (mkdir(c->dir, 0777) < 0 && errno != EEXIST)
		return err_set(E_IO, "%s: cannot create it: %s", c->dir, strerror(errno));
	if (!(path = path_join(c->dir, name)))
		return E_NOMEM;
	int rc = save_tensors(&c->run, path);
	free(path);
	rc = rc ? rc : sync_dir(c->dir);
	rc = rc ? rc : write_state(c, name);
	rc = rc ? rc : sync_dir(c->dir);
	if (rc == 0)
		remove_files(c->dir, name); /* what older checkpoints and killed writes left; else the next time */
	else
		rmdir(c->dir); /* made for a first checkpoint that failed; else it holds the last one, and stays */
	c->last = now_seconds();
	c->cost = c->last - start;
	return rc;
}

int ckpt_remove(const struct checkpoint *c)
{
	if (unlink(c->state) < 0 && errno != ENOENT && errno != ENOTDIR)
		return err_set(E_IO, "%s: cannot remove it: %s", c->state, strerror(errno));
	int rc = remove_files(c->dir, NULL);
	if (rc == 0 && rmdir(c->dir) < 0 && errno != ENOENT)
		rc = err_set(E_IO, "%s: cannot remove it: %s", c->dir, strerror(errno));
	return rc;
}

/* Reading */

/* A checkpoint's state as read, before any of it is restored. */
struct loaded {
	const char *path;
	int line;                   /* the line being read, for messages */
	char *written, *tensors;
	char *kernels;              /* what computed it (machine_kernels), NULL in older checkpoints */
	uint64_t hash;              /* the tensors' */
	char *setting[64], *value[64];
	int nsettings;
	struct ckpt_progress progress;
	long adamw_step;
	double cost[4];
	struct run_loss *loss;
	size_t nloss, loss_cap;
	struct run_eval *evals;
	size_t nevals, evals_cap;
	struct evaluation metrics; /* the task's metric set: names, count, primary */
};

static int bad_line(const struct loaded *l, const char *what)
{
	return err_set(E_FORMAT, "%s: line %d: %s", l->path, l->line, what);
}

static int parse_loss(struct loaded *l, const char *rest)
{
	struct run_loss x;
	int end = -1;
	sscanf(rest, "%ld %lf %lf %n", &x.step, &x.loss, &x.lr, &end);
	if (end < 0 || rest[end])
		return bad_line(l, "a malformed loss entry");
	if (grow((void **)&l->loss, &l->loss_cap, l->nloss + 1, sizeof *l->loss) < 0)
		return E_NOMEM;
	l->loss[l->nloss++] = x;
	return 0;
}

/* "eval EPOCH STEP LOSS EXAMPLES PRIMARY COUNT" and COUNT times "NAME VALUE LO HI": the task's metrics. */
static int parse_eval(struct loaded *l, const char *rest)
{
	struct run_eval x = { .e = l->metrics };
	int end = -1;
	sscanf(rest, "%d %ld %lf %zu %d %d %n", &x.epoch, &x.step, &x.loss, &x.e.examples, &x.e.primary, &x.e.count, &end);
	if (end < 0 || x.e.count != l->metrics.count || x.e.primary != l->metrics.primary)
		return bad_line(l, "a malformed dev evaluation, or not of this task's metrics");
	x.e.note[0] = 0;
	for (int i = 0; i < x.e.count; i++) {
		char name[16];
		int more = -1;
		rest += end;
		sscanf(rest, "%15s %lf %lf %lf %n", name, &x.e.m[i].value, &x.e.m[i].lo, &x.e.m[i].hi, &more);
		if (more < 0 || strcmp(name, l->metrics.m[i].name))
			return bad_line(l, "a malformed dev evaluation, or not of this task's metrics");
		end = more;
	}
	if (rest[end])
		return bad_line(l, "a malformed dev evaluation");
	if (grow((void **)&l->evals, &l->evals_cap, l->nevals + 1, sizeof *l->evals) < 0)
		return E_NOMEM;
	l->evals[l->nevals++] = x;
	return 0;
}

/* "tensors FILE HASH": the tensors file, in the checkpoint folder, and its tensors' XXH64. */
static int parse_tensors(struct loaded *l, char *rest)
{
	char *hash = strchr(rest, ' ');
	int end = -1;
	if (hash) {
		*hash++ = 0;
		sscanf(hash, "%16" SCNx64 " %n", &l->hash, &end);
	}
	if (end < 0 || hash[end] || !*rest || strchr(rest, '/'))
		return bad_line(l, "a malformed tensors entry");
	l->tensors = rest;
	return 0;
}

/* One line "KEY REST" of the state (the first line and the checksum are checked apart). */
static int parse_line(struct loaded *l, char *line)
{
	char *rest = strchr(line, ' ');
	int end = -1;
	if (!rest)
		return bad_line(l, "not KEY VALUE");
	*rest++ = 0;
	if (!strcmp(line, "setting")) {
		char *v = strchr(rest, ' ');
		if (!v || l->nsettings == 64)
			return bad_line(l, "a malformed setting");
		*v++ = 0;
		l->setting[l->nsettings] = rest;
		l->value[l->nsettings++] = v;
		return 0;
	}
	if (!strcmp(line, "written"))
		l->written = rest;
	else if (!strcmp(line, "kernels"))
		l->kernels = rest;
	else if (!strcmp(line, "step"))
		sscanf(rest, "%ld %n", &l->progress.step, &end);
	else if (!strcmp(line, "adamw_step"))
		sscanf(rest, "%ld %n", &l->adamw_step, &end);
	else if (!strcmp(line, "tensors"))
		return parse_tensors(l, rest);
	else if (!strcmp(line, "window"))
		sscanf(rest, "%lf %ld %n", &l->progress.window, &l->progress.in_window, &end);
	else if (!strcmp(line, "trained_tokens"))
		sscanf(rest, "%zu %n", &l->progress.trained_tokens, &end);
	else if (!strcmp(line, "cost"))
		sscanf(rest, "%lf %lf %lf %lf %n", &l->cost[0], &l->cost[1], &l->cost[2], &l->cost[3], &end);
	else if (!strcmp(line, "loss"))
		return parse_loss(l, rest);
	else if (!strcmp(line, "eval"))
		return parse_eval(l, rest);
	else
		return bad_line(l, "an unknown key");
	if (!strcmp(line, "written") || !strcmp(line, "kernels") || (end >= 0 && !rest[end]))
		return 0;
	return bad_line(l, "a malformed value");
}

/* Checks the last line, the checksum of the text before it, and cuts the text there. */
static int check_sum(const char *path, char *text, size_t len)
{
	char *last = len > 1 && text[len - 1] == '\n' ? memrchr(text, '\n', len - 1) : NULL;
	uint64_t sum = 0;
	int end = -1;
	if (last)
		sscanf(++last, "xxh64 %16" SCNx64 "%n", &sum, &end);
	if (end < 0 || last[end] != '\n' || xxh64(text, (size_t)(last - text), 0) != sum)
		return err_set(E_FORMAT, "%s: cut short or corrupt: its checksum does not match", path);
	*last = 0;
	return 0;
}

/* Parses the state's lines (each ending in '\n') into l. */
static int parse_state(struct loaded *l, char *text)
{
	char *next;
	for (char *line = text; *line; line = next) {
		l->line++;
		if (!(next = strchr(line, '\n')))
			return bad_line(l, "a NUL byte");
		*next++ = 0;
		int rc = l->line > 1 ? parse_line(l, line) :
			 strcmp(line, FORMAT_LINE) ? err_set(E_FORMAT, "%s: not a checkpoint of this elsa-train", l->path) : 0;
		if (rc < 0)
			return rc;
	}
	if (l->progress.step <= 0 || l->adamw_step != l->progress.step || !l->tensors || !l->written)
		return err_set(E_FORMAT, "%s: no step, tensors or date, or AdamW's steps are not the run's", l->path);
	return 0;
}

/* The first setting of the run whose value the checkpoint does not share: E_MISMATCH naming it. */
static int compare_settings(const struct checkpoint *c, const struct loaded *l)
{
	for (size_t i = 0; i < c->nsettings; i++) {
		const struct ckpt_setting *s = &c->settings[i];
		const char *theirs = "nothing";
		for (int k = 0; k < l->nsettings; k++)
			if (!strcmp(l->setting[k], s->name))
				theirs = l->value[k];
		if (strcmp(theirs, s->value))
			return err_set(E_MISMATCH, "%s: %s differs: the checkpoint's %s; this run's %s", c->dir, s->name, theirs,
				       s->value);
	}
	return 0;
}

/* Hands what l read over to the run. */
static void restore(struct checkpoint *c, struct loaded *l)
{
	struct run_record *rec = c->run.rec;
	free(rec->loss);
	free(rec->evals);
	rec->loss = l->loss;
	rec->nloss = l->nloss;
	rec->evals = l->evals;
	rec->nevals = l->nevals;
	rec->seconds = l->cost[0];
	rec->train_seconds = l->cost[1];
	rec->gemm_seconds = l->cost[2];
	rec->gemm_gflop = l->cost[3];
	*c->run.progress = l->progress;
	c->run.opt->step = l->adamw_step;
	snprintf(c->written, sizeof c->written, "%s", l->written);
	snprintf(c->kernels, sizeof c->kernels, "%s", l->kernels ? l->kernels : "");
}

int ckpt_load(struct checkpoint *c)
{
	struct loaded l = { .path = c->state };
	double zero = 0;
	size_t len;
	if (access(c->state, F_OK) < 0 && errno == ENOENT)
		return 0;
	char *text = read_file(c->state, &len), *path = NULL;
	if (!text)
		return E_IO;
	int rc = metrics_evaluate(c->run.task, &zero, &zero, 1, &l.metrics); /* the names, count and primary */
	rc = rc ? rc : check_sum(c->state, text, len);
	rc = rc ? rc : parse_state(&l, text);
	rc = rc ? rc : compare_settings(c, &l);
	rc = rc ? rc : (path = path_join(c->dir, l.tensors)) ? load_tensors(&c->run, path, l.hash) : E_NOMEM;
	if (rc == 0) {
		restore(c, &l);
	} else {
		free(l.loss);
		free(l.evals);
	}
	free(path);
	free(text);
	return rc < 0 ? rc : 1;
}

uint64_t ckpt_dataset_identity(const struct dataset *d)
{
	const struct stream_header *h = &d->h;
	uint64_t head[6] = { h->model, h->tokenizer, h->layer, h->hidden, h->dtype, h->max_len };
	size_t last = d->n - 1, ids = d->id_off[last] + strlen(dataset_id(d, last)) + 1;
	uint64_t x = xxh64(head, sizeof head, 0);
	x = xxh64(h->task, strnlen(h->task, sizeof h->task), x);
	x = xxh64(d->len, d->n * sizeof *d->len, x);
	x = xxh64(d->label, d->n * sizeof *d->label, x);
	x = xxh64(d->ids, ids, x);
	x = xxh64(d->tokens, d->ntokens * sizeof *d->tokens, x);
	x = xxh64(d->types, d->ntokens * sizeof *d->types, x);
	for (size_t k = 0; k < 64; k++) {
		size_t i = k * last / 63;
		x = xxh64(d->map + d->off[i], (size_t)d->len[i] * h->hidden * dtype_size(h->dtype), x);
	}
	return x;
}
