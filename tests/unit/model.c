/* Model folders made by mkmodel: every family, with and without the prefix, gamma/beta names,
 * f16 weights; the families' configs; the parameter layout; missing and misshapen tensors named. */
#include "check.h"
#include "err.h"
#include "model.h"
#include "safetensors.h"
#include "stream.h"

static const char *mkmodel(const char *name, const char *args)
{
	static char dir[4096];
	char cmd[8192];
	snprintf(dir, sizeof dir, "%s", check_tmp(name));
	snprintf(cmd, sizeof cmd, "%s/mkmodel %s %s", getenv("ELSA_BIN") ? getenv("ELSA_BIN") : "build", args, dir);
	return system(cmd) == 0 ? dir : NULL;
}

/* Loads every tensor of the folder through a parameter set and compares with the file. */
static void check_loads(const char *dir, enum model_type type, int layers, int labels)
{
	struct model m;
	struct params ps;
	int missing;
	CHECK(model_open(&m, dir) == 0, "%s", err_msg());
	CHECK(m.cfg.type == type && m.cfg.layers == layers, "config");
	CHECK(params_init(&ps, &m.cfg, 1, 0, layers, labels ? labels : 2) == 0, "%s", err_msg());
	CHECK(params_load(&ps, &m, &missing) == 0, "%s", err_msg());
	CHECK(missing == (labels ? 0 : type == MODEL_BERT ? 2 : 4), "head tensors missing: %d", missing);
	/* Spot checks: a layer's fused QKV is query, key, value in order. */
	struct layer_weights w;
	params_layer(&ps, ps.mem, layers - 1, &w);
	char name[160];
	snprintf(name, sizeof name, "%s%s.%d.%s", m.prefix, family_of(type)->layers, layers - 1,
		 family_of(type)->layer[1].name);
	const struct wt_tensor *t = weights_find(&m.w, name);
	size_t H = (size_t)m.cfg.hidden;
	float *key = malloc(H * H * sizeof *key);
	CHECK(t && weights_read_f32(&m.w, t, key) == 0 && !memcmp(key, w.qkv_w + H * H, H * H * sizeof *key), "key block");
	free(key);
	params_free(&ps);
	model_close(&m);
}

TEST(both_types_all_naming_variants)
{
	const char *d;
	CHECK((d = mkmodel("bert", "--type bert --layers 2")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_BERT, 2, 0);
	CHECK((d = mkmodel("roberta", "--type roberta --layers 3 --labels 3")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_ROBERTA, 3, 3);
	CHECK((d = mkmodel("noprefix", "--no-prefix --gamma-beta --dtype bf16")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_BERT, 2, 0);
}

TEST(distilbert_and_electra_folders)
{
	const char *d;
	CHECK((d = mkmodel("distil", "--type distilbert --layers 2 --labels 2")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_DISTILBERT, 2, 2);
	CHECK((d = mkmodel("electra", "--type electra --layers 2 --embedding-size 8")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_ELECTRA, 2, 0);
}

static int parse(const char *text, struct model_config *c)
{
	return config_parse(c, text, strlen(text), "config.json");
}

/* Each family's own keys and defaults, and what elsa does not compute, refused by name. */
TEST(family_configs)
{
	struct model_config c;
	const char *distil = "{\"model_type\": \"distilbert\", \"dim\": 768, \"n_layers\": 6, \"n_heads\": 12, "
			     "\"hidden_dim\": 3072, \"vocab_size\": 30522, \"max_position_embeddings\": 512, "
			     "\"activation\": \"gelu\", \"seq_classif_dropout\": 0.2, \"sinusoidal_pos_embds\": false}";
	CHECK(parse(distil, &c) == 0, "%s", err_msg());
	CHECK(c.type == MODEL_DISTILBERT && c.hidden == 768 && c.layers == 6 && c.heads == 12 && c.intermediate == 3072 &&
		      c.embedding == 768 && c.type_vocab == 0 && c.eps == 1e-12 && c.head_dropout == 0.2,
	      "distilbert: %d %d %d %d %d %g %g", c.hidden, c.layers, c.heads, c.intermediate, c.type_vocab, c.eps,
	      c.head_dropout);
	CHECK(config_parameters(&c) == 66362880.0, "distilbert-base has 66362880 parameters, not %.0f", config_parameters(&c));
	const char *electra = "{\"model_type\": \"electra\", \"hidden_size\": 256, \"num_hidden_layers\": 12, "
			      "\"num_attention_heads\": 4, \"intermediate_size\": 1024, \"vocab_size\": 30522, "
			      "\"max_position_embeddings\": 512, \"type_vocab_size\": 2, \"classifier_dropout\": null}";
	CHECK(parse(electra, &c) == 0, "%s", err_msg());
	CHECK(c.type == MODEL_ELECTRA && c.embedding == 128 && c.head_dropout == -1,
	      "electra: embedding_size defaults to 128 (%d), no classifier_dropout (%g)", c.embedding, c.head_dropout);
	/* electra-small's ElectraModel, counted by hand from its modules: embeddings (30522 + 512 + 2)
	 * x 128 + 256, embeddings_project 128 x 256 + 256, 12 layers of 789760 */
	CHECK(config_parameters(&c) == 13483008.0, "electra-small: %.0f", config_parameters(&c));
	CHECK(parse("{\"model_type\": \"distilbert\", \"dim\": 8, \"n_layers\": 1, \"n_heads\": 2, \"hidden_dim\": 8, "
		    "\"vocab_size\": 9, \"max_position_embeddings\": 9, \"sinusoidal_pos_embds\": true}", &c) == E_FORMAT &&
		      strstr(err_msg(), "sinusoidal_pos_embds"), "%s", err_msg());
	CHECK(parse("{\"model_type\": \"distilbert\", \"activation\": \"relu\"}", &c) == E_FORMAT &&
		      strstr(err_msg(), "activation relu"), "%s", err_msg());
	CHECK(parse("{\"model_type\": \"albert\"}", &c) == E_FORMAT &&
		      strstr(err_msg(), "model_type albert: elsa reads bert, roberta, distilbert, electra and modernbert"), "%s", err_msg());
	CHECK(parse("{\"model_type\": \"distilbert\", \"dim\": 8}", &c) == E_FORMAT && strstr(err_msg(), "no n_layers"),
	      "%s", err_msg());
}

TEST(fingerprint_follows_the_weights)
{
	struct model a, b, c;
	const char *d1 = mkmodel("fa", "--seed 1"), *d2;
	CHECK(d1 && model_open(&a, d1) == 0, "open");
	d2 = mkmodel("fb", "--seed 1");
	CHECK(d2 && model_open(&b, d2) == 0, "open");
	CHECK(a.fingerprint == b.fingerprint, "same weights, same fingerprint");
	d2 = mkmodel("fc", "--seed 2");
	CHECK(d2 && model_open(&c, d2) == 0, "open");
	CHECK(a.fingerprint != c.fingerprint, "other weights, same fingerprint");
	model_close(&a), model_close(&b), model_close(&c);
}

TEST(missing_and_misshapen_tensors_are_named)
{
	const char *d = mkmodel("broken", "--layers 2");
	struct model m;
	struct params ps;
	int missing;
	char path[4096];
	CHECK(d && model_open(&m, d) == 0, "open");
	/* A set asking for a layer the checkpoint lacks (config edited to claim 3 layers). */
	m.cfg.layers = 3;
	CHECK(params_init(&ps, &m.cfg, 0, 2, 3, 0) == 0, "init");
	CHECK(params_load(&ps, &m, &missing) < 0 && strstr(err_msg(), "no tensors bert.encoder.layer.2.attention.self.query.weight, "
							"bert.encoder.layer.2.attention.self.key.weight, ") &&
		      strstr(err_msg(), "(and ") && strstr(err_msg(), " more)"),
	      "%s", err_msg());
	params_free(&ps);
	/* Wrong shape: claim a larger intermediate size. */
	m.cfg.layers = 2;
	m.cfg.intermediate = 999;
	CHECK(params_init(&ps, &m.cfg, 0, 0, 1, 0) == 0, "init");
	CHECK(params_load(&ps, &m, &missing) < 0 && strstr(err_msg(), "intermediate.dense.weight is 128 x 32, expected 999 x 32"),
	      "%s", err_msg());
	params_free(&ps);
	model_close(&m);
	snprintf(path, sizeof path, "%s/model.safetensors", d);
	unlink(path);
	CHECK(model_open(&m, d) < 0 && strstr(err_msg(), "model.safetensors"), "%s", err_msg());
}

/* id2label's names by output, whatever the keys' order; what is not a name stays ""; without
 * id2label, transformers' LABEL_k. And an exported folder's record of its base model. */
TEST(label_names_and_base_model)
{
	struct model_config c;
	const char *head = "{\"model_type\": \"bert\", \"hidden_size\": 8, \"num_hidden_layers\": 2, "
			   "\"num_attention_heads\": 2, \"intermediate_size\": 8, \"vocab_size\": 9, "
			   "\"max_position_embeddings\": 9, \"type_vocab_size\": 2";
	char text[1024];
	snprintf(text, sizeof text, "%s, \"id2label\": {\"2\": \"CONTRADICTION\", \"0\": \"entailment\", \"1\": 7}}", head);
	CHECK(parse(text, &c) == 0 && c.num_labels == 3, "%s", err_msg());
	CHECK(!strcmp(c.labels[0], "entailment") && !strcmp(c.labels[1], "") && !strcmp(c.labels[2], "CONTRADICTION"),
	      "labels %s, %s, %s", c.labels[0], c.labels[1], c.labels[2]);
	snprintf(text, sizeof text, "%s, \"id2label\": {\"x\": \"a\", \"5\": \"b\"}}", head);
	CHECK(parse(text, &c) == 0 && c.num_labels == 2 && !c.labels[0][0] && !c.labels[1][0], "keys that are no output's");
	snprintf(text, sizeof text, "%s, \"id2label\": [\"a\", \"b\"]}", head);
	CHECK(parse(text, &c) == 0 && c.num_labels == 2 && !c.labels[0][0] && !c.labels[1][0], "an array, not an object");
	snprintf(text, sizeof text, "%s, \"num_labels\": 2}", head);
	CHECK(parse(text, &c) == 0 && !strcmp(c.labels[0], "LABEL_0") && !strcmp(c.labels[1], "LABEL_1") && !c.labels[2][0],
	      "num_labels alone: %s, %s", c.labels[0], c.labels[1]);
	snprintf(text, sizeof text, "%s, \"elsa_base_fingerprint\": \"00ff00ff00ff00ff\", \"elsa_base_layers\": 1}", head);
	CHECK(parse(text, &c) == 0 && c.base_model == 0x00ff00ff00ff00ffULL && c.base_layers == 1, "%s", err_msg());
	snprintf(text, sizeof text, "%s, \"elsa_base_fingerprint\": \"00ff\", \"elsa_base_layers\": 1}", head);
	CHECK(parse(text, &c) == E_FORMAT && strstr(err_msg(), "elsa_base_fingerprint is not 16 hex digits"), "%s", err_msg());
	snprintf(text, sizeof text, "%s, \"elsa_base_fingerprint\": \"00ff00ff00ff00ff\", \"elsa_base_layers\": 3}", head);
	CHECK(parse(text, &c) == E_FORMAT && strstr(err_msg(), "elsa_base_layers is not a whole number in [0, 2]"), "%s",
	      err_msg());
	snprintf(text, sizeof text, "%s}", head);
	CHECK(parse(text, &c) == 0 && c.base_model == 0 && c.num_labels == 0 && !c.labels[0][0], "a base model");
}

/* A stream fits a model made by it, or by its base at a layer they share; else the message says
 * why and what to do. */
TEST(streams_of_the_model_and_of_its_base)
{
	struct model m;
	const char *d = mkmodel("streams", "--layers 3 --hidden 16 --heads 2");
	CHECK(d && model_open(&m, d) == 0, "open");
	struct stream_header h = { .model = m.fingerprint, .layer = 2, .hidden = 16 };
	CHECK(model_check_stream(&m, &h, "dev.zst") == 0, "%s", err_msg());
	h.hidden = 32;
	CHECK(model_check_stream(&m, &h, "dev.zst") == E_MISMATCH && !strcmp(err_msg(), "dev.zst: hidden size 32, model has 16"),
	      "%s", err_msg());
	h.hidden = 16;
	h.model = 7;
	CHECK(model_check_stream(&m, &h, "dev.zst") == E_MISMATCH &&
		      strstr(err_msg(), "dev.zst: made by another model (fingerprint 0000000000000007, ") &&
		      strstr(err_msg(), "the same weights in another layout or dtype are another model): make the stream with"),
	      "%s", err_msg());
	m.cfg.base_model = 7;
	m.cfg.base_layers = 2;
	CHECK(model_check_stream(&m, &h, "dev.zst") == 0, "the base's layer 2: %s", err_msg());
	h.layer = 3;
	CHECK(model_check_stream(&m, &h, "dev.zst") == E_MISMATCH &&
		      strstr(err_msg(), "dev.zst: layer 3 of the base model of ") &&
		      strstr(err_msg(), "shares only its layers up to 2 with it (those above were trained): give a stream of layer 2 or below"),
	      "%s", err_msg());
	model_close(&m);
}

/* params_move_outputs puts output i's weights row and bias at row to[i]. */
TEST(head_outputs_move)
{
	struct model m;
	struct params ps;
	struct head_weights w;
	const char *d = mkmodel("move", "--layers 1 --hidden 8 --heads 2 --labels 3");
	int missing, to[3] = { 2, 0, 1 };
	CHECK(d && model_open(&m, d) == 0 && params_init(&ps, &m.cfg, 0, 1, 1, 3) == 0 && params_load(&ps, &m, &missing) == 0,
	      "%s", err_msg());
	params_head(&ps, ps.mem, &w);
	float row[3][8], bias[3];
	memcpy(row, w.out_w, sizeof row);
	memcpy(bias, w.out_b, sizeof bias);
	CHECK(params_move_outputs(&ps, to) == 0, "%s", err_msg());
	for (int i = 0; i < 3; i++)
		CHECK(!memcmp(w.out_w + 8 * to[i], row[i], sizeof row[i]) && w.out_b[to[i]] == bias[i], "output %d", i);
	params_free(&ps);
	model_close(&m);
}

int main(void)
{
	RUN(both_types_all_naming_variants);
	RUN(distilbert_and_electra_folders);
	RUN(family_configs);
	RUN(fingerprint_follows_the_weights);
	RUN(missing_and_misshapen_tensors_are_named);
	RUN(label_names_and_base_model);
	RUN(streams_of_the_model_and_of_its_base);
	RUN(head_outputs_move);
	return check_done();
}
