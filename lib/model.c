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

/* The families' tensors (tensor_spec in model.h): Hugging Face's modeling_bert, modeling_roberta,
 * modeling_distilbert, modeling_electra and modeling_modernbert. */
static const struct tensor_spec bert_emb[] = {
	{ "embeddings.word_embeddings.weight", 'V', 'E', NULL, EW_WORD, 0 },
	{ "embeddings.position_embeddings.weight", 'P', 'E', NULL, EW_POS, 0 },
	{ "embeddings.token_type_embeddings.weight", 'Y', 'E', "y", EW_TYPE, 0 },
	{ "embeddings.LayerNorm.weight", 'E', 0, NULL, EW_LN_W, 0 },
	{ "embeddings.LayerNorm.bias", 'E', 0, NULL, EW_LN_B, 0 },
	{ "embeddings_project.weight", 'H', 'E', "p", EW_PROJ_W, 0 },
	{ "embeddings_project.bias", 'H', 0, "p", EW_PROJ_B, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec bert_layer[] = {
	{ "attention.self.query.weight", 'H', 'H', NULL, LW_QKV_W, 0 },
	{ "attention.self.key.weight", 'H', 'H', NULL, SLOT_NEXT, 0 },
	{ "attention.self.value.weight", 'H', 'H', NULL, SLOT_NEXT, 0 },
	{ "attention.self.query.bias", 'H', 0, NULL, LW_QKV_B, 0 },
	{ "attention.self.key.bias", 'H', 0, NULL, SLOT_NEXT, 0 },
	{ "attention.self.value.bias", 'H', 0, NULL, SLOT_NEXT, 0 },
	{ "attention.output.dense.weight", 'H', 'H', NULL, LW_O_W, 0 },
	{ "attention.output.dense.bias", 'H', 0, NULL, LW_O_B, 0 },
	{ "attention.output.LayerNorm.weight", 'H', 0, NULL, LW_LN1_W, 0 },
	{ "attention.output.LayerNorm.bias", 'H', 0, NULL, LW_LN1_B, 0 },
	{ "intermediate.dense.weight", 'I', 'H', NULL, LW_FC1_W, 0 },
	{ "intermediate.dense.bias", 'I', 0, NULL, LW_FC1_B, 0 },
	{ "output.dense.weight", 'H', 'I', NULL, LW_FC2_W, 0 },
	{ "output.dense.bias", 'H', 0, NULL, LW_FC2_B, 0 },
	{ "output.LayerNorm.weight", 'H', 0, NULL, LW_LN2_W, 0 },
	{ "output.LayerNorm.bias", 'H', 0, NULL, LW_LN2_B, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec distil_layer[] = {
	{ "attention.q_lin.weight", 'H', 'H', NULL, LW_QKV_W, 0 },
	{ "attention.k_lin.weight", 'H', 'H', NULL, SLOT_NEXT, 0 },
	{ "attention.v_lin.weight", 'H', 'H', NULL, SLOT_NEXT, 0 },
	{ "attention.q_lin.bias", 'H', 0, NULL, LW_QKV_B, 0 },
	{ "attention.k_lin.bias", 'H', 0, NULL, SLOT_NEXT, 0 },
	{ "attention.v_lin.bias", 'H', 0, NULL, SLOT_NEXT, 0 },
	{ "attention.out_lin.weight", 'H', 'H', NULL, LW_O_W, 0 },
	{ "attention.out_lin.bias", 'H', 0, NULL, LW_O_B, 0 },
	{ "sa_layer_norm.weight", 'H', 0, NULL, LW_LN1_W, 0 },
	{ "sa_layer_norm.bias", 'H', 0, NULL, LW_LN1_B, 0 },
	{ "ffn.lin1.weight", 'I', 'H', NULL, LW_FC1_W, 0 },
	{ "ffn.lin1.bias", 'I', 0, NULL, LW_FC1_B, 0 },
	{ "ffn.lin2.weight", 'H', 'I', NULL, LW_FC2_W, 0 },
	{ "ffn.lin2.bias", 'H', 0, NULL, LW_FC2_B, 0 },
	{ "output_layer_norm.weight", 'H', 0, NULL, LW_LN2_W, 0 },
	{ "output_layer_norm.bias", 'H', 0, NULL, LW_LN2_B, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec bert_head[] = {
	{ "pooler.dense.weight", 'H', 'H', NULL, HW_DENSE_W, 'p' },
	{ "pooler.dense.bias", 'H', 0, NULL, HW_DENSE_B, 'p' },
	{ "classifier.weight", 'C', 'H', NULL, HW_OUT_W, 'h' },
	{ "classifier.bias", 'C', 0, NULL, HW_OUT_B, 'h' },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec dense_out_head[] = {
	{ "classifier.dense.weight", 'H', 'H', NULL, HW_DENSE_W, 'h' },
	{ "classifier.dense.bias", 'H', 0, NULL, HW_DENSE_B, 'h' },
	{ "classifier.out_proj.weight", 'C', 'H', NULL, HW_OUT_W, 'h' },
	{ "classifier.out_proj.bias", 'C', 0, NULL, HW_OUT_B, 'h' },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec distil_head[] = {
	{ "pre_classifier.weight", 'H', 'H', NULL, HW_DENSE_W, 'h' },
	{ "pre_classifier.bias", 'H', 0, NULL, HW_DENSE_B, 'h' },
	{ "classifier.weight", 'C', 'H', NULL, HW_OUT_W, 'h' },
	{ "classifier.bias", 'C', 0, NULL, HW_OUT_B, 'h' },
	{ NULL, 0, 0, NULL, 0, 0 },
};
/* ModernBertEmbeddings, ModernBertEncoderLayer (no attention norm in layer 0), and
 * ModernBertForSequenceClassification's final_norm (the body's), head and classifier. */
static const struct tensor_spec modernbert_emb[] = {
	{ "embeddings.tok_embeddings.weight", 'V', 'H', NULL, EW_WORD, 0 },
	{ "embeddings.norm.weight", 'H', 0, NULL, EW_LN_W, 0 },
	{ "embeddings.norm.bias", 'H', 0, "n", EW_LN_B, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec modernbert_layer[] = {
	{ "attn_norm.weight", 'H', 0, "1", LW_LN1_W, 0 },
	{ "attn_norm.bias", 'H', 0, "1n", LW_LN1_B, 0 },
	{ "attn.Wqkv.weight", 'T', 'H', NULL, LW_QKV_W, 0 },
	{ "attn.Wqkv.bias", 'T', 0, "a", LW_QKV_B, 0 },
	{ "attn.Wo.weight", 'H', 'H', NULL, LW_O_W, 0 },
	{ "attn.Wo.bias", 'H', 0, "a", LW_O_B, 0 },
	{ "mlp_norm.weight", 'H', 0, NULL, LW_LN2_W, 0 },
	{ "mlp_norm.bias", 'H', 0, "n", LW_LN2_B, 0 },
	{ "mlp.Wi.weight", 'G', 'H', NULL, LW_FC1_W, 0 },
	{ "mlp.Wi.bias", 'G', 0, "m", LW_FC1_B, 0 },
	{ "mlp.Wo.weight", 'H', 'I', NULL, LW_FC2_W, 0 },
	{ "mlp.Wo.bias", 'H', 0, "m", LW_FC2_B, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static const struct tensor_spec modernbert_head[] = {
	{ "final_norm.weight", 'H', 0, NULL, HW_FNORM_W, 'b' },
	{ "final_norm.bias", 'H', 0, "n", HW_FNORM_B, 'b' },
	{ "head.dense.weight", 'H', 'H', NULL, HW_DENSE_W, 'h' },
	{ "head.dense.bias", 'H', 0, "c", HW_DENSE_B, 'h' },
	{ "head.norm.weight", 'H', 0, NULL, HW_NORM_W, 'h' },
	{ "head.norm.bias", 'H', 0, "n", HW_NORM_B, 'h' },
	{ "classifier.weight", 'C', 'H', NULL, HW_OUT_W, 'h' },
	{ "classifier.bias", 'C', 0, NULL, HW_OUT_B, 'h' },
	{ NULL, 0, 0, NULL, 0, 0 },
};

/* Where the families differ. */
static const struct family families[] = {
	[MODEL_BERT] = { "bert", "bert.", "BertForSequenceClassification", 1, 0, 1, 1, ACT_TANH, 0, 0, "encoder.layer",
			 bert_emb, bert_layer, bert_head },
	[MODEL_ROBERTA] = { "roberta", "roberta.", "RobertaForSequenceClassification", 1, 1, 1, 1, ACT_TANH, 1, 0,
			    "encoder.layer", bert_emb, bert_layer, dense_out_head },
	[MODEL_DISTILBERT] = { "distilbert", "distilbert.", "DistilBertForSequenceClassification", 0, 0, 0, 0, ACT_RELU, 0,
			       0, "transformer.layer", bert_emb, distil_layer, distil_head },
	[MODEL_ELECTRA] = { "electra", "electra.", "ElectraForSequenceClassification", 1, 0, 1, 0, ACT_GELU, 1, 0,
			    "encoder.layer", bert_emb, bert_layer, dense_out_head },
	[MODEL_MODERNBERT] = { "modernbert", "model.", "ModernBertForSequenceClassification", 0, 0, 1, 0, ACT_GELU, 0, 1,
			       "layers", modernbert_emb, modernbert_layer, modernbert_head },
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

/* An optional number in [lo, hi] into *v (left alone when absent or null). */
static int get_number(const struct json *j, const char *key, double lo, double hi, double *v, const char *name)
{
	int node = json_get(j, json_root(j), key);
	if (!node || json_type(j, node) == J_NULL)
		return 0;
	if (json_number(j, node, v) < 0 || !(*v >= lo && *v <= hi))
		return err_set(E_FORMAT, "%s: %s is not a number in [%g, %g]", name, key, lo, hi);
	return 0;
}

/* An optional true or false into *v (left alone when absent or null). */
static int get_bool(const struct json *j, const char *key, int *v, const char *name)
{
	int node = json_get(j, json_root(j), key);
	if (!node || json_type(j, node) == J_NULL)
		return 0;
	if ((*v = json_bool(j, node)) < 0)
		return err_set(E_FORMAT, "%s: %s is not true or false", name, key);
	return 0;
}

/* The config keys of the sizes: BERT's names (ModernBERT's too), or DistilBERT's own. */
static int sizes(struct model_config *c, const struct json *j, const char *name)
{
	int distil = c->type == MODEL_DISTILBERT, rc;
	if ((rc = get_int(j, distil ? "dim" : "hidden_size", 1, HIDDEN_MAX, &c->hidden, name)) ||
	    (rc = get_int(j, distil ? "n_layers" : "num_hidden_layers", 1, LAYER_MAX, &c->layers, name)) ||
	    (rc = get_int(j, distil ? "n_heads" : "num_attention_heads", 1, 4096, &c->heads, name)) ||
	    (rc = get_int(j, distil ? "hidden_dim" : "intermediate_size", 1, 1 << 20, &c->intermediate, name)) ||
	    (rc = get_int(j, "vocab_size", 1, 1 << 24, &c->vocab, name)) ||
	    (rc = get_int(j, "max_position_embeddings", 1, 1 << 20, &c->max_pos, name)) ||
	    (family_of(c->type)->token_types && (rc = get_int(j, "type_vocab_size", 1, 1 << 16, &c->type_vocab, name))))
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

/* A string setting of ModernBERT's among the choices ("gelu", "tanh", ...): its index into *v
 * (left alone when absent or null), or a refusal naming the key and what elsa computes. */
static int get_choice(const struct json *j, const char *key, const char *const *choices, int n, int *v, const char *name)
{
	int node = json_get(j, json_root(j), key);
	if (!node || json_type(j, node) == J_NULL)
		return 0;
	const char *s = json_type(j, node) == J_STRING ? json_str(j, node, NULL) : "";
	for (int k = 0; k < n; k++)
		if (!strcmp(s, choices[k])) {
			*v = k;
			return 0;
		}
	char list[128] = "";
	for (int k = 0; k < n; k++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? (k + 1 < n ? ", " : " or ") : "", choices[k]);
	return err_set(E_FORMAT, "%s: %s %s: elsa computes %s", name, key, *s ? s : "(not a string)", list);
}

/* Newer configs (transformers 5) give the rotary bases as rope_parameters.full_attention and
 * .sliding_attention, default rotary embeddings only. */
static int rope_parameters(struct model_config *c, const struct json *j, const char *name)
{
	static const char *const kinds[2] = { "full_attention", "sliding_attention" };
	int rp = json_get(j, json_root(j), "rope_parameters");
	if (!rp || json_type(j, rp) == J_NULL)
		return 0;
	for (int k = 0; k < 2; k++) {
		int kind = json_get(j, rp, kinds[k]), theta = json_get(j, kind, "rope_theta");
		const char *type = json_str(j, json_get(j, kind, "rope_type"), NULL);
		double *v = k ? &c->rope_local : &c->rope_global;
		if (type && strcmp(type, "default"))
			return err_set(E_FORMAT, "%s: rope_parameters.%s.rope_type %s: elsa computes default rotary "
						 "embeddings only", name, kinds[k], type);
		if (theta && (json_number(j, theta, v) < 0 || !(*v > 0)))
			return err_set(E_FORMAT, "%s: rope_parameters.%s.rope_theta is not a positive number", name, kinds[k]);
	}
	return 0;
}

/* layer_types (transformers 5), when given, must be the pattern of global_attn_every_n_layers. */
static int layer_types(const struct model_config *c, const struct json *j, const char *name)
{
	int lt = json_get(j, json_root(j), "layer_types");
	if (!lt || json_type(j, lt) == J_NULL)
		return 0;
	if (json_type(j, lt) != J_ARRAY || json_len(j, lt) != (size_t)c->layers)
		return err_set(E_FORMAT, "%s: layer_types is not a list of the %d layers' kinds", name, c->layers);
	for (int l = 0; l < c->layers; l++) {
		const char *kind = json_str(j, json_at(j, lt, (size_t)l, NULL), NULL);
		const char *want = l % c->global_every ? "sliding_attention" : "full_attention";
		if (!kind || strcmp(kind, want))
			return err_set(E_FORMAT, "%s: layer_types: layer %d is %s, not %s: elsa computes every "
						 "global_attn_every_n_layers-th layer (%d) global, the others local",
				       name, l, kind ? kind : "not a string", want, c->global_every);
	}
	return 0;
}

/* ModernBERT's attention: the local window (an even number of tokens), which layers are global,
 * and the rotary bases (local_rope_theta null: the global one), as ModernBertConfig reads them. */
static int modernbert_attention(struct model_config *c, const struct json *j, const char *name)
{
	int rc, node = json_get(j, json_root(j), "local_rope_theta");
	c->window = 128;
	c->global_every = 3;
	c->rope_global = 160000;
	c->rope_local = 10000;
	if ((json_get(j, json_root(j), "local_attention") && (rc = get_int(j, "local_attention", 1, 1 << 20, &c->window, name))) ||
	    (json_get(j, json_root(j), "global_attn_every_n_layers") &&
	     (rc = get_int(j, "global_attn_every_n_layers", 1, LAYER_MAX, &c->global_every, name))) ||
	    (rc = get_number(j, "global_rope_theta", 1e-30, 1e30, &c->rope_global, name)) < 0)
		return rc;
	if (node && json_type(j, node) == J_NULL)
		c->rope_local = c->rope_global;
	else if ((rc = get_number(j, "local_rope_theta", 1e-30, 1e30, &c->rope_local, name)) < 0)
		return rc;
	if (c->window % 2)
		return err_set(E_FORMAT, "%s: local_attention %d is not even: the window is local_attention / 2 tokens on "
					 "each side of the query", name, c->window);
	if ((c->hidden / c->heads) % 2)
		return err_set(E_FORMAT, "%s: num_attention_heads %d makes heads of %d, an odd size: rotary embeddings turn "
					 "pairs", name, c->heads, c->hidden / c->heads);
	int scaling = json_get(j, json_root(j), "rope_scaling");
	if (scaling && json_type(j, scaling) != J_NULL)
		return err_set(E_FORMAT, "%s: rope_scaling: elsa computes default rotary embeddings only", name);
	if ((rc = rope_parameters(c, j, name)) < 0)
		return rc;
	return layer_types(c, j, name);
}

/* ModernBertConfig's other keys and their defaults: the norms' epsilon, the biases, the
 * activations, the pooling, the dropout rates, the initializer of new head tensors. */
static int modernbert_settings(struct model_config *c, const struct json *j, const char *name)
{
	static const char *const gelu[] = { "gelu" }, *const acts[] = { "tanh", "gelu", "relu" }, *const pools[] = { "cls", "mean" };
	int rc, unused = 0, act = ACT_GELU;
	c->eps = 1e-5;
	c->head_dropout = c->emb_dropout = c->attn_dropout = c->mlp_dropout = 0;
	c->init_range = 0.02;
	c->init_cutoff = 2;
	if ((rc = get_number(j, "norm_eps", 1e-30, 1, &c->eps, name)) < 0 || (rc = get_bool(j, "norm_bias", &c->norm_bias, name)) < 0 ||
	    (rc = get_bool(j, "attention_bias", &c->attn_bias, name)) < 0 || (rc = get_bool(j, "mlp_bias", &c->mlp_bias, name)) < 0 ||
	    (rc = get_bool(j, "classifier_bias", &c->head_bias, name)) < 0 ||
	    (rc = get_choice(j, "hidden_activation", gelu, 1, &unused, name)) < 0 ||
	    (rc = get_choice(j, "classifier_activation", acts, 3, &act, name)) < 0 ||
	    (rc = get_choice(j, "classifier_pooling", pools, 2, &c->pool_mean, name)) < 0 ||
	    (rc = get_rate(j, "embedding_dropout", &c->emb_dropout, name)) < 0 ||
	    (rc = get_rate(j, "attention_dropout", &c->attn_dropout, name)) < 0 ||
	    (rc = get_rate(j, "mlp_dropout", &c->mlp_dropout, name)) < 0 ||
	    (rc = get_rate(j, "classifier_dropout", &c->head_dropout, name)) < 0 ||
	    (rc = get_number(j, "initializer_range", 0, 10, &c->init_range, name)) < 0)
		return rc;
	int cutoff = json_get(j, json_root(j), "initializer_cutoff_factor");
	if (cutoff && json_type(j, cutoff) == J_NULL) /* as _init_weights takes None */
		c->init_cutoff = 3;
	else if ((rc = get_number(j, "initializer_cutoff_factor", 1e-3, 1e3, &c->init_cutoff, name)) < 0)
		return rc;
	c->head_act = (enum head_act)act;
	return modernbert_attention(c, j, name);
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

/* The rest: LayerNorm's epsilon, the head's dropout and activation, the biases (every one:
 * ModernBERT's flags give its own), the task and labels of a fine-tuned model. */
static int settings(struct model_config *c, const struct json *j, const char *name)
{
	int root = json_root(j), rc;
	int eps = json_get(j, root, "layer_norm_eps");
	c->eps = c->type == MODEL_ROBERTA ? 1e-5 : 1e-12; /* DistilBERT's is fixed at 1e-12 */
	c->head_dropout = -1;
	c->head_act = family_of(c->type)->head_act;
	c->norm_bias = c->attn_bias = c->mlp_bias = c->head_bias = 1;
	if (c->type == MODEL_MODERNBERT) {
		c->norm_bias = c->attn_bias = c->mlp_bias = c->head_bias = 0;
		if ((rc = modernbert_settings(c, j, name)) < 0)
			return rc;
	} else {
		if (c->type != MODEL_DISTILBERT && eps && (json_number(j, eps, &c->eps) < 0 || c->eps <= 0 || c->eps > 1))
			return err_set(E_FORMAT, "%s: layer_norm_eps is not a small positive number", name);
		if ((rc = get_rate(j, c->type == MODEL_DISTILBERT ? "seq_classif_dropout" : "classifier_dropout",
				   &c->head_dropout, name)) < 0)
			return rc;
	}
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
		rc = err_set(E_FORMAT, "%s: model_type %s: elsa reads bert, roberta, distilbert, electra and modernbert", name,
			     type ? type : "is missing");
	if (rc == 0) {
		c->type = (enum model_type)f;
		if ((c->type == MODEL_MODERNBERT || (rc = unsupported(c, j, name)) == 0) && (rc = sizes(c, j, name)) == 0 &&
		    (rc = settings(c, j, name)) == 0)
			rc = base_model(c, j, name);
	}
	json_free(j);
	return rc;
}

/* A size letter of tensor_spec for config c, with C outputs. */
static int64_t spec_dim(char code, const struct model_config *c, int64_t C)
{
	switch (code) {
	case 'H': return c->hidden;
	case 'I': return c->intermediate;
	case 'T': return 3 * (int64_t)c->hidden;
	case 'G': return 2 * (int64_t)c->intermediate;
	case 'E': return c->embedding;
	case 'V': return c->vocab;
	case 'P': return c->max_pos;
	case 'Y': return c->type_vocab;
	case 'C': return C;
	default: return 0;
	}
}

/* Does tensor s exist (in layer l; -1: not a layer's) in a model of config c? */
static int spec_present(const struct tensor_spec *s, const struct model_config *c, int l)
{
	for (const char *k = s->needs; k && *k; k++) {
		int ok = *k == 'n' ? c->norm_bias : *k == 'a' ? c->attn_bias : *k == 'm' ? c->mlp_bias : *k == 'c' ? c->head_bias
		       : *k == 'y' ? family_of(c->type)->token_types : *k == 'p' ? c->embedding != c->hidden : l != 0;
		if (!ok)
			return 0;
	}
	return 1;
}

/* The spec of a slot among s, NULL when the family has none there. */
static const struct tensor_spec *spec_of(const struct tensor_spec *s, int slot)
{
	for (; s->name; s++)
		if (s->slot == slot)
			return s;
	return NULL;
}

/* The parameters of the tensors s (of layer l) that c has, those of the head's part where
 * alone (0: every one), with C outputs. */
static double spec_parameters(const struct tensor_spec *s, const struct model_config *c, int l, char where)
{
	double n = 0;
	for (; s->name; s++)
		if ((!where || s->where == where) && spec_present(s, c, l))
			n += (double)spec_dim(s->rows, c, 1) * (double)(s->cols ? spec_dim(s->cols, c, 1) : 1);
	return n;
}

double config_parameters(const struct model_config *c)
{
	const struct family *f = family_of(c->type);
	double H = c->hidden, n = spec_parameters(f->emb, c, -1, 0) + spec_parameters(f->head, c, -1, 'b');
	for (int l = 0; l < c->layers; l++)
		n += spec_parameters(f->layer, c, l, 0);
	return n + (f->pooler ? H * H + H : 0);
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
	const struct tensor_spec *word = spec_of(f->emb, EW_WORD), *pos = spec_of(f->emb, EW_POS);
	const struct tensor_spec *type = f->token_types ? spec_of(f->emb, EW_TYPE) : NULL;
	const struct tensor_spec *qkv = spec_of(f->layer, LW_QKV_W), *fc1 = spec_of(f->layer, LW_FC1_W);
	char query[96], inter[96], layer[96], full[160];
	snprintf(query, sizeof query, "%s.0.%s", f->layers, qkv->name);
	snprintf(inter, sizeof inter, "%s.0.%s", f->layers, fc1->name);
	const struct { const struct tensor_spec *s; const char *tensor, *key; int dim, value; } sizes[] = {
		{ word, word->name, "vocab_size", 0, c->vocab },
		{ word, word->name, emb, 1, c->embedding },
		{ pos, pos ? pos->name : "", "max_position_embeddings", 0, c->max_pos },
		{ type, type ? type->name : "", "type_vocab_size", 0, c->type_vocab },
		{ qkv, query, hidden, 1, c->hidden },
		{ fc1, inter, distil ? "hidden_dim" : "intermediate_size", 0, c->intermediate },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		const struct wt_tensor *t = sizes[i].s ? find_either(m, sizes[i].tensor, full, sizeof full) : NULL;
		long long want[2] = { t ? t->shape[0] : 0, t ? t->shape[1] : 0 };
		if (!t || t->ndim != 2)
			continue;
		want[sizes[i].dim] = spec_dim(sizes[i].dim ? sizes[i].s->cols : sizes[i].s->rows, c, 0);
		if (t->shape[sizes[i].dim] == want[sizes[i].dim])
			continue;
		snprintf(buf, n, "%s %d does not fit the weights: %s holds %s as %lld x %lld, not %lld x %lld", sizes[i].key,
			 sizes[i].value, m->w.files[t->file].path, full, (long long)t->shape[0], (long long)t->shape[1], want[0],
			 want[1]);
		return 1;
	}
	for (int l = 0; l < c->layers; l++) {
		snprintf(layer, sizeof layer, "%s.%d.%s", f->layers, l, qkv->name);
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
	const char *prefix = family_of(m->cfg.type)->prefix, *word = family_of(m->cfg.type)->emb[0].name;
	char probe[96];
	snprintf(probe, sizeof probe, "%s%s", prefix, word);
	m->prefix = weights_find(&m->w, probe) ? prefix : "";
	if (*m->prefix || weights_find(&m->w, word))
		return 0;
	for (size_t f = 0; f < FAMILIES; f++) {
		snprintf(probe, sizeof probe, "%s%s", families[f].prefix, families[f].emb[0].name);
		if (f != m->cfg.type && weights_find(&m->w, probe))
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

#define SPECS_MAX 16 /* tensors of a family's embeddings, a layer or a head, at most */

static void add(struct params *ps, const char *name, int prefixed, int64_t rows, int64_t cols, int head, int layer,
		int slot)
{
	struct param *p = &ps->p[ps->n++];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->prefixed = prefixed;
	p->rows = rows;
	p->cols = cols;
	p->offset = ps->size;
	p->head = head;
	p->layer = layer;
	p->slot = slot;
	/* Weight decay on the weight matrices only, as Hugging Face's recipe: not on biases, not on
	 * LayerNorm, not on embeddings' LayerNorm. */
	p->decay = cols > 0 && !strstr(name, "LayerNorm");
	ps->size += (size_t)rows * (size_t)(cols ? cols : 1);
}

/* The tensors of specs s that c has, in their order: of layer l (its names under the family's
 * layers, "encoder.layer.3."), or (l -1) the embeddings' or, with C outputs, the head's. */
static void add_specs(struct params *ps, const struct model_config *c, const struct tensor_spec *s, int l, int64_t C)
{
	char name[96];
	for (; s->name; s++) {
		if (!spec_present(s, c, l))
			continue;
		if (l >= 0)
			snprintf(name, sizeof name, "%s.%d.%s", family_of(c->type)->layers, l, s->name);
		else
			snprintf(name, sizeof name, "%s", s->name);
		add(ps, name, s->where != 'h', spec_dim(s->rows, c, C), s->cols ? spec_dim(s->cols, c, C) : 0,
		    s->where == 'p' || s->where == 'h', l, s->slot);
	}
}

int params_init(struct params *ps, const struct model_config *c, int emb, int first, int last, int head_outputs)
{
	const struct family *f = family_of(c->type);
	memset(ps, 0, sizeof *ps);
	if (first < 0 || last > c->layers || first > last)
		return err_set(E_ARG, "layers %d..%d are out of the model's range 0..%d", first, last, c->layers);
	ps->p = calloc(SPECS_MAX * ((size_t)(last - first) + 2), sizeof *ps->p);
	if (!ps->p)
		return err_set(E_NOMEM, "out of memory");
	ps->emb = emb;
	ps->first = first;
	ps->last = last;
	ps->head_outputs = head_outputs;
	if (emb)
		add_specs(ps, c, f->emb, -1, 0);
	ps->nemb = ps->n;
	for (int l = first; l < last; l++)
		add_specs(ps, c, f->layer, l, 0);
	if (head_outputs > 0)
		add_specs(ps, c, f->head, -1, head_outputs);
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

/* Points slots[k] (NULL first) at the tensor of slot k among params [from, to) of layer l, in
 * base; a tensor of SLOT_NEXT lies in the rows after the one before it. */
static void point(const struct params *ps, float *base, size_t from, size_t to, int l, float **slots[], int n)
{
	for (int k = 0; k < n; k++)
		*slots[k] = NULL;
	for (size_t i = from; i < to; i++)
		if (ps->p[i].layer == l && ps->p[i].slot >= 0 && ps->p[i].slot < n)
			*slots[ps->p[i].slot] = base + ps->p[i].offset;
}

void params_emb(const struct params *ps, float *base, struct emb_weights *w)
{
	float **slots[] = { [EW_WORD] = &w->word, [EW_POS] = &w->pos, [EW_TYPE] = &w->type, [EW_LN_W] = &w->ln_w,
			    [EW_LN_B] = &w->ln_b, [EW_PROJ_W] = &w->proj_w, [EW_PROJ_B] = &w->proj_b };
	point(ps, base, 0, ps->nemb, -1, slots, (int)(sizeof slots / sizeof *slots));
}

void params_layer(const struct params *ps, float *base, int layer, struct layer_weights *w)
{
	float **slots[] = { [LW_QKV_W] = &w->qkv_w, [LW_QKV_B] = &w->qkv_b, [LW_O_W] = &w->o_w, [LW_O_B] = &w->o_b,
			    [LW_LN1_W] = &w->ln1_w, [LW_LN1_B] = &w->ln1_b, [LW_FC1_W] = &w->fc1_w, [LW_FC1_B] = &w->fc1_b,
			    [LW_FC2_W] = &w->fc2_w, [LW_FC2_B] = &w->fc2_b, [LW_LN2_W] = &w->ln2_w, [LW_LN2_B] = &w->ln2_b };
	w->layer = layer;
	point(ps, base, ps->nemb, ps->n, layer, slots, (int)(sizeof slots / sizeof *slots));
}

void params_head(const struct params *ps, float *base, struct head_weights *w)
{
	float **slots[] = { [HW_FNORM_W] = &w->fnorm_w, [HW_FNORM_B] = &w->fnorm_b, [HW_DENSE_W] = &w->dense_w,
			    [HW_DENSE_B] = &w->dense_b, [HW_NORM_W] = &w->norm_w, [HW_NORM_B] = &w->norm_b,
			    [HW_OUT_W] = &w->out_w, [HW_OUT_B] = &w->out_b };
	point(ps, base, ps->nemb, ps->n, -1, slots, (int)(sizeof slots / sizeof *slots));
}
