/* safetensors.h: Hugging Face's safetensors files: an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the bytes. Reading maps the file
 * and checks every range and shape against the file before any tensor is touched (a lying
 * header is an error that names the tensor); writing goes beside the target and is renamed into
 * place when complete. */
#ifndef ELSA_SAFETENSORS_H
#define ELSA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "half.h"
#include "io.h"

#define ST_MAX_DIMS 8
#define ST_HEADER_MAX (100u << 20) /* the format's own limit on the JSON header */

struct st_tensor {
	char *name;
	char dtype[8];   /* "F32", "F16", "BF16", "I64", ... */
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	size_t begin, end; /* byte range within the data section */
};

struct safetensors {
	char *path;
	struct mapped file;
	const unsigned char *data; /* the data section, data_size bytes */
	size_t data_size;
	struct st_tensor *t;
	size_t n;
};

/* Maps and checks path. 0, or a negative code with err_msg() naming the file and the tensor. */
int st_open(struct safetensors *st, const char *path);
void st_close(struct safetensors *st);
const struct st_tensor *st_find(const struct safetensors *st, const char *name);
/* Bytes of one element of a dtype named as safetensors names it ("F32", "BF16", "I64", ...);
 * 0 for a name it does not have. */
size_t st_dtype_bytes(const char *name);
size_t st_numel(const struct st_tensor *t);
/* Converts an F32, F16 or BF16 tensor to f32 at dst (st_numel floats). */
int st_read_f32(const struct safetensors *st, const struct st_tensor *t, float *dst);

struct st_entry {
	const char *name;
	const float *data;
	int ndim;
	int64_t shape[ST_MAX_DIMS];
};

/* Writes n tensors (stored as dtype) to path atomically, with metadata {"format": "pt"}. */
int st_write(const char *path, const struct st_entry *e, size_t n, enum dtype dtype);

#endif
