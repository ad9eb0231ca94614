/* Model folders made by mkmodel: every family, with and without the prefix, gamma/beta names,
 * f16 weights; the families' configs (ModernBERT's keys, defaults and refusals); the parameter
 * layout; missing and misshapen tensors named. */
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

/* Loads every tensor of the folder through a parameter set and compares with the file; missing:
 * the head tensors it lacks. */
static void check_loads(const char *dir, enum model_type type, int layers, int labels, int missing_head)
{
	struct model m;
	struct params ps;
	int missing;
	CHECK(model_open(&m, dir) == 0, "%s", err_msg());
	CHECK(m.cfg.type == type && m.cfg.layers == layers, "config");
	CHECK(params_init(&ps, &m.cfg, 1, 0, layers, labels ? labels : 2) == 0, "%s", err_msg());
	CHECK(params_load(&ps, &m, &missing) == 0, "%s", err_msg());
	CHECK(missing == missing_head, "head tensors missing: %d, not %d", missing, missing_head);
	/* Spot checks: a layer's fused QKV is query, key, value in order (ModernBERT's one Wqkv). */
	struct layer_weights w;
	params_layer(&ps, ps.mem, layers - 1, &w);
	char name[160];
	int fused = type == MODEL_MODERNBERT;
	snprintf(name, sizeof name, "%s%s.%d.%s", m.prefix, family_of(type)->layers, layers - 1,
		 fused ? "attn.Wqkv.weight" : family_of(type)->layer[1].name);
	const struct wt_tensor *t = weights_find(&m.w, name);
	size_t H = (size_t)m.cfg.hidden, n = (fused ? 3 : 1) * H * H;
	float *key = malloc(n * sizeof *key);
	CHECK(t && weights_read_f32(&m.w, t, key) == 0 && !memcmp(key, w.qkv_w + (fused ? 0 : H * H), n * sizeof *key),
	      "key block");
	free(key);
	params_free(&ps);
	model_close(&m);
}

TEST(both_types_all_naming_variants)
{
	const char *d;
	CHECK((d = mkmodel("bert", "--type bert --layers 2")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_BERT, 2, 0, 2);
	CHECK((d = mkmodel("roberta", "--type roberta --layers 3 --labels 3")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_ROBERTA, 3, 3, 0);
	CHECK((d = mkmodel("noprefix", "--no-prefix --gamma-beta --dtype bf16")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_BERT, 2, 0, 2);
}

TEST(distilbert_and_electra_folders)
{
	const char *d;
	CHECK((d = mkmodel("distil", "--type distilbert --layers 2 --labels 2")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_DISTILBERT, 2, 2, 0);
	CHECK((d = mkmodel("electra", "--type electra --layers 2 --embedding-size 8")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_ELECTRA, 2, 0, 4);
}

/* ModernBERT's folders: a masked-LM checkpoint (its head.dense and head.norm load; the classifier
 * is new; decoder.bias is ignored), a classifier with every bias, a ModernBertModel without the
 * prefix or a head (final_norm is the body's and loads). */
TEST(modernbert_folders)
{
	const char *d;
	CHECK((d = mkmodel("mlm", "--type modernbert --layers 3")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_MODERNBERT, 3, 0, 2);
	CHECK((d = mkmodel("mbcls", "--type modernbert --layers 2 --labels 3 --bias --dtype f16")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_MODERNBERT, 2, 3, 0);
	CHECK((d = mkmodel("mbbase", "--type modernbert --layers 2 --no-prefix")) != NULL, "mkmodel");
	if (d)
		check_loads(d, MODEL_MODERNBERT, 2, 0, 4);
	struct model m;
	struct params ps;
	int missing;
	CHECK(model_open(&m, d) == 0 && params_init(&ps, &m.cfg, 0, 0, 1, 0) == 0, "%s", err_msg());
	CHECK(ps.n == 5 && !strcmp(ps.p[0].name, "layers.0.attn.Wqkv.weight") && ps.p[0].rows == 3 * 32,
	      "layer 0: no attention norm, no bias: %zu tensors, first %s", ps.n, ps.p[0].name);
	params_free(&ps);
	CHECK(params_init(&ps, &m.cfg, 0, 1, 2, 0) == 0 && ps.n == 6 && !strcmp(ps.p[0].name, "layers.1.attn_norm.weight") &&
		      params_load(&ps, &m, &missing) == 0, "layer 1: %zu tensors, first %s: %s", ps.n, ps.p[0].name, err_msg());
	params_free(&ps);
	model_close(&m);
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

/* answerdotai/ModernBERT-base's config.json (transformers 4.47), whole. */
static const char modernbert_base[] =
	"{\"_name_or_path\": \"ModernBERT-base\", \"architectures\": [\"ModernBertForMaskedLM\"], \"attention_bias\": false, "
	"\"attention_dropout\": 0.0, \"bos_token_id\": 50281, \"classifier_activation\": \"gelu\", \"classifier_bias\": false, "
	"\"classifier_dropout\": 0.0, \"classifier_pooling\": \"mean\", \"cls_token_id\": 50281, \"decoder_bias\": true, "
	"\"deterministic_flash_attn\": false, \"embedding_dropout\": 0.0, \"eos_token_id\": 50282, "
	"\"global_attn_every_n_layers\": 3, \"global_rope_theta\": 160000.0, \"gradient_checkpointing\": false, "
	"\"hidden_activation\": \"gelu\", \"hidden_size\": 768, \"initializer_cutoff_factor\": 2.0, "
	"\"initializer_range\": 0.02, \"intermediate_size\": 1152, \"layer_norm_eps\": 1e-05, \"local_attention\": 128, "
	"\"local_rope_theta\": 10000.0, \"max_position_embeddings\": 8192, \"mlp_bias\": false, \"mlp_dropout\": 0.0, "
	"\"model_type\": \"modernbert\", \"norm_bias\": false, \"norm_eps\": 1e-05, \"num_attention_heads\": 12, "
	"\"num_hidden_layers\": 22, \"pad_token_id\": 50283, \"position_embedding_type\": \"absolute\", "
	"\"sep_token_id\": 50282, \"tie_word_embeddings\": true, \"torch_dtype\": \"float32\", "
	"\"transformers_version\": \"4.47.0.dev0\", \"vocab_size\": 50368}";

/* ModernBERT-base with one key changed (or added, "key": value): "... \"local_attention\": 127 ...". */
static int modernbert_with(const char *key, const char *value, struct model_config *c)
{
	char text[4096], find[64];
	snprintf(find, sizeof find, "\"%s\": ", key);
	const char *at = strstr(modernbert_base, find);
	if (!at)
		snprintf(text, sizeof text, "{\"%s\": %s, %s", key, value, modernbert_base + 1);
	else
		snprintf(text, sizeof text, "%.*s%s%s%s", (int)(at - modernbert_base), modernbert_base, find, value,
			 strpbrk(at + strlen(find), ",}"));
	return parse(text, c);
}

/* ModernBERT-base's config as ModernBertConfig reads it, and ModernBertModel's parameter count;
 * a setting elsa does not compute refused by its key. */
TEST(modernbert_configs)
{
	struct model_config c;
	CHECK(parse(modernbert_base, &c) == 0, "%s", err_msg());
	CHECK(c.type == MODEL_MODERNBERT && c.hidden == 768 && c.layers == 22 && c.heads == 12 && c.intermediate == 1152 &&
		      c.vocab == 50368 && c.max_pos == 8192 && c.pad_id == 50283 && c.type_vocab == 0 && c.eps == 1e-5,
	      "sizes %d %d %d %d %d", c.hidden, c.layers, c.heads, c.intermediate, c.vocab);
	CHECK(c.window == 128 && c.global_every == 3 && c.rope_global == 160000 && c.rope_local == 10000 && c.pool_mean == 1 &&
		      !c.norm_bias && !c.attn_bias && !c.mlp_bias && !c.head_bias && c.head_act == ACT_GELU &&
		      c.head_dropout == 0 && c.emb_dropout == 0 && c.attn_dropout == 0 && c.mlp_dropout == 0 &&
		      c.init_range == 0.02 && c.init_cutoff == 2,
	      "attention %d %d %g %g, pooling %d", c.window, c.global_every, c.rope_global, c.rope_local, c.pool_mean);
	CHECK(layer_is_local(&c, 1) && layer_is_local(&c, 2) && !layer_is_local(&c, 0) && !layer_is_local(&c, 21) &&
		      layer_rope_theta(&c, 20) == 10000 && layer_rope_theta(&c, 3) == 160000, "global layers 0, 3, ..., 21");
	/* ModernBertModel, counted by hand from its modules: tok_embeddings 50368 x 768 and its norm
	 * 768; 22 layers of Wqkv 2304 x 768, Wo 768 x 768, Wi 2304 x 768, Wo 768 x 1152 and two norms,
	 * but layer 0's attention norm; final_norm 768 */
	CHECK(config_parameters(&c) == 149014272.0, "ModernBERT-base has 149014272 parameters, not %.0f", config_parameters(&c));
	CHECK(modernbert_with("classifier_pooling", "\"cls\"", &c) == 0 && !c.pool_mean, "cls pooling");
	CHECK(modernbert_with("local_rope_theta", "null", &c) == 0 && c.rope_local == 160000, "no local base: the global one");
	CHECK(modernbert_with("classifier_activation", "\"tanh\"", &c) == 0 && c.head_act == ACT_TANH, "tanh");
	CHECK(modernbert_with("norm_bias", "true", &c) == 0 && c.norm_bias && !c.attn_bias, "norm_bias");
	CHECK(modernbert_with("rope_parameters", "{\"full_attention\": {\"rope_type\": \"default\", \"rope_theta\": 5e5}, "
						 "\"sliding_attention\": {\"rope_theta\": 2e4}}", &c) == 0 &&
		      c.rope_global == 5e5 && c.rope_local == 2e4, "transformers 5's rope_parameters: %g %g", c.rope_global,
	      c.rope_local);
	CHECK(modernbert_with("layer_types", "[\"full_attention\", \"sliding_attention\", \"sliding_attention\", "
					     "\"full_attention\", \"sliding_attention\", \"sliding_attention\", \"full_attention\", "
					     "\"sliding_attention\", \"sliding_attention\", \"full_attention\", \"sliding_attention\", "
					     "\"sliding_attention\", \"full_attention\", \"sliding_attention\", \"sliding_attention\", "
					     "\"full_attention\", \"sliding_attention\", \"sliding_attention\", \"full_attention\", "
					     "\"sliding_attention\", \"sliding_attention\", \"full_attention\"]", &c) == 0,
	      "transformers 5's layer_types of every third layer global: %s", err_msg());
	static const struct { const char *key, *value, *msg; } bad[] = {
		{ "classifier_pooling", "\"max\"", "config.json: classifier_pooling max: elsa computes cls or mean" },
		{ "local_attention", "127", "config.json: local_attention 127 is not even" },
		{ "hidden_activation", "\"gelu_new\"", "config.json: hidden_activation gelu_new: elsa computes gelu" },
		{ "classifier_activation", "\"silu\"", "config.json: classifier_activation silu: elsa computes tanh, gelu or relu" },
		{ "rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 2.0}", "config.json: rope_scaling: elsa computes default" },
		{ "rope_parameters", "{\"full_attention\": {\"rope_type\": \"yarn\"}}", "rope_parameters.full_attention.rope_type yarn" },
		{ "layer_types", "[\"full_attention\"]", "config.json: layer_types is not a list of the 22 layers' kinds" },
		{ "global_attn_every_n_layers", "0", "global_attn_every_n_layers is not a whole number in [1, 1024]" },
		{ "norm_bias", "\"yes\"", "config.json: norm_bias is not true or false" },
		{ "mlp_dropout", "1.5", "config.json: mlp_dropout is not a rate in [0, 1)" },
		{ "num_attention_heads", "256", "config.json: num_attention_heads 256 makes heads of 3, an odd size" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(modernbert_with(bad[i].key, bad[i].value, &c) == E_FORMAT && strstr(err_msg(), bad[i].msg), "%s %s: %s",
		      bad[i].key, bad[i].value, err_msg());
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
	RUN(modernbert_folders);
	RUN(modernbert_configs);
	RUN(fingerprint_follows_the_weights);
	RUN(missing_and_misshapen_tensors_are_named);
	RUN(label_names_and_base_model);
	RUN(streams_of_the_model_and_of_its_base);
	RUN(head_outputs_move);
	return check_done();
}
