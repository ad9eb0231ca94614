/* model.h: BERT and RoBERTa model folders as Hugging Face writes them, and the parameter sets
 * elsa computes with.
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

enum model_type { MODEL_BERT, MODEL_ROBERTA };

struct model_config {
	enum model_type type;
	int hidden, layers, heads, intermediate;
	int vocab, max_pos, type_vocab, pad_id;
	double eps;     /* LayerNorm epsilon */
	int num_labels; /* from id2label / num_labels; 0 when config.json has neither */
	char task[16];  /* finetuning_task, when it is there and short; "" */
};

/* Reads config.json (from any JSON text; name for messages). 0 or E_FORMAT naming the field. */
int config_parse(struct model_config *c, const char *text, size_t n, const char *name);
/* The parameters such a model has (embeddings, layers, pooler), and the most tokens an example
 * may have (the position table's rows; RoBERTa's start after padding_idx). */
double config_parameters(const struct model_config *c);
uint32_t config_max_tokens(const struct model_config *c);
const char *model_type_name(enum model_type t);

struct model {
	char *dir;
	struct model_config cfg;
	uint64_t fingerprint;
	struct weights w;
	const char *prefix; /* "bert.", "roberta." or "" */
};

/* Opens a model folder: config.json, the safetensors header and the fingerprint. */
int model_open(struct model *m, const char *dir);
void model_close(struct model *m);

/* Parameter sets */

struct param {
	char name[96]; /* Hugging Face's name without the model prefix */
	int prefixed;  /* lives under "bert." / "roberta." (all but the classifier) */
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
/* Writes every tensor of the set to a safetensors file (atomically), under its full name, stored
 * as dtype. */
int params_write(const struct params *ps, enum model_type type, const char *path, enum dtype dtype);
/* The full Hugging Face name of p ("bert.encoder.layer.0...", "classifier.weight"). */
void param_full_name(const struct param *p, enum model_type type, char *buf, size_t n);

struct emb_weights {
	float *word, *pos, *type, *ln_w, *ln_b;
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
	float *dense_w, *dense_b; /* BERT's pooler, RoBERTa's classifier.dense: [H, H] */
	float *out_w, *out_b;     /* BERT's classifier, RoBERTa's classifier.out_proj: [C, H] */
};

/* Pointers into base (ps->mem, or a gradient or moment buffer of the same layout). */
void params_emb(const struct params *ps, float *base, struct emb_weights *w);
void params_layer(const struct params *ps, float *base, int layer, struct layer_weights *w);
void params_head(const struct params *ps, float *base, struct head_weights *w);

#endif
