#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gemm.h"
#include "io.h"
#include "stream.h"

/* Layout (elsa-stream(5)): header 64 bytes, records, end marker 16 bytes; see put_header. */
#define MAGIC "ELSATENS"
#define HEADER_SIZE 64
#define REC_TAG 0x52534c45u /* "ELSR" */
#define END_TAG 0x45534c45u /* "ELSE" */
#define REC_FIXED 24        /* tag, len, id length, flags, label */

static void put16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4); /* elsa runs on little-endian machines (x86-64, arm64) */
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void put_header(unsigned char *b, const struct stream_header *h)
{
	memset(b, 0, HEADER_SIZE);
	memcpy(b, MAGIC, 8);
	put32(b + 8, STREAM_VERSION);
	put32(b + 12, HEADER_SIZE);
	put64(b + 16, h->model);
	put64(b + 24, h->tokenizer);
	put32(b + 32, h->layer);
	put32(b + 36, h->hidden);
	put16(b + 40, (uint16_t)h->dtype);
	put16(b + 42, (uint16_t)h->compute);
	put32(b + 44, h->max_len);
	memcpy(b + 48, h->task, strnlen(h->task, 15));
}

int stream_magic(const void *first8)
{
	return !memcmp(first8, MAGIC, 8);
}

const char *stream_foreign(const void *b, size_t n)
{
	const unsigned char *c = b;
	size_t i = 0;
	/* safetensors: the JSON header's size as 8 bytes, then the header */
	if (n >= 9 && c[8] == '{' && get64(c) > 1 && get64(c) < ((uint64_t)1 << 32))
		return "a safetensors file (a model's weights)";
	if (n >= 4 && !memcmp(c, "PK\3\4", 4))
		return "a zip archive (PyTorch's pytorch_model.bin?)";
	/* JSON: an object, its first key begun (a token stream's first id never is) */
	while (i < n && (c[i] == ' ' || c[i] == '\t' || c[i] == '\n' || c[i] == '\r'))
		i++;
	if (i >= n || c[i++] != '{')
		return NULL;
	while (i < n && (c[i] == ' ' || c[i] == '\t' || c[i] == '\n' || c[i] == '\r'))
		i++;
	return i < n && (c[i] == '"' || c[i] == '}') ? "a JSON file (a config.json?)" : NULL;
}

const char *stream_header_diff(const struct stream_header *a, const struct stream_header *b, char *buf, size_t n)
{
	if (a->model != b->model)
		snprintf(buf, n, "model %016" PRIx64 " vs %016" PRIx64, a->model, b->model);
	else if (a->layer != b->layer)
		snprintf(buf, n, "layer %u vs %u", a->layer, b->layer);
	else if (a->hidden != b->hidden)
		snprintf(buf, n, "hidden size %u vs %u", a->hidden, b->hidden);
	else if (a->dtype != b->dtype)
		snprintf(buf, n, "dtype %s vs %s", dtype_name(a->dtype), dtype_name(b->dtype));
	else if (a->compute != b->compute)
		snprintf(buf, n, "compute %s vs %s", gemm_compute_name(a->compute), gemm_compute_name(b->compute));
	else if (strcmp(a->task, b->task))
		snprintf(buf, n, "task %s vs %s", a->task[0] ? a->task : "-", b->task[0] ? b->task : "-");
	else if (a->tokenizer != b->tokenizer)
		snprintf(buf, n, "tokenizer %016" PRIx64 " vs %016" PRIx64, a->tokenizer, b->tokenizer);
	else if (a->max_len != b->max_len)
		snprintf(buf, n, "max_len %u vs %u", a->max_len, b->max_len);
	else
		buf[0] = 0;
	return buf;
}

/* Reading */

struct stream_reader {
	struct in *in;
	struct stream_header h;
	uint64_t count;   /* records returned */
	uint64_t segment; /* records in the current segment */
	int ended;        /* the current segment's end marker was read */
	unsigned char *buf;
	size_t cap;
};

/* An input error, renamed to its place in the stream: "dev.zst: record 17: <why>". */
static int place_error(struct stream_reader *r, int rc, const char *place)
{
	const char *msg = err_msg(), *name = in_name(r->in);
	size_t k = strlen(name);
	char why[512];
	snprintf(why, sizeof why, "%s", !strncmp(msg, name, k) && msg[k] == ':' ? msg + k + 2 : msg);
	return err_set(rc, "%s: %s: %s", name, place, why);
}

/* Reads exactly n bytes; a short read is truncation ("what" names the part being read). */
static int read_exact(struct stream_reader *r, void *buf, size_t n, const char *what)
{
	char place[48];
	size_t got;
	int rc = in_read(r->in, buf, n, &got);
	snprintf(place, sizeof place, "record %" PRIu64, r->count + 1);
	if (rc < 0)
		return place_error(r, rc, place);
	if (got < n)
		return err_set(E_TRUNC, "%s: %s: truncated (in its %s)", in_name(r->in), place, what);
	return 0;
}

static int parse_header(struct stream_reader *r, const unsigned char *b, struct stream_header *h)
{
	const char *name = in_name(r->in);
	uint32_t version = get32(b + 8), size = get32(b + 12);
	if (!memcmp(b, "#elsa-to", 8))
		return err_set(E_FORMAT, "%s: a token stream (elsa-tokens(5)), not a tensor stream: elsa-embed makes one from it",
			       name);
	if (memcmp(b, MAGIC, 8) && stream_foreign(b, HEADER_SIZE))
		return err_set(E_FORMAT, "%s: %s, not a tensor stream (elsa-stream(5))", name, stream_foreign(b, HEADER_SIZE));
	if (memcmp(b, MAGIC, 8))
		return err_set(E_FORMAT, "%s: not an elsa tensor stream (bad magic)", name);
	if (version != STREAM_VERSION)
		return err_set(E_FORMAT, "%s: stream version %u, this elsa reads version %d", name, version, STREAM_VERSION);
	if (size != HEADER_SIZE)
		return err_set(E_FORMAT, "%s: header size %u, expected %d", name, size, HEADER_SIZE);
	memset(h, 0, sizeof *h);
	h->model = get64(b + 16);
	h->tokenizer = get64(b + 24);
	h->layer = get32(b + 32);
	h->hidden = get32(b + 36);
	h->dtype = get16(b + 40);
	h->compute = get16(b + 42);
	h->max_len = get32(b + 44);
	memcpy(h->task, b + 48, 16);
	if (h->layer > LAYER_MAX)
		return err_set(E_FORMAT, "%s: layer %u is out of range", name, h->layer);
	if (h->hidden == 0 || h->hidden > HIDDEN_MAX)
		return err_set(E_FORMAT, "%s: hidden size %u is out of range", name, h->hidden);
	if (h->dtype > DT_BF16)
		return err_set(E_FORMAT, "%s: unknown dtype %u", name, h->dtype);
	if (h->compute > 1)
		return err_set(E_FORMAT, "%s: unknown compute type %u", name, h->compute);
	if (h->task[15])
		return err_set(E_FORMAT, "%s: task name is not terminated", name);
	for (const char *p = h->task; *p; p++)
		if (*p < '!' || *p > '~')
			return err_set(E_FORMAT, "%s: task name is not printable", name);
	return 0;
}

struct stream_reader *stream_open(const char *path)
{
	struct in *in = in_open(path);
	return in ? stream_open_in(in) : NULL;
}

struct stream_reader *stream_open_in(struct in *in)
{
	unsigned char b[HEADER_SIZE];
	struct stream_reader *r = calloc(1, sizeof *r);
	if (!r) {
		in_close(in);
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	r->in = in;
	size_t got;
	if (in_read(r->in, b, HEADER_SIZE, &got) < 0)
		goto fail;
	if (got == 0) {
		err_set(E_TRUNC, "%s: empty (no stream header)", in_name(r->in));
		goto fail;
	}
	if (got < HEADER_SIZE && got >= 8 && !memcmp(b, "#elsa-to", 8)) {
		err_set(E_FORMAT, "%s: a token stream (elsa-tokens(5)), not a tensor stream: elsa-embed makes one from it",
			in_name(r->in));
		goto fail;
	}
	if (got < HEADER_SIZE && (got < 8 || memcmp(b, MAGIC, 8))) {
		err_set(E_FORMAT, "%s: not an elsa tensor stream", in_name(r->in));
		goto fail;
	}
	if (got < HEADER_SIZE) {
		err_set(E_TRUNC, "%s: truncated (in the header)", in_name(r->in));
		goto fail;
	}
	if (parse_header(r, b, &r->h) < 0)
		goto fail;
	return r;
fail:
	stream_close(r);
	return NULL;
}

const struct stream_header *stream_header(const struct stream_reader *r)
{
	return &r->h;
}

uint64_t stream_count(const struct stream_reader *r)
{
	return r->count;
}

double stream_fraction(const struct stream_reader *r)
{
	return in_fraction(r->in);
}

const char *stream_name(const struct stream_reader *r)
{
	return in_name(r->in);
}

/* After an end marker: the clean end, or the header of a concatenated stream, which must agree. */
static int next_segment(struct stream_reader *r)
{
	unsigned char b[HEADER_SIZE];
	struct stream_header h;
	size_t got;
	char diff[160];
	char place[48];
	int rc = in_read(r->in, b, HEADER_SIZE, &got);
	snprintf(place, sizeof place, "after record %" PRIu64, r->count);
	if (rc < 0)
		return place_error(r, rc, place);
	if (got == 0)
		return 0;
	if (got < HEADER_SIZE)
		return err_set(E_TRUNC, "%s: after record %" PRIu64 ": truncated (in a concatenated stream's header)",
			       in_name(r->in), r->count);
	if ((rc = parse_header(r, b, &h)) < 0)
		return place_error(r, rc, place);
	if (*stream_header_diff(&r->h, &h, diff, sizeof diff))
		return err_set(E_MISMATCH, "%s: after record %" PRIu64 ": concatenated streams differ: %s", in_name(r->in),
			       r->count, diff);
	r->ended = 0;
	r->segment = 0;
	return 1;
}

static int reserve_buf(struct stream_reader *r, size_t n)
{
	if (n <= r->cap)
		return 0;
	unsigned char *p = realloc(r->buf, n);
	if (!p)
		return err_set(E_NOMEM, "out of memory");
	r->buf = p;
	r->cap = n;
	return 0;
}

int stream_next(struct stream_reader *r, struct record *rec)
{
	const char *name = in_name(r->in);
	unsigned char b[REC_FIXED];
	uint64_t no = r->count + 1;
	int rc;
	for (;;) {
		if (r->ended && (rc = next_segment(r)) <= 0)
			return rc;
		if ((rc = read_exact(r, b, 4, "tag")) < 0)
			return rc;
		if (get32(b) != END_TAG)
			break;
		if ((rc = read_exact(r, b + 4, 12, "end marker")) < 0)
			return rc;
		if (get64(b + 8) != r->segment)
			return err_set(E_FORMAT, "%s: end marker counts %" PRIu64 " records, the stream has %" PRIu64, name,
				       get64(b + 8), r->segment);
		r->ended = 1;
	}
	if (get32(b) != REC_TAG)
		return err_set(E_FORMAT, "%s: record %" PRIu64 ": bad record tag (corrupt stream)", name, no);
	if ((rc = read_exact(r, b + 4, REC_FIXED - 4, "size fields")) < 0)
		return rc;
	uint32_t len = get32(b + 4), idlen = get32(b + 8), flags = get32(b + 12);
	double label;
	memcpy(&label, b + 16, 8);
	if (len == 0 || len > SEQ_MAX)
		return err_set(E_FORMAT, "%s: record %" PRIu64 ": sequence length %u is out of range", name, no, len);
	if (idlen == 0 || idlen > ID_MAX)
		return err_set(E_FORMAT, "%s: record %" PRIu64 ": id length %u is out of range", name, no, idlen);
	if (flags || isinf(label))
		return err_set(E_FORMAT, "%s: record %" PRIu64 ": bad flags or label", name, no);
	size_t esize = dtype_size(r->h.dtype), nstates = (size_t)len * r->h.hidden;
	size_t body = idlen + 8 * (size_t)len + nstates * esize;
	/* Read the body in steps that at most double what has arrived, so that a record claiming
	 * gigabytes in a short input is truncation, not a huge allocation; then make room for it. */
	for (size_t have = 0, step; have < body; have += step) {
		step = body - have;
		if (step > (1u << 20) && step > have)
			step = have > (1u << 20) ? have : (1u << 20);
		if ((rc = reserve_buf(r, have + step)) < 0 || (rc = read_exact(r, r->buf + have, step, "body")) < 0)
			return rc;
	}
	if ((rc = record_reserve(rec, len, r->h.hidden)) < 0)
		return rc;
	if ((rc = record_set_id(rec, (const char *)r->buf, idlen)) < 0)
		return err_prefix(rc, "%s: record %" PRIu64, name, no);
	rec->label = label;
	rec->len = len;
	memcpy(rec->tokens, r->buf + idlen, 4 * (size_t)len);
	memcpy(rec->types, r->buf + idlen + 4 * (size_t)len, 4 * (size_t)len);
	dtype_decode(r->h.dtype, r->buf + idlen + 8 * (size_t)len, rec->states, nstates);
	r->count++;
	r->segment++;
	return 1;
}

void stream_close(struct stream_reader *r)
{
	if (!r)
		return;
	in_close(r->in);
	free(r->buf);
	free(r);
}

/* Writing */

struct stream_writer {
	struct out *out;
	struct stream_header h;
	uint64_t count;
	unsigned char *buf;
	size_t cap;
};

struct stream_writer *stream_create(const char *path, const struct stream_header *h, int zstd_level)
{
	unsigned char b[HEADER_SIZE];
	struct stream_writer *w = calloc(1, sizeof *w);
	if (!w) {
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	w->h = *h;
	if (!(w->out = out_open(path, zstd_level, OUT_BINARY))) {
		free(w);
		return NULL;
	}
	put_header(b, h);
	if (out_write(w->out, b, HEADER_SIZE) < 0) {
		stream_abort(w);
		return NULL;
	}
	return w;
}

int stream_write(struct stream_writer *w, const struct record *rec)
{
	size_t idlen = strlen(rec->id), nstates = (size_t)rec->len * w->h.hidden;
	size_t n = REC_FIXED + idlen + 8 * (size_t)rec->len + nstates * dtype_size(w->h.dtype);
	if (n > w->cap) {
		unsigned char *p = realloc(w->buf, n);
		if (!p)
			return err_set(E_NOMEM, "out of memory");
		w->buf = p;
		w->cap = n;
	}
	unsigned char *b = w->buf;
	put32(b, REC_TAG);
	put32(b + 4, rec->len);
	put32(b + 8, (uint32_t)idlen);
	put32(b + 12, 0);
	memcpy(b + 16, &rec->label, 8);
	b += REC_FIXED;
	memcpy(b, rec->id, idlen);
	b += idlen;
	memcpy(b, rec->tokens, 4 * (size_t)rec->len);
	memcpy(b + 4 * (size_t)rec->len, rec->types, 4 * (size_t)rec->len);
	dtype_encode(w->h.dtype, rec->states, b + 8 * (size_t)rec->len, nstates);
	w->count++;
	return out_write(w->out, w->buf, n);
}

int stream_finish(struct stream_writer *w)
{
	unsigned char b[16];
	put32(b, END_TAG);
	put32(b + 4, 0);
	put64(b + 8, w->count);
	int rc = out_write(w->out, b, 16);
	if (rc < 0)
		out_abort(w->out);
	else
		rc = out_commit(w->out);
	free(w->buf);
	free(w);
	return rc;
}

void stream_abort(struct stream_writer *w)
{
	if (!w)
		return;
	out_abort(w->out);
	free(w->buf);
	free(w);
}
