/* json.h: JSON documents (config.json, tokenizer.json, safetensors headers, experiment files),
 * read with libyaml, which reads JSON as YAML (and so YAML block style too).
 *
 * A document is a tree of nodes named by small integers; 0 means "none". Lookups return 0 when
 * a key is absent or a node is of another kind, so a chain like
 * json_get(j, json_get(j, json_root(j), "model"), "vocab") needs one check at its end. Anchors,
 * aliases and tags are refused, so a tree is a tree and every walk ends. */
#ifndef ELSA_JSON_H
#define ELSA_JSON_H

#include <stddef.h>

enum json_type { J_NONE, J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct json;

/* Parses text[0..n); name goes into messages. NULL on failure, with err_msg() set. */
struct json *json_parse(const char *text, size_t n, const char *name);
/* Reads and parses a file. */
struct json *json_load(const char *path);
void json_free(struct json *j);

int json_root(const struct json *j);
enum json_type json_type(const struct json *j, int node);
/* The line of the text where node starts (from 1; 0 for none), for messages. */
size_t json_line(const struct json *j, int node);
/* Items of an array, or key/value pairs of an object. */
size_t json_len(const struct json *j, int node);
/* Item i of an array, or value i of an object (then *key, if not NULL, gets its key). */
int json_at(const struct json *j, int node, size_t i, const char **key);
/* The value of key in an object. */
int json_get(const struct json *j, int obj, const char *key);

/* A scalar's text (strings: unescaped; *len may be NULL). NULL for arrays and objects. */
const char *json_str(const struct json *j, int node, size_t *len);
/* 0 and *v set when node is a number (or a string holding one, for YAML's plain scalars). */
int json_number(const struct json *j, int node, double *v);
/* 0 and *v set when node is a whole number within [lo, hi]. */
int json_int(const struct json *j, int node, long long lo, long long hi, long long *v);
/* 1 true, 0 false, -1 not a boolean. */
int json_bool(const struct json *j, int node);

#endif
