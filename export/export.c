/* elsa-export: a trained run as a complete Hugging Face model folder (config.json,
 * model.safetensors with every tensor of the fine-tuned model, the tokenizer files, a model card)
 * that transformers' AutoModelForSequenceClassification.from_pretrained loads, and elsa too. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "glue.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "record.h"
#include "runrec.h"

static const char usage[] =
	"usage: elsa-export -m MODEL_DIR -o OUT_DIR [--dtype TYPE] [--force] RUN_DIR\n"
	"Writes the fine-tuned model of a run (elsa-train's RUN_DIR) as a Hugging Face model folder:\n"
	"the frozen tensors of MODEL_DIR, the run's trained ones and its head, under the names\n"
	"transformers' sequence-classification class of the family loads (BertFor..., RobertaFor...,\n"
	"DistilBertFor..., ElectraFor..., ModernBertForSequenceClassification).\n"
	"  -m, --model DIR     the model the run was trained on\n"
	"  -o, --output DIR    the folder to write (complete or not at all)\n"
	"      --dtype TYPE    storage of the tensors: f32, f16 or bf16 (default: the base model's)\n"
	"  -f, --force         replace OUT_DIR if it exists\n"
	"  -h, --help          this help;  -V, --version  the version\n";

/* The files of a tokenizer that are copied as they are (tokenizer_fingerprint's, and
 * added_tokens.json). */
static const char *const tokenizer_files[] = {
	"vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"added_tokens.json",
};

struct export {
	const char *model_dir, *run_dir;
	struct run_record rec;
	const struct task *task;
	struct model m;
	struct params ps; /* the whole fine-tuned model: embeddings, every layer, the head */
	enum dtype dtype;
	struct folder_out out;
};

/* Hugging Face's name for a layout's dtype (config.json's torch_dtype). */
static const char *torch_dtype(enum dtype d)
{
	return d == DT_F16 ? "float16" : d == DT_BF16 ? "bfloat16" : "float32";
}

/* The base model's storage: that of its word embeddings. */
static enum dtype base_dtype(const struct model *m)
{
	char name[96];
	snprintf(name, sizeof name, "%s%s", m->prefix, family_of(m->cfg.type)->emb[0].name);
	const struct wt_tensor *t = weights_find(&m->w, name);
	return t && wt_float_dtype(t) >= 0 ? (enum dtype)wt_float_dtype(t) : DT_F32;
}

/* Does the export store every tensor as the base does (the same dtype, for each of the base's
 * floating-point tensors)? Then the tensors the run left as they were are the base's, bit for bit. */
static int stored_alike(const struct export *x)
{
	for (size_t i = 0; i < x->m.w.n; i++) {
		int d = wt_float_dtype(&x->m.w.t[i]);
		if (d >= 0 && d != (int)x->dtype)
			return 0;
	}
	return 1;
}

/* The base model's tensors, then the run's over them; every tensor must come from one of them. */
static void load_tensors(struct export *x)
{
	char path[4096];
	int head_missing;
	struct weights run;
	size_t loaded;
	if (params_init(&x->ps, &x->m.cfg, 1, 0, x->m.cfg.layers, x->rec.outputs) < 0 ||
	    params_load(&x->ps, &x->m, &head_missing) < 0)
		die_lib();
	snprintf(path, sizeof path, "%s/model.safetensors", x->run_dir);
	if (weights_open_file(&run, path) < 0 || params_load_file(&x->ps, &run, x->m.cfg.type, &loaded) < 0)
		die_lib();
	if (loaded != run.n)
		die("%s: %zu of its %zu tensors are not tensors of %s", path, run.n - loaded, run.n, x->model_dir);
	for (size_t i = 0; i < x->ps.n; i++)
		if (!x->ps.p[i].loaded) {
			char full[160];
			param_full_name(&x->ps.p[i], x->m.cfg.type, full, sizeof full);
			die("%s: no tensor %s, and %s has none either", path, full, x->model_dir);
		}
	weights_close(&run);
}

static void write_tensors(struct export *x)
{
	char *path = folder_file(&x->out, "model.safetensors");
	if (!path || params_write(&x->ps, x->m.cfg.type, path, x->dtype) < 0)
		die_lib();
}

/* config.json */

static void put_string(struct out *o, const char *s, size_t n)
{
	out_printf(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20)
			out_printf(o, "\\u%04x", c);
		else
			out_printf(o, "%c", c);
	}
	out_printf(o, "\"");
}

/* A value of the base config, as JSON (YAML's plain scalars come back as their text). */
static void put_value(struct out *o, const struct json *j, int node, int depth)
{
	size_t n;
	const char *s = json_str(j, node, &n);
	enum json_type t = json_type(j, node);
	if (t == J_STRING) {
		put_string(o, s, n);
	} else if (t == J_NUMBER || t == J_BOOL || t == J_NULL) {
		out_printf(o, "%s", s);
	} else {
		int obj = t == J_OBJECT;
		out_printf(o, "%s", obj ? "{" : "[");
		for (size_t i = 0; i < json_len(j, node); i++) {
			const char *key;
			int v = json_at(j, node, i, &key);
			out_printf(o, "%s\n%*s", i ? "," : "", 2 * (depth + 1), "");
			if (obj) {
				put_string(o, key, strlen(key));
				out_printf(o, ": ");
			}
			put_value(o, j, v, depth + 1);
		}
		out_printf(o, "\n%*s%s", 2 * depth, "", obj ? "}" : "]");
	}
}

/* The keys elsa writes itself; the base config's values for them are replaced. */
static const char *const own_keys[] = {
	"architectures", "num_labels",	   "id2label",		    "label2id",	       "problem_type",
	"finetuning_task", "torch_dtype", "elsa_base_fingerprint", "elsa_base_layers",
};

static int own_key(const char *key)
{
	for (size_t i = 0; i < sizeof own_keys / sizeof *own_keys; i++)
		if (!strcmp(key, own_keys[i]))
			return 1;
	return 0;
}

static void put_labels(struct out *o, const struct task *t, int outputs)
{
	out_printf(o, ",\n  \"id2label\": {");
	for (int c = 0; c < outputs; c++)
		out_printf(o, "%s\n    \"%d\": \"%s\"", c ? "," : "", c, t->nlabels ? t->names[c] : "LABEL_0");
	out_printf(o, "\n  },\n  \"label2id\": {");
	for (int c = 0; c < outputs; c++)
		out_printf(o, "%s\n    \"%s\": %d", c ? "," : "", t->nlabels ? t->names[c] : "LABEL_0", c);
	out_printf(o, "\n  }");
}

static void write_config(struct export *x)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/config.json", x->model_dir);
	struct json *j = json_load(path);
	char *file = folder_file(&x->out, "config.json");
	struct out *o = file ? out_open(file, 0, 0) : NULL;
	if (!j || !o)
		die_lib();
	int root = json_root(j);
	out_printf(o, "{\n  \"architectures\": [\n    \"%s\"\n  ]", family_of(x->m.cfg.type)->architecture);
	for (size_t i = 0; i < json_len(j, root); i++) {
		const char *key;
		int v = json_at(j, root, i, &key);
		if (own_key(key))
			continue;
		out_printf(o, ",\n  ");
		put_string(o, key, strlen(key));
		out_printf(o, ": ");
		put_value(o, j, v, 1);
	}
	out_printf(o, ",\n  \"finetuning_task\": \"%s\"", x->task->name);
	/* The base model's streams of the layers the run left as they were serve this model too. */
	if (!x->rec.train_embeddings && stored_alike(x))
		out_printf(o, ",\n  \"elsa_base_fingerprint\": \"%016llx\",\n  \"elsa_base_layers\": %d",
			   (unsigned long long)x->rec.model, x->rec.frozen);
	put_labels(o, x->task, x->rec.outputs);
	out_printf(o, ",\n  \"num_labels\": %d,\n  \"problem_type\": \"%s\",\n  \"torch_dtype\": \"%s\"\n}\n",
		   x->rec.outputs, x->task->nlabels ? "single_label_classification" : "regression", torch_dtype(x->dtype));
	json_free(j);
	if (out_commit(o) < 0)
		die_lib();
}

static void copy_tokenizer(struct export *x)
{
	char path[4096];
	int copied = 0;
	for (size_t i = 0; i < sizeof tokenizer_files / sizeof *tokenizer_files; i++) {
		size_t n;
		snprintf(path, sizeof path, "%s/%s", x->model_dir, tokenizer_files[i]);
		if (access(path, F_OK) < 0)
			continue;
		char *text = read_file(path, &n), *to = text ? folder_file(&x->out, tokenizer_files[i]) : NULL;
		if (!to || write_file_atomic(to, text, n) < 0)
			die_lib();
		free(text);
		copied++;
	}
	if (!copied)
		die("%s: no tokenizer files (vocab.txt, vocab.json, merges.txt, tokenizer.json)", x->model_dir);
}

/* README.md: a model card with the metadata the hub reads, and what the run did. */
static void write_card(struct export *x)
{
	const struct run_record *r = &x->rec;
	const struct run_eval *ev = run_final(r);
	char *file = folder_file(&x->out, "README.md");
	struct out *o = file ? out_open(file, 0, 0) : NULL;
	if (!o)
		die_lib();
	out_printf(o, "---\nlibrary_name: transformers\npipeline_tag: text-classification\ndatasets:\n- glue\ntags:\n- elsa\n");
	const char *slash = strrchr(x->model_dir, '/'), *base = slash && slash[1] ? slash + 1 : x->model_dir;
	out_printf(o, "---\n\n# %s fine-tuned on GLUE %s\n\n", base, x->task->folder);
	out_printf(o, "Fine-tuned by elsa %s: the embeddings and layers 0..%d were %s; layers %d..%d and the "
		      "classification head were trained.\n\n", ELSA_VERSION, r->frozen - 1,
		   r->train_embeddings ? "trained too" : "frozen", r->frozen, r->layers - 1);
	out_printf(o, "| setting | value |\n|---|---|\n| base model fingerprint | %016llx |\n| frozen layers | %d of %d |\n",
		   (unsigned long long)r->model, r->frozen, r->layers);
	out_printf(o, "| learning rate | %g |\n| epochs | %d |\n| batch | %d |\n| warmup | %g |\n| weight decay | %g |\n"
		      "| seed | %llu |\n| training examples | %zu |\n\n",
		   r->lr, r->epochs, r->batch, r->warmup, r->weight_decay, (unsigned long long)r->seed, r->train_examples);
	if (ev) {
		out_printf(o, "## Dev set (%zu examples, after epoch %d)\n\n| metric | value |\n|---|---|\n", ev->e.examples,
			   ev->epoch);
		for (int i = 0; i < ev->e.count; i++)
			out_printf(o, "| %s | %.4f |\n", ev->e.m[i].name, unsigned_nan(ev->e.m[i].value));
	} else {
		out_printf(o, "The run had no dev set.\n");
	}
	if (out_commit(o) < 0)
		die_lib();
}

static void parse(int argc, char **argv, struct export *x, const char **out_dir, int *force, const char **dtype)
{
	static const struct option opts[] = {
		{ "model", 1, 0, 'm' }, { "output", 1, 0, 'o' }, { "dtype", 1, 0, 'd' }, { "force", 0, 0, 'f' },
		{ "help", 0, 0, 'h' },	{ "version", 0, 0, 'V' }, { 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "m:o:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': x->model_dir = optarg; break;
		case 'o': *out_dir = optarg; break;
		case 'd': *dtype = optarg; break;
		case 'f': *force = 1; break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (!x->model_dir || !*out_dir || argc - optind != 1)
		die("-m MODEL_DIR, -o OUT_DIR and one RUN_DIR are required (see --help)");
	x->run_dir = argv[optind];
}

int main(int argc, char **argv)
{
	struct export x = { 0 };
	const char *out_dir = NULL, *dtype = NULL;
	char path[4096];
	int force = 0;
	cli_init("elsa-export");
	parse(argc, argv, &x, &out_dir, &force, &dtype);
	snprintf(path, sizeof path, "%s/run.yaml", x.run_dir);
	if (run_read(path, &x.rec) < 0 || model_open(&x.m, x.model_dir) < 0)
		die_lib();
	if (x.m.fingerprint != x.rec.model)
		die("%s: the run was trained on model %016llx, %s is %016llx", x.run_dir, (unsigned long long)x.rec.model,
		    x.model_dir, (unsigned long long)x.m.fingerprint);
	if (!(x.task = task_find(x.rec.task)))
		die("%s: task %s", path, x.rec.task);
	x.dtype = dtype ? (enum dtype)cli_dtype(dtype) : base_dtype(&x.m);
	load_tensors(&x);
	if (folder_begin(&x.out, out_dir, force) < 0)
		die_lib();
	write_config(&x);
	write_tensors(&x);
	copy_tokenizer(&x);
	write_card(&x);
	int rc = folder_commit(&x.out);
	if (rc < 0)
		die_lib();
	if (rc > 0)
		warn("%s", err_msg());
	params_free(&x.ps);
	model_close(&x.m);
	run_free(&x.rec);
	return cli_exit();
}
