/* weights.h: a model folder's tensors, in whichever layout Hugging Face wrote them:
 *   model.safetensors
 *   model.safetensors.index.json     shards of safetensors, named by its weight_map
 *   pytorch_model.bin                PyTorch's torch.save: a zip archive holding a pickle
 *                                    (data.pkl, read by the restricted unpickler of pickle.h)
 *                                    and one file per storage (data/0, data/1, ...)
 *   pytorch_model.bin.index.json     shards of those
 * tried in that order, as transformers' from_pretrained does. Every file is mapped, not read:
 * a tensor is a view (dtype, shape, strides) of mapped bytes, checked against its file when the
 * weights are opened, so a lying header, zip or pickle is an error that names the file and the
 * tensor before any tensor is touched. */
#ifndef ELSA_WEIGHTS_H
#define ELSA_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "safetensors.h"

struct wt_tensor {
	char *name;
	char dtype[8];                 /* "F32", "F16", "BF16", "I64", ... as safetensors names them */
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	int64_t stride[ST_MAX_DIMS];   /* in elements */
	const unsigned char *data;     /* element (0, ..., 0) */
	size_t begin, end;             /* the bytes the view reaches, within its file's map */
	size_t file;                   /* index in files */
};

struct wt_file {
	char *path;
	struct mapped map;
};

struct weights {
	const char *layout;            /* "model.safetensors", ... (the file or index read) */
	struct wt_file *files;
	size_t nfiles, cap_files;
	struct wt_tensor *t;
	size_t n, cap_t;
};

/* Opens the weights of model folder dir. 0, or a negative code with err_msg() naming the file
 * (E_IO when the folder holds none of the layouts, listing them). */
int weights_open(struct weights *w, const char *dir);
/* Opens one weights file, a safetensors file or a torch.save archive (told apart by content). */
int weights_open_file(struct weights *w, const char *path);
void weights_close(struct weights *w);

const struct wt_tensor *weights_find(const struct weights *w, const char *name);
size_t wt_numel(const struct wt_tensor *t);
/* The tensor's storage as an enum dtype (F32, F16, BF16), or -1 for another (I64, ...). */
int wt_float_dtype(const struct wt_tensor *t);
/* Converts an F32, F16 or BF16 tensor to f32 at dst (wt_numel floats, row-major, whatever its
 * strides), then drops its pages from memory (map_release). */
int weights_read_f32(const struct weights *w, const struct wt_tensor *t, float *dst);
/* The bytes of every file. */
size_t weights_bytes(const struct weights *w);
/* XXH64 chained over the files' bytes in order (each file hashed with the hash before it as
 * seed, the first with seed), then their pages dropped. */
uint64_t weights_hash(const struct weights *w, uint64_t seed);

#endif
