/* The tokenizer against Hugging Face tokenizers' own outputs: ../shared/tokenizer holds 434 inputs
 * (hard cases: accents, CJK, emoji, controls, Unicode spaces, long words, empty texts,
 * truncation ties) and the ids and type ids that the Rust library made for them with
 * bert-base-uncased, bert-base-cased, roberta-base and modernbert-base, with and without
 * truncation at 128; and special/, inputs that write special tokens ([MASK], <s>, <mask>) in the
 * text, with the first three. Each model folder is read as it is (tokenizer.json beside the older
 * files, which must agree with it; modernbert-base's has tokenizer.json alone), and in scratch
 * folders of links to its files: tokenizer.json alone (with config.json and
 * tokenizer_config.json), the older files alone (vocab.txt, or vocab.json and merges.txt; not
 * modernbert-base, which has none), and, for roberta-base, tokenizer.json with its merges
 * rewritten as [left, right] pairs. modernbert-base's added tokens ([MASK] taking the spaces before
 * it, runs of spaces, [unusedN], |||IP_ADDRESS|||) and its NFC normalizer are checked on inputs of
 * their own, against the ids Hugging Face tokenizers 0.23.2 gives them. Skips without ../shared
 * (ELSA_SHARED). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "err.h"
#include "io.h"
#include "record.h"
#include "tokenizer.h"

static const char *shared;
static char scratch[1024]; /* the scratch folders' parent */
/* The model folders in ../shared/models; older: it has vocab.txt, or vocab.json and merges.txt, and
 * special/ has its expected ids. */
static const struct model {
	const char *name;
	int older;
} models[] = { { "bert-base-uncased", 1 }, { "bert-base-cased", 1 }, { "roberta-base", 1 }, { "modernbert-base", 0 } };
#define MODELS (sizeof models / sizeof *models)

/* Undoes the corpus' escapes (\\ \t \n \r) in place; returns the new length. */
static size_t unescape(char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			char e = s[++i];
			c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
		}
		s[k++] = c;
	}
	return k;
}

/* Formats rec's ids and type ids as the expected files write them. */
static void format(const struct record *rec, char *buf, size_t cap)
{
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < rec->len && k < cap; i++)
			k += (size_t)snprintf(buf + k, cap - k, "%s%u", i ? " " : "", pass ? rec->types[i] : rec->tokens[i]);
		if (!pass && k < cap)
			k += (size_t)snprintf(buf + k, cap - k, "\t");
	}
}

/* Runs every input line of inputs (a TSV of one text or a pair) through t and compares with
 * expected; returns the number of differences (and prints the first few). */
static int conform(struct tokenizer *t, const char *dir, const char *inputs, const char *expected, uint32_t max_len)
{
	struct in *in = in_open(inputs), *ex = in_open(expected);
	CHECK(in && ex, "%s", err_msg());
	struct record rec = { 0 };
	static char got[1 << 20];
	char *line, *want;
	size_t len, wlen, lineno = 0;
	int bad = 0;
	while (in && ex && in_line(in, &line, &len) > 0) {
		lineno++;
		char *tab = memchr(line, '\t', len);
		size_t alen = tab ? (size_t)(tab - line) : len;
		char *b = tab ? tab + 1 : NULL;
		size_t blen = tab ? unescape(b, len - alen - 1) : 0;
		alen = unescape(line, alen);
		int rc = tokenizer_encode(t, line, alen, b, blen, max_len, &rec);
		CHECK(rc == 0, "%s line %zu: %s", dir, lineno, err_msg());
		if (in_line(ex, &want, &wlen) <= 0) {
			CHECK(0, "%s: fewer lines than the inputs", expected);
			bad++;
			break;
		}
		format(&rec, got, sizeof got);
		if (rc == 0 && strcmp(got, want)) {
			if (bad++ < 5)
				printf("# %s max_len %u, input line %zu:\n#   want %.300s\n#   got  %.300s\n", dir, max_len,
				       lineno, want, got);
		}
	}
	CHECK(lineno > 0, "%s: no inputs", inputs);
	record_free(&rec);
	in_close(in);
	in_close(ex);
	if (bad)
		printf("# %s max_len %u: %d of %zu lines differ\n", dir, max_len, bad, lineno);
	return bad;
}

/* Both corpora (special/ only for a model with older files), with and without truncation, through
 * the tokenizer of dir, model's files; it must have nothing to note. */
static void run_corpora(const struct model *m, const char *dir)
{
	static const char *const corpora[][2] = { { "", "inputs.tsv" }, { "special/", "inputs_special.tsv" } };
	char inputs[4096], expected[4096];
	struct tokenizer *t = tokenizer_load(dir);
	CHECK(t, "%s", err_msg());
	if (!t)
		return;
	CHECK(!tokenizer_note(t), "%s: %s", dir, tokenizer_note(t));
	for (size_t c = 0; c < (m->older ? 2 : 1); c++)
		for (int trunc = 0; trunc < 2; trunc++) {
			snprintf(inputs, sizeof inputs, "%s/tokenizer/%s%s", shared, corpora[c][0], corpora[c][1]);
			snprintf(expected, sizeof expected, "%s/tokenizer/%sexpected/%s.%s.tsv", shared, corpora[c][0],
				 m->name, trunc ? "trunc128" : "notrunc");
			CHECK(conform(t, dir, inputs, expected, trunc ? 128 : 0) == 0, "%s differs", expected);
		}
	tokenizer_free(t);
}

/* A scratch folder scratch/layout/model of links to those of files that model's shared folder has. */
static const char *make_layout(const char *layout, const char *model, const char *const *files)
{
	static char dir[4096];
	char from[4096], to[8192];
	snprintf(dir, sizeof dir, "%s/%s", scratch, layout);
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/%s/%s", scratch, layout, model);
	CHECK(mkdir(dir, 0700) == 0, "%s: %s", dir, strerror(errno));
	for (size_t i = 0; files[i]; i++) {
		snprintf(from, sizeof from, "%s/models/%s/%s", shared, model, files[i]);
		snprintf(to, sizeof to, "%s/%s", dir, files[i]);
		if (access(from, R_OK) == 0)
			CHECK(symlink(from, to) == 0, "%s: %s", to, strerror(errno));
	}
	return dir;
}

TEST(shared_folders)
{
	char dir[4096];
	for (size_t m = 0; m < MODELS; m++) {
		snprintf(dir, sizeof dir, "%s/models/%s", shared, models[m].name);
		run_corpora(&models[m], dir);
	}
}

TEST(tokenizer_json_alone)
{
	static const char *const files[] = { "config.json", "tokenizer.json", "tokenizer_config.json", NULL };
	for (size_t m = 0; m < MODELS; m++)
		run_corpora(&models[m], make_layout("json", models[m].name, files));
}

TEST(older_files_alone)
{
	static const char *const files[] = { "config.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json",
					     NULL };
	for (size_t m = 0; m < MODELS; m++)
		if (models[m].older)
			run_corpora(&models[m], make_layout("older", models[m].name, files));
}

/* The text of tokenizer.json with its merges, written compactly as "merges":["l r",...] in
 * roberta-base's file, rewritten as [["l","r"],...]; NULL when it has no such merges. */
static char *merges_as_pairs(const char *path, size_t *len)
{
	static const char key[] = "\"merges\":[";
	size_t n, k;
	char *text = read_file_raw(path, &n), *at = text ? strstr(text, key) : NULL, *out = at ? malloc(2 * n) : NULL;
	if (!out) {
		free(text);
		return NULL;
	}
	const char *p = at + strlen(key), *end = text + n;
	k = (size_t)(p - text);
	memcpy(out, text, k);
	while (p < end && *p == '"') {
		memcpy(out + k, "[\"", 2);
		k += 2;
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\') {
				out[k++] = *p++;
				out[k++] = *p;
			} else if (*p == ' ') {
				memcpy(out + k, "\",\"", 3);
				k += 3;
			} else {
				out[k++] = *p;
			}
		}
		memcpy(out + k, "\"]", 2);
		k += 2;
		p++;
		if (p < end && *p == ',')
			out[k++] = *p++;
	}
	memcpy(out + k, p, (size_t)(end - p));
	*len = k + (size_t)(end - p);
	free(text);
	return out;
}

TEST(merges_as_pairs)
{
	static const char *const files[] = { "config.json", "tokenizer_config.json", NULL };
	/* the first rules, and the rule 'Ġ "' with its escape */
	static const char first[] = "\"merges\":[[\"\u0120\",\"t\"],[\"\u0120\",\"a\"],[\"h\",\"e\"],",
			  quote[] = ",[\"\u0120\",\"\\\"\"],";
	char path[4096];
	size_t n = 0;
	snprintf(path, sizeof path, "%s/models/roberta-base/tokenizer.json", shared);
	char *text = merges_as_pairs(path, &n);
	CHECK(text && memmem(text, n, first, sizeof first - 1) && memmem(text, n, quote, sizeof quote - 1),
	      "%s: the merges are not rewritten as pairs", path);
	const char *dir = make_layout("pairs", "roberta-base", files);
	snprintf(path, sizeof path, "%s/tokenizer.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f && text && fwrite(text, 1, n, f) == n && fclose(f) == 0, "%s: %s", path, strerror(errno));
	free(text);
	run_corpora(&models[2], dir);
}

/* modernbert-base's added tokens and NFC on inputs of their own, against the ids (and type ids)
 * Hugging Face tokenizers 0.23.2 gives them: [MASK] takes the spaces before it; runs of 2 to 24
 * spaces are tokens matched before pre-tokenization (leftmost, longest); [unusedN],
 * |||IP_ADDRESS||| and the special tokens are matched in the text, [mask] is not; the text each side
 * of a raw token is composed alone (U+0301 after [MASK] stays); decomposed letters, the Angstrom
 * sign and Hangul jamo compose, marks are reordered; and truncation at 6 cuts after them. */
TEST(modernbert_added_tokens_and_nfc)
{
	static const struct {
		const char *a, *b;
		uint32_t max_len;
		const char *want;
	} cases[] = {
		{ "a [MASK] b", NULL, 0, "50281 66 50284 270 50282\t0 0 0 0 0" },
		{ "a   [MASK]", NULL, 0, "50281 66 50284 50282\t0 0 0 0" },
		{ "x  y", NULL, 0, "50281 89 50276 90 50282\t0 0 0 0 0" },
		{ "x                              y", NULL, 0, "50281 89 50254 50272 90 50282\t0 0 0 0 0 0" },
		{ "|||IP_ADDRESS||| and |||EMAIL_ADDRESS|||x|||PHONE_NUMBER|||", NULL, 0,
		  "50281 0 285 209 50277 89 50278 50282\t0 0 0 0 0 0 0 0" },
		{ "|||IP_ADDRESS||| and |||EMAIL_ADDRESS|||x|||PHONE_NUMBER|||", NULL, 6,
		  "50281 0 285 209 50277 50282\t0 0 0 0 0 0" },
		{ "[unused0][unused82] [unused83]", NULL, 0,
		  "50281 50285 50367 544 328 3197 3245 62 50282\t0 0 0 0 0 0 0 0 0" },
		{ "[unused0][unused82] [unused83]", NULL, 6, "50281 50285 50367 544 328 50282\t0 0 0 0 0 0" },
		{ "<|endoftext|><|padding|>[CLS][SEP][PAD][UNK]", NULL, 0,
		  "50281 50279 1 50281 50282 50283 50280 50282\t0 0 0 0 0 0 0 0" },
		{ "<|endoftext|><|padding|>[CLS][SEP][PAD][UNK]", NULL, 6,
		  "50281 50279 1 50281 50282 50282\t0 0 0 0 0 0" },
		{ "[mask] [MASK ]", NULL, 0, "50281 60 12477 62 544 18690 5032 50282\t0 0 0 0 0 0 0 0" },
		{ "[mask] [MASK ]", NULL, 6, "50281 60 12477 62 544 50282\t0 0 0 0 0 0" },
		{ "cafe\u0301 \u212b \u1100\u1161\u11a8", NULL, 0,
		  "50281 68 2320 860 17732 42984 212 50282\t0 0 0 0 0 0 0 0" },
		{ "cafe\u0301 \u212b \u1100\u1161\u11a8", NULL, 6, "50281 68 2320 860 17732 50282\t0 0 0 0 0 0" },
		{ "\u212b[MASK]\u0301", NULL, 0, "50281 18221 50284 136 212 50282\t0 0 0 0 0 0" },
		{ "|||IP_ADDRESS|||e\u0301 A\u030a\u0301", NULL, 0, "50281 0 860 209 131 120 50282\t0 0 0 0 0 0 0" },
		{ "|||IP_ADDRESS|||e\u0301 A\u030a\u0301", NULL, 6, "50281 0 860 209 131 50282\t0 0 0 0 0 0" },
		{ "\u1e0b\u0323 q\u0307\u0323", NULL, 0,
		  "50281 31498 224 136 218 2805 136 98 136 218 50282\t0 0 0 0 0 0 0 0 0 0 0" },
		{ "\u1e0b\u0323 q\u0307\u0323", NULL, 6, "50281 31498 224 136 218 50282\t0 0 0 0 0 0" },
		{ "a [MASK]", "  b", 0, "50281 66 50284 50282 50276 67 50282\t0 0 0 0 0 0 0" },
		{ "e\u0301", "", 0, "50281 860 50282 50282\t0 0 0 0" },
		{ "", "", 0, "50281 50282 50282\t0 0 0" },
	};
	static char got[4096];
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/models/modernbert-base", shared);
	struct tokenizer *t = tokenizer_load(dir);
	struct record rec = { 0 };
	CHECK(t, "%s", err_msg());
	for (size_t i = 0; t && i < sizeof cases / sizeof *cases; i++) {
		const char *a = cases[i].a, *b = cases[i].b;
		int rc = tokenizer_encode(t, a, strlen(a), b, b ? strlen(b) : 0, cases[i].max_len, &rec);
		if (rc == 0)
			format(&rec, got, sizeof got);
		CHECK(rc == 0 && !strcmp(got, cases[i].want), "'%s' / '%s' (max_len %u): %s, want %s", a, b ? b : "(none)",
		      cases[i].max_len, rc ? err_msg() : got, cases[i].want);
	}
	record_free(&rec);
	tokenizer_free(t);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

int main(void)
{
	static const char *const tests[] = { "shared_folders", "tokenizer_json_alone", "older_files_alone",
					     "merges_as_pairs", "modernbert_added_tokens_and_nfc" };
	char probe[4096];
	const char *tmp = getenv("TMPDIR");
	shared = getenv("ELSA_SHARED");
	snprintf(probe, sizeof probe, "%s/tokenizer/inputs.tsv", shared ? shared : "");
	if (!shared || access(probe, R_OK)) {
		for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
			check_skip(tests[i], "no ../shared/tokenizer (ELSA_SHARED)");
		return check_done();
	}
	snprintf(scratch, sizeof scratch, "%s/elsa-conformance.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch)) {
		perror(scratch);
		return 1;
	}
	RUN(shared_folders);
	RUN(tokenizer_json_alone);
	RUN(older_files_alone);
	RUN(merges_as_pairs);
	RUN(modernbert_added_tokens_and_nfc);
	nftw(scratch, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
