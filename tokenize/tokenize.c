/* elsa-tokenize: a GLUE task's TSV file (or any TSV) to a token stream (elsa-tokens(5)), with the
 * tokenizer of a Hugging Face model folder, id for id as Hugging Face tokenizers would make it.
 * See elsa-tokenize(1). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "glue.h"
#include "io.h"
#include "model.h"
#include "record.h"
#include "tokenizer.h"
#include "tokens.h"
#include "unicode.h"

static const char usage[] =
	"usage: elsa-tokenize -m MODEL_DIR -t TASK [--max-len N] [-o FILE] [FILE|-]\n"
	"       elsa-tokenize -m MODEL_DIR --text-a N [--text-b M] [--label K] [--id J] [--no-header]\n"
	"                     [-t TASK] [--max-len N] [-o FILE] [FILE|-]\n"
	"Writes the token stream (elsa-tokens(5)) of a GLUE task's train, dev or test file, or of any\n"
	"TSV file, as Hugging Face tokenizers would tokenize it.\n"
	"  -m, --model DIR    a Hugging Face model folder: its tokenizer.json, else vocab.txt (BERT)\n"
	"                     or vocab.json and merges.txt (RoBERTa), with tokenizer_config.json\n"
	"  -t, --task TASK    cola sst2 mrpc stsb qqp mnli mnli-mm qnli rte wnli ax: the file has the\n"
	"                     task's columns (train/dev or test layout, told by its header) and labels\n"
	"  -L, --max-len N    at most N tokens per example, special tokens included (default 128);\n"
	"                     pairs are cut longest first; 0: no truncation\n"
	"      --text-a N     generic TSV: the first text is column N (columns count from 1)\n"
	"      --text-b M     ... the second text, for sentence pairs\n"
	"      --label K      ... the label: a number, or one of the task's labels with -t\n"
	"      --id J         ... the example id (default: the data row number, from 0)\n"
	"      --no-header    ... the file has no header line\n"
	"      --label-order O  class numbers in the label column count as glue (elsa's, transformers'\n"
	"                     processors') or datasets (Hugging Face datasets': MNLI, AX differ)\n"
	"  -o, --output FILE  write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet        no progress on a terminal\n"
	"  -h, --help         this help;  -V, --version  the version\n";

struct options {
	const char *model, *input, *output;
	const struct task *task;
	struct tsv_columns cols; /* cols.a == 0: the task's own layout */
	int no_header;
	uint32_t max_len;
	enum label_order order;
};

static void check_options(const struct options *o)
{
	if (!o->model)
		die("-m MODEL_DIR is required");
	if (!o->task && !o->cols.a)
		die("-t TASK or --text-a N is required (see '%s --help')", prog);
	if (!o->cols.a && (o->cols.b || o->cols.label || o->cols.id || o->no_header))
		die("--text-b, --label, --id and --no-header go with --text-a");
}

static struct options parse_options(int argc, char **argv)
{
	enum { TEXT_A = 256, TEXT_B, LABEL, ID, NO_HEADER, LABEL_ORDER };
	static const struct option longs[] = {
		{ "model", required_argument, NULL, 'm' },   { "task", required_argument, NULL, 't' },
		{ "max-len", required_argument, NULL, 'L' }, { "text-a", required_argument, NULL, TEXT_A },
		{ "text-b", required_argument, NULL, TEXT_B }, { "label", required_argument, NULL, LABEL },
		{ "id", required_argument, NULL, ID },       { "no-header", no_argument, NULL, NO_HEADER },
		{ "label-order", required_argument, NULL, LABEL_ORDER },
		{ "output", required_argument, NULL, 'o' },  { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },       { "quiet", no_argument, NULL, 'q' },       { NULL, 0, NULL, 0 },
	};
	struct options o = { .max_len = 128, .order = ORDER_UNSAID };
	int c;
	while ((c = getopt_long(argc, argv, "m:t:L:o:qhV", longs, NULL)) != -1) {
		switch (c) {
		case 'm': o.model = optarg; break;
		case 't':
			o.task = cli_task(optarg);
			break;
		case 'L': o.max_len = (uint32_t)cli_long("--max-len", optarg, 0, SEQ_MAX); break;
		case TEXT_A: o.cols.a = (int)cli_long("--text-a", optarg, 1, 64); break;
		case TEXT_B: o.cols.b = (int)cli_long("--text-b", optarg, 1, 64); break;
		case LABEL: o.cols.label = (int)cli_long("--label", optarg, 1, 64); break;
		case ID: o.cols.id = (int)cli_long("--id", optarg, 1, 64); break;
		case NO_HEADER: o.no_header = 1; break;
		case LABEL_ORDER:
			o.order = cli_label_order(optarg);
			break;
		case 'o': o.output = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (optind < argc)
		o.input = argv[optind++];
	if (optind < argc)
		die("unexpected argument '%s' (see '%s --help')", argv[optind], prog);
	o.cols.header = !o.no_header;
	check_options(&o);
	return o;
}

/* The example as a record: its id, label and tokens. 0, or a negative code with err_msg(). */
static int encode(struct tokenizer *tok, const struct example *ex, uint32_t max_len, struct record *rec)
{
	size_t n = strlen(ex->id);
	if (utf8_check(ex->id, n) != n)
		return err_set(E_FORMAT, "invalid UTF-8 in the id");
	if (record_set_id(rec, ex->id, n) < 0)
		return E_FORMAT;
	rec->label = ex->label;
	return tokenizer_encode(tok, ex->a, strlen(ex->a), ex->b, ex->b ? strlen(ex->b) : 0, max_len, rec);
}

/* Gives up: removes the output file's temporary, says why, exits 1. */
static _Noreturn void fail(struct out *out)
{
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", err_msg());
	out_abort(out);
	die("%s", msg);
}

/* Examples longer than the model's position table would be refused by elsa-embed: when the
 * folder's config.json says how many tokens the model takes, cut there, and say so. */
static void cap_to_model(struct options *o)
{
	char *path = path_join(o->model, "config.json"), *text;
	size_t n;
	struct model_config c;
	if (!path || access(path, R_OK) < 0 || !(text = read_file(path, &n))) {
		free(path);
		return;
	}
	if (config_parse(&c, text, n, path) == 0 && (o->max_len == 0 || o->max_len > config_max_tokens(&c))) {
		if (o->max_len)
			warn("note: --max-len %u is more than the %u tokens %s takes: cutting at %u", o->max_len,
			     config_max_tokens(&c), o->model, config_max_tokens(&c));
		else
			warn("note: --max-len 0 (no limit), but %s takes at most %u tokens: cutting there", o->model,
			     config_max_tokens(&c));
		o->max_len = config_max_tokens(&c);
	}
	free(text);
	free(path);
}

int main(int argc, char **argv)
{
	cli_init("elsa-tokenize");
	struct options o = parse_options(argc, argv);
	cap_to_model(&o);
	struct tokens_header h = { .max_len = o.max_len };
	struct tokenizer *tok = tokenizer_load(o.model);
	if (!tok || tokenizer_fingerprint(o.model, &h.tokenizer) < 0)
		die_lib();
	if (tokenizer_note(tok))
		warn("note: %s", tokenizer_note(tok));
	if (o.task)
		snprintf(h.task, sizeof h.task, "%s", o.task->name);
	struct glue_reader *r = glue_open(o.input, o.task, o.cols.a ? &o.cols : NULL);
	if (!r)
		die_lib();
	glue_label_order(r, o.order);
	struct out *out = out_open(o.output, 0, 0);
	if (!out)
		die_lib();
	if (tokens_write_header(out, &h) < 0)
		fail(out);
	struct record rec = { 0 };
	struct example ex;
	struct progress pg;
	size_t count = 0, tokens = 0;
	int rc;
	progress_start(&pg);
	while ((rc = glue_next(r, &ex)) > 0) {
		if ((rc = encode(tok, &ex, o.max_len, &rec)) < 0) {
			err_prefix(rc, "%s: line %zu", glue_name(r), ex.line);
			fail(out);
		}
		if (tokens_write(out, &rec) < 0)
			fail(out);
		count++;
		tokens += rec.len;
		progress_update(&pg, count, tokens, glue_fraction(r));
	}
	progress_end(&pg);
	if (rc < 0 || tokens_write_end(out, count) < 0)
		fail(out);
	if (out_commit(out) < 0)
		die_lib();
	record_free(&rec);
	glue_close(r);
	tokenizer_free(tok);
	return cli_exit();
}
