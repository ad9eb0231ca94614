/* runrec.h: the run record (run.yaml, elsa-run(5)): everything about one elsa-train run that
 * elsa-report and --predict need: the model and layers, every hyperparameter, the training loss
 * by step, the dev metrics by epoch, and the costs. elsa-train writes it; readers use libyaml. */
#ifndef ELSA_RUNREC_H
#define ELSA_RUNREC_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct run_loss {
	long step;   /* optimizer steps done */
	double loss; /* mean training loss over the steps since the previous entry */
	double lr;   /* learning rate of the last of them */
};

struct run_eval {
	int epoch;
	long step;
	double loss;
	struct evaluation e; /* e.task is set on reading too */
};

/* A record owns its strings and arrays (run_read makes them, and a writer's record holds its
 * own copies): run_free frees them all. */
struct run_record {
	char task[16];
	char *model_dir;
	uint64_t model;          /* fingerprint */
	char model_type[16];
	int layers, frozen;      /* L, and N: the input layer */
	int train_embeddings;    /* the embeddings trained too (N = 0) */
	int outputs, new_head;   /* head outputs; head tensors newly initialized */
	char *train, *dev;       /* stream paths ("" for no dev) */
	size_t train_examples, train_tokens, dev_examples;
	double lr, warmup, weight_decay, dropout, max_grad_norm;
	int epochs, batch, shuffle, threads;
	int keep_best;           /* --keep best: the weights and predictions of the best dev epoch */
	int compute;             /* the products' inputs: 1 bf16, 0 f32 (gemm_compute) */
	int cache_compute;       /* and those of the layers of the cache it trained from */
	long max_steps, steps, warmup_steps;
	uint64_t seed;
	struct run_loss *loss;
	size_t nloss;
	struct run_eval *evals;
	size_t nevals;
	int kept_epoch;          /* the epoch whose weights and predictions the run kept (0: no dev) */
	double seconds, train_seconds, tokens_per_second, peak_mb;
	double gemm_seconds, gemm_gflop; /* the GEMM share of the training (gemm_totals) */
	struct run_machine {             /* what computed it (machine.h); "" in records before them */
		char cpu[49], cpu_family[32], blis[16], gemm[32], simd[16];
	} machine;
};

/* --keep's two values: run_keep_parse gives 1 for "best", 0 for "last", -1 for anything else
 * (NULL too); run_keep_name the name back. */
int run_keep_parse(const char *name);
const char *run_keep_name(int keep_best);

/* Writes r as YAML to path (atomically). */
int run_write(const char *path, const struct run_record *r);
/* Reads a run record written by run_write. 0, or E_FORMAT naming the file and the field. */
int run_read(const char *path, struct run_record *r);
void run_free(struct run_record *r);
/* The dev evaluation of the weights the run kept (kept_epoch; the last one in a record that
 * names none), or NULL when the run had no dev set. */
const struct run_eval *run_final(const struct run_record *r);
/* The index of the evaluation --keep best keeps among the first n: the first with the highest
 * primary score (every GLUE metric grows with quality); an undefined score never wins. */
size_t run_best(const struct run_eval *evals, size_t n);

#endif
