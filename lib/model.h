/* model.h: model folders of the BERT family as Hugging Face writes them (BERT and any
 * checkpoint of its architecture, RoBERTa, DistilBERT, ELECTRA) and of ModernBERT, what sets the
 * families apart (struct family: one table in model.c), and the parameter sets elsa computes with.
 *
 * A folder holds config.json and the weights in any layout weights.h reads (model.safetensors,
 * pytorch_model.bin, either sharded); the tensors may carry the "bert." / "roberta." / "model."
 * prefix (BertFor*, RobertaFor*, ModernBertFor* checkpoints) or not (BertModel, RobertaModel,
 * ModernBertModel), old BERT checkpoints name LayerNorm's tensors gamma/beta, and tensors elsa
 * does not use (position_ids buffers, masked-LM and next-sentence heads, ModernBERT's decoder)
 * are ignored. The model's fingerprint (XXH64 of config.json, then of each weights file in turn,
 * seeded with the hash before it) names it in stream headers.
 *
 * A parameter set holds the tensors of a part of the model (embeddings, a range of encoder
 * layers, the task head) in one f32 allocation, in a fixed order, named as Hugging Face names
 * them; gradients and optimizer moments use the same layout, so params_layer() and friends
 * give pointers into any buffer of that layout. Q, K and V of a layer are adjacent (weights, then
 * biases), so one GEMM computes all three. A tensor the configuration leaves out (ModernBERT's
 * biases, its first layer's attention norm) is not in the set, and its pointer is NULL. */
#ifndef ELSA_MODEL_H
#define ELSA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "weights.h"

enum model_type { MODEL_BERT, MODEL_ROBERTA, MODEL_DISTILBERT, MODEL_ELECTRA, MODEL_MODERNBERT };

/* The head's activation after its dense layer. */
enum head_act { ACT_TANH, ACT_GELU, ACT_RELU };

/* A tensor of a family's embeddings, layers or head, as its checkpoints name it. Sizes by
 * letter: H hidden, I intermediate, T 3H (fused Q, K, V), G 2I (GeGLU's input and gate), E the
 * embeddings' width, V vocabulary, P positions, Y token types, C the head's outputs; cols 0 for a
 * vector. needs: the conditions for it to exist, all of them (NULL: always): 'n' norm_bias, 'a'
 * attention_bias, 'm' mlp_bias, 'c' classifier_bias, 'y' token types, 'p' embeddings narrower
 * than the layers (ELECTRA's projection), '1' not in layer 0. slot: its pointer in emb_weights,
 * layer_weights or head_weights (the EW_, LW_, HW_ names); SLOT_NEXT: rows following the tensor
 * before it (BERT's key and value after its query). where (head tensors): 'b' the body's, under
 * the prefix (ModernBERT's final_norm); 'p' the head's, under the prefix (BERT's pooler); 'h' the
 * head's, bare. */
struct tensor_spec {
	const char *name;
	char rows, cols;
	const char *needs;
	signed char slot;
	char where;
};
#define SLOT_NEXT (-1)
enum { EW_WORD, EW_POS, EW_TYPE, EW_LN_W, EW_LN_B, EW_PROJ_W, EW_PROJ_B };
enum { LW_QKV_W, LW_QKV_B, LW_O_W, LW_O_B, LW_LN1_W, LW_LN1_B, LW_FC1_W, LW_FC1_B, LW_FC2_W, LW_FC2_B, LW_LN2_W, LW_LN2_B };
enum { HW_FNORM_W, HW_FNORM_B, HW_DENSE_W, HW_DENSE_B, HW_NORM_W, HW_NORM_B, HW_OUT_W, HW_OUT_B };

/* What a family's modules compute differently, and how its checkpoints name the tensors (the
 * head's last two are always the output layer's weight and bias). */
struct family {
	const char *model_type;   /* config.json's model_type */
	const char *prefix;       /* the encoder's tensors: "bert." */
	const char *architecture; /* transformers' sequence-classification class */
	int token_types;          /* the embeddings add token type embeddings (not DistilBERT, ModernBERT) */
	int roberta_positions;    /* positions count from padding_idx + 1 (RobertaEmbeddings) */
	int attn_out_dropout;     /* dropout on the attention output (not DistilBERT) */
	int pooler;               /* base checkpoints carry a pooler (BERT, RoBERTa) */
	enum head_act head_act;   /* tanh (BERT's pooler, RoBERTa), GELU (ELECTRA), ReLU (DistilBERT);
				   * ModernBERT's default, which classifier_activation may change */
	int head_in_dropout;      /* dropout on the first token's state before the head (RoBERTa, ELECTRA) */
	int pre_norm;             /* ModernBERT: pre-LayerNorm layers, rotary attention (global or within a
				   * window), GeGLU, a final norm, dropout rates from the config, pooling */
	const char *layers;       /* "encoder.layer", "transformer.layer" or "layers" */
	const struct tensor_spec *emb, *layer, *head; /* each ends with a NULL name */
};
const struct family *family_of(enum model_type t);

#define MODEL_LABELS_MAX 8
#define MODEL_LABEL_LEN 32

struct model_config {
	enum model_type type;
	int hidden, layers, heads, intermediate;
	int embedding;  /* the embedding tables' width: hidden, but ELECTRA's embedding_size */
	int vocab, max_pos, type_vocab, pad_id; /* type_vocab 0: no token types (DistilBERT, ModernBERT) */
	double eps;     /* LayerNorm epsilon */
	double head_dropout; /* the head's own dropout rate (classifier_dropout, seq_classif_dropout); -1: none */
	enum head_act head_act; /* the head's activation */
	/* ModernBERT's (modeling_modernbert): the biases it has (the other families have all), its
	 * dropout rates by site, the local layers' window (keys within window / 2 of the query; 0:
	 * every layer global), which layers are global, the rotary bases, the pooling, and how
	 * transformers initializes new head tensors (truncated normal). */
	int norm_bias, attn_bias, mlp_bias, head_bias;
	double emb_dropout, attn_dropout, mlp_dropout;
	int window, global_every;
	double rope_global, rope_local;
	int pool_mean;  /* the head reads the mean of every token's state, not the first token's */
	double init_range, init_cutoff;
	int num_labels; /* from id2label / num_labels; 0 when config.json has neither */
	/* id2label's name of each output, for the first MODEL_LABELS_MAX; "" where it gives none
	 * (a key that is not an output's number, a value that is not a string or is too long) */
	char labels[MODEL_LABELS_MAX][MODEL_LABEL_LEN];
	char task[16];  /* finetuning_task, when it is there and short; "" */
	/* An elsa-export folder's base model: its fingerprint (elsa_base_fingerprint, 0: none) and
	 * how many of the bottom layers are the base's, unchanged (elsa_base_layers: the embeddings
	 * and layers 0..base_layers-1), so that the base's streams of those layers are this model's. */
	uint64_t base_model;
	int base_layers;
};

/* ModernBERT's layer l: local (attention within the window) or global, and its rotary base. */
static inline int layer_is_local(const struct model_config *c, int l)
{
	return c->window > 0 && l % c->global_every != 0;
}

static inline double layer_rope_theta(const struct model_config *c, int l)
{
	return layer_is_local(c, l) ? c->rope_local : c->rope_global;
}

/* Reads config.json (from any JSON text; name for messages). 0 or E_FORMAT naming the field. */
int config_parse(struct model_config *c, const char *text, size_t n, const char *name);
/* The parameters such a model has (embeddings and their projection, layers, pooler or final
 * norm), and the most tokens an example may have (the position table's rows; RoBERTa's start
 * after padding_idx; ModernBERT's max_position_embeddings). */
double config_parameters(const struct model_config *c);
uint32_t config_max_tokens(const struct model_config *c);
const char *model_type_name(enum model_type t);

struct model {
	char *dir;
	struct model_config cfg;
	uint64_t fingerprint;
	struct weights w;
	const char *prefix; /* the family's prefix ("bert.") or "" */
};

/* Opens a model folder: config.json, the safetensors header and the fingerprint. */
int model_open(struct model *m, const char *dir);
void model_close(struct model *m);
struct stream_header;
/* Does a tensor stream's header (of the stream called name) fit model m: its hidden size, and
 * states made by m (its fingerprint), or by m's base model (an exported folder's) at a layer
 * they share? 0, or E_MISMATCH naming the stream, saying why and what to do. */
int model_check_stream(const struct model *m, const struct stream_header *h, const char *name);

/* Parameter sets */

struct param {
	char name[96]; /* Hugging Face's name without the model prefix */
	int prefixed;  /* lives under the family's prefix (all but the head's own tensors) */
	int64_t rows, cols; /* cols 0: a vector of rows */
	size_t offset; /* in floats from the start of the set */
	int decay;     /* AdamW's weight decay applies: not to biases and LayerNorm */
	int head;      /* part of the task head (may be absent from a checkpoint) */
	int layer;     /* the encoder layer it belongs to; -1: the embeddings or the head */
	int slot;      /* its pointer in emb_weights, layer_weights or head_weights (tensor_spec's) */
	int loaded;    /* params_load found it */
};

struct params {
	struct param *p;
	size_t n;
	size_t size; /* floats */
	float *mem;  /* the values, size floats */
	int first, last, emb, head_outputs; /* what the set holds */
	size_t nemb; /* embedding tensors at the start (0 without emb) */
};

/* Lays out embeddings (when emb), encoder layers [first, last) and, when head_outputs > 0, the
 * task head with that many outputs (BERT: pooler + classifier; RoBERTa: classifier.dense +
 * classifier.out_proj; ModernBERT: final_norm, head.dense, head.norm, classifier), and allocates
 * mem (zeroed). */
int params_init(struct params *ps, const struct model_config *c, int emb, int first, int last, int head_outputs);
void params_free(struct params *ps);
/* Loads every tensor of the set from the model, checking its shape. Missing tensors are an
 * error naming them, except head tensors, which are left as they are (loaded stays 0) and counted
 * in *head_missing (absent or of another shape). */
int params_load(struct params *ps, const struct model *m, int *head_missing);
/* Loads from other weights (a trained run's) every tensor of the set that they hold, under full
 * Hugging Face names ("bert.encoder..."), marking them loaded; *loaded counts them. */
int params_load_file(struct params *ps, const struct weights *w, enum model_type type, size_t *loaded);
/* Moves the head's outputs: output i's row of the last layer (weights and bias) becomes row
 * to[i] (a permutation of 0..head_outputs-1). 0, or E_NOMEM. */
int params_move_outputs(struct params *ps, const int *to);
/* Writes every tensor of the set to a safetensors file (atomically), under its full name, stored
 * as dtype. */
int params_write(const struct params *ps, enum model_type type, const char *path, enum dtype dtype);
/* The full Hugging Face name of p ("bert.encoder.layer.0...", "classifier.weight"). */
void param_full_name(const struct param *p, enum model_type type, char *buf, size_t n);

struct emb_weights {
	float *word, *pos, *type, *ln_w, *ln_b; /* pos, type NULL: none (ModernBERT: word alone) */
	float *proj_w, *proj_b;                  /* ELECTRA's embeddings_project [H, E], [H]; NULL: none */
};
/* A layer's tensors. Post-LayerNorm layers (BERT's): ln1 after the attention, fc1 the
 * intermediate dense [I, H], ln2 after the FFN. Pre-LayerNorm layers (ModernBERT's): ln1 the
 * attention norm (NULL in layer 0), ln2 the MLP norm, fc1 Wi [2I, H] (GeGLU's input, then its
 * gate), fc2 the MLP's Wo. Any bias may be NULL (ModernBERT's). */
struct layer_weights {
	int layer;             /* which layer of the model */
	float *qkv_w, *qkv_b;  /* [3H, H], [3H]: query, key, value */
	float *o_w, *o_b;      /* attention output dense [H, H] */
	float *ln1_w, *ln1_b;
	float *fc1_w, *fc1_b;
	float *fc2_w, *fc2_b;  /* output dense [H, I] */
	float *ln2_w, *ln2_b;
};
struct head_weights {
	float *fnorm_w, *fnorm_b; /* ModernBERT's final_norm, before the pooling; NULL: none */
	float *dense_w, *dense_b; /* BERT's pooler, classifier.dense, DistilBERT's pre_classifier, head.dense: [H, H] */
	float *norm_w, *norm_b;   /* ModernBERT's head.norm after the activation; NULL: none */
	float *out_w, *out_b;     /* classifier, classifier.out_proj: [C, H] */
};

/* Pointers into base (ps->mem, or a gradient or moment buffer of the same layout). */
void params_emb(const struct params *ps, float *base, struct emb_weights *w);
void params_layer(const struct params *ps, float *base, int layer, struct layer_weights *w);
void params_head(const struct params *ps, float *base, struct head_weights *w);

#endif
