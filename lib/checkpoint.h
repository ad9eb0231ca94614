/* checkpoint.h: a training run's checkpoint, from which a killed run resumes bit for bit.
 *
 * It owns the folder RUN_DIR.checkpoint beside the run folder (outside RUN_DIR.tmp.XXXXXX,
 * which an interrupted run removes) and its two files: step-S.safetensors, the trained
 * parameters and AdamW's two moments after S steps, f32 under the parameters' names (moments as
 * adamw.m.NAME, adamw.v.NAME; with --keep best, the best epoch's parameters as best.NAME); and state, a text file that names that file and holds the rest:
 * the kernels that computed it (machine.h: a run resumed under others goes on, but its last digits
 * are not those of a run never interrupted), the settings the run must share to resume (compared
 * one by one, the first difference named),
 * the step, AdamW's step count, the loss summed since the last log line, the run record's
 * loss log, dev evaluations and costs so far, an XXH64 of the tensor sets, and as its last
 * line an XXH64 of everything before it. Both are written beside their place and renamed into
 * it, the tensors first: the state's rename is the commit, so a kill at any moment leaves the
 * previous checkpoint or the new one, whole. The schedule's position and the dropout masks are
 * functions of the step; the shuffle order is the caller's to replay from its seed.
 *
 * It also decides when a checkpoint is due, and gives a stream's content identity. */
#ifndef ELSA_CHECKPOINT_H
#define ELSA_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "optim.h"
#include "runrec.h"

struct task;

/* One setting a resumed run must share: its name as the user knows it ("--lr", "model") and
 * its value as one line of text. */
struct ckpt_setting {
	const char *name;
	char value[96];
};

/* What a run carries from step to step besides its weights, moments and record. */
struct ckpt_progress {
	long step;             /* optimizer steps done */
	double window;         /* training loss summed since the last log line */
	long in_window;        /* steps in it */
	size_t trained_tokens; /* tokens trained on so far */
};

/* Where a checkpoint's contents live in the run: saved from there, restored into there. The
 * record's loss log, dev evaluations and costs (seconds, train_seconds, gemm_seconds,
 * gemm_gflop) are saved; restored, the costs are those of the work up to the checkpoint. */
struct ckpt_run {
	struct params *ps;
	enum model_type type;
	struct adamw *opt;
	struct run_record *rec;
	struct ckpt_progress *progress;
	const struct task *task;
	float *best; /* --keep best's copy of the parameters (saved as best.NAME), or NULL */
};

enum { CKPT_BY_TIME = -1 }; /* `every`: by elapsed time (see ckpt_due) */

struct checkpoint {
	char *dir, *state;       /* RUN_DIR.checkpoint, and its state file */
	const struct ckpt_setting *settings;
	size_t nsettings;
	struct ckpt_run run;
	long every;              /* CKPT_BY_TIME, 0 (never) or every that many steps */
	double last, cost;       /* when the last checkpoint was written (or the run began), and its seconds */
	char written[40];        /* when the restored checkpoint was written, local time */
	char kernels[96];        /* and the kernels that computed it (machine_kernels; "" before they were recorded) */
};

/* Sets c up for the run at run_dir (nothing is read or written yet); settings and run are
 * kept by pointer. 0 or E_NOMEM. */
int ckpt_init(struct checkpoint *c, const char *run_dir, long every, const struct ckpt_setting *settings,
	      size_t nsettings, const struct ckpt_run *run);
void ckpt_free(struct checkpoint *c);

/* Restores the run from its checkpoint: 1 when it did, 0 when there is none (no state file).
 * E_MISMATCH when a setting differs ("DIR: --lr differs: the checkpoint's 0.002; this run's
 * 0.001"), found before anything is restored; E_FORMAT or E_IO for a checkpoint that is cut
 * short or corrupt, naming the file. */
int ckpt_load(struct checkpoint *c);

/* 1 when a checkpoint is due after `done` steps (epoch_end: the last step of an epoch). Every
 * `every` steps and at each epoch's end; by time, at an epoch's end once CKPT_EPOCH_SECONDS have
 * passed since the last, or at any step once CKPT_SECONDS have, and never sooner than
 * CKPT_COST_SHARE times the last checkpoint's own time. */
#define CKPT_EPOCH_SECONDS 60.0
#define CKPT_SECONDS 600.0
#define CKPT_COST_SHARE 20.0
int ckpt_due(const struct checkpoint *c, long done, int epoch_end);

/* Writes the run's checkpoint, replacing the last one, and removes what older ones left. */
int ckpt_save(struct checkpoint *c);

/* Removes the checkpoint folder and everything in it (none: 0). */
int ckpt_remove(const struct checkpoint *c);

/* The content identity of a stream as read: an XXH64 of its header, every id, label, length,
 * token and type id, and the states of up to 64 records spread over it (with the header's
 * model, layer and dtype, the tokens decide the states). */
uint64_t ckpt_dataset_identity(const struct dataset *d);

#endif
