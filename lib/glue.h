/* glue.h: the GLUE tasks: their label sets (in Hugging Face's order), primary metrics, and the
 * column layouts of their train/dev/test TSV files as the benchmark's download script writes them;
 * and a reader that turns such a file (or any TSV, in the generic mode) into examples. */
#ifndef ELSA_GLUE_H
#define ELSA_GLUE_H

#include <stddef.h>

#define GLUE_MAX_LABELS 3

struct task {
	const char *name;       /* "mnli" */
	const char *folder;     /* its folder in the GLUE download: "MNLI" */
	int nlabels;            /* classes; 0: a regression task (stsb), one output */
	const char *labels[GLUE_MAX_LABELS]; /* classes as the task's files write them, index = class */
	const char *names[GLUE_MAX_LABELS];  /* their names (datasets' names: "negative", "positive") */
	const char *metric;     /* primary metric (as elsa-evaluate names it) */
};

/* The task named name ("cola", "sst2", ..., "mnli-mm", "ax"), or NULL. */
const struct task *task_find(const char *name);
/* The task a user most likely meant by a name that is none: its GLUE folder's name or its own
 * in any case, with or without - and _ ("SST-2", "STSB", "mnli_mm"), Hugging Face datasets'
 * name ("mnli_matched"), else the nearest name (err_nearest: "rtee"); or NULL. Every message
 * about an unknown task suggests it. */
const struct task *task_meant(const char *name);
/* Every task, for listing; *n gets the count. */
const struct task *task_all(size_t *n);
/* The file names of the task's labelled splits in its GLUE folder: "train.tsv", and "dev.tsv"
 * (MNLI: dev_matched.tsv, mnli-mm: dev_mismatched.tsv). */
const char *task_train_file(const struct task *t);
const char *task_dev_file(const struct task *t);
/* The two rules for a stream tokenized for task `made` (its header's task) given where task t
 * is asked for; every tool uses these. A model of task t can take it when it is t's, or when
 * both are the three-class NLI tasks (mnli, mnli-mm and ax: GLUE predicts its diagnostic set,
 * AX, with the MNLI model). Its labels are task t's gold labels only when it holds t's data: the same task,
 * or the same GLUE folder (mnli and mnli-mm; AX is data of its own). */
int task_same_classes(const struct task *t, const struct task *made);
int task_same_data(const struct task *t, const struct task *made);
/* Number of outputs of the task's head: nlabels, or 1 for regression. */
int task_outputs(const struct task *t);
/* How a file numbers a task's classes. elsa's numbering is that of the labels above:
 * transformers' GLUE processors' (MnliProcessor.get_labels), which run_glue's fine-tuned models
 * use. Hugging Face's datasets library numbers MNLI's and AX's classes entailment 0, neutral 1,
 * contradiction 2; every other task's alike in both. ORDER_UNSAID: a file that did not say. */
enum label_order { ORDER_UNSAID = -1, ORDER_GLUE, ORDER_DATASETS };
/* "glue" or "datasets" into *o: 0, or E_ARG. */
int label_order_parse(const char *name, enum label_order *o);
/* Class k as order o numbers it, as elsa's index; and elsa's index k as order o numbers it. */
int class_from_order(const struct task *t, enum label_order o, int k);
int class_to_order(const struct task *t, enum label_order o, int k);
/* The class of task t that a fine-tuned model's id2label calls name: one of t->names, in any
 * case ("CONTRADICTION"); -1 for none. */
int task_class_named(const struct task *t, const char *name);
/* Do the two numberings of task t's classes differ (MNLI's and AX's)? */
int task_orders_differ(const struct task *t);
/* Turns a label as written in a file into elsa's class index (or a score for regression): one
 * of the task's labels, or a class number in order o. A class number of a task whose orders
 * differ (MNLI, AX) needs o said. 0, or E_FORMAT (the message names the allowed labels). */
int task_label(const struct task *t, const char *text, enum label_order o, double *label);

/* The columns to read (1-based; 0: absent). */
struct tsv_columns {
	int id, a, b, label;
	int header; /* the file starts with a header line */
};

struct example {
	const char *id;      /* the id column's text, or the data row number "0", "1", ... */
	const char *a, *b;   /* texts (b NULL for single-sentence tasks) */
	double label;        /* class index or score; NAN when the file has no labels */
	size_t line;         /* 1-based line number in the file */
};

struct glue_reader;

/* Opens a task's file (task may be NULL in the generic mode, then cols must be given): with
 * cols NULL, the layout (labelled or test file) is chosen from the first line, and a first line
 * that fits neither is an error naming the expected columns. NULL on failure, with err_msg(). */
struct glue_reader *glue_open(const char *path, const struct task *task, const struct tsv_columns *cols);
/* 1: *ex holds the next example (valid until the next call); 0: end; <0: error naming the line. */
int glue_next(struct glue_reader *r, struct example *ex);
/* Class numbers in the file's label column are in order o (default: ORDER_UNSAID). */
void glue_label_order(struct glue_reader *r, enum label_order o);
/* 1 when the file carries labels. */
int glue_labelled(const struct glue_reader *r);
const char *glue_name(const struct glue_reader *r);
/* How much of the file has been read, 0 to 1 (0 when it is a pipe). */
double glue_fraction(const struct glue_reader *r);
void glue_close(struct glue_reader *r);

#endif
