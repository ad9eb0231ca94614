/* zip.h: a small bounds-checked reader of zip archives in memory (PyTorch's torch.save format):
 * the end of central directory record (with the ZIP64 end record, its locator and ZIP64 extra
 * fields), the central directory's entries, and each entry's local header, every offset and size
 * checked against the buffer before it is used. It reads the directory only: an entry's data is
 * the caller's (offset and size within the buffer), compressed or not. */
#ifndef ELSA_ZIP_H
#define ELSA_ZIP_H

#include <stddef.h>
#include <stdint.h>

struct zip_entry {
	char *name;      /* NUL-terminated copy */
	uint64_t offset; /* of the entry's data in the buffer (after the local header) */
	uint64_t size;   /* uncompressed size */
	uint64_t csize;  /* compressed size: offset + csize lies within the buffer */
	int method;      /* 0 stored, 8 deflate, ... */
	uint32_t crc;
};

struct zip {
	struct zip_entry *e; /* in the central directory's order */
	size_t n;
	const struct zip_entry **by_name; /* the entries sorted by name, for zip_find */
};

/* Parses the archive held in p[0..n) ("name" for messages). 0, or E_FORMAT with
 * "NAME: zip: what is wrong" (offsets past the end, sizes that do not fit, a truncated directory,
 * entry counts that lie, a name with NUL, duplicate names, encrypted or multi-disk archives),
 * E_NOMEM. On failure z is left empty. */
int zip_parse(struct zip *z, const unsigned char *p, size_t n, const char *name);
/* The entry of that exact name, or NULL. */
const struct zip_entry *zip_find(const struct zip *z, const char *name);
void zip_free(struct zip *z);

#endif
