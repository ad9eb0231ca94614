/* mkmodel: writes a small random BERT, RoBERTa, DistilBERT or ELECTRA as a real Hugging Face model
 * folder (config.json with the family's own keys, model.safetensors, and vocab.txt or vocab.json +
 * merges.txt), with seeded weights, for tests, the demo and the benchmarks. Not installed. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"

static const char usage[] =
	"usage: mkmodel [options] DIR\n"
	"  --type bert|roberta|distilbert|electra   (bert)\n"
	"  --layers N            (2)\n"
	"  --hidden N            (32)\n"
	"  --heads N             (4)\n"
	"  --intermediate N      (4 x hidden)\n"
	"  --max-pos N           (64, roberta 66)\n"
	"  --embedding-size N    ELECTRA's embeddings' width (hidden)\n"
	"  --labels N            add a sequence-classification head with N outputs\n"
	"  --seed N              (1)\n"
	"  --dtype f32|f16|bf16  storage of the weights (f32)\n"
	"  --no-prefix           tensors without bert./roberta./... (BertModel / RobertaModel / ...)\n"
	"  --gamma-beta          LayerNorm tensors named gamma/beta (old BERT checkpoints)\n"
	"  --tokenizer DIR       copy the tokenizer files of DIR (its vocabulary sets vocab_size)\n"
	"  --word-std X          standard deviation of the word embeddings (0.02, as Hugging Face\n"
	"                        initializes them; larger makes word identity stand out in a model\n"
	"                        that was never pretrained, as the demo's)\n";

/* A small English vocabulary, enough for the tests' and the demo's sentences. */
static const char *const words[] = {
	"the", "a", "an", "and", "or", "but", "not", "no", "is", "are", "was", "were", "be", "been", "it", "this",
	"that", "he", "she", "they", "we", "you", "i", "of", "to", "in", "on", "at", "by", "for", "with", "from",
	"as", "has", "have", "had", "do", "does", "did", "will", "would", "can", "could", "should", "there",
	"what", "who", "when", "where", "why", "how", "all", "some", "any", "more", "most", "very", "so", "too",
	"good", "bad", "great", "terrible", "best", "worst", "fine", "awful", "excellent", "poor", "love", "hate",
	"like", "enjoy", "boring", "fun", "funny", "dull", "brilliant", "charming", "film", "movie", "story",
	"man", "woman", "child", "people", "dog", "cat", "car", "house", "city", "country", "world", "day", "year",
	"time", "way", "thing", "new", "old", "big", "small", "long", "short", "first", "last", "one", "two",
	"three", "four", "five", "said", "says", "say", "make", "made", "go", "went", "see", "saw", "know", "think",
	"take", "come", "came", "give", "use", "find", "tell", "ask", "work", "seem", "feel", "try", "leave", "call",
	"run", "ran", "play", "playing", "eat", "eating", "walk", "walking", "riding", "horse", "guitar", "music",
	"water", "food", "company", "government", "president", "police", "school", "market", "price", "sales",
	"million", "percent", "shares", "court", "war", "group", "team", "game", "cannot", "never", "always",
	"hello", "world", "un", "##able", "##ing", "##ed", "##s", "##ly", "##er",
};

static const char *type_s = "bert", *tokenizer_dir, *dtype_s = "f32";
static int layers = 2, hidden = 32, heads = 4, intermediate, max_pos, labels, seed = 1, no_prefix, gamma_beta, embedding;
static double word_std = 0.02;

static void write_text(const char *dir, const char *file, const char *text, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (write_file_atomic(path, text, n) < 0)
		die_lib();
}

/* Grows a text buffer by printf. */
struct buf {
	char *s;
	size_t n, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		b->cap = b->cap ? 2 * b->cap + (size_t)k : 4096 + (size_t)k;
		if (!(b->s = realloc(b->s, b->cap)))
			die("out of memory");
	}
}

/* vocab.txt: specials, ASCII characters and their ## forms, then the words. Returns its size. */
static int bert_vocab(const char *dir)
{
	static const char *const specials[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
	struct buf b = { 0 };
	int n = 0;
	for (size_t i = 0; i < 5; i++, n++)
		bprintf(&b, "%s\n", specials[i]);
	for (int cont = 0; cont < 2; cont++)
		for (int c = '!'; c <= '~'; c++) {
			if (c >= 'A' && c <= 'Z')
				continue; /* an uncased vocabulary */
			bprintf(&b, "%s%c\n", cont ? "##" : "", c);
			n++;
		}
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		int dup = 0; /* skip repeats and single characters already present */
		for (size_t k = 0; k < i; k++)
			dup |= !strcmp(words[k], words[i]);
		if (!dup && strlen(words[i]) > 1 && !(words[i][0] == '#' && strlen(words[i]) == 3)) {
			bprintf(&b, "%s\n", words[i]);
			n++;
		}
	}
	write_text(dir, "vocab.txt", b.s, b.n);
	const char *cfg = "{\"do_lower_case\": true}\n";
	write_text(dir, "tokenizer_config.json", cfg, strlen(cfg));
	free(b.s);
	return n;
}

/* GPT-2's byte-to-unicode map, as UTF-8 strings. */
static void byte_unicode(int byte, char out[4])
{
	int cp = byte;
	if (!((byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF))) {
		int k = 0; /* the k-th byte outside those ranges maps to U+0100 + k */
		for (int b = 0; b < byte; b++)
			k += !((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF));
		cp = 256 + k;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = 0;
	} else {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		out[2] = 0;
	}
}

/* vocab.json and merges.txt: specials, the 256 byte symbols, and left-to-right merges that build
 * each word, with and without the leading space symbol Ġ. Returns the vocabulary size. */
static int roberta_vocab(const char *dir)
{
	static const char *const specials[] = { "<s>", "<pad>", "</s>", "<unk>" };
	char **tok = malloc(8192 * sizeof *tok);
	struct buf v = { 0 }, m = { 0 };
	int n = 0;
	for (int i = 0; i < 4; i++)
		tok[n++] = strdup(specials[i]);
	for (int b = 0; b < 256; b++) {
		char s[4];
		byte_unicode(b, s);
		tok[n++] = strdup(s);
	}
	bprintf(&m, "#version: 0.2\n");
	for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
		if (words[w][0] == '#')
			continue;
		for (int space = 0; space < 2; space++) {
			/* Merges build the word left to right from its first symbol: the space symbol Ġ,
			 * or its first letter. */
			char cur[128];
			snprintf(cur, sizeof cur, "%s", space ? "\xC4\xA0" : (char[]){ words[w][0], 0 });
			for (const char *c = words[w] + !space; *c; c++) {
				char next[160];
				snprintf(next, sizeof next, "%s%c", cur, *c);
				int known = 0;
				for (int k = 0; k < n && !known; k++)
					known = !strcmp(tok[k], next);
				if (!known) {
					bprintf(&m, "%s %c\n", cur, *c);
					tok[n++] = strdup(next);
				}
				strcpy(cur, next);
			}
		}
	}
	tok[n++] = strdup("<mask>");
	bprintf(&v, "{");
	for (int i = 0; i < n; i++) {
		bprintf(&v, "%s\"", i ? ", " : "");
		for (const char *c = tok[i]; *c; c++)
			bprintf(&v, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
		bprintf(&v, "\": %d", i);
		free(tok[i]);
	}
	bprintf(&v, "}\n");
	write_text(dir, "vocab.json", v.s, v.n);
	write_text(dir, "merges.txt", m.s, m.n);
	free(v.s);
	free(m.s);
	free(tok);
	return n;
}

/* Copies the tokenizer files of src; returns the vocabulary size they give. */
static int copy_tokenizer(const char *dst)
{
	static const char *const files[] = { "vocab.txt", "vocab.json", "merges.txt", "tokenizer.json",
					     "tokenizer_config.json", "special_tokens_map.json" };
	int vocab = 0;
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char path[4096];
		size_t n;
		snprintf(path, sizeof path, "%s/%s", tokenizer_dir, files[i]);
		struct stat sb;
		if (stat(path, &sb) < 0)
			continue;
		char *text = read_file(path, &n);
		if (!text)
			die_lib();
		write_text(dst, files[i], text, n);
		if (!strcmp(files[i], "vocab.txt"))
			for (size_t k = 0; k < n; k++)
				vocab += text[k] == '\n';
		if (!strcmp(files[i], "vocab.json")) { /* its entries (a token may hold '":') */
			struct json *j = json_parse(text, n, path);
			if (!j || json_type(j, json_root(j)) != J_OBJECT)
				die("%s: not a JSON object of tokens", path);
			vocab = (int)json_len(j, json_root(j));
			json_free(j);
		}
		free(text);
	}
	if (!vocab)
		die("%s: no vocab.txt or vocab.json", tokenizer_dir);
	return vocab;
}

/* The classes transformers names in architectures: the family's model, or its classifier. */
static const char *architecture(enum model_type t)
{
	static const char *const base[] = { "BertModel", "RobertaModel", "DistilBertModel", "ElectraModel" };
	return labels ? family_of(t)->architecture : base[t];
}

/* DistilBertConfig's keys */
static void distilbert_config(struct buf *b, int vocab)
{
	bprintf(b, "  \"dim\": %d,\n  \"n_layers\": %d,\n  \"n_heads\": %d,\n  \"hidden_dim\": %d,\n", hidden, layers,
		heads, intermediate);
	bprintf(b, "  \"activation\": \"gelu\",\n  \"max_position_embeddings\": %d,\n  \"vocab_size\": %d,\n", max_pos,
		vocab);
	bprintf(b, "  \"dropout\": 0.1,\n  \"attention_dropout\": 0.1,\n  \"seq_classif_dropout\": 0.2,\n");
	bprintf(b, "  \"qa_dropout\": 0.1,\n  \"sinusoidal_pos_embds\": false,\n  \"tie_weights_\": true,\n");
	bprintf(b, "  \"pad_token_id\": 0,\n");
}

/* BertConfig's keys (RobertaConfig's, ElectraConfig's with its embedding_size) */
static void bert_config(struct buf *b, enum model_type t, int vocab)
{
	int roberta = t == MODEL_ROBERTA;
	bprintf(b, "  \"hidden_size\": %d,\n  \"num_hidden_layers\": %d,\n", hidden, layers);
	bprintf(b, "  \"num_attention_heads\": %d,\n  \"intermediate_size\": %d,\n  \"hidden_act\": \"gelu\",\n", heads,
		intermediate);
	bprintf(b, "  \"max_position_embeddings\": %d,\n  \"type_vocab_size\": %d,\n  \"vocab_size\": %d,\n", max_pos,
		roberta ? 1 : 2, vocab);
	if (t == MODEL_ELECTRA)
		bprintf(b, "  \"embedding_size\": %d,\n  \"classifier_dropout\": null,\n", embedding);
	bprintf(b, "  \"layer_norm_eps\": %s,\n  \"pad_token_id\": %d,\n", roberta ? "1e-05" : "1e-12", roberta ? 1 : 0);
	bprintf(b, "  \"hidden_dropout_prob\": 0.1,\n  \"attention_probs_dropout_prob\": 0.1,\n");
}

static void write_config(const char *dir, enum model_type t, int vocab)
{
	struct buf b = { 0 };
	bprintf(&b, "{\n  \"architectures\": [\"%s\"],\n  \"model_type\": \"%s\",\n", architecture(t), type_s);
	if (t == MODEL_DISTILBERT)
		distilbert_config(&b, vocab);
	else
		bert_config(&b, t, vocab);
	if (labels) {
		bprintf(&b, "  \"id2label\": {");
		for (int i = 0; i < labels; i++)
			bprintf(&b, "%s\"%d\": \"LABEL_%d\"", i ? ", " : "", i, i);
		bprintf(&b, "},\n");
	}
	bprintf(&b, "  \"initializer_range\": 0.02\n}\n");
	write_text(dir, "config.json", b.s, b.n);
	free(b.s);
}

/* Seeded weights: N(0, 0.02) for matrices and embeddings (as Hugging Face initializes them),
 * and LayerNorm weights and all biases perturbed away from 1 and 0 so tests see them. */
static void fill(struct params *ps, const struct model_config *c)
{
	struct rng r;
	rng_seed(&r, (uint64_t)seed);
	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->p[i];
		float *x = ps->mem + p->offset;
		size_t n = (size_t)p->rows * (size_t)(p->cols ? p->cols : 1);
		int ln_weight = strstr(p->name, "LayerNorm.weight") || strstr(p->name, "layer_norm.weight");
		double scale = strstr(p->name, "word_embeddings") ? word_std : p->cols ? 0.02 : ln_weight ? 0.1 : 0.05;
		for (size_t k = 0; k < n; k++)
			x[k] = (float)((ln_weight ? 1.0 : 0.0) + scale * rng_normal(&r));
	}
	if (c->type == MODEL_ROBERTA) { /* the padding row of the position table is zero, as trained */
		struct emb_weights w;
		params_emb(ps, ps->mem, &w);
		memset(w.pos + (size_t)c->pad_id * (size_t)c->embedding, 0, (size_t)c->embedding * sizeof(float));
	}
}

static void write_weights(const char *dir, struct params *ps, enum model_type type)
{
	struct st_entry *e = calloc(ps->n, sizeof *e);
	char (*names)[160] = calloc(ps->n, sizeof *names);
	if (!e || !names)
		die("out of memory");
	size_t k = 0;
	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->p[i];
		if (!labels && p->head && !p->prefixed)
			continue; /* no classifier: BertModel keeps its pooler only, the others no head */
		if (no_prefix)
			snprintf(names[i], sizeof names[i], "%s", p->name);
		else
			param_full_name(p, type, names[i], sizeof names[i]);
		size_t n = strlen(names[i]);
		if (gamma_beta && strstr(names[i], "LayerNorm.")) {
			if (!strcmp(names[i] + n - 7, ".weight"))
				strcpy(names[i] + n - 7, ".gamma");
			else
				strcpy(names[i] + n - 5, ".beta");
		}
		e[k].name = names[i];
		e[k].data = ps->mem + p->offset;
		e[k].ndim = p->cols ? 2 : 1;
		e[k].shape[0] = p->rows;
		e[k].shape[1] = p->cols;
		k++;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	if (st_write(path, e, k, (enum dtype)dtype_parse(dtype_s)) < 0)
		die_lib();
	free(e);
	free(names);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", 1, 0, 't' },	  { "layers", 1, 0, 'l' },     { "hidden", 1, 0, 'H' },    { "heads", 1, 0, 'a' },
		{ "intermediate", 1, 0, 'i' }, { "max-pos", 1, 0, 'p' }, { "labels", 1, 0, 'c' },    { "seed", 1, 0, 's' },
		{ "dtype", 1, 0, 'd' },	  { "no-prefix", 0, 0, 'n' }, { "gamma-beta", 0, 0, 'g' }, { "tokenizer", 1, 0, 'k' },
		{ "word-std", 1, 0, 'w' }, { "embedding-size", 1, 0, 'e' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int o;
	cli_init("mkmodel");
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 't': type_s = optarg; break;
		case 'l': layers = (int)cli_long("--layers", optarg, 1, 1024); break;
		case 'H': hidden = (int)cli_long("--hidden", optarg, 1, 65536); break;
		case 'a': heads = (int)cli_long("--heads", optarg, 1, 1024); break;
		case 'i': intermediate = (int)cli_long("--intermediate", optarg, 1, 1 << 20); break;
		case 'p': max_pos = (int)cli_long("--max-pos", optarg, 3, 1 << 20); break;
		case 'c': labels = (int)cli_long("--labels", optarg, 1, 1000); break;
		case 's': seed = (int)cli_long("--seed", optarg, 0, 1L << 30); break;
		case 'd': dtype_s = optarg; break;
		case 'n': no_prefix = 1; break;
		case 'g': gamma_beta = 1; break;
		case 'k': tokenizer_dir = optarg; break;
		case 'w': word_std = cli_double("--word-std", optarg, 0, 100); break;
		case 'e': embedding = (int)cli_long("--embedding-size", optarg, 1, 65536); break;
		case 'h': cli_help(usage);
		default: cli_usage_error();
		}
	}
	if (optind + 1 != argc)
		die("expected one output folder (see --help)");
	enum model_type t = MODEL_BERT;
	while (t <= MODEL_ELECTRA && strcmp(type_s, model_type_name(t)))
		t++;
	if (t > MODEL_ELECTRA)
		die("--type: bert, roberta, distilbert or electra");
	int roberta = t == MODEL_ROBERTA;
	if (dtype_parse(dtype_s) < 0)
		die("--dtype: f32, f16 or bf16");
	if (hidden % heads)
		die("--hidden must be a multiple of --heads");
	if (embedding && t != MODEL_ELECTRA)
		die("--embedding-size: ELECTRA's only");
	const char *dir = argv[optind];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("%s: cannot create", dir);
	intermediate = intermediate ? intermediate : 4 * hidden;
	max_pos = max_pos ? max_pos : roberta ? 66 : 64;
	embedding = embedding ? embedding : hidden;
	int vocab = tokenizer_dir ? copy_tokenizer(dir) : roberta ? roberta_vocab(dir) : bert_vocab(dir);
	write_config(dir, t, vocab);

	struct model_config c = { .type = t, .hidden = hidden, .layers = layers, .heads = heads,
				  .intermediate = intermediate, .embedding = embedding, .vocab = vocab, .max_pos = max_pos,
				  .type_vocab = t == MODEL_DISTILBERT ? 0 : roberta ? 1 : 2, .pad_id = roberta ? 1 : 0 };
	struct params ps;
	if (params_init(&ps, &c, 1, 0, layers, labels ? labels : 1) < 0)
		die_lib();
	fill(&ps, &c);
	write_weights(dir, &ps, c.type);
	params_free(&ps);
	return cli_exit();
}
