/* Small modules: XXH64 against the reference's published values, f16/bf16 conversions, labels,
 * JSON via libyaml, config.json of both model types, the GEMM wrapper against the naive oracle. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "err.h"
#include "gemm.h"
#include "glue.h"
#include "half.h"
#include "hash.h"
#include "json.h"
#include "model.h"
#include "record.h"
#include "rng.h"

TEST(xxh64_known_values)
{
	/* Values published with xxHash and its Python binding. */
	CHECK(xxh64("", 0, 0) == 0xEF46DB3751D8E999ull, "empty");
	CHECK(xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5Bull, "a");
	CHECK(xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ull, "abc");
	const char *s = "Nobody inspects the spammish repetition";
	CHECK(xxh64(s, strlen(s), 0) == 0xFBCEA83C8A378BF1ull, "spammish: %016llx", (unsigned long long)xxh64(s, strlen(s), 0));
}

TEST(f16_roundtrips_every_value)
{
	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
			continue; /* NaN payloads */
		if (f32_to_f16(f16_to_f32((uint16_t)h)) != h)
			bad++;
	}
	CHECK(bad == 0, "%d halves do not round trip", bad);
	/* Rounding to nearest even at the halfway points, and overflow. */
	CHECK(f32_to_f16(1.0f + 0x1p-11f) == 0x3c00, "1 + half ulp rounds to even (down)");
	CHECK(f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02, "1 + 3 half ulps rounds to even (up)");
	CHECK(f32_to_f16(65519.0f) == 0x7bff && f32_to_f16(65520.0f) == 0x7c00, "overflow to infinity");
	CHECK(f32_to_f16(0x1p-25f) == 0 && f32_to_f16(0x1.8p-25f) == 1, "subnormal rounding");
	CHECK(isnan(f16_to_f32(f32_to_f16(NAN))), "NaN");
}

TEST(bf16_rounds_to_nearest_even)
{
	CHECK(f32_to_bf16(1.0f) == 0x3f80, "one");
	CHECK(f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80, "halfway rounds to even (down)");
	CHECK(f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82, "halfway rounds to even (up)");
	CHECK(bf16_to_f32(f32_to_bf16(-2.5f)) == -2.5f, "exact value");
	CHECK(isnan(bf16_to_f32(f32_to_bf16(NAN))), "NaN");
}

TEST(labels_format_shortest_and_parse_back)
{
	char buf[32];
	double v;
	label_format(3.8, buf);
	CHECK(!strcmp(buf, "3.8"), "%s", buf);
	label_format(2, buf);
	CHECK(!strcmp(buf, "2"), "%s", buf);
	label_format(NAN, buf);
	CHECK(!strcmp(buf, "-"), "%s", buf);
	label_format(0.1 + 0.2, buf);
	CHECK(label_parse(buf, &v) == 0 && v == 0.1 + 0.2, "%s", buf);
	CHECK(label_parse("x", &v) < 0 && label_parse("inf", &v) < 0 && label_parse("", &v) < 0, "bad labels");
}

/* NaN prints one way whatever its sign bit: printf would say -nan for one, nan for the other. */
TEST(nan_prints_without_its_sign)
{
	char a[32], b[32], c[32];
	volatile double zero = 0;
	snprintf(a, sizeof a, "%g", unsigned_nan(copysign(NAN, -1)));
	snprintf(b, sizeof b, "%.6f", unsigned_nan(zero / zero));
	snprintf(c, sizeof c, "%g %g", unsigned_nan(-1.5), unsigned_nan(-INFINITY));
	CHECK(!strcmp(a, "nan") && !strcmp(b, "nan"), "%s, %s", a, b);
	CHECK(!strcmp(c, "-1.5 -inf"), "numbers keep their sign: %s", c);
}

TEST(json_through_libyaml)
{
	const char *text = "{\"a\": [1, 2.5, \"x\\/y\\u0120\"], \"b\": {\"c\": true, \"d\": null}, \"e\": 1e-12}";
	struct json *j = json_parse(text, strlen(text), "t.json");
	CHECK(j != NULL, "%s", err_msg());
	if (!j)
		return;
	int root = json_root(j), a = json_get(j, root, "a");
	double v;
	long long k;
	CHECK(json_len(j, a) == 3 && json_int(j, json_at(j, a, 0, NULL), 0, 9, &k) == 0 && k == 1, "a[0]");
	CHECK(json_number(j, json_at(j, a, 1, NULL), &v) == 0 && v == 2.5, "a[1]");
	CHECK(!strcmp(json_str(j, json_at(j, a, 2, NULL), NULL), "x/y\xC4\xA0"), "escapes");
	CHECK(json_bool(j, json_get(j, json_get(j, root, "b"), "c")) == 1, "bool");
	CHECK(json_type(j, json_get(j, json_get(j, root, "b"), "d")) == J_NULL, "null");
	CHECK(json_number(j, json_get(j, root, "e"), &v) == 0 && v == 1e-12, "exponent");
	CHECK(json_get(j, root, "missing") == 0 && json_get(j, json_get(j, root, "missing"), "x") == 0, "absent chains");
	json_free(j);
	CHECK(!json_parse("{\"a\": [1, 2", 11, "cut.json") && strstr(err_msg(), "cut.json: line "), "%s", err_msg());
	CHECK(!json_parse("a: *x", 5, "alias.json") && strstr(err_msg(), "alias"), "%s", err_msg());
}

/* The real config.json files of bert-base-uncased and roberta-base, as the hub serves them. */
static const char bert_config[] =
	"{\n  \"architectures\": [\n    \"BertForMaskedLM\"\n  ],\n  \"attention_probs_dropout_prob\": 0.1,\n"
	"  \"gradient_checkpointing\": false,\n  \"hidden_act\": \"gelu\",\n  \"hidden_dropout_prob\": 0.1,\n"
	"  \"hidden_size\": 768,\n  \"initializer_range\": 0.02,\n  \"intermediate_size\": 3072,\n"
	"  \"layer_norm_eps\": 1e-12,\n  \"max_position_embeddings\": 512,\n  \"model_type\": \"bert\",\n"
	"  \"num_attention_heads\": 12,\n  \"num_hidden_layers\": 12,\n  \"pad_token_id\": 0,\n"
	"  \"position_embedding_type\": \"absolute\",\n  \"transformers_version\": \"4.6.0.dev0\",\n"
	"  \"type_vocab_size\": 2,\n  \"use_cache\": true,\n  \"vocab_size\": 30522\n}\n";
static const char roberta_config[] =
	"{\n  \"architectures\": [\n    \"RobertaForMaskedLM\"\n  ],\n  \"attention_probs_dropout_prob\": 0.1,\n"
	"  \"bos_token_id\": 0,\n  \"eos_token_id\": 2,\n  \"hidden_act\": \"gelu\",\n  \"hidden_dropout_prob\": 0.1,\n"
	"  \"hidden_size\": 768,\n  \"initializer_range\": 0.02,\n  \"intermediate_size\": 3072,\n"
	"  \"layer_norm_eps\": 1e-05,\n  \"max_position_embeddings\": 514,\n  \"model_type\": \"roberta\",\n"
	"  \"num_attention_heads\": 12,\n  \"num_hidden_layers\": 12,\n  \"pad_token_id\": 1,\n"
	"  \"type_vocab_size\": 1,\n  \"vocab_size\": 50265\n}\n";

TEST(config_of_both_model_types)
{
	struct model_config c;
	CHECK(config_parse(&c, bert_config, strlen(bert_config), "config.json") == 0, "%s", err_msg());
	CHECK(c.type == MODEL_BERT && c.hidden == 768 && c.layers == 12 && c.heads == 12 && c.intermediate == 3072 &&
		      c.vocab == 30522 && c.max_pos == 512 && c.type_vocab == 2 && c.pad_id == 0 && c.eps == 1e-12 &&
		      c.num_labels == 0,
	      "bert fields");
	CHECK(config_parse(&c, roberta_config, strlen(roberta_config), "config.json") == 0, "%s", err_msg());
	CHECK(c.type == MODEL_ROBERTA && c.max_pos == 514 && c.type_vocab == 1 && c.pad_id == 1 && c.eps == 1e-5 &&
		      c.vocab == 50265,
	      "roberta fields");
	const char *cls = "{\"model_type\": \"bert\", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
			  " \"intermediate_size\": 16, \"vocab_size\": 10, \"max_position_embeddings\": 8,"
			  " \"type_vocab_size\": 2, \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}";
	CHECK(config_parse(&c, cls, strlen(cls), "c.json") == 0 && c.num_labels == 3 && c.eps == 1e-12, "%s", err_msg());
}

TEST(config_errors_name_the_field)
{
	struct model_config c;
	const char *t1 = "{\"model_type\": \"gpt2\"}";
	CHECK(config_parse(&c, t1, strlen(t1), "x/config.json") < 0 && strstr(err_msg(), "x/config.json: model_type gpt2"),
	      "%s", err_msg());
	const char *t2 = "{\"model_type\": \"bert\", \"hidden_size\": 10, \"num_hidden_layers\": 1, \"num_attention_heads\": 3,"
			 " \"intermediate_size\": 16, \"vocab_size\": 10, \"max_position_embeddings\": 8, \"type_vocab_size\": 2}";
	CHECK(config_parse(&c, t2, strlen(t2), "c.json") < 0 && strstr(err_msg(), "not a multiple"), "%s", err_msg());
	const char *t3 = "{\"model_type\": \"bert\", \"hidden_size\": -5}";
	CHECK(config_parse(&c, t3, strlen(t3), "c.json") < 0 && strstr(err_msg(), "hidden_size"), "%s", err_msg());
	const char *t4 = "{\"model_type\": \"bert\", \"hidden_act\": \"gelu_new\"}";
	CHECK(config_parse(&c, t4, strlen(t4), "c.json") < 0 && strstr(err_msg(), "gelu_new"), "%s", err_msg());
}

TEST(glue_tasks_and_labels)
{
	const struct task *t = task_find("mnli");
	double v;
	CHECK(t && t->nlabels == 3 && !strcmp(t->labels[0], "contradiction") && !strcmp(t->labels[2], "neutral"), "mnli");
	CHECK(task_label(t, "neutral", ORDER_UNSAID, &v) == 0 && v == 2, "neutral is 2");
	CHECK(task_label(t, "maybe", ORDER_UNSAID, &v) < 0 && strstr(err_msg(), "contradiction, entailment, neutral"), "%s", err_msg());
	t = task_find("stsb");
	CHECK(t && task_outputs(t) == 1 && task_label(t, "3.800", ORDER_UNSAID, &v) == 0 && v == 3.8, "stsb");
	CHECK(task_find("qnli") && task_find("mnli-mm") && task_find("ax") && !task_find("glue"), "names");
}

/* The datasets library's MNLI numbering, written out by hand: entailment 0, neutral 1,
 * contradiction 2; elsa's: contradiction 0, entailment 1, neutral 2. */
/* The task meant by a name that is none: GLUE's folder names, case, - and _, datasets' names,
 * one or two typos; and none for what is far from every task. */
TEST(misspelled_tasks_suggest_the_one_meant)
{
	static const char *const meant[][2] = {
		{ "SST-2", "sst2" }, { "sst-2", "sst2" }, { "STS-B", "stsb" }, { "CoLA", "cola" }, { "MNLI", "mnli" },
		{ "MNLI-MM", "mnli-mm" }, { "mnli_mm", "mnli-mm" }, { "mnli_matched", "mnli" },
		{ "mnli_mismatched", "mnli-mm" }, { "diagnostic", "ax" }, { "rtee", "rte" }, { "qnl", "qnli" },
		{ "mrcp", "mrpc" }, { "QQP", "qqp" },
	};
	for (size_t i = 0; i < sizeof meant / sizeof *meant; i++) {
		const struct task *t = task_meant(meant[i][0]);
		CHECK(t && !strcmp(t->name, meant[i][1]), "%s: %s, want %s", meant[i][0], t ? t->name : "none", meant[i][1]);
	}
	CHECK(!task_meant("glue") && !task_meant("sentiment") && !task_meant(""), "far names suggest nothing");
	static const char *const settings[] = { "epochs", "batch", "lr" };
	CHECK(err_nearest("epoch", settings, 3) == settings[0] && !err_nearest("seeds", settings, 3), "err_nearest");
}

TEST(mnli_label_orders)
{
	static const char *const datasets[] = { "entailment", "neutral", "contradiction" };
	const struct task *t = task_find("mnli"), *rte = task_find("rte");
	double v;
	for (int k = 0; k < 3; k++) {
		const char *name = t->labels[class_from_order(t, ORDER_DATASETS, k)];
		CHECK(!strcmp(name, datasets[k]), "datasets' %d is %s, not %s", k, datasets[k], name);
		CHECK(class_to_order(t, ORDER_DATASETS, class_from_order(t, ORDER_DATASETS, k)) == k, "round trip %d", k);
		CHECK(class_from_order(t, ORDER_GLUE, k) == k && class_to_order(t, ORDER_GLUE, k) == k, "glue order %d", k);
		char num[2] = { (char)('0' + k), 0 };
		CHECK(task_label(t, num, ORDER_DATASETS, &v) == 0 && !strcmp(t->labels[(int)v], datasets[k]), "'%s'", num);
	}
	CHECK(task_label(t, "1", ORDER_UNSAID, &v) < 0 && strstr(err_msg(), "numbered two ways"), "%s", err_msg());
	CHECK(task_label(t, "3", ORDER_GLUE, &v) < 0, "3 is no MNLI class");
	CHECK(task_label(rte, "1", ORDER_UNSAID, &v) == 0 && v == 1 && class_from_order(rte, ORDER_DATASETS, 1) == 1,
	      "two classes: one numbering");
	const struct task *mm = task_find("mnli-mm"), *ax = task_find("ax"), *qnli = task_find("qnli");
	CHECK(task_same_classes(t, ax) && task_same_classes(ax, t) && task_same_classes(t, mm), "NLI: one model");
	CHECK(!task_same_classes(rte, qnli) && !task_same_classes(task_find("sst2"), task_find("cola")), "two classes");
	CHECK(task_same_data(t, mm) && !task_same_data(t, ax) && !task_same_data(rte, qnli), "the same data");
	enum label_order o;
	CHECK(label_order_parse("datasets", &o) == 0 && o == ORDER_DATASETS && label_order_parse("hf", &o) < 0, "parse");
}

int main(void)
{
	RUN(xxh64_known_values);
	RUN(mnli_label_orders);
	RUN(f16_roundtrips_every_value);
	RUN(bf16_rounds_to_nearest_even);
	RUN(labels_format_shortest_and_parse_back);
	RUN(json_through_libyaml);
	RUN(nan_prints_without_its_sign);
	RUN(config_of_both_model_types);
	RUN(config_errors_name_the_field);
	RUN(glue_tasks_and_labels);
	RUN(misspelled_tasks_suggest_the_one_meant);
	return check_done();
}
