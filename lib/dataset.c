#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataset.h"
#include "err.h"
#include "mem.h"
#include "record.h"

static int resize(void **p, size_t n, size_t sz)
{
	void *q = realloc(*p, n * sz);
	if (!q)
		return err_set(E_NOMEM, "out of memory");
	*p = q;
	return 0;
}

/* Grows the in-memory arrays to hold one more record, its id and its tokens. */
static int grow_records(struct dataset *d, size_t *cap, size_t idbytes, size_t *idcap, size_t ntokens, size_t *tokcap)
{
	if (d->n == *cap) {
		size_t c = *cap ? 2 * *cap : 1024;
		if (resize((void **)&d->len, c, sizeof *d->len) || resize((void **)&d->label, c, sizeof *d->label) ||
		    resize((void **)&d->id_off, c, sizeof *d->id_off) || resize((void **)&d->off, c, sizeof *d->off) ||
		    resize((void **)&d->tok_off, c, sizeof *d->tok_off))
			return E_NOMEM;
		*cap = c;
	}
	size_t types_cap = *tokcap;
	if (grow((void **)&d->types, &types_cap, ntokens, sizeof *d->types) < 0 ||
	    grow((void **)&d->tokens, tokcap, ntokens, sizeof *d->tokens) < 0)
		return E_NOMEM;
	return grow((void **)&d->ids, idcap, idbytes, 1);
}

int dataset_load(struct dataset *d, const char *path, const char *dir)
{
	struct stream_reader *r = NULL;
	struct record rec = { 0 };
	FILE *f = NULL;
	void *buf = NULL;
	size_t cap = 0, idcap = 0, idlen = 0, bytes = 0, bufcap = 0, tokcap = 0;
	int rc = 0;
	char tmp[4096];
	memset(d, 0, sizeof *d);
	if (!(d->name = strdup(path ? path : "-")))
		return err_set(E_NOMEM, "out of memory");
	if (!(r = stream_open(path))) {
		dataset_free(d);
		return E_FORMAT;
	}
	d->h = *stream_header(r);
	free(d->name);
	if (!(d->name = strdup(stream_name(r)))) { /* "stdin" for "-", as every reader says */
		rc = err_set(E_NOMEM, "out of memory");
		goto done;
	}
	size_t esize = dtype_size(d->h.dtype), H = d->h.hidden;
	snprintf(tmp, sizeof tmp, "%s/.elsa-dataset.XXXXXX", dir);
	int fd = mkstemp(tmp);
	if (fd < 0 || unlink(tmp) < 0 || !(f = fdopen(fd, "w+b"))) {
		rc = err_set(E_IO, "%s: cannot make a temporary file: %s", dir, strerror(errno));
		if (fd >= 0 && !f)
			close(fd);
		goto done;
	}
	while ((rc = stream_next(r, &rec)) > 0) {
		size_t n = strlen(rec.id) + 1, sbytes = (size_t)rec.len * H * esize;
		if ((rc = grow_records(d, &cap, idlen + n, &idcap, d->ntokens + rec.len, &tokcap)) < 0)
			break;
		if (sbytes > bufcap) {
			void *p = realloc(buf, sbytes);
			if (!p) {
				rc = err_set(E_NOMEM, "out of memory");
				break;
			}
			buf = p;
			bufcap = sbytes;
		}
		d->len[d->n] = rec.len;
		d->label[d->n] = rec.label;
		d->id_off[d->n] = idlen;
		memcpy(d->ids + idlen, rec.id, n);
		idlen += n;
		d->off[d->n] = bytes;
		d->tok_off[d->n] = d->ntokens;
		memcpy(d->tokens + d->ntokens, rec.tokens, rec.len * sizeof *rec.tokens);
		memcpy(d->types + d->ntokens, rec.types, rec.len * sizeof *rec.types);
		dtype_encode(d->h.dtype, rec.states, buf, (size_t)rec.len * H);
		if (fwrite(buf, 1, sbytes, f) != sbytes) {
			rc = err_set(E_IO, "%s: writing the temporary copy of %s: %s", dir, d->name, strerror(errno));
			break;
		}
		bytes += sbytes;
		d->ntokens += rec.len;
		d->n++;
	}
	if (rc < 0)
		goto done;
	if (d->n == 0) {
		rc = err_set(E_FORMAT, "%s: no examples", d->name);
		goto done;
	}
	if (fflush(f) != 0) {
		rc = err_set(E_IO, "%s: writing the temporary copy of %s: %s", dir, d->name, strerror(errno));
		goto done;
	}
	d->map_size = bytes;
	d->map = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fileno(f), 0);
	if (d->map == MAP_FAILED) {
		d->map = NULL;
		rc = err_set(E_IO, "%s: mmap: %s", d->name, strerror(errno));
	}
done:
	free(buf);
	if (f)
		fclose(f); /* the mapping stays valid; the file goes with it */
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
