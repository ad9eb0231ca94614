/* The tokenizer on small hand-made vocabularies, one rule at a time: each expected id list is
 * worked out by hand from the vocabulary written here and the rule under test (Hugging Face
 * tokenizers' behaviour, as described in ../shared/README.md and its Rust sources). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "err.h"
#include "hash.h"
#include "record.h"
#include "tokenizer.h"
#include "unicode.h"

/* Model folders */

struct file {
	const char *name, *text;
};

static const char *made[96][8]; /* files written, to remove at the end */
static const char *dirs[96];
static int ndirs;

static const char *make_model(const char *name, const struct file *files)
{
	char *dir = strdup(check_tmp(name));
	mkdir(dir, 0700);
	dirs[ndirs] = dir;
	for (int i = 0; files[i].name; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		FILE *f = fopen(path, "w");
		if (f) {
			fputs(files[i].text, f);
			fclose(f);
		}
		made[ndirs][i] = files[i].name;
	}
	ndirs++;
	return dir;
}

static void remove_models(void)
{
	for (int d = 0; d < ndirs; d++) {
		for (int i = 0; made[d][i]; i++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", dirs[d], made[d][i]);
			unlink(path);
		}
		rmdir(dirs[d]);
		free((void *)dirs[d]);
	}
}

static struct tokenizer *load(const char *dir)
{
	struct tokenizer *t = tokenizer_load(dir);
	CHECK(t, "%s", err_msg());
	return t;
}

/* Checks that dir is refused with a one-line message naming its tokenizer.json and holding what. */
static void refused(const char *dir, const char *what, int line)
{
	struct tokenizer *t = tokenizer_load(dir);
	const char *msg = err_msg();
	if (t || !strstr(msg, "tokenizer.json: ") || !strstr(msg, what) || strchr(msg, '\n'))
		check_fail(__FILE__, line, "refused", "%s: %s, want '%s'", dir, t ? "loaded" : msg, what);
	tokenizer_free(t);
}

#define REFUSED(dir, what) refused(dir, what, __LINE__)

/* JSON text built piece by piece, for tokenizer.json files. */
struct text {
	char s[1 << 16];
	size_t n;
};

static __attribute__((format(printf, 2, 3))) void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
	va_end(ap);
	t->n += n > 0 ? (size_t)n : 0;
	if (t->n >= sizeof t->s)
		abort(); /* a test's text outgrew its buffer */
}

static void add_string(struct text *t, const char *s, size_t n)
{
	add(t, "\"");
	for (size_t i = 0; i < n; i++)
		add(t, "%s%c", s[i] == '"' || s[i] == '\\' ? "\\" : "", s[i]);
	add(t, "\"");
}

/* A vocab.txt's lines as a JSON object of tokens and ids. */
static void add_vocab_lines(struct text *t, const char *lines)
{
	add(t, "{");
	for (int id = 0; *lines; id++) {
		const char *nl = strchr(lines, '\n');
		add(t, "%s", id ? ", " : "");
		add_string(t, lines, (size_t)(nl - lines));
		add(t, ": %d", id);
		lines = nl + 1;
	}
	add(t, "}");
}

/* A merges.txt's rules as a JSON array of strings "left right", or of pairs ["left", "right"]. */
static void add_merges(struct text *t, const char *rules, int pairs)
{
	int first = 1;
	add(t, "[");
	for (const char *line = rules, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		const char *sp = memchr(line, ' ', (size_t)(nl - line));
		if (line[0] == '#')
			continue;
		add(t, "%s%s", first ? "" : ", ", pairs ? "[" : "");
		if (pairs) {
			add_string(t, line, (size_t)(sp - line));
			add(t, ", ");
			add_string(t, sp + 1, (size_t)(nl - sp - 1));
			add(t, "]");
		} else {
			add_string(t, line, (size_t)(nl - line));
		}
		first = 0;
	}
	add(t, "]");
}

/* Replaces the first from in t with to, of the same length. */
static void replace(struct text *t, const char *from, const char *to)
{
	char *at = strstr(t->s, from);
	if (!at || strlen(from) != strlen(to))
		abort(); /* the test's text is not what it expects */
	memcpy(at, to, strlen(to));
}

/* Encoding and comparing */

#define LIST(...) ((const uint32_t[]){ __VA_ARGS__ }), sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)

static void show(const char *what, const uint32_t *v, size_t n)
{
	printf("#   %s:", what);
	for (size_t i = 0; i < n; i++)
		printf(" %u", v[i]);
	printf("\n");
}

/* Encodes (a, b) and checks the ids (and, when types is not NULL, the type ids). */
static void expect(struct tokenizer *t, const char *a, const char *b, uint32_t max_len, const uint32_t *ids, size_t n,
		   const uint32_t *types, size_t ntypes, int line)
{
	struct record rec = { 0 };
	if (!t)
		return;
	int rc = tokenizer_encode(t, a, strlen(a), b, b ? strlen(b) : 0, max_len, &rec);
	int same = rc == 0 && rec.len == n && !memcmp(rec.tokens, ids, n * sizeof *ids);
	if (types)
		same = same && ntypes == n && !memcmp(rec.types, types, n * sizeof *types);
	if (!same) {
		check_fail(__FILE__, line, "tokens", "'%s' / '%s' (max_len %u): %s", a, b ? b : "(none)", max_len,
			   rc ? err_msg() : "other ids");
		show("want", ids, n);
		if (!rc)
			show("got ", rec.tokens, rec.len);
		if (types && !rc)
			show("got types", rec.types, rec.len);
	}
	record_free(&rec);
}

#define EXPECT(t, a, b, max_len, ids) expect(t, a, b, max_len, ids, NULL, 0, __LINE__)
#define EXPECT_TYPES(t, a, b, max_len, ids, types) expect(t, a, b, max_len, ids, types, __LINE__)

/* A BERT vocabulary, uncased (no capital letters: lowercasing is inferred). Ids are line numbers. */
static const char bert_vocab[] =
	"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"                  /* 0-4 */
	"the\ncat\nsat\nun\n##aff\n##able\n.\n,\n!\na\n##a\n"   /* 5-15 */
	"cafe\n\u4e2d\n\u6587\n##s\nhello\nworld\naa\n##aa\n"   /* 16-23: 17 中, 18 文 */
	"naive\nx\ny\na\U0001D165\U0001D16D\n[\n]\nmask\n"      /* 24-30: 27 a + two musical marks */
	"i\u0307\n\u00e9\n##\u00e9\n##\u6587\n";                /* 31 i̇, 32 é, 33 ##é, 34 ##文 */

static const char *bert_dir, *cased_dir;

/* A cased vocabulary: lowercasing and accent stripping are off. */
static const char cased_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" /* 0-4 */
				  "The\nCat\nthe\ncat\nCaf\u00e9\nCafe\n"   /* 5-10 */
				  "i\u0307\nI\n\u00e9\n##\u00e9\n";              /* 11 i̇, 12 I, 13 é, 14 ##é */

/* The model section of tokenizer.json for BERT, less its vocab. */
#define WORDPIECE \
	"\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", " \
	"\"max_input_chars_per_word\": 100, "

/* A BERT tokenizer.json as transformers writes it, the same tokenizer as a vocab.txt of these
 * lines alone (model: the model section less its vocab): the five special tokens as added tokens,
 * a lowercasing BertNormalizer, BertProcessing. Its truncation and padding sections are ignored. */
static const char *bert_json(const char *lines, const char *model)
{
	static const char *names[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
	static struct text t;
	t.n = 0;
	add(&t, "{\"version\": \"1.0\", \"truncation\": {\"max_length\": 3, \"strategy\": \"LongestFirst\", \"stride\": 0},"
		" \"padding\": {\"strategy\": {\"Fixed\": 64}, \"pad_id\": 0, \"pad_token\": \"[PAD]\"}, \"added_tokens\": [");
	for (int i = 0; i < 5; i++)
		add(&t, "%s{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false,"
			" \"normalized\": false, \"special\": true}", i ? ", " : "", i, names[i]);
	add(&t, "], \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true,"
		" \"strip_accents\": null, \"lowercase\": true}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
		" \"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": [\"[CLS]\", 2]},"
		" \"model\": {%s\"vocab\": ", model);
	add_vocab_lines(&t, lines);
	add(&t, "}}");
	return t.s;
}


TEST(wordpiece_greedy_longest_match)
{
	struct tokenizer *t = load(bert_dir);
	EXPECT(t, "the cat sat.", NULL, 0, LIST(2, 5, 6, 7, 11, 3));
	EXPECT(t, "unaffable", NULL, 0, LIST(2, 8, 9, 10, 3));
	/* aaaaa: longest first piece "aa", then "##aa", then "##a" */
	EXPECT(t, "aaaaa", NULL, 0, LIST(2, 22, 23, 15, 3));
	EXPECT(t, "cats", NULL, 0, LIST(2, 6, 19, 3));
	/* a word whose rest cannot be matched is one [UNK], as is one without any first piece */
	EXPECT(t, "catz", NULL, 0, LIST(2, 1, 3));
	EXPECT(t, "zzz cat", NULL, 0, LIST(2, 1, 6, 3));
	tokenizer_free(t);
}

TEST(bert_normalizer)
{
	struct tokenizer *t = load(bert_dir);
	/* lowercase, accents stripped (precomposed and decomposed) */
	EXPECT(t, "The CAT", NULL, 0, LIST(2, 5, 6, 3));
	EXPECT(t, "Caf\u00e9 NA\u00cfVE", NULL, 0, LIST(2, 16, 24, 3));
	EXPECT(t, "cafe\u0301", NULL, 0, LIST(2, 16, 3));
	/* U+0130 is decomposed and stripped before lowercasing: "i" (unknown here), not "i\u0307" */
	EXPECT(t, "\u0130", NULL, 0, LIST(2, 1, 3));
	/* canonical ordering: the marks that survive stripping (Mc) come out by combining class */
	EXPECT(t, "a\U0001D16D\U0001D165", NULL, 0, LIST(2, 27, 3));
	/* CJK ideographs are words of their own */
	EXPECT(t, "\u4e2d\u6587", NULL, 0, LIST(2, 17, 18, 3));
	EXPECT(t, "a\u4e2d", NULL, 0, LIST(2, 14, 17, 3));
	/* controls, format characters and U+FFFD go; Unicode spaces split words */
	EXPECT(t, "hel\u200blo \x01" "cat\xef\xbf\xbd", NULL, 0, LIST(2, 20, 6, 3));
	EXPECT(t, "cat\u00a0sat\u3000the\u2028a\x0b" "a", NULL, 0, LIST(2, 6, 7, 5, 22, 3));
	EXPECT(t, "\u200b\u200b", NULL, 0, LIST(2, 3));
	tokenizer_free(t);
}

TEST(bert_pre_tokenizer)
{
	struct tokenizer *t = load(bert_dir);
	EXPECT(t, "hello,world!", NULL, 0, LIST(2, 20, 12, 21, 13, 3));
	EXPECT(t, "...", NULL, 0, LIST(2, 11, 11, 11, 3));
	EXPECT(t, "  \t hello \n\n world  ", NULL, 0, LIST(2, 20, 21, 3));
	/* Unicode punctuation (P*) splits, a symbol (So) does not: "a" + ¿ + "a", "a©a" one word */
	EXPECT(t, "a\u00bfa a\u00a9a", NULL, 0, LIST(2, 14, 1, 14, 1, 3));
	tokenizer_free(t);
}

TEST(word_length_limit_counts_characters)
{
	struct tokenizer *t = load(bert_dir), *cased = load(cased_dir);
	char word[512];
	uint32_t want[60];
	/* 100 a's: "aa" then 49 "##aa" */
	memset(word, 'a', 100);
	word[100] = 0;
	want[0] = 2;
	want[1] = 22;
	for (int i = 0; i < 49; i++)
		want[2 + i] = 23;
	want[51] = 3;
	expect(t, word, NULL, 0, want, 52, NULL, 0, __LINE__);
	word[100] = 'a';
	word[101] = 0;
	EXPECT(t, word, NULL, 0, LIST(2, 1, 3));
	/* é is 2 bytes: 100 of them (200 bytes) are within the limit (é, then 99 ##é), 101 are not */
	for (int i = 0; i < 100; i++)
		memcpy(word + 2 * i, "\u00e9", 2);
	word[200] = 0;
	struct record rec = { 0 };
	CHECK(cased && tokenizer_encode(cased, word, 200, NULL, 0, 0, &rec) == 0 && rec.len == 102 &&
		      rec.tokens[1] == 13 && rec.tokens[2] == 14 && rec.tokens[100] == 14,
	      "100 x é: %u tokens", rec.len);
	memcpy(word + 200, "\u00e9", 3);
	EXPECT(cased, word, NULL, 0, LIST(2, 1, 3));
	record_free(&rec);
	tokenizer_free(t);
	tokenizer_free(cased);
}

TEST(special_tokens_in_text)
{
	struct tokenizer *t = load(bert_dir);
	EXPECT(t, "the [MASK] sat", NULL, 0, LIST(2, 5, 4, 7, 3));
	EXPECT(t, "x[MASK]y", NULL, 0, LIST(2, 25, 4, 26, 3));
	/* case-sensitive, matched before normalization */
	EXPECT(t, "[mask]", NULL, 0, LIST(2, 28, 30, 29, 3));
	EXPECT(t, "[CLS][SEP]", "[PAD]", 0, LIST(2, 2, 3, 3, 0, 3));
	tokenizer_free(t);
}

TEST(pairs_and_empty_texts)
{
	struct tokenizer *t = load(bert_dir);
	EXPECT_TYPES(t, "the cat", "sat", 0, LIST(2, 5, 6, 3, 7, 3), LIST(0, 0, 0, 0, 1, 1));
	EXPECT_TYPES(t, "cat", "", 0, LIST(2, 6, 3, 3), LIST(0, 0, 0, 1));
	EXPECT_TYPES(t, "", "cat", 0, LIST(2, 3, 6, 3), LIST(0, 0, 1, 1));
	EXPECT_TYPES(t, "", NULL, 0, LIST(2, 3), LIST(0, 0));
	tokenizer_free(t);
}

TEST(truncation_longest_first)
{
	struct tokenizer *t = load(bert_dir);
	const char *x8 = "x x x x x x x x", *x4 = "x x x x", *y4 = "y y y y", *y2 = "y y";
	EXPECT(t, "the cat sat the cat", NULL, 5, LIST(2, 5, 6, 7, 3));
	EXPECT(t, "the cat", NULL, 5, LIST(2, 5, 6, 3));
	/* budget 10 - 3 = 7. Only the longer cut: 8 + 2 -> 5 + 2 */
	EXPECT(t, x8, y2, 10, LIST(2, 25, 25, 25, 25, 25, 3, 26, 26, 3));
	EXPECT(t, y2, x8, 10, LIST(2, 26, 26, 3, 25, 25, 25, 25, 25, 3));
	/* both cut, a tie: the second text gets the odd token (3 + 4) */
	EXPECT(t, x4, y4, 10, LIST(2, 25, 25, 25, 3, 26, 26, 26, 26, 3));
	/* both cut, 8 and 4: the longer gets it (4 + 3) */
	EXPECT(t, x8, y4, 10, LIST(2, 25, 25, 25, 25, 3, 26, 26, 26, 3));
	/* max_len exactly the special tokens: empty texts */
	EXPECT(t, x4, y4, 3, LIST(2, 3, 3));
	struct record rec = { 0 };
	CHECK(tokenizer_encode(t, "x", 1, "y", 1, 2, &rec) == E_ARG, "max_len 2 < 3 special tokens accepted");
	record_free(&rec);
	tokenizer_free(t);
}

TEST(truncation_early_exit)
{
	/* Hugging Face stops tokenizing a text once it has max_len tokens (after the word that gets
	 * there), so longest_first compares 10 (twenty x, cut) with 12 (four "unaffable", whole):
	 * the second is longer and gets the odd token, 3 + 4, where whole lengths (20 vs 12) would
	 * have given 4 + 3. */
	struct tokenizer *t = load(bert_dir);
	const char *x20 = "x x x x x x x x x x x x x x x x x x x x", *y20 = "y y y y y y y y y y y y y y y y y y y y";
	EXPECT(t, x20, "unaffable unaffable unaffable unaffable", 10, LIST(2, 25, 25, 25, 3, 8, 9, 10, 8, 3));
	/* an added token counts too but never ends the text: 9 x, [MASK] (10), then one more x
	 * (11) ends it, so the first is longer (11 vs 10) and gets 4 */
	EXPECT(t, "x x x x x x x x x [MASK] x x x x x", y20, 10, LIST(2, 25, 25, 25, 25, 3, 26, 26, 26, 3));
	/* ... and one that comes after the end is dropped: 10 x end the text at 10 */
	EXPECT(t, "x x x x x x x x x x [MASK] [MASK]", y20, 10, LIST(2, 25, 25, 25, 3, 26, 26, 26, 26, 3));
	tokenizer_free(t);
}

TEST(cjk_spacing_off)
{
	static const struct file files[] = { { "vocab.txt", bert_vocab },
					     { "tokenizer_config.json", "{\"tokenize_chinese_chars\": false}" },
					     { NULL, NULL } };
	struct tokenizer *t = load(make_model("nocjk", files));
	EXPECT(t, "\u4e2d\u6587", NULL, 0, LIST(2, 17, 34, 3));
	tokenizer_free(t);
}

TEST(cased_vocabulary)
{
	struct tokenizer *t = load(cased_dir);
	EXPECT(t, "The Cat the CAT", NULL, 0, LIST(2, 5, 6, 7, 1, 3));
	/* no NFD without accent stripping: the decomposed form is another word */
	EXPECT(t, "Caf\u00e9 Cafe\u0301", NULL, 0, LIST(2, 9, 1, 3));
	tokenizer_free(t);
}

TEST(tokenizer_json_settings)
{
	/* strip accents without lowercasing; a template of its own: a single text gets only [SEP],
	 * a pair [CLS] (type 2) A B [SEP] (type 1); only [CLS] and [SEP] are added tokens. */
	static const char json[] =
		"{\"added_tokens\": [{\"id\": 2, \"content\": \"[CLS]\", \"special\": true, \"normalized\": false},"
		" {\"id\": 3, \"content\": \"[SEP]\", \"special\": true, \"normalized\": false}],"
		" \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true,"
		" \"strip_accents\": true, \"lowercase\": false},"
		" \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
		" \"post_processor\": {\"type\": \"TemplateProcessing\","
		" \"single\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}],"
		" \"pair\": [{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 2}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
		" {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 1}}],"
		" \"special_tokens\": {\"[CLS]\": {\"id\": \"[CLS]\", \"ids\": [2], \"tokens\": [\"[CLS]\"]},"
		" \"[SEP]\": {\"id\": \"[SEP]\", \"ids\": [3], \"tokens\": [\"[SEP]\"]}}},"
		" \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\","
		" \"max_input_chars_per_word\": 100, \"vocab\": ";
	static struct text text;
	add(&text, "%s", json);
	add_vocab_lines(&text, cased_vocab);
	add(&text, "}}");
	/* vocab.txt beside it holds the same vocabulary: nothing to note */
	static const struct file files[] = { { "vocab.txt", cased_vocab }, { "tokenizer.json", text.s }, { NULL, NULL } };
	struct tokenizer *t = load(make_model("json", files));
	CHECK(t && !tokenizer_note(t), "%s", t ? tokenizer_note(t) : err_msg());
	EXPECT_TYPES(t, "Caf\u00e9 \u0130", NULL, 0, LIST(10, 12, 3), LIST(0, 0, 0));
	EXPECT_TYPES(t, "The", "Cat", 0, LIST(2, 5, 6, 3), LIST(2, 0, 1, 1));
	CHECK(t && tokenizer_specials(t, 0) == 1 && tokenizer_specials(t, 1) == 2, "special token counts");
	/* [MASK] is not an added token here: [ and MASK and ] are unknown words */
	EXPECT(t, "[MASK]", NULL, 0, LIST(1, 1, 1, 3));
	tokenizer_free(t);
}

TEST(lowercase_without_stripping)
{
	/* Rust's full lowercase mapping: U+0130 becomes i + U+0307. The model has no type: its
	 * max_input_chars_per_word tells WordPiece. */
	static const char json[] = "{\"normalizer\": {\"type\": \"BertNormalizer\", \"strip_accents\": false, \"lowercase\": true},"
				   " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"post_processor\": null, \"added_tokens\": [],"
				   " \"model\": {\"unk_token\": \"[UNK]\", \"max_input_chars_per_word\": 100, \"vocab\": ";
	static struct text text;
	add(&text, "%s", json);
	add_vocab_lines(&text, cased_vocab);
	add(&text, "}}");
	static const struct file files[] = { { "tokenizer.json", text.s }, { NULL, NULL } };
	struct tokenizer *t = load(make_model("lower", files));
	/* no post-processor: no special tokens, the second text with type 1 */
	EXPECT_TYPES(t, "\u0130", "THE", 0, LIST(11, 7), LIST(0, 1));
	tokenizer_free(t);
}

/* Byte-level BPE: a vocabulary of the 256 byte characters, each with its byte's value as id,
 * then merged tokens and the special tokens. */
static const char *bpe_dir;

static const char merges[] = "#version: 0.2\n"
			     "\u0120 t\n"       /* 256 Ġt */
			     "h e\n"            /* 257 he */
			     "\u0120t he\n"     /* 258 Ġthe */
			     "a a\n"            /* 259 aa */
			     "\u0120 \u0120\n"  /* 260 ĠĠ */
			     "\u0120 b\n"       /* 261 Ġb */
			     "' s\n"            /* 262 's */
			     "b 1\n"            /* 263 b1 */
			     "a b\n";           /* 264 ab */

static const char *merged[] = { "\u0120t", "he", "\u0120the", "aa", "\u0120\u0120", "\u0120b", "'s", "b1", "ab" };
static const char *specials[] = { "<s>", "</s>", "<pad>", "<unk>", "<mask>" }; /* 265-269 */

/* The byte-to-unicode table, written out from its definition in GPT-2's encoder. */
static int byte_char(int b)
{
	static int table[256], ready;
	if (!ready) {
		int n = 0;
		for (int c = 0; c < 256; c++)
			table[c] = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174) ? c : 256 + n++;
		ready = 1;
	}
	return table[b];
}

static char *bpe_vocab_json(void)
{
	static char json[16384];
	size_t k = 0;
	k += (size_t)snprintf(json + k, sizeof json - k, "{");
	for (int b = 0; b < 256; b++) {
		int c = byte_char(b);
		char u[8] = { 0 };
		if (c < 0x80)
			u[0] = (char)c;
		else {
			u[0] = (char)(0xC0 | c >> 6);
			u[1] = (char)(0x80 | (c & 0x3F));
		}
		k += (size_t)snprintf(json + k, sizeof json - k, "%s\"%s%s\": %d", b ? ", " : "",
				      c == '"' || c == '\\' ? "\\" : "", u, b);
	}
	for (int i = 0; i < 9; i++)
		k += (size_t)snprintf(json + k, sizeof json - k, ", \"%s\": %d", merged[i], 256 + i);
	for (int i = 0; i < 5; i++)
		k += (size_t)snprintf(json + k, sizeof json - k, ", \"%s\": %d", specials[i], 265 + i);
	snprintf(json + k, sizeof json - k, "}");
	return json;
}

/* The model section of roberta-base's tokenizer.json, less its vocab and merges: no type. */
#define ROBERTA_MODEL \
	"\"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": \"\", \"end_of_word_suffix\": \"\", " \
	"\"fuse_unk\": false, "

/* A RoBERTa tokenizer.json, the same tokenizer as the vocab.json above with these merges.txt
 * rules (written as strings or as pairs): RoBERTa's special tokens, <mask> taking the spaces
 * before it; ByteLevel without a prefix space; RobertaProcessing. */
static const char *bpe_json(const char *rules, int pairs, const char *model)
{
	static struct text t;
	t.n = 0;
	add(&t, "{\"added_tokens\": [");
	for (int i = 0; i < 5; i++)
		add(&t, "%s{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": %s, \"rstrip\": false,"
			" \"normalized\": true, \"special\": true}", i ? ", " : "", 265 + i, specials[i], i == 4 ? "true" : "false");
	add(&t, "], \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false,"
		" \"trim_offsets\": true, \"use_regex\": true}, \"post_processor\": {\"type\": \"RobertaProcessing\","
		" \"sep\": [\"</s>\", 266], \"cls\": [\"<s>\", 265], \"trim_offsets\": true, \"add_prefix_space\": false},"
		" \"model\": {%s\"vocab\": %s, \"merges\": ", model, bpe_vocab_json());
	add_merges(&t, rules, pairs);
	add(&t, "}}");
	return t.s;
}

TEST(bpe_merges_by_rank)
{
	struct tokenizer *t = load(bpe_dir);
	/* the: (h,e) merges, (t,he) is no rule */
	EXPECT(t, "the", NULL, 0, LIST(265, 't', 257, 266));
	/* " the": Ġt (rank 0), he (1), then Ġthe (2) */
	EXPECT(t, " the", NULL, 0, LIST(265, 258, 266));
	/* aaa: the leftmost pair of equal rank first */
	EXPECT(t, "aaa", NULL, 0, LIST(265, 259, 'a', 266));
	EXPECT(t, "aaaa", NULL, 0, LIST(265, 259, 259, 266));
	/* é is bytes C3 A9, whose characters stand for themselves */
	EXPECT(t, "\u00e9", NULL, 0, LIST(265, 0xC3, 0xA9, 266));
	tokenizer_free(t);
}

TEST(gpt2_pre_tokenizer)
{
	struct tokenizer *t = load(bpe_dir);
	/* spaces: "a", "  " (the run less its last space), " b" */
	EXPECT(t, "a   b", NULL, 0, LIST(265, 'a', 260, 261, 266));
	/* trailing spaces stay one piece; a lone space before a letter joins it */
	EXPECT(t, "a  ", NULL, 0, LIST(265, 'a', 260, 266));
	EXPECT(t, " b", NULL, 0, LIST(265, 261, 266));
	/* "\n " before a letter: the newline alone, then " b" */
	EXPECT(t, "\n b", NULL, 0, LIST(265, '\n', 261, 266));
	/* contractions are pieces of their own; the letters and the digit are not one piece */
	EXPECT(t, "a's", NULL, 0, LIST(265, 'a', 262, 266));
	EXPECT(t, "ab1", NULL, 0, LIST(265, 264, '1', 266));
	/* "!'s": punctuation runs take the apostrophe, so no contraction */
	EXPECT(t, "!'s", NULL, 0, LIST(265, '!', '\'', 's', 266));
	tokenizer_free(t);
}

TEST(roberta_template_and_mask)
{
	struct tokenizer *t = load(bpe_dir);
	EXPECT_TYPES(t, "a", "b", 0, LIST(265, 'a', 266, 266, 'b', 266), LIST(0, 0, 0, 0, 0, 0));
	EXPECT(t, "", "", 0, LIST(265, 266, 266, 266));
	/* <mask> takes the spaces before it; the other special tokens do not */
	EXPECT(t, "a <mask>", NULL, 0, LIST(265, 'a', 269, 266));
	EXPECT(t, "a<mask>b <pad>", NULL, 0, LIST(265, 'a', 269, 'b', ' ', 267, 266));
	/* budget 8 - 4 = 4: two and two */
	EXPECT(t, "aaaaaaaa", "bbbbbbbb", 8, LIST(265, 259, 259, 266, 266, 'b', 'b', 266));
	tokenizer_free(t);
}

TEST(bad_inputs)
{
	struct tokenizer *t = load(bert_dir);
	struct record rec = { 0 };
	if (t) {
		CHECK(tokenizer_encode(t, "ok", 2, "a\xff", 2, 0, &rec) == E_FORMAT && strstr(err_msg(), "text b") &&
			      strstr(err_msg(), "byte 2"),
		      "invalid UTF-8: %s", err_msg());
		CHECK(tokenizer_encode(t, "\xed\xa0\x80", 3, NULL, 0, 0, &rec) == E_FORMAT, "a surrogate accepted");
		CHECK(tokenizer_encode(t, "\xc0\xaf", 2, NULL, 0, 0, &rec) == E_FORMAT, "an overlong form accepted");
	}
	record_free(&rec);
	tokenizer_free(t);
	CHECK(!tokenizer_load("/nonexistent/model") && strstr(err_msg(), "/nonexistent/model"), "%s", err_msg());
	static const struct file files[] = { { "vocab.json", "{}" }, { NULL, NULL } };
	const char *dir = make_model("nomerges", files);
	CHECK(!tokenizer_load(dir) && strstr(err_msg(), "merges.txt"), "missing merges.txt: %s", err_msg());
	static const struct file nounk[] = { { "vocab.txt", "a\nb\n" }, { NULL, NULL } };
	CHECK(!tokenizer_load(make_model("nounk", nounk)) && strstr(err_msg(), "[UNK]"), "%s", err_msg());
}

/* tokenizer.json alone */

TEST(wordpiece_from_tokenizer_json_alone)
{
	/* the rules above, on a folder holding only the tokenizer.json of the same tokenizer */
	static struct file files[] = { { "tokenizer.json", NULL }, { NULL, NULL } };
	const char *vocab_txt = bert_dir;
	files[0].text = bert_json(bert_vocab, WORDPIECE);
	bert_dir = make_model("bertjson", files);
	test_wordpiece_greedy_longest_match();
	test_bert_normalizer();
	test_bert_pre_tokenizer();
	test_special_tokens_in_text();
	test_pairs_and_empty_texts();
	test_truncation_longest_first();
	test_truncation_early_exit();
	struct tokenizer *t = load(bert_dir);
	CHECK(t && !tokenizer_note(t), "%s", t ? tokenizer_note(t) : err_msg());
	tokenizer_free(t);
	bert_dir = vocab_txt;
}

TEST(wordpiece_model_settings)
{
	/* its own prefix, word limit (9 characters) and unknown token ([MASK] here) */
	static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n@@aff\n@@able\na\n@@a\n"; /* 5-9 */
	static struct file files[] = { { "tokenizer.json", NULL }, { NULL, NULL } };
	files[0].text = bert_json(vocab, "\"type\": \"WordPiece\", \"unk_token\": \"[MASK]\", "
					 "\"continuing_subword_prefix\": \"@@\", \"max_input_chars_per_word\": 9, ");
	struct tokenizer *t = load(make_model("wpsettings", files));
	EXPECT(t, "unaffable", NULL, 0, LIST(2, 5, 6, 7, 3));
	EXPECT(t, "aaa aaaaaaaaa", NULL, 0, LIST(2, 8, 9, 9, 8, 9, 9, 9, 9, 9, 9, 9, 9, 3));
	EXPECT(t, "aaaaaaaaaa zzz", NULL, 0, LIST(2, 4, 4, 3));
	tokenizer_free(t);
}

TEST(bpe_from_tokenizer_json_alone)
{
	/* the BPE rules above, on a folder holding only tokenizer.json: untyped with merges as strings
	 * (roberta-base's), untyped with pairs, typed with pairs */
	static const char *const models[] = { ROBERTA_MODEL, ROBERTA_MODEL, "\"type\": \"BPE\", " ROBERTA_MODEL };
	const char *files_dir = bpe_dir;
	for (int i = 0; i < 3; i++) {
		static struct file files[] = { { "tokenizer.json", NULL }, { NULL, NULL } };
		files[0].text = bpe_json(merges, i > 0, models[i]);
		CHECK(!strstr(files[0].text, "[[") == !i, "merges as pairs: %d", i > 0);
		bpe_dir = make_model(i ? "bpepairs" : "bpejson", files);
		test_bpe_merges_by_rank();
		test_gpt2_pre_tokenizer();
		test_roberta_template_and_mask();
		struct tokenizer *t = load(bpe_dir);
		CHECK(t && !tokenizer_note(t), "%s", t ? tokenizer_note(t) : err_msg());
		tokenizer_free(t);
	}
	bpe_dir = files_dir;
}

TEST(bpe_model_options)
{
	/* unk_token and fuse_unk change nothing with every byte in the vocabulary */
	static struct file files[] = { { "tokenizer.json", NULL }, { NULL, NULL } };
	files[0].text = bpe_json(merges, 1, "\"type\": \"BPE\", \"dropout\": null, \"unk_token\": \"<unk>\", \"fuse_unk\": true,"
					    " \"byte_fallback\": false, \"continuing_subword_prefix\": null, ");
	struct tokenizer *t = load(make_model("bpeopts", files));
	EXPECT(t, " the", NULL, 0, LIST(265, 258, 266));
	tokenizer_free(t);
	static const char *const bad[][2] = {
		{ "\"dropout\": 0.1, ", "BPE dropout 0.1 is not supported (elsa is deterministic" },
		{ "\"continuing_subword_prefix\": \"##\", ", "BPE continuing_subword_prefix '##' is not supported" },
		{ "\"end_of_word_suffix\": \"</w>\", ", "BPE end_of_word_suffix '</w>' is not supported" },
		{ "\"byte_fallback\": true, ", "BPE byte_fallback is not supported" },
		{ "\"unk_token\": [1], ", "unk_token is not a string" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		files[0].text = bpe_json(merges, 0, bad[i][0]);
		REFUSED(make_model("bpebad", files), bad[i][1]);
	}
}

/* ModernBERT's kind of tokenizer.json */

/* The pieces of modern_json: the NFC normalizer; three added tokens after RoBERTa's five (270
 * "e\u0301t", matched in the normalized text, where it is "\u00e9t"; 271 "o\u0308", matched in
 * the raw text only; 272 two spaces, in the normalized text); ModernBERT's templates with <s>
 * and </s> for [CLS] and [SEP], but $B and its </s> with type id 1. */
#define NFC_NORMALIZER "{\"type\": \"NFC\"}"
#define MODERN_ADDED \
	", {\"id\": 270, \"content\": \"e\u0301t\", \"normalized\": true, \"special\": false}" \
	", {\"id\": 271, \"content\": \"o\u0308\", \"normalized\": false, \"special\": false}" \
	", {\"id\": 272, \"content\": \"  \", \"normalized\": true, \"special\": false}"
#define PIECE(kind, id, type) "{\"" kind "\": {\"id\": \"" id "\", \"type_id\": " #type "}}"
#define CLS PIECE("SpecialToken", "<s>", 0)
#define SEP PIECE("SpecialToken", "</s>", 0)
#define SEQ_A PIECE("Sequence", "A", 0)
#define MODERN_SINGLE "[" CLS ", " SEQ_A ", " SEP "]"
#define MODERN_PAIR "[" CLS ", " SEQ_A ", " SEP ", " PIECE("Sequence", "B", 1) ", " PIECE("SpecialToken", "</s>", 1) "]"

/* A tokenizer.json as ModernBERT's, on the BPE vocabulary and merges above: normalizer (a JSON
 * value), ByteLevel without a prefix space, RoBERTa's five special tokens matched in the raw text
 * (<mask> taking the spaces before it) and then the added tokens of added (entries, each after
 * a comma), TemplateProcessing with the templates single and pair (JSON values, or NULL for
 * none) and three special tokens: <s>, </s> and <sep2>, which is </s> <s>. */
static const char *modern_json(const char *normalizer, const char *added, const char *single, const char *pair)
{
	static struct text t;
	t.n = 0;
	add(&t, "{\"added_tokens\": [");
	for (int i = 0; i < 5; i++)
		add(&t, "%s{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": %s, \"rstrip\": false,"
			" \"normalized\": false, \"special\": true}", i ? ", " : "", 265 + i, specials[i], i == 4 ? "true" : "false");
	add(&t, "%s], \"normalizer\": %s, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false,"
		" \"trim_offsets\": true, \"use_regex\": true}, \"post_processor\": {\"type\": \"TemplateProcessing\"",
	    added, normalizer);
	if (single)
		add(&t, ", \"single\": %s", single);
	if (pair)
		add(&t, ", \"pair\": %s", pair);
	add(&t, ", \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [265], \"tokens\": [\"<s>\"]},"
		" \"</s>\": {\"id\": \"</s>\", \"ids\": [266], \"tokens\": [\"</s>\"]},"
		" \"<sep2>\": {\"id\": \"<sep2>\", \"ids\": [266, 265], \"tokens\": [\"</s>\", \"<s>\"]}}},"
		" \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"vocab\": %s, \"merges\": ",
	    bpe_vocab_json());
	add_merges(&t, merges, 0);
	add(&t, "}}");
	return t.s;
}

static struct tokenizer *load_modern(const char *normalizer, const char *added, const char *single, const char *pair)
{
	static struct file files[] = { { "tokenizer.json", NULL }, { NULL, NULL } };
	files[0].text = modern_json(normalizer, added, single, pair);
	return load(make_model("modern", files));
}

TEST(nfc_normalizer)
{
	struct tokenizer *t = load_modern(NFC_NORMALIZER, MODERN_ADDED, MODERN_SINGLE, MODERN_PAIR), *plain = load(bpe_dir);
	/* e + U+0301 composes to U+00E9 (bytes C3 A9); without a normalizer it stays two pieces */
	EXPECT(t, "e\u0301", NULL, 0, LIST(265, 0xC3, 0xA9, 266));
	EXPECT(plain, "e\u0301", NULL, 0, LIST(265, 'e', 0xCC, 0x81, 266));
	/* the Angstrom sign is U+00C5 in NFC; Hangul jamo L V T compose to the syllable U+AC01 */
	EXPECT(t, "\u212b", NULL, 0, LIST(265, 0xC3, 0x85, 266));
	EXPECT(t, "\u1100\u1161\u11a8", NULL, 0, LIST(265, 0xEA, 0xB0, 0x81, 266));
	/* d with dot above, then dot below: reordered, d + dot below composes (U+1E0D), the dot above
	 * stays (U+0307) */
	EXPECT(t, "\u1e0b\u0323", NULL, 0, LIST(265, 0xE1, 0xB8, 0x8D, 0xCC, 0x87, 266));
	/* text already in NFC, ASCII or not, is what it was */
	EXPECT(t, " the \u00e9", NULL, 0, LIST(265, 258, ' ', 0xC3, 0xA9, 266));
	tokenizer_free(t);
	tokenizer_free(plain);
}

TEST(nfc_and_added_tokens)
{
	struct tokenizer *t = load_modern(NFC_NORMALIZER, MODERN_ADDED, MODERN_SINGLE, MODERN_PAIR);
	/* a normalized token is matched as its NFC form, in text composed or not */
	EXPECT(t, "\u00e9t", NULL, 0, LIST(265, 270, 266));
	EXPECT(t, "e\u0301t", NULL, 0, LIST(265, 270, 266));
	/* a raw token is matched before NFC, as it is written: o + U+0308, not U+00F6 */
	EXPECT(t, "o\u0308", NULL, 0, LIST(265, 271, 266));
	EXPECT(t, "\u00f6", NULL, 0, LIST(265, 0xC3, 0xB6, 266));
	/* the text each side of a raw token is normalized alone: U+0301 after it stays */
	EXPECT(t, "eo\u0308\u0301", NULL, 0, LIST(265, 'e', 271, 0xCC, 0x81, 266));
	/* two spaces are a token of their own, before pre-tokenization; <mask> takes the spaces before it */
	EXPECT(t, "a  b", NULL, 0, LIST(265, 'a', 272, 'b', 266));
	EXPECT(t, "a   <mask>", NULL, 0, LIST(265, 'a', 269, 266));
	tokenizer_free(t);
}

TEST(template_processing)
{
	struct tokenizer *t = load_modern(NFC_NORMALIZER, MODERN_ADDED, MODERN_SINGLE, MODERN_PAIR);
	EXPECT_TYPES(t, "a", "b", 0, LIST(265, 'a', 266, 'b', 266), LIST(0, 0, 0, 1, 1));
	EXPECT_TYPES(t, "a", NULL, 0, LIST(265, 'a', 266), LIST(0, 0, 0));
	/* an empty second text leaves a pair; an empty single text its two special tokens */
	EXPECT_TYPES(t, "a", "", 0, LIST(265, 'a', 266, 266), LIST(0, 0, 0, 1));
	EXPECT_TYPES(t, "", "", 0, LIST(265, 266, 266), LIST(0, 0, 1));
	EXPECT_TYPES(t, "", NULL, 0, LIST(265, 266), LIST(0, 0));
	CHECK(t && tokenizer_specials(t, 0) == 2 && tokenizer_specials(t, 1) == 3, "special token counts");
	/* budget 8 - 3 = 5 for 4 + 8 tokens: both cut, 2 + 3; a single text, 4 - 2 */
	EXPECT_TYPES(t, "aaaaaaaa", "bbbbbbbb", 8, LIST(265, 259, 259, 266, 'b', 'b', 'b', 266), LIST(0, 0, 0, 0, 1, 1, 1, 1));
	EXPECT(t, "aaaaaaaa", NULL, 4, LIST(265, 259, 259, 266));
	tokenizer_free(t);
	/* a special token of two ids, type 2, and the texts in the other order */
	t = load_modern("null", "", "[" SEQ_A ", " PIECE("SpecialToken", "<s>", 0) "]",
			"[" PIECE("Sequence", "B", 0) ", " PIECE("SpecialToken", "<sep2>", 2) ", " SEQ_A "]");
	EXPECT_TYPES(t, "a", "b", 0, LIST('b', 266, 265, 'a'), LIST(0, 2, 2, 0));
	CHECK(t && tokenizer_specials(t, 0) == 1 && tokenizer_specials(t, 1) == 2, "special token counts");
	EXPECT_TYPES(t, "a", NULL, 0, LIST('a', 265), LIST(0, 0));
	tokenizer_free(t);
}

TEST(modern_settings_refused)
{
	static struct file files[] = { { "tokenizer.json", NULL }, { NULL, NULL } };
	static const char *const bad[][5] = {
		{ "{\"type\": \"NFKC\"}", "", MODERN_SINGLE, MODERN_PAIR, "normalizer 'NFKC' is not supported with BPE (none, or NFC)" },
		{ "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}]}", "", MODERN_SINGLE, MODERN_PAIR,
		  "normalizer 'Sequence' is not supported with BPE" },
		{ "null", ", {\"id\": 270, \"content\": \"xyz\", \"single_word\": true}", MODERN_SINGLE, MODERN_PAIR,
		  "added token 'xyz': single_word is not supported" },
		{ "null", ", {\"id\": 271, \"content\": \"xyz\"}", MODERN_SINGLE, MODERN_PAIR,
		  "added token 'xyz' has id 271, where Hugging Face gives it 270" },
		{ "null", ", {\"id\": 270, \"content\": \"<s>\"}", MODERN_SINGLE, MODERN_PAIR,
		  "added token '<s>' has id 270, where Hugging Face gives it 265" },
		{ "null", "", NULL, MODERN_PAIR, "post_processor.single is not a list of pieces" },
		{ "null", "", "[" CLS ", " SEQ_A ", " PIECE("Sequence", "B", 0) "]", MODERN_PAIR,
		  "post_processor.single: $B in the template of a single text" },
		{ "null", "", "[" SEQ_A ", " SEQ_A "]", MODERN_PAIR, "post_processor.single: $A appears 2 times, not once" },
		{ "null", "", MODERN_SINGLE, "[" CLS ", " SEQ_A "]", "post_processor.pair: $B appears 0 times, not once" },
		{ "null", "", MODERN_SINGLE, "[" SEQ_A ", " PIECE("Sequence", "C", 0) "]",
		  "post_processor.pair: piece 2: sequence 'C' is neither A nor B" },
		{ "null", "", MODERN_SINGLE, "[" SEQ_A ", " PIECE("Text", "B", 0) "]",
		  "post_processor.pair: piece 2 is neither a Sequence nor a SpecialToken" },
		{ "null", "", "[" PIECE("SpecialToken", "[CLS]", 0) ", " SEQ_A "]", MODERN_PAIR,
		  "post_processor.single: special token '[CLS]' has no ids in post_processor.special_tokens" },
		{ "null", "", "[{\"Sequence\": {\"id\": \"A\"}}]", MODERN_PAIR, "post_processor.single: piece 1 has no type_id" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		files[0].text = modern_json(bad[i][0], bad[i][1], bad[i][2], bad[i][3]);
		REFUSED(make_model("modernbad", files), bad[i][4]);
	}
}

TEST(bytes_outside_utf8_need_no_token)
{
	/* 0xC0 (its character U+00C0) without a token loads, as ModernBERT's vocabulary does; 0xC2 is a
	 * lead byte of UTF-8, and refused */
	static struct text json;
	static struct file files[] = { { "tokenizer.json", json.s }, { NULL, NULL } };
	add(&json, "%s", modern_json(NFC_NORMALIZER, "", MODERN_SINGLE, MODERN_PAIR));
	replace(&json, "\"\u00c0\": 192", "\"\u0500\": 192");
	struct tokenizer *t = load(make_model("noc0", files));
	EXPECT(t, "\u00c0\u00ff", NULL, 0, LIST(265, 0xC3, 0x80, 0xC3, 0xBF, 266));
	tokenizer_free(t);
	replace(&json, "\"\u00c2\": 194", "\"\u0501\": 194");
	REFUSED(make_model("noc2", files), "model.vocab: no token for byte 0xC2");
}

TEST(nfc_quick_check_never_misses)
{
	/* Over every code point: one that uc_nfc_quick passes is its own NFC, and so is the first
	 * character of its canonical decomposition; the last character of a composite's decomposition
	 * (what composes with the characters before it) is never passed. So a text of characters it
	 * passes is in NFC. */
	int32_t *work = NULL;
	size_t cap = 0;
	long wrong = 0, passed = 0, composites = 0;
	for (int32_t c = 0; c <= 0x10FFFF; c++) {
		char u[4], f[4], l[4];
		int32_t d[UC_DECOMPOSE_MAX];
		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		int n = utf8_encode(c, u), k = uc_decompose(c, d);
		long made = uc_nfc(u, (size_t)n, &work, &cap);
		int own = made == n && !memcmp(work, u, (size_t)n);
		if (uc_nfc_quick(u, (size_t)n)) {
			passed++;
			if (!own || !uc_nfc_quick(f, (size_t)utf8_encode(d[0], f)))
				wrong += printf("# U+%04X passed, but NFC changes it or its first character\n", c) > 0;
		}
		if (k > 1 && own) {
			composites++;
			if (uc_nfc_quick(l, (size_t)utf8_encode(d[k - 1], l)))
				wrong += printf("# U+%04X passed, but U+%04X composes with it\n", d[k - 1], c) > 0;
		}
	}
	CHECK(!wrong && passed > 1000000 && composites > 10000, "%ld wrong, %ld passed, %ld composites", wrong, passed,
	      composites);
	/* and on texts: ASCII and Latin-1 pass; a mark, the Angstrom sign, a Hangul syllable do not */
	static const char *const texts[] = { "caf\u00e9 \u00c5 \u4e2d\U0001F600", "cafe\u0301", "\u212b", "\uac01" };
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		CHECK(uc_nfc_quick(texts[i], strlen(texts[i])) == !i, "uc_nfc_quick('%s')", texts[i]);
	free(work);
}

TEST(other_model_types_refused)
{
	/* refused even with a vocab.txt beside them: tokenizer.json is what is read */
	static const char *const bad[][2] = {
		{ "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], [\"a\", -1.5]]}}",
		  "tokenizer.json: model type Unigram is not supported (WordPiece or BPE)" },
		{ "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"[UNK]\": 0, \"a\": 1}, \"unk_token\": \"[UNK]\"}}",
		  "tokenizer.json: model type WordLevel is not supported (WordPiece or BPE)" },
		{ "{\"model\": {\"vocab\": {\"[UNK]\": 0, \"a\": 1}, \"unk_token\": \"[UNK]\"}}",
		  "tokenizer.json: the model has no type, nor merges (BPE) or continuing_subword_prefix (WordPiece)" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct file files[] = { { "vocab.txt", bert_vocab }, { "tokenizer.json", bad[i][0] }, { NULL, NULL } };
		REFUSED(make_model("othertype", files), bad[i][1]);
	}
}

TEST(malformed_model_refused)
{
	static const char *const bad[][2] = {
		{ "{\"added_tokens\": []}", "tokenizer.json: no model section" },
		{ "{\"model\": \"WordPiece\"}", "tokenizer.json: the model section is not an object" },
		{ "{\"model\": {\"type\": \"WordPiece\", \"vocab\": [\"[UNK]\", \"a\"]}}",
		  "tokenizer.json: model.vocab: not an object of tokens and ids" },
		{ "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\"}}", "model.vocab: not an object" },
		{ "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": \"one\"}}}",
		  "the id of '[UNK]' is not a whole number" },
		{ "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}",
		  "the unknown token '[UNK]' is not in model.vocab" },
		{ "{\"model\": {\"type\": \"WordPiece\", \"vocab\": ", "tokenizer.json: line " },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		static char json[512];
		/* the WordPiece models need their pre-tokenizer, which is checked first */
		snprintf(json, sizeof json, "{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, %s", bad[i][0] + 1);
		struct file files[] = { { "tokenizer.json", json }, { NULL, NULL } };
		REFUSED(make_model("malformed", files), bad[i][1]);
	}
	/* BPE: the merges missing, a rule of three tokens, of numbers, of an unknown token; a byte
	 * without its token */
	static const char *const rules[][3] = {
		{ "", "\"merges\": [", "\"mergez\": [" },
		{ "a b b\n", "", "" },
		{ "a b\n", "\"a b\"", "[1,2]" },
		{ "a zz\n", "", "" },
		{ "a b\n", "{\"\u0100\": 0,", "{\"xy\": 0," },
	};
	static const char *const why[] = { "model.merges is not an array of merge rules",
					   "model.merges: merge 1: not two tokens separated by a space",
					   "model.merges: merge 1: not a string \"left right\" nor a pair [left, right]",
					   "model.merges: merge 1: the right token is not in the vocabulary",
					   "model.vocab: no token for byte 0x00" };
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		static struct text t;
		static struct file files[] = { { "tokenizer.json", t.s }, { NULL, NULL } };
		t.n = 0;
		add(&t, "%s", bpe_json(rules[i][0], i == 3, "\"type\": \"BPE\", " ROBERTA_MODEL));
		if (*rules[i][1])
			replace(&t, rules[i][1], rules[i][2]);
		REFUSED(make_model("badmerges", files), why[i]);
	}
}

/* Older files beside tokenizer.json */

static void expect_note(const char *dir, const char *note, int line)
{
	struct tokenizer *t = tokenizer_load(dir);
	const char *got = t ? tokenizer_note(t) : err_msg();
	if (!t || !got || !strstr(got, note) || strchr(got, '\n'))
		check_fail(__FILE__, line, "note", "%s: %s%s, want '%s'", dir, t ? "" : "not loaded: ", got ? got : "no note",
			   note);
	tokenizer_free(t);
}

#define EXPECT_NOTE(dir, note) expect_note(dir, note, __LINE__)

TEST(wordpiece_older_file_disagrees)
{
	static struct text json;
	add(&json, "%s", bert_json(bert_vocab, WORDPIECE));
	replace(&json, "\"cat\": 6", "\"dog\": 6");
	static struct file files[] = { { "vocab.txt", bert_vocab }, { "tokenizer.json", json.s }, { NULL, NULL } };
	const char *dir = make_model("disagree", files);
	EXPECT_NOTE(dir, "vocab.txt and tokenizer.json disagree (id 6: 'cat' vs 'dog'); using tokenizer.json");
	/* and tokenizer.json's vocabulary is the one used */
	struct tokenizer *t = load(dir);
	EXPECT(t, "the dog cat", NULL, 0, LIST(2, 5, 6, 1, 3));
	tokenizer_free(t);
	static char longer[sizeof bert_vocab + 8];
	snprintf(longer, sizeof longer, "%sextra\n", bert_vocab);
	files[0].text = longer;
	files[1].text = bert_json(bert_vocab, WORDPIECE);
	EXPECT_NOTE(make_model("longer", files),
		    "vocab.txt and tokenizer.json disagree (id 35: 'extra' vs none); using tokenizer.json");
	files[0].text = "[PAD]\n\xff\n";
	EXPECT_NOTE(make_model("badtxt", files), "vocab.txt: line 2: invalid UTF-8; using tokenizer.json");
	files[0] = (struct file){ "vocab.json", "{}" };
	EXPECT_NOTE(make_model("wpjson", files), "vocab.json is not for tokenizer.json's WordPiece model; using tokenizer.json");
}

TEST(bpe_older_files_disagree)
{
	/* the first two rules swapped */
	static const char swapped[] = "h e\n\u0120 t\n\u0120t he\na a\n\u0120 \u0120\n\u0120 b\n' s\nb 1\na b\n";
	static struct file files[] = { { "vocab.json", NULL }, { "merges.txt", merges }, { "tokenizer.json", NULL },
				       { NULL, NULL } };
	files[0].text = bpe_vocab_json();
	files[2].text = bpe_json(merges, 1, ROBERTA_MODEL);
	struct tokenizer *t = load(make_model("bpeagree", files));
	CHECK(t && !tokenizer_note(t), "%s", t ? tokenizer_note(t) : err_msg());
	tokenizer_free(t);
	files[2].text = bpe_json(swapped, 0, ROBERTA_MODEL);
	EXPECT_NOTE(make_model("bpemerges", files),
		    "merges.txt and tokenizer.json disagree (merge 1: '\u0120 t' vs 'h e'); using tokenizer.json");
	static struct text json;
	add(&json, "%s", bpe_json(merges, 0, ROBERTA_MODEL));
	/* "ab" moved to 270 (not an added token, whose id must stay the model's: see added_token_ids) */
	replace(&json, "\"ab\": 264,", "\"ab\": 270,");
	files[2].text = json.s;
	EXPECT_NOTE(make_model("bpevocab", files),
		    "vocab.json and tokenizer.json disagree (id 264: 'ab' vs none); using tokenizer.json");
	/* vocab.json without merges.txt */
	static struct file alone[] = { { "vocab.json", NULL }, { "tokenizer.json", NULL }, { NULL, NULL } };
	alone[0].text = bpe_vocab_json();
	alone[1].text = bpe_json(merges, 0, ROBERTA_MODEL);
	EXPECT_NOTE(make_model("bpenomerges", alone), "merges.txt: No such file or directory; using tokenizer.json");
	alone[0] = (struct file){ "vocab.txt", bert_vocab };
	EXPECT_NOTE(make_model("bpetxt", alone), "vocab.txt is not for tokenizer.json's BPE model; using tokenizer.json");
}

TEST(fingerprint_chains_the_files)
{
	static const struct file files[] = { { "vocab.txt", "[UNK]\n" }, { "tokenizer_config.json", "{}" }, { NULL, NULL } };
	const char *dir = make_model("fp", files);
	uint64_t fp = 0, want = xxh64("{}", 2, xxh64("[UNK]\n", 6, 0));
	CHECK(tokenizer_fingerprint(dir, &fp) == 0 && fp == want, "%016llx, want %016llx", (unsigned long long)fp,
	      (unsigned long long)want);
	static const struct file none[] = { { "README", "x" }, { NULL, NULL } };
	CHECK(tokenizer_fingerprint(make_model("fp0", none), &fp) == E_IO, "a folder without tokenizer files");
	/* tokenizer.json alone: its hash */
	static const struct file json[] = { { "tokenizer.json", "{\"model\": {}}" }, { NULL, NULL } };
	want = xxh64("{\"model\": {}}", 13, 0);
	CHECK(tokenizer_fingerprint(make_model("fpjson", json), &fp) == 0 && fp == want, "%016llx, want %016llx",
	      (unsigned long long)fp, (unsigned long long)want);
}

int main(void)
{
	static struct file bert[] = { { "vocab.txt", bert_vocab }, { NULL, NULL } };
	static struct file cased[] = { { "vocab.txt", cased_vocab }, { NULL, NULL } };
	static struct file bpe[] = { { "vocab.json", NULL }, { "merges.txt", merges }, { NULL, NULL } };
	bpe[0].text = bpe_vocab_json();
	bert_dir = make_model("bert", bert);
	cased_dir = make_model("cased", cased);
	bpe_dir = make_model("bpe", bpe);
	RUN(wordpiece_greedy_longest_match);
	RUN(bert_normalizer);
	RUN(bert_pre_tokenizer);
	RUN(word_length_limit_counts_characters);
	RUN(special_tokens_in_text);
	RUN(pairs_and_empty_texts);
	RUN(truncation_longest_first);
	RUN(truncation_early_exit);
	RUN(cjk_spacing_off);
	RUN(cased_vocabulary);
	RUN(tokenizer_json_settings);
	RUN(lowercase_without_stripping);
	RUN(bpe_merges_by_rank);
	RUN(gpt2_pre_tokenizer);
	RUN(roberta_template_and_mask);
	RUN(bad_inputs);
	RUN(wordpiece_from_tokenizer_json_alone);
	RUN(wordpiece_model_settings);
	RUN(bpe_from_tokenizer_json_alone);
	RUN(bpe_model_options);
	RUN(nfc_normalizer);
	RUN(nfc_and_added_tokens);
	RUN(template_processing);
	RUN(modern_settings_refused);
	RUN(bytes_outside_utf8_need_no_token);
	RUN(nfc_quick_check_never_misses);
	RUN(other_model_types_refused);
	RUN(malformed_model_refused);
	RUN(wordpiece_older_file_disagrees);
	RUN(bpe_older_files_disagree);
	RUN(fingerprint_chains_the_files);
	remove_models();
	return check_done();
}
