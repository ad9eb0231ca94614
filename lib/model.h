/* model.h: model folders of the BERT family as Hugging Face writes them (BERT and any
 * checkpoint of its architecture, RoBERTa, DistilBERT, ELECTRA), what sets the families apart
 * (struct family: one table in model.c), and the parameter sets elsa computes with.
 *
 * A folder holds config.json and the weights in any layout weights.h reads (model.safetensors,
 * pytorch_model.bin, either sharded); the tensors may carry the "bert." / "roberta." prefix
 * (BertFor*, RobertaFor* checkpoints) or not (BertModel, RobertaModel), old BERT checkpoints name
 * LayerNorm's tensors gamma/beta, and tensors elsa does not use (position_ids buffers, masked-LM
 * and next-sentence heads) are ignored. The model's fingerprint (XXH64 of config.json, then of
 * each weights file in turn, seeded with the hash before it) names it in stream headers.
 *
 * A parameter set holds the tensors of a part of the model (embeddings, a range of encoder
 * layers, the task head) in one f32 allocation, in a fixed order, named as Hugging Face names
 * them; gradients and optimizer moments use the same layout, so params_layer() and friends
 * give pointers into any buffer of that layout. Q, K and V of a layer are adjacent (weights, then
 * biases), so one GEMM computes all three. */
#ifndef ELSA_MODEL_H
#define ELSA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "weights.h"

enum model_type { MODEL_BERT, MODEL_ROBERTA, MODEL_DISTILBERT, MODEL_ELECTRA };

/* The head's activation after its dense layer. */
enum head_act { ACT_TANH, ACT_GELU, ACT_RELU };

/* What a family's modules compute differently, and how its checkpoints name the tensors. Layer
 * tensors are named in the order of params (query, key, value weights and biases, attention
 * output, its LayerNorm, intermediate, output, its LayerNorm), head tensors dense then out. */
struct family {
	const char *model_type;   /* config.json's model_type */
	const char *prefix;       /* the encoder's tensors: "bert." */
	const char *architecture; /* transformers' sequence-classification class */
	int token_types;          /* the embeddings add token type embeddings (not DistilBERT) */
	int roberta_positions;    /* positions count from padding_idx + 1 (RobertaEmbeddings) */
	int attn_out_dropout;     /* dropout on the attention output (not DistilBERT) */
	int pooler;               /* base checkpoints carry a pooler (BERT, RoBERTa) */
	enum head_act head_act;   /* tanh (BERT's pooler, RoBERTa), GELU (ELECTRA), ReLU (DistilBERT) */
	int head_in_dropout;      /* dropout on the first token's state before the head (RoBERTa, ELECTRA) */
	int head_dense_prefixed;  /* the head's dense layer lives under the prefix (BERT's pooler) */
	const char *layers;       /* "encoder.layer" or "transformer.layer" */
	const char *layer_names[16];
	const char *head_names[4];
};
const struct family *family_of(enum model_type t);

#define MODEL_LABELS_MAX 8
#define MODEL_LABEL_LEN 32

struct model_config {
	enum model_type type;
	int hidden, layers, heads, intermediate;
	int embedding;  /* the embedding tables' width: hidden, but ELECTRA's embedding_size */
	int vocab, max_pos, type_vocab, pad_id; /* type_vocab 0: no token types (DistilBERT) */
	double eps;     /* LayerNorm epsilon */
	double head_dropout; /* the head's own dropout rate (classifier_dropout, seq_classif_dropout); -1: none */
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

/* Reads config.json (from any JSON text; name for messages). 0 or E_FORMAT naming the field. */
int config_parse(struct model_config *c, const char *text, size_t n, const char *name);
/* The parameters such a model has (embeddings and their projection, layers, pooler), and the most
 * tokens an example may have (the position table's rows; RoBERTa's start after padding_idx). */
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
	int prefixed;  /* lives under the family's prefix (all but the classifier) */
	int64_t rows, cols; /* cols 0: a vector of rows */
	size_t offset; /* in floats from the start of the set */
	int decay;     /* AdamW's weight decay applies: not to biases and LayerNorm */
	int head;      /* part of the task head (may be absent from a checkpoint) */
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
 * classifier.out_proj), and allocates mem (zeroed). */
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
	float *word, *pos, *type, *ln_w, *ln_b; /* type NULL: no token types */
	float *proj_w, *proj_b;                  /* ELECTRA's embeddings_project [H, E], [H]; NULL: none */
};
struct layer_weights {
	float *qkv_w, *qkv_b;  /* [3H, H], [3H]: query, key, value */
	float *o_w, *o_b;      /* attention output dense [H, H] */
	float *ln1_w, *ln1_b;  /* attention output LayerNorm */
	float *fc1_w, *fc1_b;  /* intermediate dense [I, H] */
	float *fc2_w, *fc2_b;  /* output dense [H, I] */
	float *ln2_w, *ln2_b;  /* output LayerNorm */
};
struct head_weights {
	float *dense_w, *dense_b; /* BERT's pooler, classifier.dense, DistilBERT's pre_classifier: [H, H] */
	float *out_w, *out_b;     /* classifier, classifier.out_proj: [C, H] */
};

/* Pointers into base (ps->mem, or a gradient or moment buffer of the same layout). */
void params_emb(const struct params *ps, float *base, struct emb_weights *w);
void params_layer(const struct params *ps, float *base, int layer, struct layer_weights *w);
void params_head(const struct params *ps, float *base, struct head_weights *w);

#endif
