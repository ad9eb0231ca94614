/* elsa-train --predict: predictions for any stream of a run's layer, with the run's weights. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "chunk.h"
#include "cli.h"
#include "err.h"
#include "io.h"
#include "predictions.h"
#include "runrec.h"
#include "safetensors.h"
#include "train.h"

size_t predict_stream(struct finetune *f, const struct model *m, const struct task *t, const char *path, struct out *out)
{
	struct stream_reader *r = stream_open(path);
	struct chunk ch = { 0 };
	size_t H = (size_t)f->c.hidden, done = 0;
	int n;
	if (!r)
		die_lib();
	check_stream(stream_header(r), stream_name(r), m, t);
	if (stream_header(r)->layer != (uint32_t)f->first)
		die("%s: layer %u, the run trained from layer %d", stream_name(r), stream_header(r)->layer, f->first);
	double pred[CHUNK_TOKENS];
	while ((n = chunk_read_stream(&ch, r, CHUNK_TOKENS, &f->c)) > 0) {
		if (finetune_batch(f, ch.n, ch.lens) < 0)
			die_lib();
		if (f->emb) { /* a full fine-tune computes its own embeddings from the tokens */
			memcpy(f->tokens, ch.tokens, ch.b.T * sizeof *f->tokens);
			memcpy(f->types, ch.types, ch.b.T * sizeof *f->types);
		} else {
			memcpy(f->x, ch.x, ch.b.T * H * sizeof *f->x);
		}
		finetune_forward(f, 0, 0);
		head_predict(f->head.logits, ch.n, f->outputs, f->regression, pred);
		for (size_t i = 0; i < ch.n; i++)
			if (predictions_write(out, t, ch.rec[i].id, pred[i]) < 0)
				die_lib();
		done += ch.n;
	}
	if (n < 0)
		die_lib();
	chunk_free(&ch);
	stream_close(r);
	return done;
}

static const char usage[] =
	"usage: elsa-train --predict RUN_DIR -m MODEL_DIR [-o FILE] [-j N] [STREAM|-]\n"
	"Writes the predictions file (elsa-predictions(5)) of a trained run for every example of a\n"
	"tensor stream of the run's input layer (a test set, for a GLUE submission).\n"
	"      --predict DIR      the run folder (run.yaml, model.safetensors)\n"
	"  -m, --model DIR        the model the run was trained on\n"
	"  -o, --output FILE      write FILE (complete or not at all) instead of stdout\n"
	"  -j, --threads N        threads (default: ELSA_THREADS, else every core)\n"
	"      --help, --version\n";

int main_predict(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "predict", 1, 0, 'p' }, { "model", 1, 0, 'm' }, { "output", 1, 0, 'o' }, { "threads", 1, 0, 'j' },
		{ "help", 0, 0, 'h' },	  { "version", 0, 0, 'v' }, { 0 },
	};
	const char *run_dir = NULL, *model_dir = NULL, *output = "-", *threads = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "m:o:j:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': run_dir = optarg; break;
		case 'm': model_dir = optarg; break;
		case 'o': output = optarg; break;
		case 'j': threads = optarg; break;
		case 'h': cli_help(usage);
		case 'v': cli_version();
		default: cli_usage_error();
		}
	}
	if (!run_dir || !model_dir)
		die("--predict RUN_DIR and -m MODEL_DIR are required (see --help)");
	if (argc - optind > 1)
		die("one stream at a time");
	cli_threads(threads);

	char path[4096];
	struct run_record rec;
	struct model m;
	snprintf(path, sizeof path, "%s/run.yaml", run_dir);
	if (run_read(path, &rec) < 0 || model_open(&m, model_dir) < 0)
		die_lib();
	const struct task *t = task_find(rec.task);
	if (m.fingerprint != rec.model)
		die("%s: the run was trained on model %016llx, %s is %016llx", run_dir, (unsigned long long)rec.model,
		    model_dir, (unsigned long long)m.fingerprint);
	struct finetune f;
	struct safetensors st;
	int new_head;
	size_t loaded;
	snprintf(path, sizeof path, "%s/model.safetensors", run_dir);
	if (finetune_init(&f, &m, rec.frozen, rec.train_embeddings, (size_t)rec.outputs, t->nlabels == 0, 0, rec.seed, &new_head) < 0 ||
	    st_open(&st, path) < 0 || params_load_file(&f.ps, &st, m.cfg.type, &loaded) < 0)
		die_lib();
	if (loaded != f.ps.n)
		die("%s: holds %zu of the run's %zu trained tensors", path, loaded, f.ps.n);
	struct out *out = out_open(output, 0, 0);
	if (!out || predictions_write_header(out) < 0)
		die_lib();
	predict_stream(&f, &m, t, optind < argc ? argv[optind] : "-", out);
	if (out_commit(out) < 0)
		die_lib();
	st_close(&st);
	finetune_free(&f);
	model_close(&m);
	run_free(&rec);
	return cli_exit();
}
