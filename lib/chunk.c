#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chunk.h"
#include "err.h"
#include "mem.h"
#include "stream.h"
#include "tokens.h"

/* The next record slot, growing the array. */
static struct record *slot(struct chunk *ch)
{
	const struct grow_array arrays[] = { GROW_ARRAY(ch->rec), GROW_ARRAY(ch->lens) };
	size_t old = ch->cap;
	if (grow_together(arrays, (int)(sizeof arrays / sizeof *arrays), &ch->cap, ch->n + 1) < 0)
		return NULL;
	memset(ch->rec + old, 0, (ch->cap - old) * sizeof *ch->rec);
	return &ch->rec[ch->n];
}

/* Lays the n records end to end: tokens, types and, when states is set, states (hidden each).
 * Token records leave states out: a reused slot may hold stale states of another length. */
static int lay_out(struct chunk *ch, int hidden, int heads, int states)
{
	size_t T = 0, H = (size_t)(hidden > 0 ? hidden : 0);
	for (size_t i = 0; i < ch->n; i++)
		ch->lens[i] = ch->rec[i].len, T += ch->rec[i].len;
	const struct plan_array arrays[] = { PLAN_ARRAY(ch->tokens, T), PLAN_ARRAY(ch->types, T),
					     PLAN_ARRAY(ch->x, T * H) };
	if (plan_reserve(&ch->mem, &ch->mem_cap, arrays, (int)(sizeof arrays / sizeof *arrays)) < 0)
		return E_NOMEM;
	if (batch_set(&ch->b, ch->n, ch->lens, heads) < 0)
		return E_NOMEM;
	for (size_t i = 0; i < ch->n; i++) {
		const struct record *r = &ch->rec[i];
		size_t at = ch->b.start[i];
		memcpy(ch->tokens + at, r->tokens, r->len * sizeof *r->tokens);
		memcpy(ch->types + at, r->types, r->len * sizeof *r->types);
		if (states && H && r->states)
			memcpy(ch->x + at * H, r->states, r->len * H * sizeof *ch->x);
	}
	return 0;
}

/* The next record of a tensor or a token stream, checked against the model unless c is NULL. */
typedef int (*next_fn)(void *src, struct record *rec, const struct model_config *c);

static int next_tensors(void *src, struct record *rec, const struct model_config *c)
{
	struct stream_reader *r = src;
	int rc = stream_next(r, rec);
	if (rc > 0 && c && rec->len > config_max_tokens(c))
		return err_set(E_MISMATCH, "%s: record %" PRIu64 " (example %s): %u tokens, the model has %u positions",
			       stream_name(r), stream_count(r), rec->id, rec->len, config_max_tokens(c));
	return rc;
}

static int next_tokens(void *src, struct record *rec, const struct model_config *c)
{
	struct tokens_reader *r = src;
	int rc = tokens_next(r, rec);
	if (rc <= 0 || !c)
		return rc;
	if ((rc = embeddings_check(c, rec)) < 0)
		return err_prefix(rc, "%s: line %zu (example %s)", tokens_name(r), tokens_line(r), rec->id);
	return 1;
}

/* Reads and drops the records before the shard's first. 1, 0 when the input ended, or <0. */
static int skip_to_shard(struct chunk *ch, void *src, next_fn next)
{
	while (ch->shard.n && ch->read < ch->shard.first) {
		struct record *rec = slot(ch);
		int rc = rec ? next(src, rec, NULL) : err_set(E_NOMEM, "out of memory");
		if (rc <= 0)
			return rc;
		ch->read++;
	}
	return 1;
}

/* Whether the shard's last record has been read. An input without records is read to its end
 * all the same, so that its header has been read (elsa-embed copies the token stream's). */
static int shard_done(const struct chunk *ch)
{
	return ch->shard.n && ch->read >= ch->shard.end && ch->read > 0;
}

/* Reads records until max_tokens are gathered or the source (or the shard) ends, then lays them
 * out. name is the source's, for the message when it ends before its shard does. */
static int read_chunk(struct chunk *ch, void *src, next_fn next, const char *name, size_t max_tokens,
		      const struct model_config *c, int states)
{
	size_t T = 0;
	ch->n = 0;
	int rc = skip_to_shard(ch, src, next);
	while (rc > 0 && T < max_tokens && !shard_done(ch)) {
		struct record *rec = slot(ch);
		if (!rec)
			return err_set(E_NOMEM, "out of memory");
		if ((rc = next(src, rec, c)) <= 0)
			break;
		T += rec->len;
		ch->n++;
		ch->read++;
	}
	if (rc < 0)
		return rc;
	if (rc == 0 && ch->shard.n && ch->read < ch->shard.end)
		return err_set(E_MISMATCH, "%s: ends after %" PRIu64 " records, %" PRIu64 " were counted (it changed "
					   "while being read)", name, ch->read, ch->shard.total);
	return (rc = lay_out(ch, c->hidden, c->heads, states)) < 0 ? rc : (int)ch->n;
}

int chunk_read_stream(struct chunk *ch, struct stream_reader *r, size_t max_tokens, const struct model_config *c)
{
	return read_chunk(ch, r, next_tensors, stream_name(r), max_tokens, c, 1);
}

int chunk_read_tokens(struct chunk *ch, struct tokens_reader *r, size_t max_tokens, const struct model_config *c)
{
	return read_chunk(ch, r, next_tokens, tokens_name(r), max_tokens, c, 0);
}

/* A whole number of 1 to 8 digits at *p, which moves past it; -1 when there is none. */
static long whole_number(const char **p)
{
	long v = 0;
	int digits = 0;
	for (; **p >= '0' && **p <= '9' && digits < 8; digits++)
		v = 10 * v + (*(*p)++ - '0');
	return digits ? v : -1;
}

int shard_parse(const char *arg, struct shard *s)
{
	const char *p = arg;
	long k = whole_number(&p), n = -1;
	if (*p == '/') {
		p++;
		n = whole_number(&p);
	}
	if (*p || k < 1 || n < k || n > SHARDS_MAX)
		return err_set(E_ARG, "--shard: '%s' is not K/N (shard K of N, 1 <= K <= N <= %d)", arg, SHARDS_MAX);
	*s = (struct shard){ .k = (uint32_t)k, .n = (uint32_t)n };
	return 0;
}

/* Counts the records of the input at path, reading it through. */
typedef int (*count_fn)(const char *path, struct record *rec, uint64_t *count);

static int count_tokens(const char *path, struct record *rec, uint64_t *count)
{
	struct tokens_reader *r = tokens_open(path);
	int rc = E_IO;
	while (r && (rc = tokens_next(r, rec)) > 0)
		++*count;
	tokens_close(r);
	return rc;
}

static int count_tensors(const char *path, struct record *rec, uint64_t *count)
{
	struct stream_reader *r = stream_open(path);
	int rc = E_IO;
	while (r && (rc = stream_next(r, rec)) > 0)
		++*count;
	stream_close(r);
	return rc;
}

static int set_shard(struct chunk *ch, const char *path, struct shard s, count_fn count)
{
	struct stat st;
	int in_stdin = !path || !strcmp(path, "-");
	if (in_stdin || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
		return err_set(E_ARG, "%s: --shard needs a regular file: it reads the input twice (to count its "
				      "examples, then its shard)", in_stdin ? "stdin" : path);
	struct record rec = { 0 };
	s.total = 0;
	int rc = count(path, &rec, &s.total);
	record_free(&rec);
	if (rc < 0)
		return rc;
	uint64_t size = s.total / s.n, more = s.total % s.n, before = s.k - 1;
	s.first = before * size + (before < more ? before : more);
	s.end = s.first + size + (before < more);
	ch->shard = s;
	return 0;
}

int chunk_shard_tokens(struct chunk *ch, const char *path, struct shard s)
{
	return set_shard(ch, path, s, count_tokens);
}

int chunk_shard_stream(struct chunk *ch, const char *path, struct shard s)
{
	return set_shard(ch, path, s, count_tensors);
}

int chunk_write(struct chunk *ch, const float *y, int hidden, struct stream_writer *w)
{
	size_t H = (size_t)hidden;
	for (size_t i = 0; i < ch->n; i++) {
		struct record *r = &ch->rec[i];
		int rc = record_reserve(r, r->len, H);
		if (rc < 0)
			return rc;
		memcpy(r->states, y + ch->b.start[i] * H, r->len * H * sizeof *y);
		if ((rc = stream_write(w, r)) < 0)
			return rc;
	}
	return 0;
}

void chunk_free(struct chunk *ch)
{
	for (size_t i = 0; i < ch->cap; i++)
		record_free(&ch->rec[i]);
	free(ch->rec);
	free(ch->lens);
	free(ch->mem);
	batch_free(&ch->b);
	memset(ch, 0, sizeof *ch);
}
