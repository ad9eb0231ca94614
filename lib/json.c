#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "io.h"
#include "json.h"
#include "mem.h"

struct node {
	enum json_type type;
	size_t line;  /* where it starts in the text, from 1 */
	char *text;   /* scalars */
	size_t len;
	size_t first; /* containers: their children in kids[first .. first + n) */
	size_t n;     /* objects: 2 per pair, key then value */
};

struct json {
	struct node *nodes; /* nodes[0] is unused: id 0 means none */
	size_t nnodes, cap;
	int *kids;
	size_t nkids, kcap;
};

static int new_node(struct json *j, enum json_type type, size_t line)
{
	if (grow((void **)&j->nodes, &j->cap, j->nnodes + 1, sizeof *j->nodes) < 0)
		return -1;
	j->nodes[j->nnodes] = (struct node){ .type = type, .line = line };
	return (int)j->nnodes++;
}

static enum json_type scalar_type(const yaml_event_t *e)
{
	const char *v = (const char *)e->data.scalar.value;
	if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return J_STRING;
	if (!strcmp(v, "null") || !strcmp(v, "~") || !*v)
		return J_NULL;
	if (!strcmp(v, "true") || !strcmp(v, "false"))
		return J_BOOL;
	char *end;
	errno = 0;
	strtod(v, &end);
	return end != v && !*end ? J_NUMBER : J_STRING;
}

/* Builds the tree from libyaml's events with an explicit stack of open containers. */
static int build(struct json *j, yaml_parser_t *p, const char *name)
{
	int stack[256], depth = 0;
	int *pending = NULL; /* children of the open containers, in order */
	size_t npending = 0, pcap = 0, mark[256];
	int rc = 0, done = 0;
	while (!done) {
		yaml_event_t e;
		if (!yaml_parser_parse(p, &e)) {
			rc = err_set(E_FORMAT, "%s: line %zu: %s", name, p->problem_mark.line + 1,
				     p->problem ? p->problem : "malformed");
			break;
		}
		int id = 0;
		switch (e.type) {
		case YAML_ALIAS_EVENT:
			rc = err_set(E_FORMAT, "%s: line %zu: aliases are not JSON", name, e.start_mark.line + 1);
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor = e.type == YAML_SCALAR_EVENT ? e.data.scalar.anchor :
						    e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor :
											   e.data.mapping_start.anchor;
			if (anchor) {
				rc = err_set(E_FORMAT, "%s: line %zu: anchors are not JSON", name, e.start_mark.line + 1);
				break;
			}
			if (e.type == YAML_SCALAR_EVENT) {
				if ((id = new_node(j, scalar_type(&e), e.start_mark.line + 1)) < 0) {
					rc = E_NOMEM;
					break;
				}
				struct node *nd = &j->nodes[id];
				nd->len = e.data.scalar.length;
				if (!(nd->text = malloc(nd->len + 1))) {
					rc = err_set(E_NOMEM, "out of memory");
					break;
				}
				memcpy(nd->text, e.data.scalar.value, nd->len);
				nd->text[nd->len] = 0;
			} else {
				if (depth == 256) {
					rc = err_set(E_FORMAT, "%s: line %zu: nested too deep", name, e.start_mark.line + 1);
					break;
				}
				if ((id = new_node(j, e.type == YAML_SEQUENCE_START_EVENT ? J_ARRAY : J_OBJECT,
						   e.start_mark.line + 1)) < 0) {
					rc = E_NOMEM;
					break;
				}
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			/* Close the container on top: move its pending children into kids. */
			int c = stack[--depth];
			size_t n = npending - mark[depth];
			if (j->nodes[c].type == J_OBJECT) /* YAML allows any key; JSON, and callers, only scalars */
				for (size_t k = 0; k < n && rc == 0; k += 2)
					if (!j->nodes[pending[mark[depth] + k]].text)
						rc = err_set(E_FORMAT, "%s: line %zu: a key that is not a string", name,
							     e.start_mark.line + 1);
			if (rc < 0)
				break;
			if (grow((void **)&j->kids, &j->kcap, j->nkids + n, sizeof *j->kids) < 0) {
				rc = E_NOMEM;
				break;
			}
			if (n) /* an empty container: pending and kids may still be NULL */
				memcpy(j->kids + j->nkids, pending + mark[depth], n * sizeof *pending);
			j->nodes[c].first = j->nkids;
			j->nodes[c].n = n;
			j->nkids += n;
			npending = mark[depth];
			id = -c; /* a finished container is now a child of its parent */
			break;
		}
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		int opened = id > 0 && (j->nodes[id].type == J_ARRAY || j->nodes[id].type == J_OBJECT);
		int child = id < 0 ? -id : opened ? 0 : id;
		if (rc == 0 && child && depth > 0) {
			if (grow((void **)&pending, &pcap, npending + 1, sizeof *pending) < 0)
				rc = E_NOMEM;
			else
				pending[npending++] = child;
		}
		if (rc == 0 && opened) {
			mark[depth] = npending;
			stack[depth++] = id;
		}
		yaml_event_delete(&e);
		if (rc < 0)
			break;
	}
	free(pending);
	if (rc == 0 && j->nnodes < 2)
		rc = err_set(E_FORMAT, "%s: empty document", name);
	return rc;
}

struct json *json_parse(const char *text, size_t n, const char *name)
{
	yaml_parser_t p;
	struct json *j = calloc(1, sizeof *j);
	if (!j || new_node(j, J_NONE, 0) < 0) {
		free(j);
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	if (!yaml_parser_initialize(&p)) {
		json_free(j);
		err_set(E_NOMEM, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
	int rc = build(j, &p, name);
	yaml_parser_delete(&p);
	if (rc < 0) {
		json_free(j);
		return NULL;
	}
	return j;
}

struct json *json_load(const char *path)
{
	size_t n;
	char *text = read_file(path, &n);
	if (!text)
		return NULL;
	struct json *j = json_parse(text, n, path);
	free(text);
	return j;
}

void json_free(struct json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nnodes; i++)
		free(j->nodes[i].text);
	free(j->nodes);
	free(j->kids);
	free(j);
}

int json_root(const struct json *j)
{
	return j->nnodes > 1 ? 1 : 0;
}

static const struct node *get(const struct json *j, int id)
{
	return id > 0 && (size_t)id < j->nnodes ? &j->nodes[id] : NULL;
}

enum json_type json_type(const struct json *j, int node)
{
	const struct node *n = get(j, node);
	return n ? n->type : J_NONE;
}

size_t json_line(const struct json *j, int node)
{
	const struct node *n = get(j, node);
	return n ? n->line : 0;
}

size_t json_len(const struct json *j, int node)
{
	const struct node *n = get(j, node);
	if (!n || (n->type != J_ARRAY && n->type != J_OBJECT))
		return 0;
	return n->type == J_OBJECT ? n->n / 2 : n->n;
}

int json_at(const struct json *j, int node, size_t i, const char **key)
{
	const struct node *n = get(j, node);
	if (!n || i >= json_len(j, node))
		return 0;
	if (n->type == J_ARRAY)
		return j->kids[n->first + i];
	if (key)
		*key = json_str(j, j->kids[n->first + 2 * i], NULL);
	return j->kids[n->first + 2 * i + 1];
}

int json_get(const struct json *j, int obj, const char *key)
{
	const struct node *n = get(j, obj);
	if (!n || n->type != J_OBJECT)
		return 0;
	for (size_t i = 0; i < n->n; i += 2) {
		const struct node *k = get(j, j->kids[n->first + i]);
		if (k && k->text && !strcmp(k->text, key))
			return j->kids[n->first + i + 1];
	}
	return 0;
}

const char *json_str(const struct json *j, int node, size_t *len)
{
	const struct node *n = get(j, node);
	if (!n || !n->text)
		return NULL;
	if (len)
		*len = n->len;
	return n->text;
}

int json_number(const struct json *j, int node, double *v)
{
	const struct node *n = get(j, node);
	char *end;
	if (!n || !n->text || (n->type != J_NUMBER && n->type != J_STRING))
		return -1;
	errno = 0;
	*v = strtod(n->text, &end);
	return end != n->text && !*end && !errno && isfinite(*v) ? 0 : -1;
}

int json_int(const struct json *j, int node, long long lo, long long hi, long long *v)
{
	const struct node *n = get(j, node);
	char *end;
	if (!n || n->type != J_NUMBER)
		return -1;
	errno = 0;
	*v = strtoll(n->text, &end, 10);
	return end != n->text && !*end && !errno && *v >= lo && *v <= hi ? 0 : -1;
}

int json_bool(const struct json *j, int node)
{
	const struct node *n = get(j, node);
	if (!n || n->type != J_BOOL)
		return -1;
	return n->text[0] == 't';
}
