#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "stream.h"

const char *model_type_name(enum model_type t)
{
	return t == MODEL_BERT ? "bert" : "roberta";
}

static int get_int(const struct json *j, const char *key, long long lo, long long hi, int *v, const char *name)
{
	long long x;
	int node = json_get(j, json_root(j), key);
	if (!node)
		return err_set(E_FORMAT, "%s: no %s", name, key);
	if (json_int(j, node, lo, hi, &x) < 0)
		return err_set(E_FORMAT, "%s: %s is not a whole number in [%lld, %lld]", name, key, lo, hi);
	*v = (int)x;
	return 0;
}

int config_parse(struct model_config *c, const char *text, size_t n, const char *name)
{
	struct json *j = json_parse(text, n, name);
	int rc = 0;
	if (!j)
		return E_FORMAT;
	int root = json_root(j);
	const char *type = json_str(j, json_get(j, root, "model_type"), NULL);
	const char *act = json_str(j, json_get(j, root, "hidden_act"), NULL);
	const char *pos = json_str(j, json_get(j, root, "position_embedding_type"), NULL);
	memset(c, 0, sizeof *c);
	if (json_type(j, root) != J_OBJECT)
		rc = err_set(E_FORMAT, "%s: not a JSON object", name);
	else if (!type || (strcmp(type, "bert") && strcmp(type, "roberta")))
		rc = err_set(E_FORMAT, "%s: model_type %s: elsa reads bert and roberta", name, type ? type : "is missing");
	else if (act && strcmp(act, "gelu"))
		rc = err_set(E_FORMAT, "%s: hidden_act %s: elsa computes the exact (erf) gelu only", name, act);
	else if (pos && strcmp(pos, "absolute"))
		rc = err_set(E_FORMAT, "%s: position_embedding_type %s: elsa computes absolute only", name, pos);
	if (rc == 0) {
		c->type = strcmp(type, "bert") ? MODEL_ROBERTA : MODEL_BERT;
		if ((rc = get_int(j, "hidden_size", 1, HIDDEN_MAX, &c->hidden, name)) ||
		    (rc = get_int(j, "num_hidden_layers", 1, LAYER_MAX, &c->layers, name)) ||
		    (rc = get_int(j, "num_attention_heads", 1, 4096, &c->heads, name)) ||
		    (rc = get_int(j, "intermediate_size", 1, 1 << 20, &c->intermediate, name)) ||
		    (rc = get_int(j, "vocab_size", 1, 1 << 24, &c->vocab, name)) ||
		    (rc = get_int(j, "max_position_embeddings", 1, 1 << 20, &c->max_pos, name)) ||
		    (rc = get_int(j, "type_vocab_size", 1, 1 << 16, &c->type_vocab, name)))
			goto done;
		if (json_get(j, root, "pad_token_id") && (rc = get_int(j, "pad_token_id", 0, c->vocab - 1, &c->pad_id, name)))
			goto done;
		if (c->hidden % c->heads) {
			rc = err_set(E_FORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d", name, c->hidden,
				     c->heads);
			goto done;
		}
		int eps = json_get(j, root, "layer_norm_eps");
		c->eps = c->type == MODEL_BERT ? 1e-12 : 1e-5;
		if (eps && (json_number(j, eps, &c->eps) < 0 || c->eps <= 0 || c->eps > 1)) {
			rc = err_set(E_FORMAT, "%s: layer_norm_eps is not a small positive number", name);
			goto done;
		}
		int ft = json_get(j, root, "finetuning_task");
		const char *task = json_type(j, ft) == J_STRING ? json_str(j, ft, NULL) : NULL;
		if (task && strlen(task) < sizeof c->task)
			strcpy(c->task, task);
		int id2label = json_get(j, root, "id2label");
		if (id2label)
			c->num_labels = (int)json_len(j, id2label);
		else if (json_get(j, root, "num_labels") && (rc = get_int(j, "num_labels", 1, 1 << 16, &c->num_labels, name)))
			goto done;
	}
done:
	json_free(j);
	return rc;
}

double config_parameters(const struct model_config *c)
{
	double H = c->hidden, I = c->intermediate;
	double emb = ((double)c->vocab + c->max_pos + c->type_vocab) * H + 2 * H;
	double layer = 4 * H * H + 4 * H + 2 * H * I + I + H + 4 * H;
	return emb + c->layers * layer + H * H + H;
}

uint32_t config_max_tokens(const struct model_config *c)
{
	return (uint32_t)(c->type == MODEL_BERT ? c->max_pos : c->max_pos - c->pad_id - 1);
}

int model_open(struct model *m, const char *dir)
{
	size_t n;
	int rc;
	memset(m, 0, sizeof *m);
	char *config = path_join(dir, "config.json"), *text = NULL;
	if (!(m->dir = strdup(dir)) || !config) {
		rc = err_set(E_NOMEM, "out of memory");
		goto done;
	}
	if (!(text = read_file(config, &n))) {
		rc = E_IO;
		goto done;
	}
	if ((rc = config_parse(&m->cfg, text, n, config)) < 0 || (rc = weights_open(&m->w, dir)) < 0)
		goto done;
	/* A config claiming more than the weights can hold (2 bytes a parameter at the least) would
	 * have elsa allocate for it before any tensor is missed. */
	if (2 * config_parameters(&m->cfg) > (double)weights_bytes(&m->w)) {
		rc = err_set(E_FORMAT, "%s: claims %.0f parameters, more than %s/%s can hold (%zu bytes)", config,
			     config_parameters(&m->cfg), dir, m->w.layout, weights_bytes(&m->w));
		goto done;
	}
	m->fingerprint = weights_hash(&m->w, xxh64(text, n, 0));
	const char *prefix = m->cfg.type == MODEL_BERT ? "bert." : "roberta.";
	char probe[64];
	snprintf(probe, sizeof probe, "%sembeddings.word_embeddings.weight", prefix);
	m->prefix = weights_find(&m->w, probe) ? prefix : "";
done:
	free(text);
	free(config);
	if (rc < 0)
		model_close(m);
	return rc;
}

void model_close(struct model *m)
{
	weights_close(&m->w);
	free(m->dir);
	memset(m, 0, sizeof *m);
}

/* Parameter sets */

static const char *const layer_names[] = {
	"attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight",
	"attention.self.query.bias", "attention.self.key.bias", "attention.self.value.bias",
	"attention.output.dense.weight", "attention.output.dense.bias",
	"attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
	"intermediate.dense.weight", "intermediate.dense.bias",
	"output.dense.weight", "output.dense.bias",
	"output.LayerNorm.weight", "output.LayerNorm.bias",
};
#define LAYER_TENSORS 16
#define EMB_TENSORS 5
#define HEAD_TENSORS 4

static void add(struct params *ps, const char *name, int prefixed, int64_t rows, int64_t cols, int head)
{
	struct param *p = &ps->p[ps->n++];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->prefixed = prefixed;
	p->rows = rows;
	p->cols = cols;
	p->offset = ps->size;
	p->head = head;
	/* Weight decay on the weight matrices only, as Hugging Face's recipe: not on biases, not on
	 * LayerNorm, not on embeddings' LayerNorm. */
	p->decay = cols > 0 && !strstr(name, "LayerNorm");
	ps->size += (size_t)rows * (size_t)(cols ? cols : 1);
}

int params_init(struct params *ps, const struct model_config *c, int emb, int first, int last, int head_outputs)
{
	int64_t H = c->hidden, I = c->intermediate;
	char name[96];
	memset(ps, 0, sizeof *ps);
	if (first < 0 || last > c->layers || first > last)
		return err_set(E_ARG, "layers %d..%d are out of the model's range 0..%d", first, last, c->layers);
	ps->p = calloc(EMB_TENSORS + LAYER_TENSORS * (size_t)(last - first) + HEAD_TENSORS, sizeof *ps->p);
	if (!ps->p)
		return err_set(E_NOMEM, "out of memory");
	ps->emb = emb;
	ps->first = first;
	ps->last = last;
	ps->head_outputs = head_outputs;
	if (emb) {
		add(ps, "embeddings.word_embeddings.weight", 1, c->vocab, H, 0);
		add(ps, "embeddings.position_embeddings.weight", 1, c->max_pos, H, 0);
		add(ps, "embeddings.token_type_embeddings.weight", 1, c->type_vocab, H, 0);
		add(ps, "embeddings.LayerNorm.weight", 1, H, 0, 0);
		add(ps, "embeddings.LayerNorm.bias", 1, H, 0, 0);
	}
	for (int l = first; l < last; l++)
		for (int t = 0; t < LAYER_TENSORS; t++) {
			int is_w = strstr(layer_names[t], ".weight") && !strstr(layer_names[t], "LayerNorm");
			int64_t rows = H, cols = is_w ? H : 0;
			if (t == 10 || t == 11) /* intermediate.dense */
				rows = I;
			if (t == 12) /* output.dense.weight */
				cols = I;
			snprintf(name, sizeof name, "encoder.layer.%d.%s", l, layer_names[t]);
			add(ps, name, 1, rows, cols, 0);
		}
	if (head_outputs > 0) {
		int bert = c->type == MODEL_BERT;
		add(ps, bert ? "pooler.dense.weight" : "classifier.dense.weight", bert, H, H, 1);
		add(ps, bert ? "pooler.dense.bias" : "classifier.dense.bias", bert, H, 0, 1);
		add(ps, bert ? "classifier.weight" : "classifier.out_proj.weight", 0, head_outputs, H, 1);
		add(ps, bert ? "classifier.bias" : "classifier.out_proj.bias", 0, head_outputs, 0, 1);
	}
	if (!(ps->mem = calloc(ps->size ? ps->size : 1, sizeof *ps->mem))) {
		params_free(ps);
		return err_set(E_NOMEM, "out of memory for %zu parameters", ps->size);
	}
	return 0;
}

void params_free(struct params *ps)
{
	free(ps->p);
	free(ps->mem);
	memset(ps, 0, sizeof *ps);
}

void param_full_name(const struct param *p, enum model_type type, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s", p->prefixed ? (type == MODEL_BERT ? "bert." : "roberta.") : "", p->name);
}

/* The checkpoint's tensor for p: its own name, or LayerNorm's old gamma / beta. */
static const struct wt_tensor *find(const struct weights *w, const char *prefix, const struct param *p)
{
	char name[160];
	snprintf(name, sizeof name, "%s%s", p->prefixed ? prefix : "", p->name);
	const struct wt_tensor *t = weights_find(w, name);
	size_t n = strlen(name);
	if (!t && strstr(name, "LayerNorm.")) {
		if (n > 7 && !strcmp(name + n - 7, ".weight"))
			strcpy(name + n - 7, ".gamma");
		else if (n > 5 && !strcmp(name + n - 5, ".bias"))
			strcpy(name + n - 5, ".beta");
		t = weights_find(w, name);
	}
	return t;
}

static int shape_fits(const struct wt_tensor *t, const struct param *p)
{
	if (p->cols)
		return t->ndim == 2 && t->shape[0] == p->rows && t->shape[1] == p->cols;
	return t->ndim == 1 && t->shape[0] == p->rows;
}

static int shape_error(const struct weights *w, const struct wt_tensor *t, const char *full, const struct param *p)
{
	char shape[64] = "", want[64];
	for (int d = 0; d < t->ndim; d++)
		snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? " x " : "", (long long)t->shape[d]);
	snprintf(want, sizeof want, p->cols ? "%lld x %lld" : "%lld", (long long)p->rows, (long long)p->cols);
	return err_set(E_FORMAT, "%s: tensor %s is %s, expected %s", w->files[t->file].path, full, shape, want);
}

/* "no tensor A" or "no tensors A, B, C (and 12 more)": every body tensor the checkpoint lacks. */
static int missing_error(const struct params *ps, const struct model *m)
{
	char list[512] = "", full[160];
	size_t count = 0, shown = 0;
	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->p[i];
		if (p->head || find(&m->w, m->prefix, p))
			continue;
		snprintf(full, sizeof full, "%s%s", p->prefixed ? m->prefix : "", p->name);
		if (strlen(list) + strlen(full) + 3 < sizeof list - 24) {
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", shown ? ", " : "", full);
			shown++;
		}
		count++;
	}
	if (count > shown)
		snprintf(list + strlen(list), sizeof list - strlen(list), " (and %zu more)", count - shown);
	return err_set(E_FORMAT, "%s/%s: no tensor%s %s", m->dir, m->w.layout, count > 1 ? "s" : "", list);
}

int params_load(struct params *ps, const struct model *m, int *head_missing)
{
	*head_missing = 0;
	for (size_t i = 0; i < ps->n; i++) {
		struct param *p = &ps->p[i];
		const struct wt_tensor *t = find(&m->w, m->prefix, p);
		char full[160];
		snprintf(full, sizeof full, "%s%s", p->prefixed ? m->prefix : "", p->name);
		if (!t || !shape_fits(t, p)) {
			if (p->head) {
				(*head_missing)++;
				continue;
			}
			return t ? shape_error(&m->w, t, full, p) : missing_error(ps, m);
		}
		int rc = weights_read_f32(&m->w, t, ps->mem + p->offset);
		if (rc < 0)
			return rc;
		p->loaded = 1;
	}
	return 0;
}

int params_load_file(struct params *ps, const struct weights *w, enum model_type type, size_t *loaded)
{
	*loaded = 0;
	for (size_t i = 0; i < ps->n; i++) {
		struct param *p = &ps->p[i];
		char full[160];
		param_full_name(p, type, full, sizeof full);
		const struct wt_tensor *t = weights_find(w, full);
		if (!t)
			continue;
		if (!shape_fits(t, p))
			return shape_error(w, t, full, p);
		int rc = weights_read_f32(w, t, ps->mem + p->offset);
		if (rc < 0)
			return rc;
		p->loaded = 1;
		(*loaded)++;
	}
	return 0;
}

int params_write(const struct params *ps, enum model_type type, const char *path, enum dtype dtype)
{
	struct st_entry *e = calloc(ps->n ? ps->n : 1, sizeof *e);
	char (*names)[160] = calloc(ps->n ? ps->n : 1, sizeof *names);
	int rc = e && names ? 0 : err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < ps->n && rc == 0; i++) {
		const struct param *p = &ps->p[i];
		param_full_name(p, type, names[i], sizeof names[i]);
		e[i] = (struct st_entry){ names[i], ps->mem + p->offset, p->cols ? 2 : 1, { p->rows, p->cols } };
	}
	rc = rc ? rc : st_write(path, e, ps->n, dtype);
	free(e);
	free(names);
	return rc;
}

void params_emb(const struct params *ps, float *base, struct emb_weights *w)
{
	const struct param *p = ps->p;
	w->word = base + p[0].offset;
	w->pos = base + p[1].offset;
	w->type = base + p[2].offset;
	w->ln_w = base + p[3].offset;
	w->ln_b = base + p[4].offset;
}

void params_layer(const struct params *ps, float *base, int layer, struct layer_weights *w)
{
	const struct param *p = ps->p + (ps->emb ? EMB_TENSORS : 0) + (size_t)(layer - ps->first) * LAYER_TENSORS;
	w->qkv_w = base + p[0].offset;
	w->qkv_b = base + p[3].offset;
	w->o_w = base + p[6].offset;
	w->o_b = base + p[7].offset;
	w->ln1_w = base + p[8].offset;
	w->ln1_b = base + p[9].offset;
	w->fc1_w = base + p[10].offset;
	w->fc1_b = base + p[11].offset;
	w->fc2_w = base + p[12].offset;
	w->fc2_b = base + p[13].offset;
	w->ln2_w = base + p[14].offset;
	w->ln2_b = base + p[15].offset;
}

void params_head(const struct params *ps, float *base, struct head_weights *w)
{
	const struct param *p = ps->p + ps->n - HEAD_TENSORS;
	w->dense_w = base + p[0].offset;
	w->dense_b = base + p[1].offset;
	w->out_w = base + p[2].offset;
	w->out_b = base + p[3].offset;
}
