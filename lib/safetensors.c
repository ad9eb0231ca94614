#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "json.h"
#include "safetensors.h"

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	{ "F32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "F64", 8 }, { "I64", 8 }, { "I32", 4 }, { "I16", 2 },
	{ "I8", 1 },  { "U64", 8 }, { "U32", 4 },  { "U16", 2 }, { "U8", 1 },  { "BOOL", 1 },
	{ "F8_E5M2", 1 }, { "F8_E4M3", 1 },
};

size_t st_dtype_bytes(const char *name)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (!strcmp(dtypes[i].name, name))
			return dtypes[i].size;
	return 0;
}

size_t st_numel(const struct st_tensor *t)
{
	size_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= (size_t)t->shape[i];
	return n;
}

/* Fills t from one header entry; checks dtype, shape and range against the data section. */
static int parse_entry(struct safetensors *st, const struct json *j, int node, const char *name, struct st_tensor *t)
{
	const char *dt = json_str(j, json_get(j, node, "dtype"), NULL);
	int shape = json_get(j, node, "shape"), offs = json_get(j, node, "data_offsets");
	long long v, b, e;
	size_t esize;
	if (!(t->name = strdup(name)))
		return err_set(E_NOMEM, "out of memory");
	if (!dt || !(esize = st_dtype_bytes(dt)))
		return err_set(E_FORMAT, "%s: tensor %s: unknown or missing dtype", st->path, name);
	snprintf(t->dtype, sizeof t->dtype, "%s", dt);
	if (json_type(j, shape) != J_ARRAY || json_len(j, shape) > ST_MAX_DIMS)
		return err_set(E_FORMAT, "%s: tensor %s: bad shape", st->path, name);
	t->ndim = (int)json_len(j, shape);
	size_t numel = 1;
	for (int i = 0; i < t->ndim; i++) {
		if (json_int(j, json_at(j, shape, (size_t)i, NULL), 0, (long long)1 << 40, &v) < 0)
			return err_set(E_FORMAT, "%s: tensor %s: bad shape", st->path, name);
		t->shape[i] = v;
		if (v && numel > SIZE_MAX / 16 / (size_t)v)
			return err_set(E_FORMAT, "%s: tensor %s: shape too large", st->path, name);
		numel *= (size_t)v;
	}
	if (json_type(j, offs) != J_ARRAY || json_len(j, offs) != 2 ||
	    json_int(j, json_at(j, offs, 0, NULL), 0, (long long)st->data_size, &b) < 0 ||
	    json_int(j, json_at(j, offs, 1, NULL), 0, (long long)1 << 62, &e) < 0)
		return err_set(E_FORMAT, "%s: tensor %s: bad data_offsets", st->path, name);
	if (e < b || (size_t)e > st->data_size)
		return err_set(E_FORMAT, "%s: tensor %s: bytes %lld..%lld lie past the end of the data (%zu bytes)", st->path,
			       name, b, e, st->data_size);
	if ((size_t)(e - b) != numel * esize)
		return err_set(E_FORMAT, "%s: tensor %s: shape needs %zu bytes, data_offsets give %lld", st->path, name,
			       numel * esize, e - b);
	t->begin = (size_t)b;
	t->end = (size_t)e;
	return 0;
}

static int by_begin(const void *a, const void *b)
{
	const struct st_tensor *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int parse_header(struct safetensors *st, const char *text, size_t n)
{
	struct json *j = json_parse(text, n, st->path);
	int rc = 0;
	if (!j)
		return err_code();
	int root = json_root(j);
	if (json_type(j, root) != J_OBJECT) {
		json_free(j);
		return err_set(E_FORMAT, "%s: the header is not a JSON object", st->path);
	}
	size_t count = json_len(j, root);
	if (!(st->t = calloc(count ? count : 1, sizeof *st->t))) {
		json_free(j);
		return err_set(E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < count && rc == 0; i++) {
		const char *name;
		int node = json_at(j, root, i, &name);
		if (!strcmp(name, "__metadata__"))
			continue;
		if (json_type(j, node) != J_OBJECT)
			rc = err_set(E_FORMAT, "%s: tensor %s: entry is not an object", st->path, name);
		else
			rc = parse_entry(st, j, node, name, &st->t[st->n++]);
	}
	json_free(j);
	if (rc < 0)
		return rc;
	/* Ranges must not overlap (empty tensors aside). Check on a sorted copy. */
	struct st_tensor *s = malloc((st->n ? st->n : 1) * sizeof *s);
	if (!s)
		return err_set(E_NOMEM, "out of memory");
	memcpy(s, st->t, st->n * sizeof *s);
	qsort(s, st->n, sizeof *s, by_begin);
	size_t last = 0;
	const char *last_name = NULL;
	for (size_t i = 0; i < st->n && rc == 0; i++) {
		if (s[i].begin == s[i].end)
			continue;
		if (last_name && s[i].begin < last)
			rc = err_set(E_FORMAT, "%s: tensors %s and %s overlap", st->path, last_name, s[i].name);
		last = s[i].end;
		last_name = s[i].name;
	}
	free(s);
	return rc;
}

int st_open(struct safetensors *st, const char *path)
{
	int rc;
	memset(st, 0, sizeof *st);
	if (!(st->path = strdup(path)))
		return err_set(E_NOMEM, "out of memory");
	if ((rc = map_file(path, &st->file)) < 0)
		goto fail;
	if (st->file.size < 8) {
		rc = err_set(E_FORMAT, "%s: %zu bytes, too short for a safetensors file", path, st->file.size);
		goto fail;
	}
	uint64_t hlen;
	memcpy(&hlen, st->file.p, 8);
	if (hlen > ST_HEADER_MAX || hlen > st->file.size - 8) {
		rc = err_set(E_FORMAT, "%s: header length %llu exceeds the file (%zu bytes)", path, (unsigned long long)hlen,
			     st->file.size);
		goto fail;
	}
	st->data = st->file.p + 8 + hlen;
	st->data_size = st->file.size - 8 - (size_t)hlen;
	if ((rc = parse_header(st, (const char *)st->file.p + 8, (size_t)hlen)) < 0)
		goto fail;
	return 0;
fail:
	st_close(st);
	return rc;
}

void st_close(struct safetensors *st)
{
	unmap_file(&st->file);
	for (size_t i = 0; i < st->n; i++)
		free(st->t[i].name);
	free(st->t);
	free(st->path);
	memset(st, 0, sizeof *st);
}

const struct st_tensor *st_find(const struct safetensors *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->t[i].name, name))
			return &st->t[i];
	return NULL;
}

int st_read_f32(const struct safetensors *st, const struct st_tensor *t, float *dst)
{
	const unsigned char *src = st->data + t->begin;
	size_t n = st_numel(t);
	if (!strcmp(t->dtype, "F32"))
		dtype_decode(DT_F32, src, dst, n);
	else if (!strcmp(t->dtype, "F16"))
		dtype_decode(DT_F16, src, dst, n);
	else if (!strcmp(t->dtype, "BF16"))
		dtype_decode(DT_BF16, src, dst, n);
	else
		return err_set(E_FORMAT, "%s: tensor %s: dtype %s, expected F32, F16 or BF16", st->path, t->name, t->dtype);
	return 0;
}

/* Writing */

static int append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap : 1024);
		while (c < *len + n + 1)
			c *= 2;
		char *p = realloc(*buf, c);
		if (!p)
			return err_set(E_NOMEM, "out of memory");
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

int st_write(const char *path, const struct st_entry *e, size_t n, enum dtype dtype)
{
	static const char *const names[] = { "F32", "F16", "BF16" };
	char *hdr = NULL, item[512];
	size_t len = 0, cap = 0, off = 0, esize = dtype_size(dtype);
	int rc = append(&hdr, &len, &cap, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t numel = 1;
		char shape[256] = "";
		for (int d = 0; d < e[i].ndim; d++) {
			numel *= (size_t)e[i].shape[d];
			snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? "," : "",
				 (long long)e[i].shape[d]);
		}
		snprintf(item, sizeof item, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}", e[i].name,
			 names[dtype], shape, off, off + numel * esize);
		off += numel * esize;
		rc = append(&hdr, &len, &cap, item);
	}
	rc = rc ? rc : append(&hdr, &len, &cap, "}");
	while (rc == 0 && len % 8) /* pad the header with spaces so the data is 8-byte aligned */
		rc = append(&hdr, &len, &cap, " ");
	struct out *out = rc ? NULL : out_open(path, 0, 0);
	if (!out) {
		free(hdr);
		return rc ? rc : E_IO;
	}
	uint64_t hlen = len;
	rc = out_write(out, &hlen, 8);
	rc = rc ? rc : out_write(out, hdr, len);
	free(hdr);
	void *buf = NULL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t numel = 1;
		for (int d = 0; d < e[i].ndim; d++)
			numel *= (size_t)e[i].shape[d];
		void *p = realloc(buf, numel * esize + 1);
		if (!p) {
			rc = err_set(E_NOMEM, "out of memory");
			break;
		}
		buf = p;
		dtype_encode(dtype, e[i].data, buf, numel);
		rc = out_write(out, buf, numel * esize);
	}
	free(buf);
	if (rc < 0) {
		out_abort(out);
		return rc;
	}
	return out_commit(out);
}
