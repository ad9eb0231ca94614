/* zip.c: the zip directory reader of zip.h. The end record is found from the buffer's end (its
 * comment must reach the end exactly), the ZIP64 end record through its locator; the central
 * directory must lie before the end records, each entry's local header and data before the
 * central directory. Every offset is checked against what holds it before it is read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR 0x07064b50u
#define LOCAL_SIZE 30u
#define CENTRAL_SIZE 46u
#define END_SIZE 22u
#define END64_SIZE 56u
#define LOCATOR_SIZE 20u

static uint64_t rd(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* The central directory as the end records give it. */
struct dir {
	uint64_t count, size, offset;
	uint64_t end; /* where the end records start: the directory must stop there */
};


/* A 32-bit (or 16-bit) field of the end record against its ZIP64 value: a saturated field
 * defers to the ZIP64 one, any other must equal it. */
static int agree(uint64_t v32, uint64_t max, uint64_t v64)
{
	return v32 == max || v32 == v64;
}

static int read_end64(const unsigned char *p, size_t loc, const char *name, struct dir *d)
{
	uint64_t off = rd(p + loc + 8, 8);
	if (rd(p + loc + 4, 4) != 0 || rd(p + loc + 16, 4) != 1)
		return err_set(E_FORMAT, "%s: zip: the archive spans several disks", name);
	if (off > loc || loc - off < END64_SIZE || rd(p + off, 4) != SIG_END64)
		return err_set(E_FORMAT, "%s: zip: no ZIP64 end record at offset %llu, where its locator points", name,
			       (unsigned long long)off);
	const unsigned char *q = p + off;
	uint64_t count = rd(q + 32, 8), size = rd(q + 40, 8), offset = rd(q + 48, 8);
	if (rd(q + 4, 8) != loc - off - 12)
		return err_set(E_FORMAT, "%s: zip: the ZIP64 end record claims %llu bytes, its locator follows after %llu", name,
			       (unsigned long long)rd(q + 4, 8), (unsigned long long)(loc - off - 12));
	if (rd(q + 16, 4) || rd(q + 20, 4) || rd(q + 24, 8) != count)
		return err_set(E_FORMAT, "%s: zip: the archive spans several disks", name);
	if (!agree(d->count, 0xffff, count) || !agree(d->size, 0xffffffff, size) || !agree(d->offset, 0xffffffff, offset))
		return err_set(E_FORMAT, "%s: zip: the end record and the ZIP64 end record disagree", name);
	d->count = count;
	d->size = size;
	d->offset = offset;
	d->end = off;
	return 0;
}

static int read_end(const unsigned char *p, size_t pos, const char *name, struct dir *d)
{
	const unsigned char *q = p + pos;
	d->count = rd(q + 10, 2);
	d->size = rd(q + 12, 4);
	d->offset = rd(q + 16, 4);
	d->end = pos;
	if (rd(q + 4, 2) || rd(q + 6, 2) || rd(q + 8, 2) != d->count)
		return err_set(E_FORMAT, "%s: zip: the archive spans several disks", name);
	if (pos >= LOCATOR_SIZE && rd(p + pos - LOCATOR_SIZE, 4) == SIG_LOCATOR)
		return read_end64(p, pos - LOCATOR_SIZE, name, d);
	if (d->count == 0xffff || d->size == 0xffffffff || d->offset == 0xffffffff)
		return err_set(E_FORMAT, "%s: zip: the end record defers to a ZIP64 end record that is not there", name);
	return 0;
}

static int find_end(const unsigned char *p, size_t n, const char *name, struct dir *d)
{
	if (n < END_SIZE)
		return err_set(E_FORMAT, "%s: zip: %zu bytes, too short for an archive", name, n);
	size_t lo = n - END_SIZE > 0xffff ? n - END_SIZE - 0xffff : 0;
	for (size_t i = n - END_SIZE + 1; i-- > lo;)
		if (rd(p + i, 4) == SIG_END && i + END_SIZE + rd(p + i + 20, 2) == n)
			return read_end(p, i, name, d);
	return err_set(E_FORMAT, "%s: zip: no end of central directory record", name);
}

/* The ZIP64 extra field (id 1) of a central entry: the 64-bit values of the saturated fields, in
 * the order size, compressed size, local header offset. */
static int read_zip64(const unsigned char *x, size_t len, uint64_t *size, uint64_t *csize, uint64_t *lho)
{
	uint64_t *field[3] = { size, csize, lho };
	int need = 0, got = 0;
	for (int f = 0; f < 3; f++)
		need += *field[f] == 0xffffffff;
	for (size_t k = 0; k + 4 <= len;) {
		size_t id = rd(x + k, 2), flen = rd(x + k + 2, 2), at = k + 4;
		if (flen > len - k - 4)
			return -1;
		for (int f = 0; id == 1 && f < 3; f++) {
			if (*field[f] != 0xffffffff)
				continue;
			if (at + 8 > k + 4 + flen)
				return -1;
			*field[f] = rd(x + at, 8);
			at += 8;
			got++;
		}
		k += 4 + flen;
	}
	return got == need ? 0 : -1;
}

/* The local header of entry e (at lho): its name, and the data's place, before the directory. */
static int read_local(const unsigned char *p, uint64_t lho, uint64_t limit, size_t i, struct zip_entry *e,
		      const char *name)
{
	char s[84];
	size_t len = strlen(e->name);
	if (lho > limit || limit - lho < LOCAL_SIZE || rd(p + lho, 4) != SIG_LOCAL)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s): no local header at offset %llu", name, i,
			       err_shown(e->name, len, s), (unsigned long long)lho);
	const unsigned char *q = p + lho;
	uint64_t nlen = rd(q + 26, 2), xlen = rd(q + 28, 2);
	if (LOCAL_SIZE + nlen + xlen > limit - lho)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s): its local header overruns the central directory", name, i,
			       err_shown(e->name, len, s));
	if (nlen != len || memcmp(q + LOCAL_SIZE, e->name, len) || (int)rd(q + 8, 2) != e->method)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s): the local header names another entry or method", name, i,
			       err_shown(e->name, len, s));
	e->offset = lho + LOCAL_SIZE + nlen + xlen;
	if (e->csize > limit - e->offset)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s): %llu bytes at offset %llu overrun the central directory",
			       name, i, err_shown(e->name, len, s), (unsigned long long)e->csize, (unsigned long long)e->offset);
	if (e->method == 0 && e->size != e->csize)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s): stored, but its sizes differ (%llu, %llu)", name, i,
			       err_shown(e->name, len, s), (unsigned long long)e->size, (unsigned long long)e->csize);
	return 0;
}

/* Central entry i at *pos (the directory ends at end): fills e and its local header's offset. */
static int read_central(const unsigned char *p, uint64_t *pos, uint64_t end, size_t i, struct zip_entry *e,
			uint64_t *lho, const char *name)
{
	char s[84];
	const unsigned char *q = p + *pos;
	if (end - *pos < CENTRAL_SIZE || rd(q, 4) != SIG_CENTRAL)
		return err_set(E_FORMAT, "%s: zip: entry %zu: no central directory entry at offset %llu (truncated?)", name, i,
			       (unsigned long long)*pos);
	uint64_t nlen = rd(q + 28, 2), xlen = rd(q + 30, 2), clen = rd(q + 32, 2);
	if (CENTRAL_SIZE + nlen + xlen + clen > end - *pos)
		return err_set(E_FORMAT, "%s: zip: entry %zu: its fields overrun the central directory", name, i);
	const char *nm = (const char *)q + CENTRAL_SIZE;
	if (!nlen || memchr(nm, 0, nlen))
		return err_set(E_FORMAT, "%s: zip: entry %zu: its name (%s) is empty or holds a NUL byte", name, i,
			       err_shown(nm, nlen, s));
	if (!(e->name = strndup(nm, nlen)))
		return err_set(E_NOMEM, "out of memory");
	e->method = (int)rd(q + 10, 2);
	e->crc = (uint32_t)rd(q + 16, 4);
	e->csize = rd(q + 20, 4);
	e->size = rd(q + 24, 4);
	*lho = rd(q + 42, 4);
	if (rd(q + 8, 2) & 1)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s) is encrypted", name, i, err_shown(nm, nlen, s));
	if (read_zip64(q + CENTRAL_SIZE + nlen, xlen, &e->size, &e->csize, lho) < 0)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s): a bad or missing ZIP64 extra field", name, i,
			       err_shown(nm, nlen, s));
	if (rd(q + 34, 2) != 0)
		return err_set(E_FORMAT, "%s: zip: entry %zu (%s) is on another disk", name, i, err_shown(nm, nlen, s));
	*pos += CENTRAL_SIZE + nlen + xlen + clen;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct zip_entry *const *)a)->name, (*(const struct zip_entry *const *)b)->name);
}

/* The index by name; two entries of one name are an error. */
static int index_names(struct zip *z, const char *name)
{
	char s[84];
	if (!(z->by_name = malloc((z->n ? z->n : 1) * sizeof *z->by_name)))
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < z->n; i++)
		z->by_name[i] = &z->e[i];
	qsort(z->by_name, z->n, sizeof *z->by_name, by_name);
	for (size_t i = 1; i < z->n; i++)
		if (!strcmp(z->by_name[i - 1]->name, z->by_name[i]->name))
			return err_set(E_FORMAT, "%s: zip: two entries named %s", name,
				       err_shown(z->by_name[i]->name, strlen(z->by_name[i]->name), s));
	return 0;
}

static int read_directory(struct zip *z, const unsigned char *p, const struct dir *d, const char *name)
{
	uint64_t pos = d->offset, end = d->offset + d->size, lho = 0;
	if (!(z->e = calloc(d->count ? d->count : 1, sizeof *z->e)))
		return err_set(E_NOMEM, "out of memory");
	z->n = d->count; /* names not read yet are NULL, which zip_free frees */
	for (size_t i = 0; i < z->n; i++) {
		if (pos == end)
			return err_set(E_FORMAT, "%s: zip: the end record says %zu entries, the central directory holds %zu", name,
				       z->n, i);
		int rc = read_central(p, &pos, end, i, &z->e[i], &lho, name);
		if (rc < 0 || (rc = read_local(p, lho, d->offset, i, &z->e[i], name)) < 0)
			return rc;
	}
	if (pos != end)
		return err_set(E_FORMAT, "%s: zip: the end record says %llu entries, the central directory holds more", name,
			       (unsigned long long)d->count);
	return index_names(z, name);
}

int zip_parse(struct zip *z, const unsigned char *p, size_t n, const char *name)
{
	struct dir d = { 0 };
	memset(z, 0, sizeof *z);
	int rc = find_end(p, n, name, &d);
	if (rc < 0)
		return rc;
	if (d.offset > d.end || d.size > d.end - d.offset)
		return err_set(E_FORMAT, "%s: zip: the central directory (%llu bytes at offset %llu) overruns the end records at %llu",
			       name, (unsigned long long)d.size, (unsigned long long)d.offset, (unsigned long long)d.end);
	if (d.count > d.size / CENTRAL_SIZE)
		return err_set(E_FORMAT, "%s: zip: %llu entries cannot fit in a central directory of %llu bytes", name,
			       (unsigned long long)d.count, (unsigned long long)d.size);
	if ((rc = read_directory(z, p, &d, name)) < 0)
		zip_free(z);
	return rc;
}

const struct zip_entry *zip_find(const struct zip *z, const char *name)
{
	struct zip_entry key = { .name = (char *)name };
	const struct zip_entry *k = &key, *const *found;
	if (!z->n)
		return NULL;
	found = bsearch(&k, z->by_name, z->n, sizeof *z->by_name, by_name);
	return found ? *found : NULL;
}

void zip_free(struct zip *z)
{
	for (size_t i = 0; i < z->n; i++)
		free(z->e[i].name);
	free(z->e);
	free(z->by_name);
	memset(z, 0, sizeof *z);
}
