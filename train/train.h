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

int main_predict(int argc, char **argv);

#endif
