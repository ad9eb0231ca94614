/* elsa-encode: hidden states at layer I in, layer J out, through the frozen encoder layers
 * I..J-1 (inference); --save writes the states after any layer in between in the same pass. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "cli.h"
#include "clock.h"
#include "encoder.h"
#include "err.h"
#include "gemm.h"
#include "infer.h"
#include "io.h"
#include "machine.h"
#include "model.h"
#include "stream.h"

static const char usage[] =
	"usage: elsa-encode -m MODEL_DIR --to J [--save I=FILE ...] [-o FILE] [--dtype TYPE] [--compute TYPE]\n"
	"                   [-j N] [--shard K/N] [--stats FILE] [FILE|-]\n"
	"Reads a tensor stream of hidden states at some layer (its header says which) and runs them\n"
	"through the model's encoder layers up to layer J, writing the states at layer J.\n"
	"  -m, --model DIR     Hugging Face model folder (config.json, model.safetensors)\n"
	"  -t, --to J          the layer to stop after (1 .. number of layers)\n"
	"  -s, --save I=FILE   also write the states at layer I (input layer < I <= J) to FILE\n"
	"  -o, --output FILE   write the layer-J stream to FILE instead of stdout\n"
	"      --dtype TYPE    storage of the written states: f32 (default), f16 or bf16\n"
	"      --compute TYPE  the matrix products' inputs: f32 (default) or bf16 (sums in f32)\n"
	"  -j, --threads N     threads (default: ELSA_THREADS, else the usable CPUs)\n"
	"  -q, --quiet         no progress on a terminal\n"
	"      --stats FILE    write what was done (examples, tokens, layers, seconds) as YAML\n"
	"      --shard K/N     only the K-th of N contiguous parts of the examples (K from 1; FILE only)\n"
	"  -h, --help          this help;  -V, --version  the version\n";

#define MAX_SAVES 64

struct save {
	int layer;
	const char *path;
	struct stream_writer *w;
};

static struct save saves[MAX_SAVES];
static int nsaves;

static void parse_save(const char *arg)
{
	char *end;
	long layer = strtol(arg, &end, 10);
	if (end == arg || *end != '=' || !end[1] || layer < 1 || layer > 100000)
		die("--save: '%s' is not LAYER=FILE", arg);
	if (nsaves == MAX_SAVES)
		die("--save: at most %d", MAX_SAVES);
	for (int i = 0; i < nsaves; i++)
		if (saves[i].layer == layer || !strcmp(saves[i].path, end + 1))
			die("--save: layer %ld or file %s given twice", layer, end + 1);
	saves[nsaves++] = (struct save){ (int)layer, end + 1, NULL };
}

/* The --stats file: what the pass did and how long it took (elsa-report's cost table). */
static void write_stats(const char *path, size_t examples, size_t tokens, int from, int to, double seconds)
{
	struct out *o = out_open(path, 0, 0);
	struct machine m;
	double gs, gf;
	gemm_totals(&gs, &gf);
	machine_get(&m);
	if (!o || out_printf(o, "examples: %zu\ntokens: %zu\nfrom_layer: %d\nto_layer: %d\nseconds: %.6f\n"
				"tokens_per_second: %.1f\nthreads: %d\ngemm_seconds: %.6f\ngemm_gflop: %.3f\n"
				"peak_memory_mb: %.1f\ncpu: ",
				examples, tokens, from, to, seconds, (double)tokens / (seconds > 0 ? seconds : 1e-9),
				threads_get(), gs, gf / 1e9, peak_memory_mb()) < 0 ||
	    out_yaml_string(o, m.cpu) < 0 ||
	    out_printf(o, "\ncpu_family: %s\nblis: %s\ngemm: %s\nsimd: %s\ncompute: %s\n", m.cpu_family, m.blis, m.gemm,
		       m.simd, gemm_compute_name(gemm_bf16())) < 0 ||
	    out_commit(o) < 0)
		die_lib();
}

/* Opens the input stream and checks it against the model and the layers asked for. */
static struct stream_reader *open_input(const char *path, const struct model *m, int to)
{
	struct stream_reader *in = stream_open(path);
	if (!in)
		die_lib();
	int from = (int)stream_header(in)->layer;
	if (model_check_stream(m, stream_header(in), stream_name(in)) < 0)
		die_lib();
	if (to <= from)
		die("--to %d: %s already holds layer %d", to, stream_name(in), from);
	if (from > 0 && (int)stream_header(in)->compute != gemm_bf16())
		die("%s: its layers were computed with %s products, this pass computes with %s ones: give --compute %s "
		    "(one compute type a cache)", stream_name(in), gemm_compute_name((int)stream_header(in)->compute),
		    gemm_compute_name(gemm_bf16()), gemm_compute_name((int)stream_header(in)->compute));
	for (int i = 0; i < nsaves; i++)
		if (saves[i].layer <= from || saves[i].layer > to)
			die("--save %d: the layer must lie in %d..%d (after the input's layer %d)", saves[i].layer, from + 1, to,
			    from);
	return in;
}

/* Leaves no complete-looking output behind, then dies with the library's message. */
static _Noreturn void fail(struct stream_writer *out)
{
	for (int i = 0; i < nsaves; i++)
		stream_abort(saves[i].w);
	stream_abort(out);
	die_lib();
}

struct options {
	const char *model_dir, *output, *threads, *to_arg, *stats, *input, *compute;
	int dtype;
	struct shard shard;
};

static struct options parse_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", 1, 0, 'm' }, { "to", 1, 0, 't' },	  { "save", 1, 0, 's' },   { "output", 1, 0, 'o' },
		{ "dtype", 1, 0, 'd' }, { "threads", 1, 0, 'j' }, { "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' },
		{ "version", 0, 0, 'V' }, { "stats", 1, 0, 'S' }, { "shard", 1, 0, 'k' },	  { "compute", 1, 0, 'c' },
		{ 0 },
	};
	struct options o = { .output = "-", .dtype = DT_F32 };
	int c;
	while ((c = getopt_long(argc, argv, "m:t:s:o:j:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model_dir = optarg; break;
		case 't': o.to_arg = optarg; break;
		case 's': parse_save(optarg); break;
		case 'o': o.output = optarg; break;
		case 'd': o.dtype = cli_dtype(optarg); break;
		case 'j': o.threads = optarg; break;
		case 'q': quiet = 1; break;
		case 'S': o.stats = optarg; break;
		case 'c': o.compute = optarg; break;
		case 'k':
			if (shard_parse(optarg, &o.shard) < 0)
				die_lib();
			break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (!o.model_dir || !o.to_arg)
		die("-m MODEL_DIR and --to J are required (see --help)");
	if (argc - optind > 1)
		die("one input at a time (concatenate streams with cat)");
	o.input = optind < argc ? argv[optind] : "-";
	return o;
}

/* The output stream of layer `to`, and each --save stream: the model's, with the input's header
 * otherwise (whose states may be those of the model's base, see model_check_stream). */
static struct stream_writer *open_outputs(const struct options *o, const struct model *m, const struct stream_header *hin,
					  int to)
{
	struct stream_header h = *hin;
	h.model = m->fingerprint;
	h.dtype = (uint32_t)o->dtype;
	h.compute = (uint32_t)gemm_bf16();
	h.layer = (uint32_t)to;
	struct stream_writer *out = stream_create(o->output, &h, STREAM_ZSTD_LEVEL);
	if (!out)
		die_lib();
	for (int i = 0; i < nsaves; i++) {
		h.layer = (uint32_t)saves[i].layer;
		if (!(saves[i].w = stream_create(saves[i].path, &h, STREAM_ZSTD_LEVEL)))
			fail(out);
	}
	return out;
}

/* The frozen layers from..to-1 over every chunk of the source (lib/infer's, as predictions
 * read theirs), each layer of a --save written on the way; *examples and *tokens get the counts. */
static void encode_chunks(struct infer_source *src, const struct model *m, const struct layer_weights *w, int from,
			  int to, struct stream_writer *out, size_t *examples, size_t *tokens)
{
	struct chunk *ch = &src->ch;
	struct layer_acts acts = { 0 };
	struct progress pr;
	size_t H = (size_t)m->cfg.hidden;
	int n;
	progress_start(&pr);
	while ((n = infer_next_chunk(src, &m->cfg)) > 0) {
		if (layer_acts_reserve(&acts, &m->cfg, &ch->b, LAYER_INFERENCE) < 0)
			fail(out);
		for (int l = from; l < to; l++) {
			acts.x = ch->x;
			layer_forward(&acts, &w[l - from], &m->cfg, &ch->b, NULL, (uint64_t)l);
			memcpy(ch->x, acts.y, ch->b.T * H * sizeof *ch->x);
			for (int i = 0; i < nsaves; i++)
				if (saves[i].layer == l + 1 && chunk_write(ch, ch->x, m->cfg.hidden, saves[i].w) < 0)
					fail(out);
		}
		if (chunk_write(ch, ch->x, m->cfg.hidden, out) < 0)
			fail(out);
		*examples += ch->n;
		*tokens += ch->b.T;
		progress_update(&pr, *examples, *tokens, stream_fraction(src->r));
	}
	if (n < 0)
		fail(out);
	progress_end(&pr);
	layer_acts_free(&acts);
}

/* Every output complete, or none. */
static void finish_outputs(struct stream_writer *out)
{
	for (int i = 0; i < nsaves; i++) {
		int rc = stream_finish(saves[i].w);
		saves[i].w = NULL;
		if (rc < 0)
			fail(out);
	}
	if (stream_finish(out) < 0)
		die_lib();
}

int main(int argc, char **argv)
{
	cli_init("elsa-encode");
	struct options o = parse_options(argc, argv);
	cli_compute(o.threads, o.compute);
	struct model m;
	if (model_open(&m, o.model_dir) < 0)
		die_lib();
	int to = (int)cli_long("--to", o.to_arg, 1, m.cfg.layers);
	struct stream_reader *in = open_input(o.input, &m, to);
	int from = (int)stream_header(in)->layer;
	struct infer_source src;
	infer_from_stream(&src, in);
	if (o.shard.n && infer_shard(&src, o.input, o.shard) < 0)
		die_lib();

	struct params ps;
	int missing;
	if (params_init(&ps, &m.cfg, 0, from, to, 0) < 0 || params_load(&ps, &m, &missing) < 0)
		die_lib();
	struct layer_weights *w = xcalloc((size_t)(to - from), sizeof *w);
	for (int l = from; l < to; l++)
		params_layer(&ps, ps.mem, l, &w[l - from]);

	struct stream_writer *out = open_outputs(&o, &m, stream_header(in), to);
	size_t examples = 0, tokens = 0;
	double t0 = now_seconds();
	encode_chunks(&src, &m, w, from, to, out, &examples, &tokens);
	finish_outputs(out);
	if (o.stats)
		write_stats(o.stats, examples, tokens, from, to, now_seconds() - t0);
	infer_source_free(&src);
	stream_close(in);
	free(w);
	params_free(&ps);
	model_close(&m);
	return cli_exit();
}
