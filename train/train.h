/* train.h: what elsa-train's two modes share (train.c: fine-tuning; predict.c: --predict;
 * check.c: the checks of their input streams). */
#ifndef ELSA_TRAIN_H
#define ELSA_TRAIN_H

#include "finetune.h"
#include "glue.h"
#include "stream.h"

struct out;

/* Checks that a stream's header fits the model and task: fingerprint, hidden size, a layer the
 * model has, and a task with the same labels (mnli, mnli-mm and ax share theirs). Dies naming
 * the stream and the mismatch. */
void check_stream(const struct stream_header *h, const char *name, const struct model *m, const struct task *t);

/* Predicts every record of stream r with f (dropout off) and writes the predictions
 * file to out, the classes numbered in order (with scores: each class's name, logit and
 * probability too); returns the number of examples. Dies on error. */
size_t predict_stream(struct finetune *f, const struct model *m, const struct task *t, struct stream_reader *r, int scores,
		      enum label_order order, struct out *out);

int main_predict(int argc, char **argv);

#endif
