/* predictions.h: example ids with one value each, as elsa-evaluate compares them: the predictions
 * file (elsa-predictions(5)) that elsa-train writes, a task's gold labels (from a token stream or
 * a GLUE TSV), the matching of the two by id, and GLUE leaderboard submission files. */
#ifndef ELSA_PREDICTIONS_H
#define ELSA_PREDICTIONS_H

#include <stddef.h>

#include "glue.h"

struct out;

struct scored {
	char *id;
	double value; /* class index or score; NAN: none (an unlabelled gold example) */
	size_t line;  /* where it was read, for messages */
};

/* The examples of one file, in file order. */
struct scores {
	char *name; /* the file's name in messages */
	struct scored *v;
	size_t n, cap;
};

/* Read a whole file into s (zeroed by the caller, freed with scores_free even on failure).
 * Values are checked against the task: a class index in [0, nlabels), or a finite score.
 * Columns after the prediction (--scores) are checked for their count only.
 * An empty file, a file without examples, a malformed line and a duplicate id are errors
 * naming the file and line (E_FORMAT), as are failures to read (E_IO, E_TRUNC). */
int predictions_read(const char *path, const struct task *task, struct scores *s);
/* Gold labels from a token stream (elsa-tokens(5)) or a GLUE TSV file of the task (a test file
 * gives NAN values; class numbers in its label column are read in order's numbering, see
 * task_label). A token stream tokenized for another task is an error (E_MISMATCH). */
int gold_read_tokens(const char *path, const struct task *task, struct scores *s);
int gold_read_tsv(const char *path, const struct task *task, enum label_order order, struct scores *s);
/* 0 when every example of s has a value; else E_FORMAT naming the first without. */
int scores_check_labelled(const struct scores *s);
/* out[i] gets pred's value for gold->v[i].id. An id of gold missing from pred, or of pred
 * missing from gold, is an error naming it with its file and line (E_MISMATCH); E_NOMEM. */
int scores_match(const struct scores *gold, const struct scores *pred, double *out);
void scores_free(struct scores *s);

/* The predictions file: its header line, then one line per example. The value must be one of
 * the task's classes (elsa's index, written as order numbers it) or a finite score (written so
 * it reads back exactly): else E_ARG, with nothing written. With scores (a classification task;
 * logits not NULL) each line also carries the class's name, the head's logits and their softmax,
 * named in the header, the classes in order's numbering; names gives the classes' names by
 * elsa's index (a model's own id2label names), NULL the task's (task->names). */
int predictions_write_header(struct out *out, const struct task *task, enum label_order order, int scores,
			     const char *const *names);
int predictions_write(struct out *out, const struct task *task, enum label_order order, const char *id, double value,
		      const float *logits, const char *const *names);

/* A GLUE leaderboard submission: "index<TAB>prediction", then each example of pred in order,
 * its id and its class's name (its score for regression). */
int submission_write(struct out *out, const struct task *task, const struct scores *pred);

#endif
