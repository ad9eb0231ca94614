#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "stream.h"

#define BERT_LAYER_NAMES                                                                                   \
	{ "attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight",         \
	  "attention.self.query.bias", "attention.self.key.bias", "attention.self.value.bias",                \
	  "attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight", \
	  "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",           \
	  "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias" }
#define DENSE_OUT_HEAD { "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias" }

/* Where the families differ: Hugging Face's modeling_bert, modeling_roberta, modeling_distilbert
 * and modeling_electra. */
static const struct family families[] = {
	[MODEL_BERT] = { "bert", "bert.", "BertForSequenceClassification", 1, 0, 1, 1, ACT_TANH, 0, 1, "encoder.layer",
			 BERT_LAYER_NAMES, { "pooler.dense.weight", "pooler.dense.bias", "classifier.weight", "classifier.bias" } },
	[MODEL_ROBERTA] = { "roberta", "roberta.", "RobertaForSequenceClassification", 1, 1, 1, 1, ACT_TANH, 1, 0,
			    "encoder.layer", BERT_LAYER_NAMES, DENSE_OUT_HEAD },
	[MODEL_DISTILBERT] = { "distilbert", "distilbert.", "DistilBertForSequenceClassification", 0, 0, 0, 0, ACT_RELU, 0, 0,
			       "transformer.layer",
			       { "attention.q_lin.weight", "attention.k_lin.weight", "attention.v_lin.weight",
				 "attention.q_lin.bias", "attention.k_lin.bias", "attention.v_lin.bias", "attention.out_lin.weight",
				 "attention.out_lin.bias", "sa_layer_norm.weight", "sa_layer_norm.bias", "ffn.lin1.weight",
				 "ffn.lin1.bias", "ffn.lin2.weight", "ffn.lin2.bias", "output_layer_norm.weight",
				 "output_layer_norm.bias" },
			       { "pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias" } },
	[MODEL_ELECTRA] = { "electra", "electra.", "ElectraForSequenceClassification", 1, 0, 1, 0, ACT_GELU, 1, 0,
			    "encoder.layer", BERT_LAYER_NAMES, DENSE_OUT_HEAD },
};
#define FAMILIES (sizeof families / sizeof *families)

const struct family *family_of(enum model_type t)
{
	return &families[t];
}

const char *model_type_name(enum model_type t)
{
	return families[t].model_type;
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

/* An optional rate in [0, 1) into *v (left alone when absent or null). */
static int get_rate(const struct json *j, const char *key, double *v, const char *name)
{
	int node = json_get(j, json_root(j), key);
	if (!node || json_type(j, node) == J_NULL)
		return 0;
	if (json_number(j, node, v) < 0 || *v < 0 || *v >= 1)
		return err_set(E_FORMAT, "%s: %s is not a rate in [0, 1)", name, key);
	return 0;
}

/* The config keys of the sizes: BERT's names, or DistilBERT's own. */
static int sizes(struct model_config *c, const struct json *j, const char *name)
{
	int distil = c->type == MODEL_DISTILBERT, rc;
	if ((rc = get_int(j, distil ? "dim" : "hidden_size", 1, HIDDEN_MAX, &c->hidden, name)) ||
	    (rc = get_int(j, distil ? "n_layers" : "num_hidden_layers", 1, LAYER_MAX, &c->layers, name)) ||
	    (rc = get_int(j, distil ? "n_heads" : "num_attention_heads", 1, 4096, &c->heads, name)) ||
	    (rc = get_int(j, distil ? "hidden_dim" : "intermediate_size", 1, 1 << 20, &c->intermediate, name)) ||
	    (rc = get_int(j, "vocab_size", 1, 1 << 24, &c->vocab, name)) ||
	    (rc = get_int(j, "max_position_embeddings", 1, 1 << 20, &c->max_pos, name)) ||
	    (!distil && (rc = get_int(j, "type_vocab_size", 1, 1 << 16, &c->type_vocab, name))))
		return rc;
	c->embedding = c->hidden;
	if (c->type == MODEL_ELECTRA) { /* ElectraConfig's default embedding_size is 128 */
		c->embedding = 128;
		if (json_get(j, json_root(j), "embedding_size") &&
		    (rc = get_int(j, "embedding_size", 1, HIDDEN_MAX, &c->embedding, name)))
			return rc;
	}
	if (json_get(j, json_root(j), "pad_token_id") && (rc = get_int(j, "pad_token_id", 0, c->vocab - 1, &c->pad_id, name)))
		return rc;
	if (c->hidden % c->heads)
		return err_set(E_FORMAT, "%s: the hidden size %d is not a multiple of the %d heads", name, c->hidden, c->heads);
	return 0;
}

/* What elsa does not compute: another activation, relative positions, sinusoidal positions. */
static int unsupported(const struct model_config *c, const struct json *j, const char *name)
{
	int root = json_root(j), distil = c->type == MODEL_DISTILBERT;
	const char *act = json_str(j, json_get(j, root, distil ? "activation" : "hidden_act"), NULL);
	const char *pos = json_str(j, json_get(j, root, "position_embedding_type"), NULL);
	if (act && strcmp(act, "gelu"))
		return err_set(E_FORMAT, "%s: %s %s: elsa computes the exact (erf) gelu only", name,
			       distil ? "activation" : "hidden_act", act);
	if (pos && strcmp(pos, "absolute"))
		return err_set(E_FORMAT, "%s: position_embedding_type %s: elsa computes absolute only", name, pos);
	if (distil && json_bool(j, json_get(j, root, "sinusoidal_pos_embds")) == 1)
		return err_set(E_FORMAT, "%s: sinusoidal_pos_embds: elsa computes learned positions only", name);
	return 0;
}

/* id2label's names ({"0": "contradiction", ...}) into c->labels, by output; the rest stay "".
 * Without id2label, transformers' names for num_labels outputs: LABEL_0, LABEL_1, ... */
static void label_names(struct model_config *c, const struct json *j, int id2label)
{
	for (int k = 0; !id2label && k < c->num_labels && k < MODEL_LABELS_MAX; k++)
		snprintf(c->labels[k], sizeof c->labels[k], "LABEL_%d", k);
	for (size_t i = 0; id2label && i < json_len(j, id2label); i++) {
		const char *key = NULL, *name;
		int v = json_at(j, id2label, i, &key); /* an array sets no key */
		char *end = NULL;
		long k = key ? strtol(key, &end, 10) : -1;
		size_t n;
		if (!key || end == key || *end || k < 0 || k >= c->num_labels || k >= MODEL_LABELS_MAX || json_type(j, v) != J_STRING)
			continue;
		name = json_str(j, v, &n);
		if (n < MODEL_LABEL_LEN && strlen(name) == n)
			memcpy(c->labels[k], name, n + 1);
	}
}

/* The rest: LayerNorm's epsilon, the head's dropout, the task and labels of a fine-tuned model. */
static int settings(struct model_config *c, const struct json *j, const char *name)
{
	int root = json_root(j), rc;
	int eps = json_get(j, root, "layer_norm_eps");
	c->eps = c->type == MODEL_ROBERTA ? 1e-5 : 1e-12; /* DistilBERT's is fixed at 1e-12 */
	if (c->type != MODEL_DISTILBERT && eps && (json_number(j, eps, &c->eps) < 0 || c->eps <= 0 || c->eps > 1))
		return err_set(E_FORMAT, "%s: layer_norm_eps is not a small positive number", name);
	c->head_dropout = -1;
	if ((rc = get_rate(j, c->type == MODEL_DISTILBERT ? "seq_classif_dropout" : "classifier_dropout", &c->head_dropout,
			   name)) < 0)
		return rc;
	int ft = json_get(j, root, "finetuning_task");
	const char *task = json_type(j, ft) == J_STRING ? json_str(j, ft, NULL) : NULL;
	if (task && strlen(task) < sizeof c->task)
		strcpy(c->task, task);
	int id2label = json_get(j, root, "id2label");
	if (id2label)
		c->num_labels = (int)json_len(j, id2label);
	else if (json_get(j, root, "num_labels") && (rc = get_int(j, "num_labels", 1, 1 << 16, &c->num_labels, name)))
		return rc;
	label_names(c, j, id2label);
	return 0;
}

/* An elsa-export folder's record of its base model: elsa_base_fingerprint (16 hex digits) and
 * elsa_base_layers (0 to the layers). */
static int base_model(struct model_config *c, const struct json *j, const char *name)
{
	int fp = json_get(j, json_root(j), "elsa_base_fingerprint");
	if (!fp)
		return 0;
	const char *hex = json_type(j, fp) == J_STRING ? json_str(j, fp, NULL) : "";
	char *end;
	c->base_model = strtoull(hex, &end, 16);
	if (strlen(hex) != 16 || *end)
		return err_set(E_FORMAT, "%s: elsa_base_fingerprint is not 16 hex digits", name);
	return get_int(j, "elsa_base_layers", 0, c->layers, &c->base_layers, name);
}

int config_parse(struct model_config *c, const char *text, size_t n, const char *name)
{
	struct json *j = json_parse(text, n, name);
	int rc = 0;
	if (!j)
		return err_code();
	int root = json_root(j);
	const char *type = json_str(j, json_get(j, root, "model_type"), NULL);
	memset(c, 0, sizeof *c);
	size_t f = 0;
	while (type && f < FAMILIES && strcmp(type, families[f].model_type))
		f++;
	if (json_type(j, root) != J_OBJECT)
		rc = err_set(E_FORMAT, "%s: not a JSON object", name);
	else if (!type || f == FAMILIES)
		rc = err_set(E_FORMAT, "%s: model_type %s: elsa reads bert, roberta, distilbert and electra", name,
			     type ? type : "is missing");
	if (rc == 0) {
		c->type = (enum model_type)f;
		if ((rc = unsupported(c, j, name)) == 0 && (rc = sizes(c, j, name)) == 0 && (rc = settings(c, j, name)) == 0)
			rc = base_model(c, j, name);
	}
	json_free(j);
	return rc;
}

double config_parameters(const struct model_config *c)
{
	const struct family *f = family_of(c->type);
	double H = c->hidden, I = c->intermediate, E = c->embedding;
	double emb = ((double)c->vocab + c->max_pos + c->type_vocab) * E + 2 * E + (E != H ? E * H + H : 0);
	double layer = 4 * H * H + 4 * H + 2 * H * I + I + H + 4 * H;
	return emb + c->layers * layer + (f->pooler ? H * H + H : 0);
}

uint32_t config_max_tokens(const struct model_config *c)
{
	return (uint32_t)(family_of(c->type)->roberta_positions ? c->max_pos - c->pad_id - 1 : c->max_pos);
}

/* Tensor name in m's weights, under the family's prefix or bare (BertModel's); its name in full. */
static const struct wt_tensor *find_either(const struct model *m, const char *name, char *full, size_t n)
{
	snprintf(full, n, "%s%s", family_of(m->cfg.type)->prefix, name);
	const struct wt_tensor *t = weights_find(&m->w, full);
	if (!t) {
		snprintf(full, n, "%s", name);
		t = weights_find(&m->w, full);
	}
	return t;
}

/* Why a config claims more parameters than its weights hold: the first size key whose tensor the
 * weights hold in another shape, or the first layer they lack, into buf. 0 when none is found. */
static int config_misfit(const struct model *m, char *buf, size_t n)
{
	const struct model_config *c = &m->cfg;
	const struct family *f = family_of(c->type);
	int distil = c->type == MODEL_DISTILBERT;
	const char *hidden = distil ? "dim" : "hidden_size", *emb = c->type == MODEL_ELECTRA ? "embedding_size" : hidden;
	char query[96], inter[96], layer[96], full[160];
	snprintf(query, sizeof query, "%s.0.%s", f->layers, f->layer_names[0]);
	snprintf(inter, sizeof inter, "%s.0.%s", f->layers, f->layer_names[10]);
	const struct { const char *tensor, *key; int dim, want; } sizes[] = {
		{ "embeddings.word_embeddings.weight", "vocab_size", 0, c->vocab },
		{ "embeddings.word_embeddings.weight", emb, 1, c->embedding },
		{ "embeddings.position_embeddings.weight", "max_position_embeddings", 0, c->max_pos },
		{ f->token_types ? "embeddings.token_type_embeddings.weight" : "", "type_vocab_size", 0, c->type_vocab },
		{ query, hidden, 0, c->hidden },
		{ inter, distil ? "hidden_dim" : "intermediate_size", 0, c->intermediate },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		const struct wt_tensor *t = find_either(m, sizes[i].tensor, full, sizeof full);
		if (!t || t->ndim != 2 || t->shape[sizes[i].dim] == sizes[i].want)
			continue;
		long long want[2] = { t->shape[0], t->shape[1] };
		want[sizes[i].dim] = sizes[i].want;
		snprintf(buf, n, "%s %d does not fit the weights: %s holds %s as %lld x %lld, not %lld x %lld", sizes[i].key,
			 sizes[i].want, m->w.files[t->file].path, full, (long long)t->shape[0], (long long)t->shape[1], want[0],
			 want[1]);
		return 1;
	}
	for (int l = 0; l < c->layers; l++) {
		snprintf(layer, sizeof layer, "%s.%d.%s", f->layers, l, f->layer_names[0]);
		if (!find_either(m, layer, full, sizeof full)) {
			snprintf(full, sizeof full, "%s%s", f->prefix, layer);
			snprintf(buf, n, "%s %d does not fit the weights: %s/%s has no %s", distil ? "n_layers" : "num_hidden_layers",
				 c->layers, m->dir, m->w.layout, full);
			return 1;
		}
	}
	return 0;
}

/* A config claiming more than the weights can hold (2 bytes a parameter at the least) would have
 * elsa allocate for it before any tensor is missed: refused, naming the key that does not fit. */
static int check_fits(const struct model *m, const char *config)
{
	double claimed = config_parameters(&m->cfg);
	size_t bytes = weights_bytes(&m->w);
	char why[640];
	if (2 * claimed <= (double)bytes)
		return 0;
	if (config_misfit(m, why, sizeof why))
		return err_set(E_FORMAT, "%s: %s (the config claims %.0f parameters, more than the weights' %zu bytes can hold)",
			       config, why, claimed, bytes);
	return err_set(E_FORMAT, "%s: claims %.0f parameters, more than %s/%s can hold (%zu bytes)", config, claimed, m->dir,
		       m->w.layout, bytes);
}

/* The prefix of the encoder's tensors: the family's ("bert."), or none (BertModel's). Tensors
 * under another family's prefix mean that model_type is not the checkpoint's: refused, saying so. */
static int find_prefix(struct model *m, const char *config)
{
	const char *prefix = family_of(m->cfg.type)->prefix, *word = "embeddings.word_embeddings.weight";
	char probe[96];
	snprintf(probe, sizeof probe, "%s%s", prefix, word);
	m->prefix = weights_find(&m->w, probe) ? prefix : "";
	if (*m->prefix || weights_find(&m->w, word))
		return 0;
	for (size_t f = 0; f < FAMILIES; f++) {
		snprintf(probe, sizeof probe, "%s%s", families[f].prefix, word);
		if (weights_find(&m->w, probe))
			return err_set(E_FORMAT, "%s: model_type %s, but %s/%s holds %s-prefixed tensors (%s), not %s: a %s "
						 "checkpoint's config says \"model_type\": \"%s\"",
				       config, model_type_name(m->cfg.type), m->dir,
				       m->w.layout, families[f].prefix, probe, prefix, families[f].model_type,
				       families[f].model_type);
	}
	return 0;
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
	if ((rc = check_fits(m, config)) < 0 || (rc = find_prefix(m, config)) < 0)
		goto done;
	m->fingerprint = weights_hash(&m->w, xxh64(text, n, 0));
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

int model_check_stream(const struct model *m, const struct stream_header *h, const char *name)
{
	const struct model_config *c = &m->cfg;
	if (h->hidden != (uint32_t)c->hidden)
		return err_set(E_MISMATCH, "%s: hidden size %u, model has %d", name, h->hidden, c->hidden);
	int base = c->base_model && h->model == c->base_model;
	if (h->model == m->fingerprint || (base && h->layer <= (uint32_t)c->base_layers))
		return 0;
	if (base)
		return err_set(E_MISMATCH, "%s: layer %u of the base model of %s (fingerprint %016" PRIx64 "), which shares "
					   "only its layers up to %d with it (those above were trained): give a stream of "
					   "layer %d or below, or make this one with %s (elsa-embed -m %s)",
			       name, h->layer, m->dir, h->model, c->base_layers, c->base_layers, m->dir, m->dir);
	return err_set(E_MISMATCH, "%s: made by another model (fingerprint %016" PRIx64 ", %s's is %016" PRIx64 "; the "
				   "fingerprint covers config.json and the weight files as stored, so the same weights in "
				   "another layout or dtype are another model): make the stream with %s (elsa-embed -m %s), "
				   "or give the model folder that made it",
		       name, h->model, m->dir, m->fingerprint, m->dir, m->dir);
}

/* Parameter sets */

#define LAYER_TENSORS 16
#define EMB_TENSORS_MAX 7
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

/* The embeddings: word, position, token type (not DistilBERT), LayerNorm, and ELECTRA's
 * projection when its embeddings are narrower than the layers. */
static void add_embeddings(struct params *ps, const struct model_config *c)
{
	int64_t H = c->hidden, E = c->embedding;
	add(ps, "embeddings.word_embeddings.weight", 1, c->vocab, E, 0);
	add(ps, "embeddings.position_embeddings.weight", 1, c->max_pos, E, 0);
	if (family_of(c->type)->token_types)
		add(ps, "embeddings.token_type_embeddings.weight", 1, c->type_vocab, E, 0);
	add(ps, "embeddings.LayerNorm.weight", 1, E, 0, 0);
	add(ps, "embeddings.LayerNorm.bias", 1, E, 0, 0);
	if (E != H) {
		add(ps, "embeddings_project.weight", 1, H, E, 0);
		add(ps, "embeddings_project.bias", 1, H, 0, 0);
	}
	ps->nemb = ps->n;
}

/* Layer l's tensors, in the order of layer_names: shapes by place, names by family. */
static void add_layer(struct params *ps, const struct model_config *c, int l)
{
	const struct family *f = family_of(c->type);
	int64_t H = c->hidden, I = c->intermediate;
	static const char shape[LAYER_TENSORS][3] = { "HH", "HH", "HH", "H", "H", "H", "HH", "H",
						      "H",  "H",  "IH", "I", "HI", "H", "H", "H" };
	char name[96];
	for (int t = 0; t < LAYER_TENSORS; t++) {
		int64_t rows = shape[t][0] == 'I' ? I : H, cols = shape[t][1] ? (shape[t][1] == 'I' ? I : H) : 0;
		snprintf(name, sizeof name, "%s.%d.%s", f->layers, l, f->layer_names[t]);
		add(ps, name, 1, rows, cols, 0);
	}
}

int params_init(struct params *ps, const struct model_config *c, int emb, int first, int last, int head_outputs)
{
	const struct family *f = family_of(c->type);
	int64_t H = c->hidden;
	memset(ps, 0, sizeof *ps);
	if (first < 0 || last > c->layers || first > last)
		return err_set(E_ARG, "layers %d..%d are out of the model's range 0..%d", first, last, c->layers);
	ps->p = calloc(EMB_TENSORS_MAX + LAYER_TENSORS * (size_t)(last - first) + HEAD_TENSORS, sizeof *ps->p);
	if (!ps->p)
		return err_set(E_NOMEM, "out of memory");
	ps->emb = emb;
	ps->first = first;
	ps->last = last;
	ps->head_outputs = head_outputs;
	if (emb)
		add_embeddings(ps, c);
	for (int l = first; l < last; l++)
		add_layer(ps, c, l);
	if (head_outputs > 0) {
		add(ps, f->head_names[0], f->head_dense_prefixed, H, H, 1);
		add(ps, f->head_names[1], f->head_dense_prefixed, H, 0, 1);
		add(ps, f->head_names[2], 0, head_outputs, H, 1);
		add(ps, f->head_names[3], 0, head_outputs, 0, 1);
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
	snprintf(buf, n, "%s%s", p->prefixed ? family_of(type)->prefix : "", p->name);
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

int params_move_outputs(struct params *ps, const int *to)
{
	const struct param *w = &ps->p[ps->n - 2], *b = &ps->p[ps->n - 1];
	size_t rows = (size_t)w->rows, cols = (size_t)w->cols;
	float *old = malloc(rows * (cols + 1) * sizeof *old);
	if (!old)
		return err_set(E_NOMEM, "out of memory");
	memcpy(old, ps->mem + w->offset, rows * cols * sizeof *old);
	memcpy(old + rows * cols, ps->mem + b->offset, rows * sizeof *old);
	for (size_t i = 0; i < rows; i++) {
		memcpy(ps->mem + w->offset + (size_t)to[i] * cols, old + i * cols, cols * sizeof *old);
		ps->mem[b->offset + (size_t)to[i]] = old[rows * cols + i];
	}
	free(old);
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
	static const char *const names[] = { "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
					     "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
					     "embeddings.LayerNorm.bias", "embeddings_project.weight",
					     "embeddings_project.bias" };
	float **slot[] = { &w->word, &w->pos, &w->type, &w->ln_w, &w->ln_b, &w->proj_w, &w->proj_b };
	memset(w, 0, sizeof *w);
	for (size_t i = 0; i < ps->nemb; i++)
		for (size_t k = 0; k < sizeof names / sizeof *names; k++)
			if (!strcmp(ps->p[i].name, names[k]))
				*slot[k] = base + ps->p[i].offset;
}

void params_layer(const struct params *ps, float *base, int layer, struct layer_weights *w)
{
	const struct param *p = ps->p + ps->nemb + (size_t)(layer - ps->first) * LAYER_TENSORS;
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
