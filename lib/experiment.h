/* experiment.h: the experiment file of elsa-sweep (elsa-experiment(5)): a YAML (or JSON) mapping
 * of the study's model, data, tasks, frozen-layer counts, learning rates, seeds and training
 * settings, read with libyaml and checked value by value. */
#ifndef ELSA_EXPERIMENT_H
#define ELSA_EXPERIMENT_H

#include <stddef.h>

#define EXPERIMENT_MAX_LIST 64

struct task;

struct experiment {
	char *model, *data; /* absolute paths */
	const struct task *tasks[EXPERIMENT_MAX_LIST];
	int ntasks;
	int frozen[EXPERIMENT_MAX_LIST], nfrozen;
	size_t frozen_line[EXPERIMENT_MAX_LIST]; /* the line of each in the file, for messages */
	double lr[EXPERIMENT_MAX_LIST];
	int nlr;
	long seeds[EXPERIMENT_MAX_LIST];
	int nseeds;
	long epochs, batch, max_len, max_steps, jobs;
	double warmup, weight_decay, dropout;
	char *dtype;
	int train_embeddings;
	int keep_best;           /* keep: best (each run keeps its best dev epoch) or last */
	int bf16;                /* compute: bf16 (the caches' and runs' products take bf16 inputs) or f32 */
	long shards[2];          /* parts the caches of each split (train, dev) are computed in, as jobs of their own */
	struct {                 /* the slurm: section, for elsa-sweep --slurm; NULL or 0: not given */
		char *partition, *account, *time, *mem;
		long cpus_per_task;
		char *extra[EXPERIMENT_MAX_LIST]; /* more #SBATCH options, "--qos=low" */
		int nextra;
	} slurm;
};

/* Reads path into e; relative model and data paths are taken from path's folder and must exist.
 * 0, or a negative code with err_msg() naming the file and the setting. */
int experiment_read(const char *path, struct experiment *e);
void experiment_free(struct experiment *e);

#endif
