#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"
#include "json.h"
#include "mem.h"
#include "pickle.h"
#include "weights.h"
#include "zip.h"

#define SHARDS_MAX 4096

size_t wt_numel(const struct wt_tensor *t)
{
	size_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= (size_t)t->shape[i];
	return n;
}

/* Room for n more tensors and one more file. */
static int room(struct weights *w, size_t n)
{
	if (grow((void **)&w->t, &w->cap_t, w->n + n, sizeof *w->t) < 0 ||
	    grow((void **)&w->files, &w->cap_files, w->nfiles + 1, sizeof *w->files) < 0)
		return E_NOMEM;
	return 0;
}

/* A file of the weights, mapped here, or (map not NULL) already mapped: its mapping is taken. */
static int add_file(struct weights *w, const char *path, struct mapped *map)
{
	struct wt_file *f = &w->files[w->nfiles];
	memset(f, 0, sizeof *f);
	if (!(f->path = strdup(path)))
		return err_set(E_NOMEM, "out of memory");
	w->nfiles++;
	if (!map)
		return map_file(path, &f->map);
	f->map = *map;
	memset(map, 0, sizeof *map);
	return 0;
}

static int add_tensor(struct weights *w, const char *name, struct wt_tensor *t)
{
	if (weights_find(w, name))
		return err_set(E_FORMAT, "%s: tensor %s is given twice", w->files[t->file].path, name);
	if (!(t->name = strdup(name)))
		return err_set(E_NOMEM, "out of memory");
	w->t[w->n++] = *t;
	return 0;
}

/* safetensors: the views are the file's own, row-major, in the mapping st_open made. */
static int add_safetensors(struct weights *w, const char *path)
{
	struct safetensors st;
	int rc = st_open(&st, path);
	size_t base = rc < 0 ? 0 : (size_t)(st.data - st.file.p);
	if (rc < 0 || (rc = room(w, st.n)) < 0 || (rc = add_file(w, path, &st.file)) < 0) {
		st_close(&st);
		return rc;
	}
	const struct wt_file *f = &w->files[w->nfiles - 1];
	for (size_t i = 0; i < st.n && rc == 0; i++) {
		const struct st_tensor *s = &st.t[i];
		struct wt_tensor t = { .ndim = s->ndim, .begin = base + s->begin, .end = base + s->end, .file = w->nfiles - 1 };
		memcpy(t.dtype, s->dtype, sizeof t.dtype);
		int64_t stride = 1;
		for (int d = s->ndim - 1; d >= 0; d--) {
			t.shape[d] = s->shape[d];
			t.stride[d] = stride;
			stride *= s->shape[d];
		}
		t.data = f->map.p + t.begin;
		rc = add_tensor(w, s->name, &t);
	}
	st_close(&st);
	return rc;
}

/* torch.save's archive */

/* The one entry named PREFIX/data.pkl (the prefix is the archive's name, any name). */
static const struct zip_entry *find_pickle(const struct zip *z, const char *path)
{
	const struct zip_entry *found = NULL;
	for (size_t i = 0; i < z->n; i++) {
		const char *slash = strchr(z->e[i].name, '/');
		if (slash && !strcmp(slash, "/data.pkl")) {
			if (found) {
				err_set(E_FORMAT, "%s: two pickles (%s, %s)", path, found->name, z->e[i].name);
				return NULL;
			}
			found = &z->e[i];
		}
	}
	if (!found)
		err_set(E_FORMAT, "%s: no data.pkl in the archive: not written by torch.save", path);
	return found;
}

static const struct zip_entry *stored_entry(const struct zip *z, const char *name, const char *path)
{
	const struct zip_entry *e = zip_find(z, name);
	if (!e)
		err_set(E_FORMAT, "%s: the archive has no %s", path, name);
	else if (e->method != 0 || e->csize != e->size)
		err_set(E_FORMAT, "%s: %s is compressed (method %d): torch.save stores its entries", path, name, e->method);
	else
		return e;
	return NULL;
}

/* One tensor of the state dict as a view of its storage's entry. */
static int torch_view(const struct zip *z, const struct zip_entry *pkl, const struct pt_tensor *p, size_t file,
		      const char *path, struct wt_tensor *t)
{
	char entry[512];
	size_t esize = st_dtype_bytes(p->dtype);
	int64_t reach;
	snprintf(entry, sizeof entry, "%.*sdata/%s", (int)(strchr(pkl->name, '/') + 1 - pkl->name), pkl->name, p->storage);
	const struct zip_entry *e = stored_entry(z, entry, path);
	if (!e)
		return E_FORMAT;
	if (!esize || p->ndim > ST_MAX_DIMS)
		return err_set(E_FORMAT, "%s: tensor %s: dtype %s, %d dimensions", path, p->name, p->dtype, p->ndim);
	if (pt_tensor_extent(p, &reach) < 0)
		return err_set(E_FORMAT, "%s: tensor %s: its shape and strides overflow", path, p->name);
	if ((uint64_t)p->storage_numel > e->size / esize || reach > p->storage_numel)
		return err_set(E_FORMAT, "%s: tensor %s reaches element %lld of storage %s, which holds %llu bytes (%lld elements)",
			       path, p->name, (long long)reach, p->storage, (unsigned long long)e->size,
			       (long long)p->storage_numel);
	memset(t, 0, sizeof *t);
	snprintf(t->dtype, sizeof t->dtype, "%s", p->dtype);
	t->ndim = p->ndim;
	memcpy(t->shape, p->shape, sizeof t->shape);
	memcpy(t->stride, p->stride, sizeof t->stride);
	t->begin = (size_t)e->offset + (size_t)p->offset * esize;
	t->end = reach ? (size_t)e->offset + (size_t)reach * esize : t->begin;
	t->file = file;
	return 0;
}

static int add_torch(struct weights *w, const char *path)
{
	struct zip z = { 0 };
	struct pt_state s = { 0 };
	int rc = room(w, 0);
	if (rc < 0 || (rc = add_file(w, path, NULL)) < 0)
		return rc;
	const struct wt_file *f = &w->files[w->nfiles - 1];
	if (f->map.size >= 2 && f->map.p[0] == 0x80 && f->map.p[1] <= 5)
		return err_set(E_FORMAT, "%s: PyTorch's legacy format (before 1.6), which elsa does not read: load it and "
					 "torch.save it again", path);
	if ((rc = zip_parse(&z, f->map.p, f->map.size, path)) < 0)
		return rc;
	const struct zip_entry *pkl = find_pickle(&z, path);
	if (!pkl || !stored_entry(&z, pkl->name, path))
		rc = E_FORMAT;
	else
		rc = pickle_state_dict(&s, f->map.p + pkl->offset, (size_t)pkl->size, path);
	if (rc == 0)
		rc = room(w, s.n);
	for (size_t i = 0; i < s.n && rc == 0; i++) {
		struct wt_tensor t;
		if ((rc = torch_view(&z, pkl, &s.t[i], w->nfiles - 1, path, &t)) == 0) {
			t.data = f->map.p + t.begin;
			rc = add_tensor(w, s.t[i].name, &t);
		}
	}
	pickle_free(&s);
	zip_free(&z);
	return rc;
}

int weights_open_file(struct weights *w, const char *path)
{
	char magic[4] = "";
	FILE *f = fopen(path, "rb");
	int zip = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "PK\3\4", 4), rc;
	if (f)
		fclose(f);
	memset(w, 0, sizeof *w);
	w->layout = zip ? "pytorch_model.bin" : "model.safetensors";
	rc = zip ? add_torch(w, path) : add_safetensors(w, path);
	if (rc < 0)
		weights_close(w);
	return rc;
}

/* Sharded checkpoints */

static int file_listed(char **files, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i], name))
			return 1;
	return 0;
}

/* The shard files of an index, in the order the weight map first names them. */
static int shard_files(const struct json *j, int map, const char *index, char ***files, size_t *n)
{
	*files = NULL;
	*n = 0;
	for (size_t i = 0; i < json_len(j, map); i++) {
		const char *name;
		const char *file = json_str(j, json_at(j, map, i, &name), NULL);
		if (!file || json_type(j, json_at(j, map, i, NULL)) != J_STRING)
			return err_set(E_FORMAT, "%s: weight_map: %s is not a file name", index, name);
		if (!*file || strchr(file, '/') || !strcmp(file, "..") || !strcmp(file, "."))
			return err_set(E_FORMAT, "%s: weight_map: %s: '%s' is not a file of the folder", index, name, file);
		if (file_listed(*files, *n, file))
			continue;
		if (*n == SHARDS_MAX)
			return err_set(E_FORMAT, "%s: more than %d shards", index, SHARDS_MAX);
		char **p = realloc(*files, (*n + 1) * sizeof *p);
		if (!p)
			return err_set(E_NOMEM, "out of memory");
		*files = p;
		if (!(p[*n] = strdup(file)))
			return err_set(E_NOMEM, "out of memory");
		(*n)++;
	}
	return 0;
}

/* Every tensor the weight map names must be in the shard it names. */
static int check_weight_map(const struct weights *w, const struct json *j, int map, const char *index)
{
	for (size_t i = 0; i < json_len(j, map); i++) {
		const char *name, *file = json_str(j, json_at(j, map, i, &name), NULL);
		const struct wt_tensor *t = weights_find(w, name);
		const char *base = t ? strrchr(w->files[t->file].path, '/') + 1 : NULL;
		if (!t || strcmp(base, file))
			return err_set(E_FORMAT, "%s: weight_map puts %s in %s, which does not hold it", index, name, file);
	}
	return 0;
}

static int add_shards(struct weights *w, const char *dir, const char *index, int torch)
{
	struct json *j = json_load(index);
	char **files = NULL;
	size_t n = 0;
	int rc = j ? 0 : E_FORMAT;
	int map = j ? json_get(j, json_root(j), "weight_map") : 0;
	if (j && json_type(j, map) != J_OBJECT)
		rc = err_set(E_FORMAT, "%s: no weight_map object", index);
	if (rc == 0 && (rc = shard_files(j, map, index, &files, &n)) == 0 && n == 0)
		rc = err_set(E_FORMAT, "%s: the weight_map is empty", index);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path = path_join(dir, files[i]);
		rc = !path ? E_NOMEM : torch ? add_torch(w, path) : add_safetensors(w, path);
		if (rc < 0 && rc != E_NOMEM)
			err_prefix(rc, "%s", index);
		free(path);
	}
	if (rc == 0)
		rc = check_weight_map(w, j, map, index);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	json_free(j);
	return rc;
}

static const char *const layouts[] = {
	"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
};

int weights_open(struct weights *w, const char *dir)
{
	memset(w, 0, sizeof *w);
	for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
		char *path = path_join(dir, layouts[i]);
		if (!path)
			return E_NOMEM;
		if (access(path, F_OK) == 0) {
			w->layout = layouts[i];
			int rc = i == 0 ? add_safetensors(w, path) : i == 2 ? add_torch(w, path) : add_shards(w, dir, path, i == 3);
			free(path);
			if (rc < 0)
				weights_close(w);
			return rc;
		}
		free(path);
	}
	return err_set(E_IO, "%s: no weights: none of model.safetensors, model.safetensors.index.json, "
			     "pytorch_model.bin, pytorch_model.bin.index.json", dir);
}

void weights_close(struct weights *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	for (size_t i = 0; i < w->nfiles; i++) {
		unmap_file(&w->files[i].map);
		free(w->files[i].path);
	}
	free(w->t);
	free(w->files);
	memset(w, 0, sizeof *w);
}

const struct wt_tensor *weights_find(const struct weights *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->t[i].name, name))
			return &w->t[i];
	return NULL;
}

/* Reading */

int wt_float_dtype(const struct wt_tensor *t)
{
	return !strcmp(t->dtype, "F32") ? DT_F32 : !strcmp(t->dtype, "F16") ? DT_F16 : !strcmp(t->dtype, "BF16") ? DT_BF16 : -1;
}

/* Row-major copy of a strided view: runs along the last dimension when it is contiguous. */
static void gather(enum dtype d, const struct wt_tensor *t, float *dst)
{
	size_t esize = dtype_size(d), n = wt_numel(t);
	int last = t->ndim - 1;
	size_t run = last >= 0 && t->stride[last] == 1 ? (size_t)t->shape[last] : 1;
	int64_t idx[ST_MAX_DIMS] = { 0 };
	for (size_t done = 0; done < n; done += run) {
		int64_t off = 0;
		for (int k = 0; k < t->ndim; k++)
			off += idx[k] * t->stride[k];
		dtype_decode(d, t->data + (size_t)off * esize, dst + done, run);
		for (int k = run > 1 ? last - 1 : last; k >= 0; k--) { /* the next index, odometer-wise */
			if (++idx[k] < t->shape[k])
				break;
			idx[k] = 0;
		}
	}
}

static int contiguous(const struct wt_tensor *t)
{
	int64_t stride = 1;
	for (int d = t->ndim - 1; d >= 0; d--) {
		if (t->shape[d] != 1 && t->stride[d] != stride)
			return 0;
		stride *= t->shape[d];
	}
	return 1;
}

int weights_read_f32(const struct weights *w, const struct wt_tensor *t, float *dst)
{
	int d = wt_float_dtype(t);
	if (d < 0)
		return err_set(E_FORMAT, "%s: tensor %s: dtype %s, expected F32, F16 or BF16", w->files[t->file].path, t->name,
			       t->dtype);
	if (wt_numel(t) == 0)
		return 0;
	if (contiguous(t))
		dtype_decode((enum dtype)d, t->data, dst, wt_numel(t));
	else
		gather((enum dtype)d, t, dst);
	map_release(&w->files[t->file].map, t->begin, t->end);
	return 0;
}

size_t weights_bytes(const struct weights *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->nfiles; i++)
		n += w->files[i].map.size;
	return n;
}

uint64_t weights_hash(const struct weights *w, uint64_t seed)
{
	for (size_t i = 0; i < w->nfiles; i++) {
		const struct mapped *m = &w->files[i].map;
		seed = xxh64(m->p, m->size, seed);
		map_release(m, 0, m->size);
	}
	return seed;
}
