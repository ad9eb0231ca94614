/* elsa-train --predict: predictions for any stream of a run's layer, with the run's weights. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "gemm.h"
#include "infer.h"
#include "io.h"
#include "predictions.h"
#include "runrec.h"
#include "train.h"

/* Where --predict's batches go: the predictions file, in order's numbering, the classes named
 * names. */
struct prediction_out {
	const struct task *t;
	enum label_order order;
	int scores;
	const char *const *names;
	struct out *out;
};

static int write_batch(void *ctx, struct finetune *f, const struct infer_batch *b, const double *pred)
{
	struct prediction_out *p = ctx;
	int rc = 0;
	for (size_t i = 0; i < b->n && rc == 0; i++)
		rc = predictions_write(p->out, p->t, p->order, b->ids[i], pred[i],
				       p->scores ? f->head.logits + i * f->outputs : NULL, p->names);
	return rc;
}

/* Predicts every record of stream r with f (dropout off) into the predictions file p->out. */
static void predict_stream(struct finetune *f, const struct model *m, struct stream_reader *r, struct prediction_out *p)
{
	struct infer_source src;
	check_stream(stream_header(r), stream_name(r), m, p->t);
	if (stream_header(r)->layer != (uint32_t)f->first)
		die("%s: layer %u, the run trained from layer %d", stream_name(r), stream_header(r)->layer, f->first);
	infer_from_stream(&src, r);
	if (finetune_infer(f, &src, write_batch, p) < 0)
		die_lib();
	infer_source_free(&src);
}

static const char usage[] =
	"usage: elsa-train --predict RUN_DIR -m MODEL_DIR [--scores] [--compute TYPE] [-o FILE] [-j N] [STREAM|-]\n"
	"       elsa-train --predict FINETUNED_DIR [-t TASK] [--scores] [--compute TYPE] [-o FILE] [-j N] [STREAM|-]\n"
	"Writes the predictions file (elsa-predictions(5)) of a trained run, or of a fine-tuned model\n"
	"folder (elsa-export's, or any with a classification head), for every example of a tensor\n"
	"stream (a test set, for a GLUE submission).\n"
	"      --predict DIR      the run folder (run.yaml, model.safetensors), or a model folder\n"
	"  -m, --model DIR        the model the run was trained on\n"
	"  -t, --task TASK        a model folder's task, when its config.json has no finetuning_task\n"
	"      --scores           add each class's name, logit and probability (classification)\n"
	"      --label-order O    number the classes as glue (elsa's, the default) or datasets (Hugging\n"
	"                         Face datasets'; MNLI and AX differ); and a model folder's outputs so when\n"
	"                         its id2label does not name the task's classes\n"
	"      --compute TYPE     the matrix products' inputs: f32 or bf16 (default: the run's, a\n"
	"                         model folder's f32)\n"
	"  -o, --output FILE      write FILE (complete or not at all) instead of stdout\n"
	"  -j, --threads N        threads (default: ELSA_THREADS, else the usable CPUs)\n"
	"  -h, --help         this help;  -V, --version  the version\n";

struct predictor {
	int compute_said; /* --compute given: the run's own compute type is not used */
	struct model m;
	const struct task *task;
	struct finetune f;
	const char *names[GLUE_MAX_LABELS]; /* the classes' names, by elsa's index */
};

/* A run: the base model's frozen layers, the run's trained tensors over them. */
static void from_run(struct predictor *p, const char *run_dir, const char *model_dir)
{
	char path[4096];
	struct run_record rec;
	struct weights w;
	int new_head;
	size_t loaded;
	snprintf(path, sizeof path, "%s/run.yaml", run_dir);
	if (!model_dir)
		die("%s is a run: -m MODEL_DIR, the model it was trained on, is required", run_dir);
	if (run_read(path, &rec) < 0 || model_open(&p->m, model_dir) < 0)
		die_lib();
	p->task = task_find(rec.task);
	if (p->m.fingerprint != rec.model)
		die("%s: the run was trained on model %016llx, %s is %016llx", run_dir, (unsigned long long)rec.model,
		    model_dir, (unsigned long long)p->m.fingerprint);
	snprintf(path, sizeof path, "%s/model.safetensors", run_dir);
	if (finetune_init(&p->f, &p->m, rec.frozen, rec.train_embeddings, (size_t)rec.outputs, p->task->nlabels == 0, 0,
			  rec.seed, &new_head) < 0 ||
	    weights_open_file(&w, path) < 0 || params_load_file(&p->f.ps, &w, p->m.cfg.type, &loaded) < 0)
		die_lib();
	if (loaded != p->f.ps.n)
		die("%s: holds %zu of the run's %zu trained tensors", path, loaded, p->f.ps.n);
	if (!p->compute_said && rec.compute && gemm_compute(1) < 0) /* the run's own products */
		die("%s: a run of bf16 products: %s (--compute f32 predicts with f32 ones)", run_dir, err_msg());
	weights_close(&w);
	run_free(&rec);
}

/* "LABEL_0, LABEL_1, LABEL_2": the names of a model folder's outputs (n of them), into buf. */
static const char *output_names(const struct model_config *c, int n, char *buf, size_t size)
{
	buf[0] = 0;
	for (int i = 0; i < n; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? ", " : "", c->labels[i]);
	return buf;
}

/* "contradiction, entailment, neutral" (or numbered, "0 contradiction, 1 entailment, ..."): the
 * task's classes as order o numbers them, into buf. */
static const char *class_names(const struct task *t, enum label_order o, int numbered, char *buf, size_t size)
{
	buf[0] = 0;
	for (int k = 0; k < t->nlabels; k++) {
		snprintf(buf + strlen(buf), size - strlen(buf), k ? ", " : "");
		if (numbered)
			snprintf(buf + strlen(buf), size - strlen(buf), "%d ", k);
		snprintf(buf + strlen(buf), size - strlen(buf), "%s", t->names[class_from_order(t, o, k)]);
	}
	return buf;
}

/* Are the outputs named by the task's classes, each once (in any order and case)? Then
 * class_of[i] is output i's class. */
static int named_by_class(const struct model_config *c, const struct task *t, int *class_of)
{
	int seen = 0;
	for (int i = 0; i < t->nlabels; i++) {
		class_of[i] = task_class_named(t, c->labels[i]);
		if (class_of[i] < 0 || seen & 1 << class_of[i])
			return 0;
		seen |= 1 << class_of[i];
	}
	return 1;
}

/* Are they Hugging Face's generic names, LABEL_0, LABEL_1, ... in order? */
static int named_generic(const struct model_config *c, int n)
{
	char name[24];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "LABEL_%d", i);
		if (strcasecmp(c->labels[i], name))
			return 0;
	}
	return 1;
}

/* Dies: the names got (of dir's outputs) do not say which of the task's classes each output is;
 * says how --label-order states it. */
static _Noreturn void refuse_names(const char *dir, const char *got, const struct task *t)
{
	char glue[64], other[64];
	class_names(t, ORDER_GLUE, 0, glue, sizeof glue);
	if (task_orders_differ(t))
		die("%s/config.json: id2label names the outputs %s, not %s's classes (%s, in any order and case): say how the "
		    "model numbers them with --label-order glue (%s) or datasets (%s)", dir, got, t->name, glue, glue,
		    class_names(t, ORDER_DATASETS, 0, other, sizeof other));
	die("%s/config.json: id2label names the outputs %s, not %s's classes (%s, in any order and case): if the model "
	    "numbers them as GLUE and datasets do (%s), say so with --label-order glue", dir, got, t->name, glue,
	    class_names(t, ORDER_GLUE, 1, other, sizeof other));
}

/* Puts each output of a model folder's head at its class of the task, and names the classes:
 * by the names its id2label gives the outputs when they are the task's classes (the names then
 * the model's own); else in the numbering --label-order states (order); else, when the names
 * are generic and the task's two numberings agree, in that numbering, said in a note. Else dies
 * saying how to state the model's numbering. */
static void map_outputs(struct predictor *p, const char *dir, enum label_order order)
{
	const struct task *t = p->task;
	const struct model_config *c = &p->m.cfg;
	int class_of[GLUE_MAX_LABELS], named = named_by_class(c, t, class_of);
	char got[4 * MODEL_LABEL_LEN], numbered[64];
	output_names(c, t->nlabels, got, sizeof got);
	if (!named && order == ORDER_UNSAID) {
		if (task_orders_differ(t) || !named_generic(c, t->nlabels))
			refuse_names(dir, got, t);
		warn("note: %s/config.json: id2label names the outputs %s: read as %s's classes %s (GLUE's and datasets' "
		     "numbering)", dir, got, t->name, class_names(t, ORDER_GLUE, 1, numbered, sizeof numbered));
	}
	for (int i = 0; i < t->nlabels; i++) {
		if (!named)
			class_of[i] = class_from_order(t, order, i);
		p->names[class_of[i]] = named ? c->labels[i] : t->names[class_of[i]];
	}
	if (params_move_outputs(&p->f.ps, class_of) < 0)
		die_lib();
}

/* A fine-tuned model folder: every layer above the stream's, and the head, from the folder. */
static void from_model(struct predictor *p, const char *dir, const char *task, uint32_t layer, enum label_order order)
{
	int new_head;
	if (model_open(&p->m, dir) < 0)
		die_lib();
	if (!task && !*p->m.cfg.task)
		die("%s/config.json: no finetuning_task: name the task with -t", dir);
	p->task = cli_task(task ? task : p->m.cfg.task);
	if (!p->m.cfg.num_labels)
		die("%s/config.json: no id2label nor num_labels: no classification head, not a fine-tuned model", dir);
	if (p->m.cfg.num_labels != task_outputs(p->task))
		die("%s/config.json: %d labels, task %s has %d", dir, p->m.cfg.num_labels, p->task->name,
		    task_outputs(p->task));
	if (finetune_init(&p->f, &p->m, (int)layer, 0, (size_t)task_outputs(p->task), p->task->nlabels == 0, 0, 0,
			  &new_head) < 0)
		die_lib();
	if (new_head)
		die("%s/%s: no classification head (%d of its tensors missing): not a fine-tuned model", dir, p->m.w.layout, new_head);
	if (p->task->nlabels)
		map_outputs(p, dir, order);
}

int main_predict(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "predict", 1, 0, 'p' }, { "model", 1, 0, 'm' }, { "output", 1, 0, 'o' }, { "threads", 1, 0, 'j' },
		{ "task", 1, 0, 't' },	  { "scores", 0, 0, 's' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' },
		{ "label-order", 1, 0, 'L' }, { "compute", 1, 0, 'c' },
		{ 0 },
	};
	const char *run_dir = NULL, *model_dir = NULL, *output = "-", *threads = NULL, *task = NULL, *compute = NULL;
	int c, scores = 0;
	enum label_order order = ORDER_UNSAID;
	while ((c = getopt_long(argc, argv, "m:o:j:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'p': run_dir = optarg; break;
		case 'm': model_dir = optarg; break;
		case 'o': output = optarg; break;
		case 'j': threads = optarg; break;
		case 't': task = optarg; break;
		case 's': scores = 1; break;
		case 'c': compute = optarg; break;
		case 'L':
			order = cli_label_order(optarg);
			break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (!run_dir)
		die("--predict DIR is required (see --help)");
	if (argc - optind > 1)
		die("one stream at a time");
	cli_compute(threads, compute);

	char path[4096];
	struct predictor p = { .compute_said = compute != NULL };
	struct stream_reader *r = stream_open(optind < argc ? argv[optind] : "-");
	if (!r)
		die_lib();
	snprintf(path, sizeof path, "%s/run.yaml", run_dir);
	if (access(path, F_OK) == 0) {
		if (task)
			die("-t: a run knows its task");
		from_run(&p, run_dir, model_dir);
	} else {
		if (model_dir)
			die("%s has no run.yaml: as a fine-tuned model folder it needs no -m", run_dir);
		from_model(&p, run_dir, task, stream_header(r)->layer, order);
	}
	struct prediction_out po = { p.task, order, scores, p.names[0] ? p.names : NULL, out_open(output, 0, 0) };
	if (!po.out || predictions_write_header(po.out, p.task, order, scores, po.names) < 0)
		die_lib();
	predict_stream(&p.f, &p.m, r, &po);
	if (out_commit(po.out) < 0)
		die_lib();
	stream_close(r);
	finetune_free(&p.f);
	model_close(&p.m);
	return cli_exit();
}
