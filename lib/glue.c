#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "glue.h"
#include "io.h"
#include "record.h"

/* Class names: as the GLUE files write them, then as the datasets library names them (the names
 * a Hugging Face model's id2label carries). */
static const struct task tasks[] = {
	{ "cola", "CoLA", 2, { "0", "1" }, { "unacceptable", "acceptable" }, "mcc" },
	{ "sst2", "SST-2", 2, { "0", "1" }, { "negative", "positive" }, "acc" },
	{ "mrpc", "MRPC", 2, { "0", "1" }, { "not_equivalent", "equivalent" }, "acc_and_f1" },
	{ "stsb", "STS-B", 0, { NULL }, { NULL }, "corr" },
	{ "qqp", "QQP", 2, { "0", "1" }, { "not_duplicate", "duplicate" }, "acc_and_f1" },
	{ "mnli", "MNLI", 3, { "contradiction", "entailment", "neutral" }, { "contradiction", "entailment", "neutral" }, "acc" },
	{ "mnli-mm", "MNLI", 3, { "contradiction", "entailment", "neutral" }, { "contradiction", "entailment", "neutral" },
	  "acc" },
	{ "qnli", "QNLI", 2, { "entailment", "not_entailment" }, { "entailment", "not_entailment" }, "acc" },
	{ "rte", "RTE", 2, { "entailment", "not_entailment" }, { "entailment", "not_entailment" }, "acc" },
	{ "wnli", "WNLI", 2, { "0", "1" }, { "not_entailment", "entailment" }, "acc" },
	/* The diagnostic set: GLUE scores it with R3, the 3-class Matthews correlation */
	{ "ax", "diagnostic", 3, { "contradiction", "entailment", "neutral" }, { "contradiction", "entailment", "neutral" },
	  "mcc" },
};

/* A file layout: its header (tab-separated names; NULL: no header line), how many columns each
 * line has (0: as many as the header), and the columns to read. LAST is the last column. */
#define LAST -1
struct layout {
	const char *header;
	int ncols;
	int id, a, b, label;
};

struct task_files {
	const char *task;
	struct layout labelled, test;
};

#define MNLI_HEAD "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t" \
		  "sentence1_parse\tsentence2_parse\tsentence1\tsentence2"
#define STSB_HEAD "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
#define PAIR_HEAD "index\tsentence1\tsentence2"

static const struct task_files files[] = {
	{ "cola", { NULL, 4, 0, 4, 0, 2 }, { "index\tsentence", 0, 1, 2, 0, 0 } },
	{ "sst2", { "sentence\tlabel", 0, 0, 1, 0, 2 }, { "index\tsentence", 0, 1, 2, 0, 0 } },
	{ "mrpc", { "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", 0, 0, 4, 5, 1 },
	  { "index\t#1 ID\t#2 ID\t#1 String\t#2 String", 0, 1, 4, 5, 0 } },
	{ "stsb", { STSB_HEAD "\tscore", 0, 1, 8, 9, 10 }, { STSB_HEAD, 0, 1, 8, 9, 0 } },
	{ "qqp", { "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", 0, 1, 4, 5, 6 },
	  { "id\tquestion1\tquestion2", 0, 1, 2, 3, 0 } },
	/* MNLI's labelled files have 1 (train) or 5 (dev) annotator columns before gold_label. */
	{ "mnli", { MNLI_HEAD "\t...\tgold_label", 0, 1, 9, 10, LAST }, { MNLI_HEAD, 0, 1, 9, 10, 0 } },
	{ "mnli-mm", { MNLI_HEAD "\t...\tgold_label", 0, 1, 9, 10, LAST }, { MNLI_HEAD, 0, 1, 9, 10, 0 } },
	{ "qnli", { "index\tquestion\tsentence\tlabel", 0, 1, 2, 3, 4 }, { "index\tquestion\tsentence", 0, 1, 2, 3, 0 } },
	{ "rte", { PAIR_HEAD "\tlabel", 0, 1, 2, 3, 4 }, { PAIR_HEAD, 0, 1, 2, 3, 0 } },
	{ "wnli", { PAIR_HEAD "\tlabel", 0, 1, 2, 3, 4 }, { PAIR_HEAD, 0, 1, 2, 3, 0 } },
	{ "ax", { NULL, -1, 0, 0, 0, 0 }, { PAIR_HEAD, 0, 1, 2, 3, 0 } }, /* AX has no labelled file */
};

const struct task *task_find(const char *name)
{
	for (size_t i = 0; i < sizeof tasks / sizeof *tasks; i++)
		if (!strcmp(tasks[i].name, name))
			return &tasks[i];
	return NULL;
}

/* name in lower case without - and _, into out (n bytes, cut there). */
static void folded(const char *name, char *out, size_t n)
{
	size_t k = 0;
	for (; *name && k + 1 < n; name++)
		if (*name != '-' && *name != '_')
			out[k++] = (char)(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name);
	out[k] = 0;
}

const struct task *task_meant(const char *name)
{
	/* Hugging Face datasets' names of MNLI's dev sets, folded */
	static const char *const aliases[][2] = { { "mnlimatched", "mnli" }, { "mnlimismatched", "mnli-mm" } };
	const size_t ntasks = sizeof tasks / sizeof *tasks;
	const char *names[sizeof tasks / sizeof *tasks];
	char want[64], have[64];
	folded(name, want, sizeof want);
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (!strcmp(want, aliases[i][0]))
			return task_find(aliases[i][1]);
	for (int by_folder = 0; by_folder < 2; by_folder++)
		for (size_t i = 0; i < ntasks; i++) {
			folded(by_folder ? tasks[i].folder : tasks[i].name, have, sizeof have);
			if (!strcmp(want, have))
				return &tasks[i];
		}
	for (size_t i = 0; i < ntasks; i++)
		names[i] = tasks[i].name;
	const char *near = err_nearest(want, names, ntasks);
	return near ? task_find(near) : NULL;
}

const struct task *task_all(size_t *n)
{
	*n = sizeof tasks / sizeof *tasks;
	return tasks;
}

const char *task_train_file(const struct task *t)
{
	(void)t;
	return "train.tsv";
}

const char *task_dev_file(const struct task *t)
{
	return !strcmp(t->name, "mnli") ? "dev_matched.tsv" : !strcmp(t->name, "mnli-mm") ? "dev_mismatched.tsv" : "dev.tsv";
}

int task_same_classes(const struct task *t, const struct task *made)
{
	if (t == made)
		return 1;
	if (t->nlabels != 3 || made->nlabels != 3) /* two-class tasks share names, not meanings */
		return 0;
	for (int i = 0; i < t->nlabels; i++)
		if (strcmp(t->labels[i], made->labels[i]) || strcmp(t->names[i], made->names[i]))
			return 0;
	return 1;
}

int task_same_data(const struct task *t, const struct task *made)
{
	return t == made || !strcmp(t->folder, made->folder);
}

int task_outputs(const struct task *t)
{
	return t->nlabels ? t->nlabels : 1;
}

int label_order_parse(const char *name, enum label_order *o)
{
	if (!strcmp(name, "glue") || !strcmp(name, "datasets")) {
		*o = !strcmp(name, "glue") ? ORDER_GLUE : ORDER_DATASETS;
		return 0;
	}
	return err_set(E_ARG, "label order '%s': glue (transformers' processors, elsa's) or datasets (Hugging Face's "
			      "datasets library)", name);
}

int task_orders_differ(const struct task *t)
{
	return t->nlabels == 3;
}

/* The orders differ for the three NLI classes only: datasets' k is elsa's (k + 1) % 3. */
static int orders_differ(const struct task *t, enum label_order o)
{
	return o == ORDER_DATASETS && task_orders_differ(t);
}

int task_class_named(const struct task *t, const char *name)
{
	for (int c = 0; c < t->nlabels; c++)
		if (!strcasecmp(name, t->names[c]))
			return c;
	return -1;
}

int class_from_order(const struct task *t, enum label_order o, int k)
{
	return orders_differ(t, o) ? (k + 1) % 3 : k;
}

int class_to_order(const struct task *t, enum label_order o, int k)
{
	return orders_differ(t, o) ? (k + 2) % 3 : k;
}

/* A label written as a class number 0..nlabels-1 (the digits alone), or -1. */
static int class_number(const struct task *t, const char *text)
{
	return text[0] >= '0' && text[0] < '0' + t->nlabels && !text[1] ? text[0] - '0' : -1;
}

int task_label(const struct task *t, const char *text, enum label_order o, double *label)
{
	if (!t->nlabels) {
		char *end;
		errno = 0;
		*label = strtod(text, &end);
		if (end == text || *end || errno || !isfinite(*label))
			return err_set(E_FORMAT, "label '%s' is not a number", text);
		return 0;
	}
	for (int i = 0; i < t->nlabels; i++)
		if (!strcmp(text, t->labels[i])) {
			*label = i;
			return 0;
		}
	int k = class_number(t, text);
	if (k >= 0 && t->nlabels == 3 && o == ORDER_UNSAID)
		return err_set(E_FORMAT, "label '%s' is a class number, and %s's classes are numbered two ways: say which "
				      "(--label-order glue: contradiction 0, entailment 1, neutral 2; datasets: entailment 0, "
				      "neutral 1, contradiction 2)", text, t->name);
	if (k >= 0) {
		*label = class_from_order(t, o, k);
		return 0;
	}
	char allowed[128] = "";
	for (int i = 0; i < t->nlabels; i++)
		snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s", i ? ", " : "", t->labels[i]);
	return err_set(E_FORMAT, "label '%s' is not one of %s's labels (%s)", text, t->name, allowed);
}

/* Reading */

#define MAX_COLS 64

struct glue_reader {
	struct in *in;
	const struct task *task;
	struct layout lay;    /* the layout in use (columns 1-based) */
	int labelled;
	size_t line, row;     /* lines read, data rows returned */
	char *first;          /* the first line, read to choose the layout */
	size_t first_len;
	int first_is_data;    /* ... and still to be returned as data (CoLA's labelled files) */
	enum label_order order; /* of class numbers in the label column */
	char idbuf[32];
	char *cols[MAX_COLS];
};

/* Splits line at tabs into r->cols; returns the column count (MAX_COLS + 1 when there are more). */
static int split(struct glue_reader *r, char *line)
{
	int n = 0;
	for (char *p = line;; p++) {
		if (n == MAX_COLS)
			return MAX_COLS + 1;
		r->cols[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			return n;
		*p = 0;
	}
}

/* Does a header line (already split into n columns) fit layout l? "..." in l->header stands for
 * any number of columns. */
static int header_fits(const struct glue_reader *r, int n, const struct layout *l)
{
	char names[512], *name[MAX_COLS], *save;
	int m = 0, dots = -1;
	if (!l->header)
		return 0;
	snprintf(names, sizeof names, "%s", l->header);
	for (char *p = strtok_r(names, "\t", &save); p && m < MAX_COLS; p = strtok_r(NULL, "\t", &save)) {
		if (!strcmp(p, "..."))
			dots = m;
		else
			name[m++] = p;
	}
	if (dots < 0 ? n != m : n < m)
		return 0;
	for (int i = 0; i < m; i++) {
		int col = dots >= 0 && i >= dots ? n - (m - i) : i;
		if (strcmp(r->cols[col], name[i]))
			return 0;
	}
	return 1;
}

static void describe(char *buf, size_t n, const struct layout *l)
{
	snprintf(buf, n, "%s", l->header);
	for (char *p = buf; *p; p++)
		if (*p == '\t')
			*p = ' ';
}

/* The other tasks whose files have the columns of a first line split into n (r->cols), as advice
 * after a message: "; its columns are those of sst2's train and dev files: give -t sst2", or
 * "" when none has them. */
static void lookalike(const struct glue_reader *r, int n, char *buf, size_t size)
{
	char which[256] = "", give[128] = "";
	int found = 0;
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		const struct task_files *f = &files[i];
		int test = header_fits(r, n, &f->test);
		/* CoLA's train and dev files have no header: 4 columns, the label 0 or 1 second */
		int headerless = !f->labelled.header && f->labelled.ncols == n && n > 1 &&
				 (!strcmp(r->cols[1], "0") || !strcmp(r->cols[1], "1"));
		if (!strcmp(f->task, r->task->name) || !(test || header_fits(r, n, &f->labelled) || headerless))
			continue;
		snprintf(which + strlen(which), sizeof which - strlen(which), "%s%s's %s", found ? " or " : "", f->task,
			 test ? "test files" : "train and dev files");
		snprintf(give + strlen(give), sizeof give - strlen(give), "%s-t %s", found++ ? " or " : "", f->task);
	}
	snprintf(buf, size, found ? "; its columns are those of %s: give %s" : "", which, give);
}

static int choose_layout(struct glue_reader *r, char *line, size_t len)
{
	const struct task_files *f = NULL;
	char other[512];
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		if (!strcmp(files[i].task, r->task->name))
			f = &files[i];
	/* Keep a copy of the line: it may be the first data row (CoLA's labelled files). */
	r->first = malloc(len + 1);
	if (!r->first)
		return err_set(E_NOMEM, "out of memory");
	memcpy(r->first, line, len + 1);
	r->first_len = len;
	int n = split(r, line);
	if (n > MAX_COLS)
		return err_set(E_FORMAT, "%s: line 1: more than %d columns", in_name(r->in), MAX_COLS);
	if (header_fits(r, n, &f->test)) {
		r->lay = f->test;
		r->lay.ncols = n;
	} else if (header_fits(r, n, &f->labelled)) {
		r->lay = f->labelled;
		r->lay.ncols = n;
		r->labelled = 1;
	} else if (!f->labelled.header && f->labelled.ncols > 0) {
		/* the line is data: unless it has other columns, or is another task's header */
		lookalike(r, n, other, sizeof other);
		if (n != f->labelled.ncols)
			return err_set(E_FORMAT, "%s: line 1: %d columns, expected %d (%s's train and dev files have no "
					      "header)%s", in_name(r->in), n, f->labelled.ncols, r->task->name, other);
		if (*other)
			return err_set(E_FORMAT, "%s: line 1: a header line, and %s's train and dev files have none%s",
				       in_name(r->in), r->task->name, other);
		r->lay = f->labelled; /* no header: the line is data */
		r->labelled = 1;
		r->first_is_data = 1;
		return 0;
	} else {
		char a[512], b[512] = "";
		describe(a, sizeof a, &f->test);
		if (f->labelled.header)
			describe(b, sizeof b, &f->labelled);
		lookalike(r, n, other, sizeof other);
		return err_set(E_FORMAT, "%s: line 1: not a %s file header; expected columns: %s%s%s%s", in_name(r->in),
			       r->task->name, b, *b ? " (train/dev) or: " : "", a, other);
	}
	if (r->lay.label == LAST)
		r->lay.label = n;
	return 0;
}

struct glue_reader *glue_open(const char *path, const struct task *task, const struct tsv_columns *cols)
{
	struct glue_reader *r = calloc(1, sizeof *r);
	if (!r) {
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	r->task = task;
	r->order = ORDER_UNSAID;
	if (!(r->in = in_open(path)))
		goto fail;
	if (cols) {
		r->lay = (struct layout){ NULL, 0, cols->id, cols->a, cols->b, cols->label };
		r->labelled = cols->label > 0;
		if (cols->header) {
			char *line;
			size_t len;
			int rc = in_line(r->in, &line, &len);
			if (rc < 0)
				goto fail;
			r->line = rc > 0;
		}
		return r;
	}
	char *line;
	size_t len;
	int rc = in_line(r->in, &line, &len);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		err_set(E_FORMAT, "%s: empty file", in_name(r->in));
		goto fail;
	}
	r->line = 1;
	/* The download script writes MRPC with a UTF-8 byte order mark. */
	if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
		line += 3;
		len -= 3;
	}
	if (choose_layout(r, line, len) < 0)
		goto fail;
	return r;
fail:
	glue_close(r);
	return NULL;
}

int glue_labelled(const struct glue_reader *r)
{
	return r->labelled;
}

double glue_fraction(const struct glue_reader *r)
{
	return in_fraction(r->in);
}

const char *glue_name(const struct glue_reader *r)
{
	return in_name(r->in);
}

int glue_next(struct glue_reader *r, struct example *ex)
{
	char *line;
	size_t len;
	if (r->first_is_data) {
		line = r->first;
		len = r->first_len;
		r->first_is_data = 0;
		r->line = 0;
	} else {
		int rc = in_line(r->in, &line, &len);
		if (rc <= 0)
			return rc;
	}
	r->line++;
	const char *name = in_name(r->in);
	if (len && line[len - 1] == '\r')
		line[--len] = 0;
	if (strlen(line) != len)
		return err_set(E_FORMAT, "%s: line %zu: NUL byte in text", name, r->line);
	int n = split(r, line);
	int need = r->lay.ncols;
	if (need && n != need)
		return err_set(E_FORMAT, "%s: line %zu: %d columns, expected %d", name, r->line, n, need);
	int used = r->lay.a > r->lay.b ? r->lay.a : r->lay.b;
	if (r->lay.label > used)
		used = r->lay.label;
	if (r->lay.id > used)
		used = r->lay.id;
	if (n < used)
		return err_set(E_FORMAT, "%s: line %zu: %d columns, expected at least %d", name, r->line, n, used);
	if (used > MAX_COLS) /* split() keeps MAX_COLS columns (and says MAX_COLS + 1 for more) */
		return err_set(E_FORMAT, "%s: line %zu: column %d is past the %d columns elsa reads", name, r->line, used,
			       MAX_COLS);
	if (r->lay.id) {
		ex->id = r->cols[r->lay.id - 1];
		if (!*ex->id || strlen(ex->id) > 255)
			return err_set(E_FORMAT, "%s: line %zu: the id column is empty or too long", name, r->line);
	} else {
		snprintf(r->idbuf, sizeof r->idbuf, "%zu", r->row);
		ex->id = r->idbuf;
	}
	ex->a = r->cols[r->lay.a - 1];
	ex->b = r->lay.b ? r->cols[r->lay.b - 1] : NULL;
	ex->label = NAN;
	ex->line = r->line;
	if (r->lay.label) {
		const char *text = r->cols[r->lay.label - 1];
		int rc = r->task ? task_label(r->task, text, r->order, &ex->label) : label_parse(text, &ex->label);
		if (rc < 0 && !r->task) /* a task's label names ("not_entailment") are read only with the task */
			return err_set(rc, "%s: line %zu: label '%.40s' is not a number (a task's labels need its name: -t TASK)",
				       name, r->line, text);
		if (rc < 0)
			return err_prefix(rc, "%s: line %zu", name, r->line);
	}
	r->row++;
	return 1;
}

void glue_label_order(struct glue_reader *r, enum label_order o)
{
	r->order = o;
}

void glue_close(struct glue_reader *r)
{
	if (!r)
		return;
	in_close(r->in);
	free(r->first);
	free(r);
}
