/* elsa-embed: token stream in, tensor stream of layer 0 (the embedding output) out. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "chunk.h"
#include "cli.h"
#include "encoder.h"
#include "err.h"
#include "model.h"
#include "stream.h"
#include "tokenizer.h"
#include "tokens.h"

static const char usage[] =
	"usage: elsa-embed -m MODEL_DIR [-o FILE] [--dtype f32|f16|bf16] [-j N] [--shard K/N] [FILE|-]\n"
	"Reads a token stream (elsa-tokens(5)) and writes the embedding layer's output, the hidden\n"
	"states at layer 0, as a tensor stream (elsa-stream(5)).\n"
	"  -m, --model DIR     Hugging Face model folder (config.json, model.safetensors)\n"
	"  -o, --output FILE   write FILE (complete or not at all) instead of stdout\n"
	"      --dtype TYPE    storage of the states: f32 (default), f16 or bf16\n"
	"  -j, --threads N     threads (default: ELSA_THREADS, else the usable CPUs)\n"
	"  -q, --quiet         no progress on a terminal\n"
	"      --shard K/N     only the K-th of N contiguous parts of the examples (K from 1; FILE only)\n"
	"  -h, --help         this help;  -V, --version  the version\n";

/* The output's header: the model's, with the tokenizer, max_len and task of the token stream's
 * header (read with its first line), whose tokenizer must be the model folder's. */
/* Tokens of another tokenizer are refused by that name, before any of their ids is. */
static void check_tokenizer(const char *model_dir, const struct tokens_reader *in)
{
	const struct tokens_header *th = tokens_header(in);
	uint64_t fp;
	if (th && th->tokenizer && tokenizer_fingerprint(model_dir, &fp) == 0 && fp != th->tokenizer)
		die("%s: tokens made by another tokenizer (fingerprint %016llx; %s's is %016llx): tokenize with %s",
		    tokens_name(in), (unsigned long long)th->tokenizer, model_dir, (unsigned long long)fp, model_dir);
}

static struct stream_header output_header(const struct model *m, const char *model_dir, const struct tokens_reader *in,
					  int dtype)
{
	const struct tokens_header *th = tokens_header(in);
	struct stream_header h = { .model = m->fingerprint, .layer = 0, .hidden = (uint32_t)m->cfg.hidden, .dtype = (uint32_t)dtype };
	check_tokenizer(model_dir, in);
	if (th) {
		h.tokenizer = th->tokenizer;
		h.max_len = th->max_len;
		memcpy(h.task, th->task, sizeof h.task);
	}
	return h;
}

struct options {
	const char *model_dir, *output, *threads, *input;
	int dtype;
	struct shard shard;
};

static struct options parse_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", 1, 0, 'm' }, { "output", 1, 0, 'o' }, { "dtype", 1, 0, 'd' },	 { "threads", 1, 0, 'j' },
		{ "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' },	 { "version", 0, 0, 'V' }, { "shard", 1, 0, 'k' },
		{ 0 },
	};
	struct options o = { .output = "-", .dtype = DT_F32 };
	int c;
	while ((c = getopt_long(argc, argv, "m:o:j:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model_dir = optarg; break;
		case 'o': o.output = optarg; break;
		case 'd': o.dtype = cli_dtype(optarg); break;
		case 'j': o.threads = optarg; break;
		case 'q': quiet = 1; break;
		case 'k':
			if (shard_parse(optarg, &o.shard) < 0)
				die_lib();
			break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (!o.model_dir)
		die("no model folder (-m MODEL_DIR)");
	if (argc - optind > 1)
		die("one input at a time (concatenate token streams with cat)");
	o.input = optind < argc ? argv[optind] : "-";
	return o;
}

/* The embeddings of every chunk of in into out, starting with the chunk already read (n records). */
static void embed_chunks(struct tokens_reader *in, struct chunk *ch, int n, const struct model *m,
			 const struct emb_weights *w, struct stream_writer *out)
{
	struct emb_acts acts = { 0 };
	struct progress pr;
	size_t examples = 0, tokens = 0;
	progress_start(&pr);
	for (; n > 0; n = chunk_read_tokens(ch, in, CHUNK_TOKENS, &m->cfg)) {
		if (emb_acts_reserve(&acts, &m->cfg, ch->b.T) < 0)
			die_lib();
		embeddings_forward(ch->x, &acts, w, &m->cfg, &ch->b, ch->tokens, ch->types, NULL, 0);
		if (chunk_write(ch, ch->x, m->cfg.hidden, out) < 0)
			die_lib();
		examples += ch->n;
		tokens += ch->b.T;
		progress_update(&pr, examples, tokens, tokens_fraction(in));
	}
	if (n < 0)
		die_lib();
	progress_end(&pr);
	emb_acts_free(&acts);
}

int main(int argc, char **argv)
{
	cli_init("elsa-embed");
	struct options o = parse_options(argc, argv);
	cli_compute(o.threads, NULL);
	struct model m;
	struct params ps;
	struct emb_weights w;
	int missing;
	if (model_open(&m, o.model_dir) < 0 || params_init(&ps, &m.cfg, 1, 0, 0, 0) < 0 ||
	    params_load(&ps, &m, &missing) < 0)
		die_lib();
	params_emb(&ps, ps.mem, &w);

	struct tokens_reader *in = tokens_open(o.input);
	if (!in)
		die_lib();
	struct chunk ch = { 0 };
	if (o.shard.n && chunk_shard_tokens(&ch, o.input, o.shard) < 0)
		die_lib();
	/* The header comes with the first line: read the first chunk before writing anything. */
	int n = chunk_read_tokens(&ch, in, CHUNK_TOKENS, &m.cfg);
	if (n < 0) { /* an id the model refuses: first, were the tokens made for another model? */
		check_tokenizer(o.model_dir, in);
		die_lib();
	}
	struct stream_header h = output_header(&m, o.model_dir, in, o.dtype);
	struct stream_writer *out = stream_create(o.output, &h, STREAM_ZSTD_LEVEL);
	if (!out)
		die_lib();
	embed_chunks(in, &ch, n, &m, &w, out);
	if (stream_finish(out) < 0)
		die_lib();
	chunk_free(&ch);
	tokens_close(in);
	params_free(&ps);
	model_close(&m);
	return cli_exit();
}
