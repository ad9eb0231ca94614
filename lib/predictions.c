#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "glue.h"
#include "io.h"
#include "mem.h"
#include "predictions.h"
#include "record.h"
#include "tokens.h"

#define HEADER "id\tprediction"

/* The list */

static int scores_add(struct scores *s, const char *id, double value, size_t line)
{
	if (grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) < 0)
		return E_NOMEM;
	char *copy = strdup(id);
	if (!copy)
		return err_set(E_NOMEM, "out of memory");
	s->v[s->n++] = (struct scored){ copy, value, line };
	return 0;
}

static int set_name(struct scores *s, const char *name)
{
	if (!(s->name = strdup(name)))
		return err_set(E_NOMEM, "out of memory");
	return 0;
}

void scores_free(struct scores *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].id);
	free(s->v);
	free(s->name);
	memset(s, 0, sizeof *s);
}

static int by_id(const void *a, const void *b)
{
	const struct scored *x = *(const struct scored *const *)a, *y = *(const struct scored *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* The examples of s sorted by id (then line), as a malloc'd array of pointers; NULL: E_NOMEM. */
static struct scored **sorted(const struct scores *s)
{
	struct scored **p = malloc((s->n ? s->n : 1) * sizeof *p);
	if (!p) {
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < s->n; i++)
		p[i] = &s->v[i];
	qsort(p, s->n, sizeof *p, by_id);
	return p;
}

/* An error naming the first line (in file order) whose id was seen before. */
static int check_unique(const struct scores *s)
{
	struct scored **p = sorted(s);
	if (!p)
		return E_NOMEM;
	size_t dup = 0, first = 0; /* in p; dup 0: none. Each run of one id is sorted by line. */
	for (size_t i = 1, run = 0; i < s->n; i++) {
		if (strcmp(p[i]->id, p[i - 1]->id))
			run = i;
		else if (i == run + 1 && (!dup || p[i]->line < p[dup]->line)) {
			dup = i;
			first = run;
		}
	}
	int rc = 0;
	if (dup)
		rc = err_set(E_FORMAT, "%s: line %zu: duplicate id '%s' (first on line %zu)", s->name, p[dup]->line,
			     p[dup]->id, p[first]->line);
	free(p);
	return rc;
}

/* Is v one of the task's classes (or, for regression, any finite number)? */
static int valid_value(const struct task *t, double v)
{
	return t->nlabels ? v == floor(v) && v >= 0 && v < t->nlabels : isfinite(v);
}

/* The message for a value that is not valid_value ("prediction '7' is not a class of rte (0 to 1)";
 * what names the value, text is as written); returns E_FORMAT. */
static int bad_value(const struct task *t, const char *what, const char *text)
{
	if (!t->nlabels)
		return err_set(E_FORMAT, "%s '%s' is not a number", what, text);
	return err_set(E_FORMAT, "%s '%s' is not a class of %s (0 to %d)", what, text, t->name, t->nlabels - 1);
}

/* After reading: at least one example, no id twice. */
static int check_read(const struct scores *s, const char *what)
{
	if (!s->n)
		return err_set(E_FORMAT, "%s: no %s", s->name, what);
	return check_unique(s);
}

/* The predictions file */

/* How many TAB-separated fields line has. */
static size_t count_fields(const char *line)
{
	size_t k = 1;
	for (; *line; line++)
		k += *line == '\t';
	return k;
}

/* A line of fields fields: the id, the prediction, and the --scores columns (not read). */
static int parse_prediction(const struct task *t, char *line, size_t n, size_t fields, struct scores *s)
{
	size_t k = count_fields(line);
	if (k != fields)
		return err_set(E_FORMAT, "%s: line %zu: %zu field%s, the header has %zu", s->name, n, k, k > 1 ? "s" : "", fields);
	char *tab = strchr(line, '\t'), *end, *next = strchr(tab + 1, '\t');
	*tab = 0;
	if (next)
		*next = 0;
	const char *text = tab + 1;
	if (!*line || tab - line > ID_MAX)
		return err_set(E_FORMAT, "%s: line %zu: the id is empty or longer than %d bytes", s->name, n, ID_MAX);
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v))
		return err_set(E_FORMAT, "%s: line %zu: prediction '%s' is not a number", s->name, n, text);
	if (!valid_value(t, v))
		return err_prefix(bad_value(t, "prediction", text), "%s: line %zu", s->name, n);
	return scores_add(s, line, v, n);
}

static int read_predictions(struct in *in, const struct task *task, struct scores *s)
{
	char *line;
	size_t len, n = 0, fields = 2;
	int rc;
	while ((rc = in_line(in, &line, &len)) > 0) {
		n++;
		if (rc == 2)
			return err_set(E_TRUNC, "%s: line %zu: truncated (the last line has no newline)", s->name, n);
		if (len && line[len - 1] == '\r')
			line[--len] = 0;
		if (strlen(line) != len)
			return err_set(E_FORMAT, "%s: line %zu: NUL byte", s->name, n);
		if (n == 1 && strcmp(line, HEADER) && strncmp(line, HEADER "\t", sizeof HEADER))
			return err_set(E_FORMAT, "%s: line 1: not a predictions file (its first line must be "
						 "'id<TAB>prediction')", s->name);
		if (n == 1)
			fields = count_fields(line);
		if (n > 1 && (rc = parse_prediction(task, line, n, fields, s)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!n)
		return err_set(E_FORMAT, "%s: empty file", s->name);
	return check_read(s, "predictions after the header");
}

int predictions_read(const char *path, const struct task *task, struct scores *s)
{
	struct in *in = in_open(path);
	if (!in)
		return err_code();
	int rc = set_name(s, in_name(in));
	if (!rc)
		rc = read_predictions(in, task, s);
	in_close(in);
	return rc;
}

int predictions_write_header(struct out *out, const struct task *task, enum label_order order, int scores,
			     const char *const *names)
{
	int rc = out_printf(out, HEADER);
	names = names ? names : task->names;
	if (scores && task->nlabels) {
		rc = rc ? rc : out_printf(out, "\tlabel");
		for (int c = 0; c < task->nlabels && !rc; c++)
			rc = out_printf(out, "\tlogit_%s", names[class_from_order(task, order, c)]);
		for (int c = 0; c < task->nlabels && !rc; c++)
			rc = out_printf(out, "\tprob_%s", names[class_from_order(task, order, c)]);
	}
	return rc ? rc : out_printf(out, "\n");
}

/* The class's name, its logits as the model computed them (9 digits: a float exactly) and their
 * softmax, the classes in order. */
static int write_scores(struct out *out, const struct task *task, enum label_order order, double value,
			const float *logits, const char *const *names)
{
	double top = logits[0], sum = 0, p[GLUE_MAX_LABELS];
	int rc = out_printf(out, "\t%s", (names ? names : task->names)[(int)value]);
	for (int c = 0; c < task->nlabels; c++)
		top = fmax(top, logits[c]);
	for (int c = 0; c < task->nlabels; c++)
		sum += p[c] = exp((double)logits[c] - top);
	for (int c = 0; c < task->nlabels && !rc; c++)
		rc = out_printf(out, "\t%.9g", unsigned_nan(logits[class_from_order(task, order, c)]));
	for (int c = 0; c < task->nlabels && !rc; c++)
		rc = out_printf(out, "\t%.9g", unsigned_nan(p[class_from_order(task, order, c)] / sum));
	return rc;
}

/* value as written in files: the class index, or the shortest text that reads back exactly. */
static int format_value(const struct task *t, double value, char *buf)
{
	label_format(value, buf);
	if (!valid_value(t, value)) {
		bad_value(t, "value", buf);
		return E_ARG;
	}
	return 0;
}

int predictions_write(struct out *out, const struct task *task, enum label_order order, const char *id, double value,
		      const float *logits, const char *const *names)
{
	char buf[32];
	if (format_value(task, value, buf))
		return err_prefix(E_ARG, "example '%s'", id);
	if (task->nlabels)
		label_format(class_to_order(task, order, (int)value), buf);
	int rc = out_printf(out, "%s\t%s", id, buf);
	if (!rc && logits && task->nlabels)
		rc = write_scores(out, task, order, value, logits, names);
	return rc ? rc : out_printf(out, "\n");
}

int submission_write(struct out *out, const struct task *task, const struct scores *pred)
{
	int rc = out_printf(out, "index\tprediction\n");
	for (size_t i = 0; i < pred->n && !rc; i++) {
		char buf[32];
		if ((rc = format_value(task, pred->v[i].value, buf)))
			return err_prefix(rc, "example '%s'", pred->v[i].id);
		const char *text = task->nlabels ? task->labels[(int)pred->v[i].value] : buf;
		rc = out_printf(out, "%s\t%s\n", pred->v[i].id, text);
	}
	return rc;
}

/* Gold labels */

/* Token streams carry the task they were tokenized for; the same GLUE folder (mnli, mnli-mm)
 * is the same data. */
static int check_stream_task(const struct tokens_reader *r, const struct task *task)
{
	const struct tokens_header *h = tokens_header(r);
	if (!h || !h->task[0] || !strcmp(h->task, task->name))
		return 0;
	const struct task *t = task_find(h->task);
	if (t && task_same_data(task, t))
		return 0;
	return err_set(E_MISMATCH, "%s: the stream was tokenized for task %s, not %s", tokens_name(r), h->task,
		       task->name);
}

static int read_tokens(struct tokens_reader *r, const struct task *task, struct scores *s)
{
	struct record rec = { 0 };
	int rc;
	while ((rc = tokens_next(r, &rec)) > 0) {
		if (!s->n && (rc = check_stream_task(r, task)) < 0)
			break;
		if (!isnan(rec.label) && !valid_value(task, rec.label)) {
			char text[32];
			label_format(rec.label, text);
			rc = err_prefix(bad_value(task, "label", text), "%s: line %zu", s->name, tokens_line(r));
			break;
		}
		if ((rc = scores_add(s, rec.id, rec.label, tokens_line(r))) < 0)
			break;
	}
	record_free(&rec);
	return rc < 0 ? rc : check_read(s, "examples");
}

int gold_read_tokens(const char *path, const struct task *task, struct scores *s)
{
	struct in *in = in_open(path);
	if (!in)
		return err_code();
	struct tokens_reader *r = tokens_open_in(in);
	if (!r)
		return err_code();
	int rc = set_name(s, tokens_name(r));
	if (!rc)
		rc = read_tokens(r, task, s);
	tokens_close(r);
	return rc;
}

int gold_read_tsv(const char *path, const struct task *task, enum label_order order, struct scores *s)
{
	struct glue_reader *r = glue_open(path, task, NULL);
	if (!r)
		return err_code();
	glue_label_order(r, order);
	int rc = set_name(s, glue_name(r));
	struct example ex;
	while (!rc && (rc = glue_next(r, &ex)) > 0)
		rc = scores_add(s, ex.id, ex.label, ex.line);
	glue_close(r);
	return rc < 0 ? rc : check_read(s, "examples");
}

int scores_check_labelled(const struct scores *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (isnan(s->v[i].value))
			return err_set(E_FORMAT, "%s: line %zu: no gold label (an unlabelled test file?)", s->name,
				       s->v[i].line);
	return 0;
}

/* Matching */

int scores_match(const struct scores *gold, const struct scores *pred, double *out)
{
	struct scored **g = sorted(gold), **p = g ? sorted(pred) : NULL;
	if (!p) {
		free(g);
		return E_NOMEM;
	}
	/* Merge the two sorted lists; of the ids found on one side only, report the first in its file. */
	const struct scored *miss = NULL, *more = NULL;
	size_t i = 0, j = 0;
	while (i < gold->n || j < pred->n) {
		int c = i == gold->n ? 1 : j == pred->n ? -1 : strcmp(g[i]->id, p[j]->id);
		if (c < 0) {
			if (!miss || g[i]->line < miss->line)
				miss = g[i];
			i++;
		} else if (c > 0) {
			if (!more || p[j]->line < more->line)
				more = p[j];
			j++;
		} else {
			out[g[i++] - gold->v] = p[j++]->value;
		}
	}
	free(g);
	free(p);
	if (miss)
		return err_set(E_MISMATCH, "%s: no prediction for id '%s' (%s: line %zu)", pred->name, miss->id,
			       gold->name, miss->line);
	if (more)
		return err_set(E_MISMATCH, "%s: line %zu: id '%s' is not in %s", pred->name, more->line, more->id,
			       gold->name);
	return 0;
}
