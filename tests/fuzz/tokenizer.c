/* The tokenizer files (tokenizer.h): vocab.txt, or vocab.json and merges.txt, with or without
 * tokenizer.json and tokenizer_config.json, or tokenizer.json alone, loaded by tokenizer_load, then
 * texts encoded with it.
 *
 * Input: one flag byte, then sections separated by the byte 0x1E (see SEP):
 *   flags & 1: BPE (sections vocab.json, merges.txt) else WordPiece (section vocab.txt)
 *   flags & 2: a tokenizer.json section follows; flags & 4: a tokenizer_config.json section
 *   flags >> 3: max_len (0: none, else 2 + that)
 *   the last section: texts to encode, one example a line, a TAB before a pair's second text.
 * An empty section is no file: an empty vocab.txt section and a tokenizer.json section make a
 * folder of tokenizer.json alone. */
#include <ftw.h>
#include <limits.h>

#include "fuzz.h"
#include "record.h"
#include "tokenizer.h"

#define SEP 0x1E

static char dir[PATH_MAX];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

static void cleanup(void)
{
	if (dir[0])
		nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Writes (or, with data NULL or empty, removes) file name in the scratch folder. */
static void put(const char *name, const uint8_t *data, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!data || !n) {
		unlink(path);
		return;
	}
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

/* The next section of data (up to SEP or the end). */
static const uint8_t *next(const uint8_t **data, size_t *size, size_t *n)
{
	const uint8_t *a, *b;
	size_t nb;
	fuzz_split(*data, *size, SEP, &a, n, &b, &nb);
	*data = b;
	*size = nb;
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/elsa-fuzz-tok.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			perror(dir);
			abort();
		}
		atexit(cleanup);
	}
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	data++, size--;
	size_t n = 0;
	const uint8_t *s;
	put("vocab.txt", NULL, 0);
	put("vocab.json", NULL, 0);
	put("merges.txt", NULL, 0);
	if (flags & 1) {
		s = next(&data, &size, &n);
		put("vocab.json", s, n);
		s = next(&data, &size, &n);
		put("merges.txt", s, n);
	} else {
		s = next(&data, &size, &n);
		put("vocab.txt", s, n);
	}
	s = (flags & 2) ? next(&data, &size, &n) : NULL;
	put("tokenizer.json", s, n);
	s = (flags & 4) ? next(&data, &size, &n) : NULL;
	put("tokenizer_config.json", s, n);

	uint64_t fp;
	tokenizer_fingerprint(dir, &fp); /* may fail: a file that starts as zstd but is not */
	struct tokenizer *t = tokenizer_load(dir);
	if (!t)
		return 0;
	uint32_t max_len = flags >> 3 ? 2 + (flags >> 3) : 0;
	int specials[2] = { tokenizer_specials(t, 0), tokenizer_specials(t, 1) };
	struct record rec = { 0 };
	for (int lines = 0; size && lines < 64; lines++) {
		const uint8_t *nl = memchr(data, '\n', size), *line = data;
		n = nl ? (size_t)(nl - data) : size;
		data += n + (nl != NULL);
		size -= n + (nl != NULL);
		const uint8_t *tab = memchr(line, '\t', n);
		size_t na = tab ? (size_t)(tab - line) : n;
		int pair = tab != NULL;
		int rc = tokenizer_encode(t, (const char *)line, na, pair ? (const char *)tab + 1 : NULL,
					  pair ? n - na - 1 : 0, max_len, &rec);
		if (rc == 0 && ((max_len && rec.len > max_len) || rec.len < (uint32_t)specials[pair] || rec.len > SEQ_MAX))
			abort(); /* truncation and the template keep their promises */
	}
	record_free(&rec);
	tokenizer_free(t);
	return 0;
}
