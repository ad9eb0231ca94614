/* The tokenizer against Hugging Face tokenizers' own outputs: ../shared/tokenizer holds 434 inputs
 * (hard cases: accents, CJK, emoji, controls, Unicode spaces, long words, empty texts,
 * truncation ties) and the ids and type ids that the Rust library made for them with
 * bert-base-uncased, bert-base-cased and roberta-base, with and without truncation at 128; and
 * special/, inputs that write special tokens ([MASK], <s>, <mask>) in the text. Skips without
 * ../shared (ELSA_SHARED). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "io.h"
#include "record.h"
#include "tokenizer.h"

static const char *shared;
static const char *models[] = { "bert-base-uncased", "bert-base-cased", "roberta-base" };

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

/* Runs every input line of inputs (a TSV of one text or a pair) through the model and compares
 * with expected; returns the number of differences (and prints the first few). */
static int conform(const char *model, const char *inputs, const char *expected, uint32_t max_len)
{
	char dir[4096], path[4096];
	snprintf(dir, sizeof dir, "%s/models/%s", shared, model);
	struct tokenizer *t = tokenizer_load(dir);
	CHECK(t, "%s", err_msg());
	if (!t)
		return 1;
	struct in *in = in_open(inputs), *ex = in_open(expected);
	CHECK(in && ex, "%s", err_msg());
	snprintf(path, sizeof path, "%s", inputs);
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
		CHECK(rc == 0, "%s line %zu: %s", model, lineno, err_msg());
		if (in_line(ex, &want, &wlen) <= 0) {
			CHECK(0, "%s: fewer lines than the inputs", expected);
			bad++;
			break;
		}
		format(&rec, got, sizeof got);
		if (rc == 0 && strcmp(got, want)) {
			if (bad++ < 5)
				printf("# %s max_len %u, input line %zu:\n#   want %.300s\n#   got  %.300s\n", model, max_len,
				       lineno, want, got);
		}
	}
	CHECK(lineno > 0, "%s: no inputs", inputs);
	record_free(&rec);
	in_close(in);
	in_close(ex);
	tokenizer_free(t);
	if (bad)
		printf("# %s max_len %u: %d of %zu lines differ\n", model, max_len, bad, lineno);
	return bad;
}

static void run_corpus(const char *sub, const char *file)
{
	char inputs[4096], expected[4096];
	snprintf(inputs, sizeof inputs, "%s/tokenizer/%s%s", shared, sub, file);
	for (size_t m = 0; m < sizeof models / sizeof *models; m++)
		for (int trunc = 0; trunc < 2; trunc++) {
			snprintf(expected, sizeof expected, "%s/tokenizer/%sexpected/%s.%s.tsv", shared, sub, models[m],
				 trunc ? "trunc128" : "notrunc");
			CHECK(conform(models[m], inputs, expected, trunc ? 128 : 0) == 0, "%s differs", expected);
		}
}

TEST(corpus)
{
	run_corpus("", "inputs.tsv");
}

TEST(special_tokens_in_text)
{
	run_corpus("special/", "inputs_special.tsv");
}

int main(void)
{
	char probe[4096];
	shared = getenv("ELSA_SHARED");
	snprintf(probe, sizeof probe, "%s/tokenizer/inputs.tsv", shared ? shared : "");
	if (!shared || access(probe, R_OK)) {
		check_skip("corpus", "no ../shared/tokenizer (ELSA_SHARED)");
		check_skip("special_tokens_in_text", "no ../shared/tokenizer (ELSA_SHARED)");
		return check_done();
	}
	RUN(corpus);
	RUN(special_tokens_in_text);
	return check_done();
}
