#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bpe.h"
#include "err.h"
#include "hash.h"
#include "io.h"
#include "json.h"
#include "mem.h"
#include "tokenizer.h"
#include "unicode.h"
#include "vocab.h"
#include "wordpiece.h"

#define MAX_PARTS 16   /* pieces of a template */
#define MAX_SPECIAL 64 /* special token ids of both templates */

/* A token matched in the raw text (normalized 0) or in the normalized text (normalized 1); order:
 * its place in the file. */
struct added {
	char *text;
	size_t len;
	uint32_t id, order;
	int lstrip, rstrip, normalized;
};

/* A template: special tokens (seq -1; ids t->special[first .. first + count)) and the texts
 * (seq 0 for a, 1 for b), each with its type id. */
struct part {
	int seq;
	uint32_t type;
	size_t first, count;
};

struct template {
	struct part parts[MAX_PARTS];
	int n;
};

struct tokenizer {
	int bpe_model;             /* 0: WordPiece, 1: byte-level BPE */
	struct wordpiece wp;
	struct bert_normalizer norm; /* WordPiece's normalizer */
	struct bpe *bpe;
	int nfc;                   /* BPE's normalizer: none (0) or NFC (1) */
	const struct vocab *vocab; /* the model's */
	struct added *added;
	size_t nadded, added_cap;
	/* The added tokens of each kind (raw, normalized) that begin with byte b, longest first (then in
	 * the file's order): added[first[kind][b] .. first[kind][b + 1]) (see index_added). */
	size_t first[2][257];
	struct template single, pair;
	uint32_t special[MAX_SPECIAL];
	size_t nspecial;
	struct buf normalized;     /* scratch: a text the BERT normalizer made */
	int32_t *nfc_work;         /* scratch: a text NFC made (uc_nfc) */
	size_t nfc_cap;
	struct ids ids[2];         /* the texts' ids, before truncation */
	char note[1024];           /* what tokenizer_note says, "" for nothing */
};

/* Files and settings */

/* The files a tokenizer folder may hold, in the order the fingerprint reads them. */
enum { VOCAB_TXT, VOCAB_JSON, MERGES_TXT, TOKENIZER_JSON, TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP, FILES };
static const char *const file_names[FILES] = { "vocab.txt", "vocab.json", "merges.txt", "tokenizer.json",
					       "tokenizer_config.json", "special_tokens_map.json" };

/* A tokenizer folder and the paths of its files in it, joined once. */
struct folder_paths {
	const char *dir;
	char *path[FILES];
};

static void paths_free(struct folder_paths *files)
{
	for (int i = 0; i < FILES; i++) {
		free(files->path[i]);
		files->path[i] = NULL;
	}
}

static int paths_join(struct folder_paths *files, const char *dir)
{
	*files = (struct folder_paths){ .dir = dir };
	for (int i = 0; i < FILES; i++)
		if (!(files->path[i] = path_join(dir, file_names[i]))) {
			paths_free(files);
			return E_NOMEM;
		}
	return 0;
}

static int exists(const struct folder_paths *files, int file)
{
	struct stat st;
	return stat(files->path[file], &st) == 0;
}

/* A boolean setting: *v keeps its default when key is absent or null. */
static int get_bool(const struct json *j, int obj, const char *key, int *v, const char *file)
{
	int node = json_get(j, obj, key);
	if (!node || json_type(j, node) == J_NULL)
		return 0;
	int b = json_bool(j, node);
	if (b < 0)
		return err_set(E_FORMAT, "%s: %s is not true or false", file, key);
	*v = b;
	return 0;
}

/* A string setting, or an added token written as {"content": ...}; dflt when absent or null. */
static const char *get_str(const struct json *j, int obj, const char *key, const char *dflt)
{
	int node = json_get(j, obj, key);
	if (json_type(j, node) == J_OBJECT)
		node = json_get(j, node, "content");
	const char *s = json_type(j, node) == J_STRING ? json_str(j, node, NULL) : NULL;
	return s ? s : dflt;
}

/* The "type" of a component of tokenizer.json, "" when it is null or absent. */
static const char *type_of(const struct json *j, int node)
{
	return json_type(j, node) == J_OBJECT ? get_str(j, node, "type", "?") : "";
}

static long token_id(const struct tokenizer *t, const char *text)
{
	return vocab_get(t->vocab, text, strlen(text));
}

/* Normalizing */

/* The normalizer's form of s[0..n) (well-formed UTF-8): *out is s itself when the normalizer keeps
 * it as it is at a glance (none; NFC on a text uc_nfc_quick passes), else scratch of t that the
 * next call reuses. 0, E_NOMEM, or E_FORMAT. */
static int normalize(struct tokenizer *t, const char *s, size_t n, const char **out, size_t *len)
{
	*out = s;
	*len = n;
	if (!t->bpe_model) {
		t->normalized.n = 0;
		if (bert_normalize(&t->norm, s, n, &t->normalized) < 0)
			return E_NOMEM;
		*out = t->normalized.p;
		*len = t->normalized.n;
	} else if (t->nfc && !uc_nfc_quick(s, n)) {
		long made = uc_nfc(s, n, &t->nfc_work, &t->nfc_cap);
		if (made < 0)
			return (int)made;
		*out = (const char *)t->nfc_work;
		*len = (size_t)made;
	}
	return 0;
}

/* Added tokens */

/* An added token, matched in the raw text, or (normalized) in the normalized text as its text
 * normalized, as Hugging Face's AddedVocabulary matches it. */
static int add_token(struct tokenizer *t, const char *text, uint32_t id, int lstrip, int rstrip, int normalized)
{
	size_t len = strlen(text);
	if (normalized && normalize(t, text, len, &text, &len) < 0)
		return E_NOMEM;
	if (!len)
		return 0;
	if (grow((void **)&t->added, &t->added_cap, t->nadded + 1, sizeof *t->added) < 0)
		return E_NOMEM;
	struct added *a = &t->added[t->nadded];
	if (!(a->text = malloc(len + 1)))
		return err_set(E_NOMEM, "out of memory");
	memcpy(a->text, text, len);
	a->text[len] = 0;
	a->order = (uint32_t)t->nadded++;
	a->len = len;
	a->id = id;
	a->lstrip = lstrip;
	a->rstrip = rstrip;
	a->normalized = normalized;
	return 0;
}

/* The id Hugging Face gives an added token of that text as it reads the list: the id the model or
 * an earlier entry (seen) gave the text, else the next after the model's vocabulary and the ids
 * given before (top, the highest of them; -1 for none). */
static long long added_id(const struct tokenizer *t, const struct vocab *seen, const char *text, long long top)
{
	size_t n = strlen(text);
	long id = vocab_get(seen, text, n);
	long long size = (long long)vocab_count(t->vocab);
	if (id < 0)
		id = vocab_get(t->vocab, text, n);
	if (id >= 0)
		return id;
	return top >= 0 && (top >= size || size == 0) ? top + 1 : size;
}

/* Entry i of added_tokens, node tok. Its id must be the one Hugging Face gives it (added_id), which
 * it uses whatever the file says. */
static int added_entry(struct tokenizer *t, const struct json *j, int tok, size_t i, struct vocab *seen,
		       long long *top, const char *file)
{
	int single = 0, lstrip = 0, rstrip = 0, normalized = 1;
	long long id;
	char shown[84];
	const char *text = get_str(j, tok, "content", NULL);
	if (!text || json_int(j, json_get(j, tok, "id"), 0, UINT32_MAX - 1, &id) < 0)
		return err_set(E_FORMAT, "%s: added token %zu has no content or id", file, i + 1);
	err_shown(text, strlen(text), shown);
	if (get_bool(j, tok, "single_word", &single, file) < 0 || get_bool(j, tok, "lstrip", &lstrip, file) < 0 ||
	    get_bool(j, tok, "rstrip", &rstrip, file) < 0 || get_bool(j, tok, "normalized", &normalized, file) < 0)
		return E_FORMAT;
	if (single)
		return err_set(E_FORMAT, "%s: added token '%s': single_word is not supported", file, shown);
	if (!*text)
		return 0; /* Hugging Face skips it */
	long long given = added_id(t, seen, text, *top);
	if (given != id)
		return err_set(E_FORMAT, "%s: added token '%s' has id %lld, where Hugging Face gives it %lld (its id in the "
				       "model, else the next free one)", file, shown, id, given);
	*top = id > *top ? id : *top;
	if (vocab_put(seen, text, strlen(text), (uint32_t)id) < 0 ||
	    add_token(t, text, (uint32_t)id, lstrip, rstrip, normalized) < 0)
		return E_NOMEM;
	return 0;
}

static int added_from_json(struct tokenizer *t, const struct json *j, const char *file)
{
	struct vocab *seen = vocab_new(); /* the texts read so far, and their ids */
	int list = json_get(j, json_root(j), "added_tokens");
	long long top = -1;
	int rc = seen ? 0 : E_NOMEM;
	for (size_t i = 0; rc == 0 && i < json_len(j, list); i++)
		rc = added_entry(t, j, json_at(j, list, i, NULL), i, seen, &top, file);
	vocab_free(seen);
	return rc;
}

/* The special tokens of the model's class in transformers, under the names tokenizer_config.json
 * gives them, when there is no tokenizer.json. */
static int added_defaults(struct tokenizer *t, const struct json *cfg)
{
	static const char *roles[] = { "pad_token", "unk_token", "cls_token", "sep_token", "mask_token", "bos_token",
				       "eos_token" };
	static const char *bert[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", NULL, NULL };
	static const char *roberta[] = { "<pad>", "<unk>", "<s>", "</s>", "<mask>", "<s>", "</s>" };
	int root = cfg ? json_root(cfg) : 0;
	for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
		const char *text = get_str(cfg, root, roles[i], t->bpe_model ? roberta[i] : bert[i]);
		long id = text ? token_id(t, text) : -1;
		/* RoBERTa's <mask> takes the spaces before it. */
		int lstrip = t->bpe_model && !strcmp(roles[i], "mask_token");
		if (id >= 0 && add_token(t, text, (uint32_t)id, lstrip, 0, t->bpe_model) < 0)
			return E_NOMEM;
	}
	return 0;
}

/* Templates */

static int add_part(struct template *tp, int seq, uint32_t type, size_t first, size_t count)
{
	if (tp->n == MAX_PARTS)
		return err_set(E_FORMAT, "template with more than %d pieces", MAX_PARTS);
	tp->parts[tp->n++] = (struct part){ seq, type, first, count };
	return 0;
}

static int add_special(struct tokenizer *t, struct template *tp, uint32_t id, uint32_t type)
{
	if (t->nspecial == MAX_SPECIAL)
		return err_set(E_FORMAT, "more than %d special tokens in the templates", MAX_SPECIAL);
	t->special[t->nspecial] = id;
	return add_part(tp, -1, type, t->nspecial++, 1);
}

/* [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with type ids 0 then 1 (BERT), or <s> A </s> and
 * <s> A </s></s> B </s> with type ids all 0 (RoBERTa). */
static int classic_template(struct tokenizer *t, uint32_t cls, uint32_t sep, int roberta)
{
	uint32_t tb = roberta ? 0 : 1;
	struct template *s = &t->single, *p = &t->pair;
	if (add_special(t, s, cls, 0) < 0 || add_part(s, 0, 0, 0, 0) < 0 || add_special(t, s, sep, 0) < 0 ||
	    add_special(t, p, cls, 0) < 0 || add_part(p, 0, 0, 0, 0) < 0 || add_special(t, p, sep, 0) < 0 ||
	    (roberta && add_special(t, p, sep, 0) < 0) || add_part(p, 1, tb, 0, 0) < 0 || add_special(t, p, sep, tb) < 0)
		return E_FORMAT;
	return 0;
}

/* No post-processor: the texts alone, b with type id 1. */
static int plain_template(struct tokenizer *t)
{
	if (add_part(&t->single, 0, 0, 0, 0) < 0 || add_part(&t->pair, 0, 0, 0, 0) < 0 || add_part(&t->pair, 1, 1, 0, 0) < 0)
		return E_FORMAT;
	return 0;
}

/* A processor's ["text", id] pair (BertProcessing, RobertaProcessing). */
static int processor_token(const struct json *j, int proc, const char *key, uint32_t *id, const char *file)
{
	long long v;
	if (json_int(j, json_at(j, json_get(j, proc, key), 1, NULL), 0, UINT32_MAX - 1, &v) < 0)
		return err_set(E_FORMAT, "%s: post_processor.%s is not [text, id]", file, key);
	*id = (uint32_t)v;
	return 0;
}

/* One SpecialToken piece of a template: the ids post_processor.special_tokens gives its name. */
static int template_special(struct tokenizer *t, struct template *tp, const struct json *j, int proc, int item,
			    const char *key, const char *file)
{
	const char *name = get_str(j, item, "id", "");
	int ids = json_get(j, json_get(j, json_get(j, proc, "special_tokens"), name), "ids");
	long long type;
	char shown[84];
	err_shown(name, strlen(name), shown);
	if (json_int(j, json_get(j, item, "type_id"), 0, UINT32_MAX, &type) < 0)
		return err_set(E_FORMAT, "%s: post_processor.%s: special token '%s' has no type_id", file, key, shown);
	if (json_type(j, ids) != J_ARRAY)
		return err_set(E_FORMAT, "%s: post_processor.%s: special token '%s' has no ids in post_processor.special_tokens",
			       file, key, shown);
	for (size_t k = 0; k < json_len(j, ids); k++) {
		long long id;
		if (json_int(j, json_at(j, ids, k, NULL), 0, UINT32_MAX - 1, &id) < 0)
			return err_set(E_FORMAT, "%s: post_processor.special_tokens: '%s': id %zu is not a token id", file,
				       shown, k + 1);
		if (add_special(t, tp, (uint32_t)id, (uint32_t)type) < 0)
			return err_prefix(E_FORMAT, "%s: post_processor.%s", file, key);
	}
	return 0;
}

/* TemplateProcessing's template key ("single" or "pair"): its pieces in order, each text ($A, $B)
 * with its type id, each special token with its ids and type id. elsa takes each text once, as
 * the templates of Hugging Face's builder do: $A in the single template, $A and $B in the pair. */
static int template_pieces(struct tokenizer *t, struct template *tp, const struct json *j, int proc, const char *key,
			   const char *file)
{
	int list = json_get(j, proc, key), pair = !strcmp(key, "pair"), seen[2] = { 0, 0 };
	if (json_type(j, list) != J_ARRAY)
		return err_set(E_FORMAT, "%s: post_processor.%s is not a list of pieces", file, key);
	for (size_t i = 0; i < json_len(j, list); i++) {
		const char *kind = NULL;
		int item = json_at(j, json_at(j, list, i, NULL), 0, &kind);
		const char *name = get_str(j, item, "id", "");
		long long type;
		char shown[84];
		if (kind && !strcmp(kind, "SpecialToken")) {
			if (template_special(t, tp, j, proc, item, key, file) < 0)
				return E_FORMAT;
			continue;
		}
		if (!kind || strcmp(kind, "Sequence"))
			return err_set(E_FORMAT, "%s: post_processor.%s: piece %zu is neither a Sequence nor a SpecialToken",
				       file, key, i + 1);
		if (strcmp(name, "A") && strcmp(name, "B"))
			return err_set(E_FORMAT, "%s: post_processor.%s: piece %zu: sequence '%s' is neither A nor B", file, key,
				       i + 1, err_shown(name, strlen(name), shown));
		if (json_int(j, json_get(j, item, "type_id"), 0, UINT32_MAX, &type) < 0)
			return err_set(E_FORMAT, "%s: post_processor.%s: piece %zu has no type_id", file, key, i + 1);
		seen[name[0] - 'A']++;
		if (add_part(tp, name[0] - 'A', (uint32_t)type, 0, 0) < 0)
			return err_prefix(E_FORMAT, "%s: post_processor.%s", file, key);
	}
	if (seen[0] != 1 || (pair && seen[1] != 1))
		return err_set(E_FORMAT, "%s: post_processor.%s: $%c appears %d times, not once", file, key,
			       seen[0] != 1 ? 'A' : 'B', seen[0] != 1 ? seen[0] : seen[1]);
	if (!pair && seen[1])
		return err_set(E_FORMAT, "%s: post_processor.single: $B in the template of a single text", file);
	return 0;
}

/* One post-processor of tokenizer.json; ByteLevel (offsets only) adds nothing. */
static int processor(struct tokenizer *t, const struct json *j, int proc, const char *file, int *set)
{
	const char *type = type_of(j, proc);
	uint32_t cls, sep;
	if (!*type || !strcmp(type, "ByteLevel"))
		return 0;
	if (*set)
		return err_set(E_FORMAT, "%s: more than one post-processor adds tokens", file);
	*set = 1;
	if (!strcmp(type, "TemplateProcessing")) {
		if (template_pieces(t, &t->single, j, proc, "single", file) < 0 ||
		    template_pieces(t, &t->pair, j, proc, "pair", file) < 0)
			return E_FORMAT;
		return 0;
	}
	if (strcmp(type, "BertProcessing") && strcmp(type, "RobertaProcessing"))
		return err_set(E_FORMAT, "%s: post-processor '%s' is not supported", file, type);
	if (processor_token(j, proc, "cls", &cls, file) < 0 || processor_token(j, proc, "sep", &sep, file) < 0)
		return E_FORMAT;
	return classic_template(t, cls, sep, type[0] == 'R');
}

static int template_from_json(struct tokenizer *t, const struct json *j, const char *file)
{
	int proc = json_get(j, json_root(j), "post_processor"), set = 0;
	if (!strcmp(type_of(j, proc), "Sequence")) {
		int list = json_get(j, proc, "processors");
		for (size_t i = 0; i < json_len(j, list); i++)
			if (processor(t, j, json_at(j, list, i, NULL), file, &set) < 0)
				return E_FORMAT;
	} else if (processor(t, j, proc, file, &set) < 0) {
		return E_FORMAT;
	}
	return set ? 0 : plain_template(t);
}

static int template_default(struct tokenizer *t, const struct json *cfg, const char *dir)
{
	int root = cfg ? json_root(cfg) : 0;
	const char *cls = get_str(cfg, root, "cls_token", t->bpe_model ? "<s>" : "[CLS]");
	const char *sep = get_str(cfg, root, "sep_token", t->bpe_model ? "</s>" : "[SEP]");
	long c = token_id(t, cls), s = token_id(t, sep);
	if (c < 0 || s < 0)
		return err_set(E_FORMAT, "%s: the vocabulary has no %s token", dir, c < 0 ? cls : sep);
	return classic_template(t, (uint32_t)c, (uint32_t)s, t->bpe_model);
}

/* The models */

/* Whether lowercasing changes some token of the vocabulary (special tokens [..] aside): a cased
 * vocabulary. */
static int has_case(void *ctx, const char *s, size_t n, uint32_t id)
{
	(void)ctx;
	(void)id;
	if (n && s[0] == '[')
		return 0;
	for (size_t i = 0; i < n;) {
		int32_t c, low[2];
		i += (size_t)utf8_decode((const unsigned char *)s + i, n - i, &c);
		if (uc_lowercase(c, low) != 1 || low[0] != c)
			return 1;
	}
	return 0;
}

/* The type of tokenizer.json's model: its "type"; or, for an untyped model (roberta-base's), what
 * Hugging Face's untagged reading finds: BPE when it has merges, WordPiece when it has WordPiece's
 * own settings. 1 BPE, 0 WordPiece, or E_FORMAT. */
static int model_type(const struct json *j, int model, const char *file)
{
	int type = json_get(j, model, "type");
	if (!model)
		return err_set(E_FORMAT, "%s: no model section", file);
	if (json_type(j, model) != J_OBJECT)
		return err_set(E_FORMAT, "%s: the model section is not an object", file);
	if (!type || json_type(j, type) == J_NULL) {
		if (json_get(j, model, "merges"))
			return 1;
		if (json_get(j, model, "continuing_subword_prefix") || json_get(j, model, "max_input_chars_per_word"))
			return 0;
		return err_set(E_FORMAT, "%s: the model has no type, nor merges (BPE) or continuing_subword_prefix (WordPiece)",
			       file);
	}
	const char *name = json_type(j, type) == J_STRING ? json_str(j, type, NULL) : "?";
	if (!strcmp(name, "BPE") || !strcmp(name, "WordPiece"))
		return name[0] == 'B';
	return err_set(E_FORMAT, "%s: model type %s is not supported (WordPiece or BPE)", file, name);
}

static int bert_settings_json(struct tokenizer *t, const struct json *j, const char *file)
{
	int root = json_root(j), model = json_get(j, root, "model"), norm = json_get(j, root, "normalizer");
	if (strcmp(type_of(j, json_get(j, root, "pre_tokenizer")), "BertPreTokenizer"))
		return err_set(E_FORMAT, "%s: pre-tokenizer '%s' is not supported with WordPiece", file,
			       type_of(j, json_get(j, root, "pre_tokenizer")));
	struct bert_normalizer *o = &t->norm;
	long long max = 100;
	int strip = -1, max_node = json_get(j, model, "max_input_chars_per_word");
	if (max_node && json_int(j, max_node, 0, LLONG_MAX, &max) < 0)
		return err_set(E_FORMAT, "%s: max_input_chars_per_word is not a whole number", file);
	t->wp.max_chars = (size_t)max;
	const char *prefix = get_str(j, model, "continuing_subword_prefix", "##");
	if (strlen(prefix) >= sizeof t->wp.prefix)
		return err_set(E_FORMAT, "%s: continuing_subword_prefix longer than %zu bytes", file, sizeof t->wp.prefix - 1);
	strcpy(t->wp.prefix, prefix);
	const char *unk = get_str(j, model, "unk_token", "[UNK]");
	long id = token_id(t, unk);
	if (id < 0)
		return err_set(E_FORMAT, "%s: the unknown token '%s' is not in model.vocab", file, unk);
	t->wp.unk = (uint32_t)id;
	if (!*type_of(j, norm))
		return 0;
	if (strcmp(type_of(j, norm), "BertNormalizer"))
		return err_set(E_FORMAT, "%s: normalizer '%s' is not supported", file, type_of(j, norm));
	*o = (struct bert_normalizer){ 1, 1, 0, 1 };
	if (get_bool(j, norm, "clean_text", &o->clean_text, file) < 0 ||
	    get_bool(j, norm, "handle_chinese_chars", &o->chinese_chars, file) < 0 ||
	    get_bool(j, norm, "lowercase", &o->lowercase, file) < 0 || get_bool(j, norm, "strip_accents", &strip, file) < 0)
		return E_FORMAT;
	o->strip_accents = strip < 0 ? o->lowercase : strip; /* null: as lowercase */
	return 0;
}

/* Without tokenizer.json: do_lower_case from tokenizer_config.json, else from the vocabulary. */
static int bert_settings_config(struct tokenizer *t, const struct json *cfg, const char *file)
{
	int root = cfg ? json_root(cfg) : 0, strip = -1;
	struct bert_normalizer *o = &t->norm;
	*o = (struct bert_normalizer){ 1, 1, 0, !vocab_each(t->vocab, has_case, NULL) };
	if (get_bool(cfg, root, "do_lower_case", &o->lowercase, file) < 0 ||
	    get_bool(cfg, root, "tokenize_chinese_chars", &o->chinese_chars, file) < 0 ||
	    get_bool(cfg, root, "strip_accents", &strip, file) < 0)
		return E_FORMAT;
	o->strip_accents = strip < 0 ? o->lowercase : strip;
	t->wp.max_chars = 100;
	strcpy(t->wp.prefix, "##");
	const char *unk = get_str(cfg, root, "unk_token", "[UNK]");
	long id = token_id(t, unk);
	if (id < 0)
		return err_set(E_FORMAT, "%s: the unknown token '%s' is not in vocab.txt", file, unk);
	t->wp.unk = (uint32_t)id;
	return 0;
}

/* WordPiece from vocab.txt, with tokenizer_config.json's settings (cfg may be NULL). */
static int load_wordpiece(struct tokenizer *t, const struct folder_paths *files, const struct json *cfg)
{
	if (!(t->wp.vocab = vocab_new()) || vocab_read_lines(t->wp.vocab, files->path[VOCAB_TXT]) < 0)
		return E_FORMAT;
	t->vocab = t->wp.vocab;
	int rc = bert_settings_config(t, cfg, files->path[TOKENIZER_CONFIG]);
	t->wp.prefix_len = strlen(t->wp.prefix);
	return rc;
}

static int wordpiece_from_json(struct tokenizer *t, const struct json *j, const char *file)
{
	char where[PATH_MAX + 16];
	int model = json_get(j, json_root(j), "model");
	snprintf(where, sizeof where, "%s: model.vocab", file);
	if (!(t->wp.vocab = vocab_new()) || vocab_read_json(t->wp.vocab, j, json_get(j, model, "vocab"), where) < 0)
		return E_FORMAT;
	t->vocab = t->wp.vocab;
	int rc = bert_settings_json(t, j, file);
	t->wp.prefix_len = strlen(t->wp.prefix);
	return rc;
}

/* The options of a BPE model. elsa's BPE is byte-level and deterministic: no dropout, no affixes,
 * no byte fallback. Every byte has its token (bpe_from_json checks it), so the unknown token is
 * never used and fuse_unk changes nothing: they are only checked for their type. */
static int bpe_model_options(const struct json *j, int model, struct bpe_options *o, const char *file)
{
	static const char *const affixes[] = { "continuing_subword_prefix", "end_of_word_suffix" };
	int dropout = json_get(j, model, "dropout"), unk = json_get(j, model, "unk_token"), fuse = 0, fallback = 0;
	if (dropout && json_type(j, dropout) != J_NULL)
		return err_set(E_FORMAT, "%s: BPE dropout %s is not supported (elsa is deterministic: it must be null)", file,
			       json_str(j, dropout, NULL) ? json_str(j, dropout, NULL) : "?");
	for (size_t i = 0; i < sizeof affixes / sizeof *affixes; i++) {
		int node = json_get(j, model, affixes[i]);
		const char *s = json_type(j, node) == J_STRING ? json_str(j, node, NULL) : "?";
		if (node && json_type(j, node) != J_NULL && *s)
			return err_set(E_FORMAT, "%s: BPE %s '%s' is not supported with byte-level BPE (null or \"\")", file,
				       affixes[i], s);
	}
	if (unk && json_type(j, unk) != J_NULL && json_type(j, unk) != J_STRING)
		return err_set(E_FORMAT, "%s: unk_token is not a string", file);
	if (get_bool(j, model, "fuse_unk", &fuse, file) < 0 || get_bool(j, model, "byte_fallback", &fallback, file) < 0 ||
	    get_bool(j, model, "ignore_merges", &o->ignore_merges, file) < 0)
		return E_FORMAT;
	if (fallback)
		return err_set(E_FORMAT, "%s: BPE byte_fallback is not supported", file);
	return 0;
}

/* The normalizer (none, or NFC), the pre-tokenizer and the model's options of a BPE model. */
static int bpe_settings_json(struct tokenizer *t, const struct json *j, struct bpe_options *o, const char *file)
{
	int root = json_root(j), pre = json_get(j, root, "pre_tokenizer");
	int regex = 1;
	const char *norm = type_of(j, json_get(j, root, "normalizer"));
	t->nfc = !strcmp(norm, "NFC");
	if (*norm && !t->nfc)
		return err_set(E_FORMAT, "%s: normalizer '%s' is not supported with BPE (none, or NFC)", file, norm);
	if (strcmp(type_of(j, pre), "ByteLevel"))
		return err_set(E_FORMAT, "%s: pre-tokenizer '%s' is not supported with BPE", file, type_of(j, pre));
	o->add_prefix_space = 1;
	if (get_bool(j, pre, "add_prefix_space", &o->add_prefix_space, file) < 0 ||
	    get_bool(j, pre, "use_regex", &regex, file) < 0)
		return E_FORMAT;
	if (!regex)
		return err_set(E_FORMAT, "%s: ByteLevel without its regex is not supported", file);
	return bpe_model_options(j, json_get(j, root, "model"), o, file);
}

/* BPE from vocab.json and merges.txt, with tokenizer_config.json's add_prefix_space (cfg may be
 * NULL). */
static int load_bpe(struct tokenizer *t, const struct folder_paths *files, const struct json *cfg)
{
	struct bpe_options o = { 0, 0 };
	const char *config = files->path[TOKENIZER_CONFIG];
	if (cfg && get_bool(cfg, json_root(cfg), "add_prefix_space", &o.add_prefix_space, config) < 0)
		return E_FORMAT;
	if (!(t->bpe = bpe_load(files->path[VOCAB_JSON], files->path[MERGES_TXT], &o)))
		return E_FORMAT;
	t->vocab = bpe_vocab(t->bpe);
	return 0;
}

static int bpe_from_tokenizer_json(struct tokenizer *t, const struct json *j, const char *file)
{
	struct bpe_options o = { 0, 0 };
	if (bpe_settings_json(t, j, &o, file) < 0 || !(t->bpe = bpe_from_json(j, json_get(j, json_root(j), "model"), &o, file)))
		return E_FORMAT;
	t->vocab = bpe_vocab(t->bpe);
	return 0;
}

/* The older files beside tokenizer.json */

/* A token for a one-line note: quoted, cut after 40 bytes (at a character), control characters as
 * '?'; none when s is NULL. */
static void quote(char *out, size_t cap, const char *s, size_t n)
{
	size_t keep = n > 40 ? 40 : n, k = 0;
	if (!s) {
		snprintf(out, cap, "none");
		return;
	}
	while (keep < n && keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--;
	out[k++] = '\'';
	for (size_t i = 0; i < keep && k + 6 < cap; i++)
		out[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '?' : s[i];
	snprintf(out + k, cap - k, "%s'", keep < n ? "..." : "");
}

/* Notes the lowest id on which the older file's vocabulary and tokenizer.json's disagree; 1 when
 * they do. */
static int note_vocab(struct tokenizer *t, const char *file, const struct vocab *older)
{
	long id = vocab_first_difference(older, t->vocab);
	char a[64], b[64];
	size_t na, nb;
	if (id < 0)
		return 0;
	const char *sa = vocab_text(older, (uint32_t)id, &na), *sb = vocab_text(t->vocab, (uint32_t)id, &nb);
	quote(a, sizeof a, sa, na);
	quote(b, sizeof b, sb, nb);
	snprintf(t->note, sizeof t->note, "%s and tokenizer.json disagree (id %ld: %s vs %s); using tokenizer.json", file,
		 id, a, b);
	return 1;
}

/* A merge rule, "left right", quoted for a note. */
static void quote_rule(char *out, size_t cap, const struct bpe *b, long rank)
{
	uint32_t left, right;
	size_t ln = 0, rn = 0;
	char rule[128];
	if (bpe_rule(b, (uint32_t)rank, &left, &right) < 0) {
		quote(out, cap, NULL, 0);
		return;
	}
	const char *l = vocab_text(bpe_vocab(b), left, &ln), *r = vocab_text(bpe_vocab(b), right, &rn);
	int n = snprintf(rule, sizeof rule, "%.*s %.*s", (int)ln, l ? l : "", (int)rn, r ? r : "");
	quote(out, cap, rule, n < (int)sizeof rule ? (size_t)n : sizeof rule - 1);
}

static void note_wordpiece(struct tokenizer *t, const char *path)
{
	struct vocab *older = vocab_new();
	if (!older || vocab_read_lines(older, path) < 0)
		snprintf(t->note, sizeof t->note, "%s; using tokenizer.json", err_msg());
	else
		note_vocab(t, "vocab.txt", older);
	vocab_free(older);
}

static void note_bpe(struct tokenizer *t, const char *vocab, const char *merges)
{
	struct bpe_options o = { 0, 0 };
	struct bpe *older = bpe_load(vocab, merges, &o);
	long rank = older ? bpe_first_difference(older, t->bpe) : -1;
	char a[64], b[64];
	if (!older) {
		snprintf(t->note, sizeof t->note, "%s; using tokenizer.json", err_msg());
	} else if (!note_vocab(t, "vocab.json", bpe_vocab(older)) && rank >= 0) {
		quote_rule(a, sizeof a, older, rank);
		quote_rule(b, sizeof b, t->bpe, rank);
		snprintf(t->note, sizeof t->note,
			 "merges.txt and tokenizer.json disagree (merge %ld: %s vs %s); using tokenizer.json", rank + 1, a, b);
	}
	bpe_free(older);
}

/* Hugging Face's fast tokenizer takes tokenizer.json's model and never reads the older files
 * (vocab.txt; vocab.json and merges.txt). elsa does the same, and reads the older files of the
 * model's type only to note (t->note) that they hold another vocabulary or other merges, or cannot
 * be read; the vocabulary of the other type is noted as not read. */
static void note_older_files(struct tokenizer *t, const struct folder_paths *files)
{
	int own = t->bpe_model ? VOCAB_JSON : VOCAB_TXT, other = t->bpe_model ? VOCAB_TXT : VOCAB_JSON;
	if (exists(files, own) || (t->bpe_model && exists(files, MERGES_TXT))) {
		if (t->bpe_model)
			note_bpe(t, files->path[VOCAB_JSON], files->path[MERGES_TXT]);
		else
			note_wordpiece(t, files->path[VOCAB_TXT]);
	} else if (exists(files, other)) {
		snprintf(t->note, sizeof t->note, "%s is not for tokenizer.json's %s model; using tokenizer.json",
			 file_names[other], t->bpe_model ? "BPE" : "WordPiece");
	}
}

/* Loading */

/* A folder with tokenizer.json: everything from it. Its truncation and padding sections are not
 * read: elsa's tools take the length to cut at as an option (--max-len) and never pad. */
static int load_tokenizer_json(struct tokenizer *t, const struct folder_paths *files, struct json **tj)
{
	const char *path = files->path[TOKENIZER_JSON];
	if (!(*tj = json_load(path)))
		return E_FORMAT;
	int root = json_root(*tj), type = model_type(*tj, json_get(*tj, root, "model"), path);
	if (type < 0)
		return E_FORMAT;
	t->bpe_model = type;
	if ((type ? bpe_from_tokenizer_json(t, *tj, path) : wordpiece_from_json(t, *tj, path)) < 0 ||
	    added_from_json(t, *tj, path) < 0 || template_from_json(t, *tj, path) < 0)
		return E_FORMAT;
	note_older_files(t, files);
	return 0;
}

/* A folder without it: vocab.txt, or vocab.json and merges.txt, with the settings of
 * tokenizer_config.json and the defaults of the model's class in transformers. */
static int load_older_files(struct tokenizer *t, const struct folder_paths *files, struct json **cfg)
{
	t->bpe_model = !exists(files, VOCAB_TXT);
	if (t->bpe_model && !exists(files, VOCAB_JSON))
		return err_set(E_IO, "%s: no tokenizer.json, vocab.txt (BERT) nor vocab.json and merges.txt (RoBERTa)",
			       files->dir);
	if (t->bpe_model && !exists(files, MERGES_TXT))
		return err_set(E_IO, "%s: missing (vocab.json goes with merges.txt)", files->path[MERGES_TXT]);
	if (exists(files, TOKENIZER_CONFIG) && !(*cfg = json_load(files->path[TOKENIZER_CONFIG])))
		return E_FORMAT;
	if ((t->bpe_model ? load_bpe(t, files, *cfg) : load_wordpiece(t, files, *cfg)) < 0 || added_defaults(t, *cfg) < 0)
		return E_FORMAT;
	return template_default(t, *cfg, files->dir);
}

/* The kind of an added token and its first byte, as one number: what find_added looks up. */
static int added_key(const struct added *a)
{
	return a->normalized * 256 + (unsigned char)a->text[0];
}

static int added_cmp(const void *pa, const void *pb)
{
	const struct added *a = pa, *b = pb;
	if (added_key(a) != added_key(b))
		return added_key(a) - added_key(b);
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->order < b->order ? -1 : 1;
}

/* Sorts the added tokens by kind, first byte and length (longest first), and notes where each
 * kind and first byte begins, so that find_added tries at a place only the tokens that begin
 * there, and stops at the longest. */
static void index_added(struct tokenizer *t)
{
	size_t k = 0;
	if (t->nadded)
		qsort(t->added, t->nadded, sizeof *t->added, added_cmp);
	for (int kind = 0; kind < 2; kind++)
		for (int b = 0; b <= 256; b++) {
			while (k < t->nadded && added_key(&t->added[k]) < kind * 256 + b)
				k++;
			t->first[kind][b] = k;
		}
}

static int load(struct tokenizer *t, const char *dir, struct json **tj, struct json **cfg)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return err_set(E_IO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(E_IO, "%s: not a folder", dir);
	struct folder_paths files;
	int rc = paths_join(&files, dir);
	if (rc < 0)
		return rc;
	rc = exists(&files, TOKENIZER_JSON) ? load_tokenizer_json(t, &files, tj) : load_older_files(t, &files, cfg);
	paths_free(&files);
	if (rc == 0)
		index_added(t);
	return rc;
}

struct tokenizer *tokenizer_load(const char *dir)
{
	struct tokenizer *t = calloc(1, sizeof *t);
	struct json *tj = NULL, *cfg = NULL;
	if (!t) {
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	int rc = load(t, dir, &tj, &cfg);
	json_free(tj);
	json_free(cfg);
	if (rc < 0) {
		tokenizer_free(t);
		return NULL;
	}
	return t;
}

void tokenizer_free(struct tokenizer *t)
{
	if (!t)
		return;
	wordpiece_free(&t->wp);
	bpe_free(t->bpe);
	for (size_t i = 0; i < t->nadded; i++)
		free(t->added[i].text);
	free(t->added);
	free(t->normalized.p);
	free(t->nfc_work);
	free(t->ids[0].p);
	free(t->ids[1].p);
	free(t);
}

const char *tokenizer_note(const struct tokenizer *t)
{
	return t->note[0] ? t->note : NULL;
}

int tokenizer_specials(const struct tokenizer *t, int pair)
{
	const struct template *tp = pair ? &t->pair : &t->single;
	int n = 0;
	for (int i = 0; i < tp->n; i++)
		n += (int)tp->parts[i].count;
	return n;
}

/* Encoding */

/* The leftmost, then longest (then first in the file), added token of the given kind in
 * s[from..n). Its second byte is compared before the rest: runs of spaces (ModernBERT's tokens
 * of 2 to 24 spaces) are tried at every space. */
static const struct added *find_added(const struct tokenizer *t, const char *s, size_t n, size_t from, int normalized,
				      size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;
	const size_t *first = t->first[normalized];
	for (size_t i = from; i < n; i++)
		for (size_t k = first[u[i]]; k < first[u[i] + 1]; k++) {
			const struct added *a = &t->added[k];
			if (a->len <= n - i && (a->len == 1 || (unsigned char)a->text[1] == u[i + 1]) &&
			    !memcmp(s + i, a->text, a->len)) {
				*at = i;
				return a;
			}
		}
	return NULL;
}

/* Where the whitespace that ends s[lo..i) begins. */
static size_t space_before(const char *s, size_t lo, size_t i)
{
	while (i > lo) {
		size_t k = i - 1;
		int32_t c;
		while (k > lo && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
		utf8_decode((const unsigned char *)s + k, i - k, &c);
		if (!uc_is_space(c))
			break;
		i = k;
	}
	return i;
}

/* Where the whitespace that starts s[i..n) ends. */
static size_t space_after(const char *s, size_t n, size_t i)
{
	while (i < n) {
		int32_t c;
		int len = utf8_decode((const unsigned char *)s + i, n - i, &c);
		if (!uc_is_space(c))
			break;
		i += (size_t)len;
	}
	return i;
}

static int encode_split(struct tokenizer *t, const char *s, size_t n, int normalized, struct ids *out, size_t *room);

/* A text with no added token of the given kind in it. 0, 1 (the room is used up), or E_NOMEM (or
 * E_FORMAT from NFC, see uc_nfc). */
static int encode_plain(struct tokenizer *t, const char *s, size_t n, int normalized, struct ids *out, size_t *room)
{
	if (normalized)
		return t->bpe_model ? bpe_encode(t->bpe, s, n, out, room) : wordpiece_encode(&t->wp, s, n, out, room);
	int rc = normalize(t, s, n, &s, &n);
	return rc < 0 ? rc : encode_split(t, s, n, 1, out, room);
}

/* Splits s at the added tokens of the given kind (raw or normalized), as Hugging Face's
 * AddedVocabulary does: lstrip takes the whitespace before a token, rstrip the whitespace after.
 * Added tokens take room too, but only a word of the model can use it up (and end the text). */
static int encode_split(struct tokenizer *t, const char *s, size_t n, int normalized, struct ids *out, size_t *room)
{
	size_t done = 0, at;
	const struct added *a;
	int rc = 0;
	for (size_t from = 0; rc == 0 && from < n && (a = find_added(t, s, n, from, normalized, &at)); from = at + a->len) {
		size_t start = a->lstrip ? space_before(s, done, at) : at;
		if (done < start)
			rc = encode_plain(t, s + done, start - done, normalized, out, room);
		if (rc == 0 && ids_push(out, a->id) < 0)
			return E_NOMEM;
		*room -= *room > 0;
		done = a->rstrip ? space_after(s, n, at + a->len) : at + a->len;
	}
	if (rc == 0 && done < n)
		rc = encode_plain(t, s + done, n - done, normalized, out, room);
	return rc;
}

/* Hugging Face's longest_first truncation of a pair to budget tokens (utils/truncation.rs). */
static void truncate_pair(size_t *na, size_t *nb, size_t budget)
{
	if (*na + *nb <= budget)
		return;
	int swap = *na > *nb;
	size_t n1 = swap ? *nb : *na, n2;
	n2 = n1 > budget ? n1 : (n1 > budget - n1 ? n1 : budget - n1);
	if (n1 + n2 > budget) {
		n1 = budget / 2;
		n2 = n1 + budget % 2;
	}
	size_t ka = swap ? n2 : n1, kb = swap ? n1 : n2;
	if (*na > ka)
		*na = ka;
	if (*nb > kb)
		*nb = kb;
}

int tokenizer_encode(struct tokenizer *t, const char *a, size_t alen, const char *b, size_t blen, uint32_t max_len,
		     struct record *rec)
{
	const char *text[2] = { a, b };
	size_t len[2] = { alen, blen }, n[2] = { 0, 0 };
	int pair = b != NULL;
	for (int i = 0; i <= pair; i++) {
		size_t bad = utf8_check(text[i], len[i]);
		if (bad < len[i])
			return err_set(E_FORMAT, "invalid UTF-8 in text %c (byte %zu)", 'a' + i, bad + 1);
		size_t room = max_len ? max_len : SIZE_MAX;
		t->ids[i].n = 0;
		int rc = encode_split(t, text[i], len[i], 0, &t->ids[i], &room);
		if (rc < 0)
			return rc;
		n[i] = t->ids[i].n;
	}
	int specials = tokenizer_specials(t, pair);
	if (max_len && max_len < (uint32_t)specials)
		return err_set(E_ARG, "max_len %u leaves no room: the template adds %d special tokens", max_len, specials);
	if (max_len && !pair && n[0] > max_len - (uint32_t)specials)
		n[0] = max_len - (uint32_t)specials;
	if (max_len && pair)
		truncate_pair(&n[0], &n[1], max_len - (uint32_t)specials);
	size_t total = n[0] + n[1] + (size_t)specials;
	if (total > SEQ_MAX)
		return err_set(E_FORMAT, "%zu tokens, more than %d (truncate with max_len)", total, SEQ_MAX);
	if (record_reserve(rec, (uint32_t)total, 0) < 0)
		return E_NOMEM;
	const struct template *tp = pair ? &t->pair : &t->single;
	uint32_t k = 0;
	for (int i = 0; i < tp->n; i++) {
		const struct part *p = &tp->parts[i];
		const uint32_t *ids = p->seq < 0 ? t->special + p->first : t->ids[p->seq].p;
		size_t count = p->seq < 0 ? p->count : n[p->seq];
		for (size_t j = 0; j < count; j++, k++) {
			rec->tokens[k] = ids[j];
			rec->types[k] = p->type;
		}
	}
	rec->len = k;
	return 0;
}

/* Fingerprint */

int tokenizer_fingerprint(const char *dir, uint64_t *fp)
{
	struct folder_paths files;
	uint64_t h = 0;
	int found = 0, rc = paths_join(&files, dir);
	for (int i = 0; i < FILES && rc == 0; i++) {
		size_t n;
		if (!exists(&files, i))
			continue;
		char *text = read_file(files.path[i], &n);
		if (!text) {
			rc = E_IO;
			break;
		}
		h = xxh64(text, n, h);
		free(text);
		found = 1;
	}
	paths_free(&files);
	if (rc < 0)
		return rc;
	if (!found)
		return err_set(E_IO, "%s: no tokenizer files (vocab.txt, vocab.json, ...)", dir);
	*fp = h;
	return 0;
}
