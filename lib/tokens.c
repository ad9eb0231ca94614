#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "stream.h"
#include "tokens.h"

#define MAGIC "#elsa-tokens"
#define VERSION 1

struct tokens_reader {
	struct in *in;
	struct tokens_header header;
	int has_header;   /* the stream has header lines */
	int open_segment; /* a header was read and its end line not yet */
	uint64_t count;   /* records since the last header */
	size_t line;
};

static int parse_header(struct tokens_reader *r, char *line, struct tokens_header *h)
{
	const char *name = in_name(r->in);
	char *save, *f = strtok_r(line, " ", &save);
	int version = 0;
	memset(h, 0, sizeof *h);
	if (!f || strcmp(f, MAGIC) || !(f = strtok_r(NULL, " ", &save)) || sscanf(f, "%d", &version) != 1)
		return err_set(E_FORMAT, "%s: line %zu: malformed header", name, r->line);
	if (version != VERSION)
		return err_set(E_FORMAT, "%s: line %zu: token stream version %d (this elsa reads %d)", name, r->line,
			       version, VERSION);
	while ((f = strtok_r(NULL, " ", &save))) {
		char *v = strchr(f, '='), *end = NULL;
		if (!v)
			return err_set(E_FORMAT, "%s: line %zu: malformed header field '%s'", name, r->line, f);
		*v++ = 0;
		if (!strcmp(f, "task")) {
			if (strlen(v) >= sizeof h->task)
				return err_set(E_FORMAT, "%s: line %zu: task name too long", name, r->line);
			strcpy(h->task, strcmp(v, "-") ? v : "");
			continue;
		}
		if (!strcmp(f, "tokenizer"))
			h->tokenizer = strtoull(v, &end, 16);
		else if (!strcmp(f, "max_len"))
			h->max_len = (uint32_t)strtoul(v, &end, 10);
		else
			continue; /* fields of later versions are skipped */
		if (end == v || *end)
			return err_set(E_FORMAT, "%s: line %zu: malformed header field '%s'", name, r->line, f);
	}
	return 0;
}

/* The message for a concatenated stream whose header differs: the first difference, the first
 * stream's value before the new one's (as elsa-stream(5) readers say it). */
static int header_mismatch(const struct tokens_reader *r, const struct tokens_header *h)
{
	const struct tokens_header *a = &r->header;
	char diff[96];
	if (strcmp(a->task, h->task))
		snprintf(diff, sizeof diff, "task %s vs %s", a->task[0] ? a->task : "-", h->task[0] ? h->task : "-");
	else if (a->tokenizer != h->tokenizer)
		snprintf(diff, sizeof diff, "tokenizer %016" PRIx64 " vs %016" PRIx64, a->tokenizer, h->tokenizer);
	else
		snprintf(diff, sizeof diff, "max_len %u vs %u", a->max_len, h->max_len);
	return err_set(E_MISMATCH, "%s: line %zu: concatenated streams differ: %s", in_name(r->in), r->line, diff);
}

struct tokens_reader *tokens_open(const char *path)
{
	struct in *in = in_open(path);
	return in ? tokens_open_in(in) : NULL;
}

struct tokens_reader *tokens_open_in(struct in *in)
{
	struct tokens_reader *r = calloc(1, sizeof *r);
	if (!r) {
		in_close(in);
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	r->in = in;
	char first[16];
	long n = in_peek(in, first, sizeof first);
	const char *kind = n >= 8 && stream_magic(first) ? "a tensor stream (elsa-stream(5))" :
			   n > 0 ? stream_foreign(first, (size_t)n) : NULL;
	if (kind) {
		err_set(E_FORMAT, "%s: %s, not a token stream (elsa-tokens(5))", in_name(in), kind);
		tokens_close(r);
		return NULL;
	}
	return r;
}

const struct tokens_header *tokens_header(const struct tokens_reader *r)
{
	return r->has_header ? &r->header : NULL;
}

double tokens_fraction(const struct tokens_reader *r)
{
	return in_fraction(r->in);
}

const char *tokens_name(const struct tokens_reader *r)
{
	return in_name(r->in);
}

size_t tokens_line(const struct tokens_reader *r)
{
	return r->line;
}

/* Parses space-separated whole numbers below 2^32 from s into v (room for max); returns count or -1. */
static long parse_ids(const char *s, uint32_t *v, size_t max)
{
	size_t n = 0;
	while (*s) {
		uint64_t x = 0;
		const char *start = s;
		while (*s >= '0' && *s <= '9' && s - start < 11)
			x = x * 10 + (uint64_t)(*s++ - '0');
		if (s == start || x > UINT32_MAX || (*s && *s != ' ') || n == max)
			return -1;
		v[n++] = (uint32_t)x;
		if (*s == ' ' && !*++s)
			return -1;
	}
	return (long)n;
}

static int parse_record(struct tokens_reader *r, char *line, struct record *rec)
{
	const char *name = in_name(r->in);
	char *f[4], *p = line;
	for (int i = 0; i < 4; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (!p && i < 3)
			return err_set(E_FORMAT, "%s: line %zu: %d fields, expected 4 (id, label, tokens, types)", name,
				       r->line, i + 1);
		if (p)
			*p++ = 0;
	}
	if (p)
		return err_set(E_FORMAT, "%s: line %zu: more than 4 fields", name, r->line);
	if (record_set_id(rec, f[0], strlen(f[0])) < 0 || label_parse(f[1], &rec->label) < 0)
		return err_prefix(E_FORMAT, "%s: line %zu", name, r->line);
	/* Count tokens first so the record has room: one more than the spaces. */
	size_t n = 1;
	for (const char *q = f[2]; *q; q++)
		n += *q == ' ';
	if (n > SEQ_MAX)
		return err_set(E_FORMAT, "%s: line %zu: more than %d tokens", name, r->line, SEQ_MAX);
	if (record_reserve(rec, (uint32_t)n, 0) < 0)
		return E_NOMEM;
	long nt = parse_ids(f[2], rec->tokens, n);
	long ny = parse_ids(f[3], rec->types, n);
	if (nt <= 0)
		return err_set(E_FORMAT, "%s: line %zu: token ids are not space-separated numbers", name, r->line);
	if (ny != nt)
		return err_set(E_FORMAT, "%s: line %zu: %ld token ids but %s type ids", name, r->line, nt,
			       ny < 0 ? "malformed" : ny == 0 ? "no" : "a different number of");
	rec->len = (uint32_t)nt;
	return 0;
}

/* A first line that is neither a header nor a record: the reason given (err_msg()), and what the
 * input likely is (text with TABs, but no token stream: a GLUE file not yet tokenized). */
static int not_tokens(int rc)
{
	char why[512];
	snprintf(why, sizeof why, "%s", err_msg());
	return err_set(rc, "%s; not a token stream (no #elsa-tokens header): a GLUE TSV file? elsa-tokenize makes its "
			   "token stream", why);
}

int tokens_next(struct tokens_reader *r, struct record *rec)
{
	const char *name = in_name(r->in);
	char *line;
	size_t len;
	int rc;
	while ((rc = in_line(r->in, &line, &len)) > 0) {
		r->line++;
		if (rc == 2)
			return err_set(E_TRUNC, "%s: line %zu: truncated (the last line has no newline)", name, r->line);
		if (len && line[len - 1] == '\r') /* a file that went through a CRLF editor */
			line[--len] = 0;
		if (strlen(line) != len && !r->has_header && r->line == 1)
			return err_set(E_FORMAT, "%s: line 1: NUL byte: binary data, not a token stream (elsa-tokens(5))", name);
		if (strlen(line) != len)
			return err_set(E_FORMAT, "%s: line %zu: NUL byte", name, r->line);
		if (!strncmp(line, MAGIC, strlen(MAGIC))) {
			struct tokens_header h;
			if (r->open_segment)
				return err_set(E_FORMAT, "%s: line %zu: a header before the end line of the previous "
						    "stream (a cut stream was concatenated?)", name, r->line);
			if ((rc = parse_header(r, line, &h)) < 0)
				return rc;
			if (r->has_header && memcmp(&h, &r->header, sizeof h))
				return header_mismatch(r, &h);
			if (!r->has_header && r->line > 1)
				return err_set(E_FORMAT, "%s: line %zu: a header after records", name, r->line);
			r->header = h;
			r->has_header = r->open_segment = 1;
			r->count = 0;
			continue;
		}
		if (!strncmp(line, "#end", 4)) {
			char *end;
			uint64_t n = strtoull(line + 4 + (line[4] == ' '), &end, 10);
			if (!r->open_segment || line[4] != ' ' || *end)
				return err_set(E_FORMAT, "%s: line %zu: unexpected end line", name, r->line);
			if (n != r->count)
				return err_set(E_FORMAT, "%s: line %zu: end line says %" PRIu64 " records, the stream has "
						    "%" PRIu64, name, r->line, n, r->count);
			r->open_segment = 0;
			continue;
		}
		if (r->has_header && !r->open_segment)
			return err_set(E_FORMAT, "%s: line %zu: a record after the end line", name, r->line);
		if ((rc = parse_record(r, line, rec)) < 0 && !r->has_header && r->line == 1)
			return not_tokens(rc);
		if (rc < 0)
			return rc;
		r->count++;
		return 1;
	}
	if (rc < 0)
		return rc;
	if (r->line == 0)
		return err_set(E_TRUNC, "%s: empty (not even a header line)", name);
	if (r->open_segment)
		return err_set(E_TRUNC, "%s: truncated: no end line after %" PRIu64 " records", name, r->count);
	return 0;
}

void tokens_close(struct tokens_reader *r)
{
	if (!r)
		return;
	in_close(r->in);
	free(r);
}

int tokens_write_header(struct out *out, const struct tokens_header *h)
{
	return out_printf(out, MAGIC " %d task=%s tokenizer=%016" PRIx64 " max_len=%u\n", VERSION,
			  h->task[0] ? h->task : "-", h->tokenizer, h->max_len);
}

/* Appends " %u" for each value (no leading space for the first) to p; returns the new end. */
static char *put_ids(char *p, const uint32_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		char tmp[10];
		int k = 0;
		uint32_t x = v[i];
		if (i)
			*p++ = ' ';
		do
			tmp[k++] = (char)('0' + x % 10);
		while ((x /= 10));
		while (k)
			*p++ = tmp[--k];
	}
	return p;
}

int tokens_write(struct out *out, const struct record *rec)
{
	char small[4096], *buf = small;
	size_t need = strlen(rec->id) + 40 + 22 * (size_t)rec->len;
	if (need > sizeof small && !(buf = malloc(need)))
		return err_set(E_NOMEM, "out of memory");
	char label[32];
	label_format(rec->label, label);
	char *p = buf + sprintf(buf, "%s\t%s\t", rec->id, label);
	p = put_ids(p, rec->tokens, rec->len);
	*p++ = '\t';
	p = put_ids(p, rec->types, rec->len);
	*p++ = '\n';
	int rc = out_write(out, buf, (size_t)(p - buf));
	if (buf != small)
		free(buf);
	return rc;
}

int tokens_write_end(struct out *out, uint64_t count)
{
	return out_printf(out, "#end %" PRIu64 "\n", count);
}
