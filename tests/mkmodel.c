/* mkmodel: writes a small random BERT, RoBERTa, DistilBERT, ELECTRA or ModernBERT as a real
 * Hugging Face model folder (config.json with the family's own keys, model.safetensors, and
 * vocab.txt, vocab.json + merges.txt, or ModernBERT's tokenizer.json), with seeded weights, for
 * tests, the demo and the benchmarks. Not installed. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"

static const char usage[] =
	"usage: mkmodel [options] DIR\n"
	"  --type bert|roberta|distilbert|electra|modernbert   (bert)\n"
	"  --layers N            (2)\n"
	"  --hidden N            (32)\n"
	"  --heads N             (4)\n"
	"  --intermediate N      (4 x hidden, modernbert 3 x hidden / 2)\n"
	"  --max-pos N           (64, roberta 66, modernbert 8192)\n"
	"  --embedding-size N    ELECTRA's embeddings' width (hidden)\n"
	"  --labels N            add a sequence-classification head with N outputs (without it a\n"
	"                        modernbert is a ModernBertForMaskedLM: head.dense, head.norm, decoder)\n"
	"  ModernBERT's settings (config.json's keys; the defaults are ModernBERT-base's):\n"
	"  --window N            local_attention, even (128)\n"
	"  --global-every N      global_attn_every_n_layers (3)\n"
	"  --rope-global X       global_rope_theta (160000)\n"
	"  --rope-local X        local_rope_theta (10000)\n"
	"  --pooling cls|mean    classifier_pooling (mean)\n"
	"  --bias                every bias: norm_bias, attention_bias, mlp_bias, classifier_bias (none)\n"
	"  --dropout X           embedding_dropout, attention_dropout, mlp_dropout and classifier_dropout (0)\n"
	"  --seed N              (1)\n"
	"  --dtype f32|f16|bf16  storage of the weights (f32)\n"
	"  --no-prefix           tensors without bert./roberta./model./... (BertModel / ModernBertModel / ...)\n"
	"  --gamma-beta          LayerNorm tensors named gamma/beta (old BERT checkpoints)\n"
	"  --tokenizer DIR       copy the tokenizer files of DIR (its vocabulary sets vocab_size)\n"
	"  --std X               standard deviation of the weight matrices (0.02, as Hugging Face\n"
	"                        initializes them; larger makes each layer change its input more)\n"
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

static const char *type_s = "bert", *tokenizer_dir, *dtype_s = "f32", *pooling = "mean";
static int layers = 2, hidden = 32, heads = 4, intermediate, max_pos, labels, seed = 1, no_prefix, gamma_beta, embedding;
static int window = 128, global_every = 3, all_biases;
static double word_std = 0.02, weight_std = 0.02, rope_global = 160000, rope_local = 10000, site_dropout;

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

/* A byte-level BPE vocabulary: its tokens in id order, and its merges ("left right" lines). */
struct bpe_vocab {
	char **tok;
	int n;
	struct buf merges;
};

/* Appends the 256 byte symbols and left-to-right merges that build each word, with and without
 * the leading space symbol Ġ. */
static void bpe_words(struct bpe_vocab *v)
{
	for (int b = 0; b < 256; b++) {
		char s[4];
		byte_unicode(b, s);
		v->tok[v->n++] = strdup(s);
	}
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
				for (int k = 0; k < v->n && !known; k++)
					known = !strcmp(v->tok[k], next);
				if (!known) {
					bprintf(&v->merges, "%s %c\n", cur, *c);
					v->tok[v->n++] = strdup(next);
				}
				strcpy(cur, next);
			}
		}
	}
}

/* s as a JSON string. */
static void json_string(struct buf *b, const char *s, size_t n)
{
	bprintf(b, "\"");
	for (size_t i = 0; i < n; i++)
		bprintf(b, s[i] == '"' || s[i] == '\\' ? "\\%c" : "%c", s[i]);
	bprintf(b, "\"");
}

/* The vocabulary as a JSON object, {"token": id, ...}. */
static void json_vocab(struct buf *b, const struct bpe_vocab *v)
{
	bprintf(b, "{");
	for (int i = 0; i < v->n; i++) {
		bprintf(b, "%s", i ? ", " : "");
		json_string(b, v->tok[i], strlen(v->tok[i]));
		bprintf(b, ": %d", i);
	}
	bprintf(b, "}");
}

static void bpe_free(struct bpe_vocab *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->tok[i]);
	free(v->tok);
	free(v->merges.s);
}

/* vocab.json and merges.txt: specials, the 256 byte symbols, and the words' merges. Returns the
 * vocabulary size. */
static int roberta_vocab(const char *dir)
{
	static const char *const specials[] = { "<s>", "<pad>", "</s>", "<unk>" };
	struct bpe_vocab v = { malloc(8192 * sizeof *v.tok), 0, { 0 } };
	struct buf j = { 0 }, m = { 0 };
	for (int i = 0; i < 4; i++)
		v.tok[v.n++] = strdup(specials[i]);
	bpe_words(&v);
	v.tok[v.n++] = strdup("<mask>");
	json_vocab(&j, &v);
	bprintf(&j, "\n");
	bprintf(&m, "#version: 0.2\n%s", v.merges.s);
	write_text(dir, "vocab.json", j.s, j.n);
	write_text(dir, "merges.txt", m.s, m.n);
	int n = v.n;
	free(j.s);
	free(m.s);
	bpe_free(&v);
	return n;
}

/* ModernBERT's special tokens, after the BPE vocabulary, in their order in ModernBERT-base
 * (50280..50284): their ids are the vocabulary's size plus this index. */
static const char *const modernbert_specials[] = { "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]" };
enum { MB_UNK, MB_CLS, MB_SEP, MB_PAD, MB_MASK };

/* ModernBERT's TemplateProcessing: [CLS] A [SEP] and [CLS] A [SEP] B [SEP], type ids 0. */
static void modernbert_template(struct buf *b, int base)
{
	const char *cls = "{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}",
		   *sep = "{\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}";
	bprintf(b, "  \"post_processor\": {\"type\": \"TemplateProcessing\",\n");
	bprintf(b, "    \"single\": [%s, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, %s],\n", cls, sep);
	bprintf(b, "    \"pair\": [%s, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, %s, "
		   "{\"Sequence\": {\"id\": \"B\", \"type_id\": 0}}, %s],\n    \"special_tokens\": {", cls, sep, sep);
	for (int i = 0; i < 5; i++)
		bprintf(b, "%s\"%s\": {\"id\": \"%s\", \"ids\": [%d], \"tokens\": [\"%s\"]}", i ? ", " : "",
			modernbert_specials[i], modernbert_specials[i], base + i, modernbert_specials[i]);
	bprintf(b, "}},\n");
}

/* ModernBERT's tokenizer.json, as answerdotai/ModernBERT-base's is laid out (NFC, byte-level BPE,
 * its specials as added tokens, the template), on the small vocabulary. Returns the id of its
 * first special token, [UNK] (the vocabulary's size, the specials then following). */
static int modernbert_tokenizer(const char *dir)
{
	struct bpe_vocab v = { malloc(8192 * sizeof *v.tok), 0, { 0 } };
	struct buf b = { 0 };
	bpe_words(&v);
	bprintf(&b, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [");
	for (int i = 0; i < 5; i++)
		bprintf(&b, "%s\n    {\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": %s, "
			    "\"rstrip\": false, \"normalized\": false, \"special\": true}", i ? "," : "", v.n + i,
			modernbert_specials[i], i == MB_MASK ? "true" : "false");
	bprintf(&b, "\n  ],\n  \"normalizer\": {\"type\": \"NFC\"},\n");
	bprintf(&b, "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
		    "\"use_regex\": true},\n");
	modernbert_template(&b, v.n);
	bprintf(&b, "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, "
		    "\"use_regex\": true},\n");
	bprintf(&b, "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
		    "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, \"fuse_unk\": false, "
		    "\"byte_fallback\": false, \"ignore_merges\": false,\n    \"vocab\": ");
	json_vocab(&b, &v);
	bprintf(&b, ",\n    \"merges\": [");
	for (size_t i = 0, first = 1; i < v.merges.n; first = 0) {
		size_t end = i;
		while (v.merges.s[end] != '\n')
			end++;
		bprintf(&b, "%s", first ? "" : ", ");
		json_string(&b, v.merges.s + i, end - i);
		i = end + 1;
	}
	bprintf(&b, "]\n  }\n}\n");
	write_text(dir, "tokenizer.json", b.s, b.n);
	const char *cfg = "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"model_max_length\": 8192, "
			  "\"clean_up_tokenization_spaces\": true, \"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", "
			  "\"pad_token\": \"[PAD]\", \"unk_token\": \"[UNK]\", \"mask_token\": \"[MASK]\"}\n";
	write_text(dir, "tokenizer_config.json", cfg, strlen(cfg));
	int base = v.n;
	free(b.s);
	bpe_free(&v);
	return base;
}

/* The ids a tokenizer.json gives (its model's vocabulary and its added tokens): the largest
 * plus one; *specials the id of its "[UNK]" (ModernBERT's first special), when it has one. */
static int tokenizer_json_ids(const char *path, int *specials)
{
	struct json *j = json_load(path);
	if (!j)
		die_lib();
	int root = json_root(j), vocab = json_get(j, json_get(j, root, "model"), "vocab");
	int added = json_get(j, root, "added_tokens"), n = (int)json_len(j, vocab);
	for (size_t i = 0; i < json_len(j, added); i++) {
		int tok = json_at(j, added, i, NULL);
		long long id;
		const char *content = json_str(j, json_get(j, tok, "content"), NULL);
		if (json_int(j, json_get(j, tok, "id"), 0, 1 << 24, &id) == 0 && id + 1 > n)
			n = (int)id + 1;
		if (content && !strcmp(content, "[UNK]") && json_int(j, json_get(j, tok, "id"), 0, 1 << 24, &id) == 0)
			*specials = (int)id;
	}
	json_free(j);
	return n;
}

/* Copies the tokenizer files of src; returns the vocabulary size they give (*specials: as
 * tokenizer_json_ids says). */
static int copy_tokenizer(const char *dst, int *specials)
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
	char path[4096];
	snprintf(path, sizeof path, "%s/tokenizer.json", tokenizer_dir);
	if (!vocab && access(path, F_OK) == 0)
		vocab = tokenizer_json_ids(path, specials);
	if (!vocab)
		die("%s: no vocab.txt, vocab.json or tokenizer.json", tokenizer_dir);
	return vocab;
}

/* The classes transformers names in architectures: the family's model, or its classifier
 * (a ModernBERT's published checkpoints are its masked-LM model's). */
static const char *architecture(enum model_type t)
{
	static const char *const base[] = { "BertModel", "RobertaModel", "DistilBertModel", "ElectraModel",
					    "ModernBertForMaskedLM" };
	if (t == MODEL_MODERNBERT && no_prefix && !labels)
		return "ModernBertModel";
	return labels ? family_of(t)->architecture : base[t];
}

/* ModernBertConfig's keys; its special tokens follow the vocabulary from id specials. */
static void modernbert_config(struct buf *b, int vocab, int specials)
{
	const char *bias = all_biases ? "true" : "false";
	bprintf(b, "  \"hidden_size\": %d,\n  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n", hidden, layers,
		heads);
	bprintf(b, "  \"intermediate_size\": %d,\n  \"hidden_activation\": \"gelu\",\n  \"max_position_embeddings\": %d,\n",
		intermediate, max_pos);
	bprintf(b, "  \"vocab_size\": %d,\n  \"norm_eps\": 1e-05,\n  \"norm_bias\": %s,\n  \"attention_bias\": %s,\n", vocab,
		bias, bias);
	bprintf(b, "  \"mlp_bias\": %s,\n  \"classifier_bias\": %s,\n  \"classifier_activation\": \"gelu\",\n", bias, bias);
	bprintf(b, "  \"classifier_pooling\": \"%s\",\n  \"classifier_dropout\": %g,\n  \"embedding_dropout\": %g,\n", pooling,
		site_dropout, site_dropout);
	bprintf(b, "  \"attention_dropout\": %g,\n  \"mlp_dropout\": %g,\n  \"global_attn_every_n_layers\": %d,\n",
		site_dropout, site_dropout, global_every);
	bprintf(b, "  \"local_attention\": %d,\n  \"global_rope_theta\": %.1f,\n  \"local_rope_theta\": %.1f,\n", window,
		rope_global, rope_local);
	bprintf(b, "  \"pad_token_id\": %d,\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"cls_token_id\": %d,\n",
		specials + MB_PAD, specials + MB_CLS, specials + MB_SEP, specials + MB_CLS);
	bprintf(b, "  \"sep_token_id\": %d,\n  \"initializer_cutoff_factor\": 2.0,\n  \"decoder_bias\": true,\n",
		specials + MB_SEP);
	bprintf(b, "  \"tie_word_embeddings\": true,\n  \"position_embedding_type\": \"absolute\",\n");
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

static void write_config(const char *dir, enum model_type t, int vocab, int specials)
{
	struct buf b = { 0 };
	bprintf(&b, "{\n  \"architectures\": [\"%s\"],\n  \"model_type\": \"%s\",\n", architecture(t), type_s);
	if (t == MODEL_DISTILBERT)
		distilbert_config(&b, vocab);
	else if (t == MODEL_MODERNBERT)
		modernbert_config(&b, vocab, specials);
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

/* Seeded weights: N(0, 0.02) for matrices and embeddings (as Hugging Face initializes them; or
 * --std's and --word-std's),
 * and LayerNorm weights and all biases perturbed away from 1 and 0 so tests see them. */
static void fill(struct params *ps, const struct model_config *c)
{
	struct rng r;
	rng_seed(&r, (uint64_t)seed);
	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->p[i];
		float *x = ps->mem + p->offset;
		size_t n = (size_t)p->rows * (size_t)(p->cols ? p->cols : 1);
		int ln_weight = strstr(p->name, "LayerNorm.weight") || strstr(p->name, "norm.weight");
		double scale = p->layer < 0 && p->slot == EW_WORD && p->cols ? word_std : p->cols ? weight_std : ln_weight ? 0.1 : 0.05;
		for (size_t k = 0; k < n; k++)
			x[k] = (float)((ln_weight ? 1.0 : 0.0) + scale * rng_normal(&r));
	}
	if (c->type == MODEL_ROBERTA) { /* the padding row of the position table is zero, as trained */
		struct emb_weights w;
		params_emb(ps, ps->mem, &w);
		memset(w.pos + (size_t)c->pad_id * (size_t)c->embedding, 0, (size_t)c->embedding * sizeof(float));
	}
}

/* Is p in the folder? Without a classifier, BertModel keeps its pooler only, ModernBERT's
 * masked-LM model its head.dense and head.norm (ModernBertModel none), the others no head. */
static int written(const struct param *p, enum model_type type)
{
	int out = p->slot == HW_OUT_W || p->slot == HW_OUT_B;
	if (labels || !p->head || p->prefixed)
		return 1;
	return type == MODEL_MODERNBERT && !no_prefix && !out;
}

/* ModernBertForMaskedLM's decoder bias (its weight is tied to the word embeddings), which elsa
 * ignores. */
static float *decoder_bias(int vocab)
{
	struct rng r;
	float *x = malloc((size_t)vocab * sizeof *x);
	rng_seed(&r, (uint64_t)seed ^ 0xdec0de);
	for (int i = 0; x && i < vocab; i++)
		x[i] = (float)(0.05 * rng_normal(&r));
	return x;
}

static void write_weights(const char *dir, struct params *ps, const struct model_config *c)
{
	enum model_type type = c->type;
	struct st_entry *e = calloc(ps->n + 1, sizeof *e);
	char (*names)[160] = calloc(ps->n, sizeof *names);
	float *dec = type == MODEL_MODERNBERT && !labels && !no_prefix ? decoder_bias(c->vocab) : NULL;
	if (!e || !names)
		die("out of memory");
	size_t k = 0;
	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->p[i];
		if (!written(p, type))
			continue;
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
	if (dec)
		e[k++] = (struct st_entry){ "decoder.bias", dec, 1, { c->vocab, 0 } };
	char path[4096];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	if (st_write(path, e, k, (enum dtype)dtype_parse(dtype_s)) < 0)
		die_lib();
	free(e);
	free(names);
	free(dec);
}

/* The options, into the settings above. */
static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", 1, 0, 't' },	  { "layers", 1, 0, 'l' },     { "hidden", 1, 0, 'H' },    { "heads", 1, 0, 'a' },
		{ "intermediate", 1, 0, 'i' }, { "max-pos", 1, 0, 'p' }, { "labels", 1, 0, 'c' },    { "seed", 1, 0, 's' },
		{ "dtype", 1, 0, 'd' },	  { "no-prefix", 0, 0, 'n' }, { "gamma-beta", 0, 0, 'g' }, { "tokenizer", 1, 0, 'k' },
		{ "word-std", 1, 0, 'w' }, { "embedding-size", 1, 0, 'e' }, { "help", 0, 0, 'h' }, { "window", 1, 0, 'W' },
		{ "global-every", 1, 0, 'G' }, { "rope-global", 1, 0, 'R' }, { "rope-local", 1, 0, 'r' },
		{ "pooling", 1, 0, 'P' }, { "bias", 0, 0, 'b' }, { "dropout", 1, 0, 'D' }, { "std", 1, 0, 'S' }, { 0 },
	};
	int o;
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
		case 'S': weight_std = cli_double("--std", optarg, 0, 100); break;
		case 'e': embedding = (int)cli_long("--embedding-size", optarg, 1, 65536); break;
		case 'W': window = (int)cli_long("--window", optarg, 2, 1 << 20); break;
		case 'G': global_every = (int)cli_long("--global-every", optarg, 1, 1024); break;
		case 'R': rope_global = cli_double("--rope-global", optarg, 1, 1e9); break;
		case 'r': rope_local = cli_double("--rope-local", optarg, 1, 1e9); break;
		case 'P': pooling = optarg; break;
		case 'b': all_biases = 1; break;
		case 'D': site_dropout = cli_double("--dropout", optarg, 0, 0.99); break;
		case 'h': cli_help(usage);
		default: cli_usage_error();
		}
	}
}

int main(int argc, char **argv)
{
	cli_init("mkmodel");
	parse(argc, argv);
	if (optind + 1 != argc)
		die("expected one output folder (see --help)");
	enum model_type t = MODEL_BERT;
	while (t <= MODEL_MODERNBERT && strcmp(type_s, model_type_name(t)))
		t++;
	if (t > MODEL_MODERNBERT)
		die("--type: bert, roberta, distilbert, electra or modernbert");
	int roberta = t == MODEL_ROBERTA, modern = t == MODEL_MODERNBERT;
	if (strcmp(pooling, "cls") && strcmp(pooling, "mean"))
		die("--pooling: cls or mean");
	if (dtype_parse(dtype_s) < 0)
		die("--dtype: f32, f16 or bf16");
	if (hidden % heads)
		die("--hidden must be a multiple of --heads");
	if (embedding && t != MODEL_ELECTRA)
		die("--embedding-size: ELECTRA's only");
	const char *dir = argv[optind];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("%s: cannot create", dir);
	intermediate = intermediate ? intermediate : modern ? 3 * hidden / 2 : 4 * hidden;
	max_pos = max_pos ? max_pos : roberta ? 66 : modern ? 8192 : 64;
	embedding = embedding ? embedding : hidden;
	int specials = 0, vocab = tokenizer_dir ? copy_tokenizer(dir, &specials) : roberta ? roberta_vocab(dir)
				  : modern ? (specials = modernbert_tokenizer(dir)) + 5 : bert_vocab(dir);
	if (modern) /* ModernBERT's embedding table has rows past its tokenizer's, up to a multiple of 64 */
		vocab = (vocab + 63) / 64 * 64;
	write_config(dir, t, vocab, specials);

	struct model_config c = { .type = t, .hidden = hidden, .layers = layers, .heads = heads,
				  .intermediate = intermediate, .embedding = embedding, .vocab = vocab, .max_pos = max_pos,
				  .type_vocab = t == MODEL_DISTILBERT || modern ? 0 : roberta ? 1 : 2, .pad_id = roberta ? 1 : 0,
				  .norm_bias = !modern || all_biases, .attn_bias = !modern || all_biases,
				  .mlp_bias = !modern || all_biases, .head_bias = !modern || all_biases };
	struct params ps;
	if (params_init(&ps, &c, 1, 0, layers, labels ? labels : 1) < 0)
		die_lib();
	fill(&ps, &c);
	write_weights(dir, &ps, &c);
	params_free(&ps);
	return cli_exit();
}
