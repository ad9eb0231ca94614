#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataset.h"
#include "err.h"
#include "half.h"
#include "io.h"
#include "mem.h"
#include "record.h"

/* Grows the in-memory arrays to hold one more record, its id and its tokens. */
static int grow_records(struct dataset *d, size_t *cap, size_t idbytes, size_t *idcap, size_t ntokens, size_t *tokcap)
{
	const struct grow_array records[] = { GROW_ARRAY(d->len), GROW_ARRAY(d->label), GROW_ARRAY(d->id_off),
					      GROW_ARRAY(d->off), GROW_ARRAY(d->tok_off) };
	const struct grow_array tokens[] = { GROW_ARRAY(d->tokens), GROW_ARRAY(d->types) };
	if (grow_together(records, (int)(sizeof records / sizeof *records), cap, d->n + 1) < 0 ||
	    grow_together(tokens, (int)(sizeof tokens / sizeof *tokens), tokcap, ntokens) < 0)
		return E_NOMEM;
	return grow((void **)&d->ids, idcap, idbytes, 1);
}

/* What dataset_load keeps while it reads: the arrays' capacities, the bytes of ids and of states
 * so far, one record's states encoded, and the temporary file that holds them all. */
struct loading {
	size_t cap, idcap, tokcap, idlen, bytes;
	void *buf;
	size_t bufcap;
	FILE *f;
	const char *dir;
};

/* Opens the stream at path: E_IO when it cannot be opened (in_open says why), E_FORMAT when it
 * is not a tensor stream. */
static int open_stream(const char *path, struct stream_reader **r)
{
	struct in *in = in_open(path);
	if (!in)
		return err_code();
	return (*r = stream_open_in(in)) ? 0 : E_FORMAT;
}

/* An unlinked temporary file in dir, for the states. */
static int open_temporary(struct loading *l)
{
	char *tmp = path_join(l->dir, ".elsa-dataset.XXXXXX");
	if (!tmp)
		return E_NOMEM;
	int fd = mkstemp(tmp), rc = 0;
	if (fd < 0 || unlink(tmp) < 0 || !(l->f = fdopen(fd, "w+b"))) {
		rc = err_set(E_IO, "%s: cannot make a temporary file: %s", l->dir, strerror(errno));
		if (fd >= 0 && !l->f)
			close(fd);
	}
	free(tmp);
	return rc;
}

/* Appends rec: its id, label and tokens to d's arrays, its states to the temporary file. */
static int add_record(struct dataset *d, struct loading *l, const struct record *rec)
{
	size_t n = strlen(rec->id) + 1, values = (size_t)rec->len * d->h.hidden;
	size_t sbytes = values * dtype_size(d->h.dtype);
	int rc = grow_records(d, &l->cap, l->idlen + n, &l->idcap, d->ntokens + rec->len, &l->tokcap);
	if (rc < 0 || (rc = grow(&l->buf, &l->bufcap, sbytes, 1)) < 0)
		return rc;
	d->len[d->n] = rec->len;
	d->label[d->n] = rec->label;
	d->id_off[d->n] = l->idlen;
	memcpy(d->ids + l->idlen, rec->id, n);
	l->idlen += n;
	d->off[d->n] = l->bytes;
	d->tok_off[d->n] = d->ntokens;
	memcpy(d->tokens + d->ntokens, rec->tokens, rec->len * sizeof *rec->tokens);
	memcpy(d->types + d->ntokens, rec->types, rec->len * sizeof *rec->types);
	dtype_encode(d->h.dtype, rec->states, l->buf, values);
	if (fwrite(l->buf, 1, sbytes, l->f) != sbytes)
		return err_set(E_IO, "%s: writing the temporary copy of %s: %s", l->dir, d->name, strerror(errno));
	l->bytes += sbytes;
	d->ntokens += rec->len;
	d->n++;
	return 0;
}

int dataset_load(struct dataset *d, const char *path, const char *dir)
{
	struct stream_reader *r = NULL;
	struct record rec = { 0 };
	struct loading l = { .dir = dir };
	memset(d, 0, sizeof *d);
	int rc = open_stream(path, &r);
	if (rc < 0)
		return rc;
	d->h = *stream_header(r);
	if (!(d->name = strdup(stream_name(r)))) /* "stdin" for "-", as every reader says */
		rc = err_set(E_NOMEM, "out of memory");
	if (rc == 0)
		rc = open_temporary(&l);
	while (rc == 0 && (rc = stream_next(r, &rec)) > 0)
		rc = add_record(d, &l, &rec);
	if (rc == 0 && d->n == 0)
		rc = err_set(E_FORMAT, "%s: no examples", d->name);
	if (rc == 0 && fflush(l.f) != 0)
		rc = err_set(E_IO, "%s: writing the temporary copy of %s: %s", dir, d->name, strerror(errno));
	if (rc == 0) {
		d->map_size = l.bytes;
		d->map = mmap(NULL, l.bytes, PROT_READ, MAP_SHARED, fileno(l.f), 0);
		if (d->map == MAP_FAILED) {
			d->map = NULL;
			rc = err_set(E_IO, "%s: mmap: %s", d->name, strerror(errno));
		}
	}
	free(l.buf);
	if (l.f)
		fclose(l.f); /* the mapping stays valid; the file goes with it */
	record_free(&rec);
	stream_close(r);
	if (rc < 0)
		dataset_free(d);
	return rc;
}

void dataset_free(struct dataset *d)
{
	if (d->map)
		munmap(d->map, d->map_size);
	free(d->name);
	free(d->len);
	free(d->label);
	free(d->ids);
	free(d->id_off);
	free(d->off);
	free(d->tok_off);
	free(d->tokens);
	free(d->types);
	memset(d, 0, sizeof *d);
}

const char *dataset_id(const struct dataset *d, size_t i)
{
	return d->ids + d->id_off[i];
}

const uint32_t *dataset_tokens(const struct dataset *d, size_t i)
{
	return d->tokens + d->tok_off[i];
}

const uint32_t *dataset_types(const struct dataset *d, size_t i)
{
	return d->types + d->tok_off[i];
}

void dataset_states(const struct dataset *d, size_t i, float *dst)
{
	dtype_decode(d->h.dtype, d->map + d->off[i], dst, (size_t)d->len[i] * d->h.hidden);
}
