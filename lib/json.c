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

/* The tree being built from libyaml's events: an explicit stack of the open containers, and
 * their children not yet placed, in order. */
struct builder {
	struct json *j;
	const char *name;
	int stack[256], depth;
	int *pending;
	size_t npending, pcap, mark[256];
};

/* A node for a scalar or a container's start into *id. 0 or a negative code. */
static int open_node(struct builder *b, const yaml_event_t *e, int *id)
{
	const yaml_char_t *anchor = e->type == YAML_SCALAR_EVENT ? e->data.scalar.anchor :
				    e->type == YAML_SEQUENCE_START_EVENT ? e->data.sequence_start.anchor :
									   e->data.mapping_start.anchor;
	size_t line = e->start_mark.line + 1;
	if (anchor)
		return err_set(E_FORMAT, "%s: line %zu: anchors are not JSON", b->name, line);
	if (e->type != YAML_SCALAR_EVENT) {
		if (b->depth == 256)
			return err_set(E_FORMAT, "%s: line %zu: nested too deep", b->name, line);
		*id = new_node(b->j, e->type == YAML_SEQUENCE_START_EVENT ? J_ARRAY : J_OBJECT, line);
		return *id < 0 ? E_NOMEM : 0;
	}
	if ((*id = new_node(b->j, scalar_type(e), line)) < 0)
		return E_NOMEM;
	struct node *nd = &b->j->nodes[*id];
	nd->len = e->data.scalar.length;
	if (!(nd->text = malloc(nd->len + 1)))
		return err_set(E_NOMEM, "out of memory");
	memcpy(nd->text, e->data.scalar.value, nd->len);
	nd->text[nd->len] = 0;
	return 0;
}

/* Closes the container on top: moves its pending children into kids; *id gets its id negated
 * (a finished container is now a child of its parent). 0 or a negative code. */
static int close_container(struct builder *b, const yaml_event_t *e, int *id)
{
	struct json *j = b->j;
	int c = b->stack[--b->depth];
	size_t from = b->mark[b->depth], n = b->npending - from;
	if (j->nodes[c].type == J_OBJECT) /* YAML allows any key; JSON, and callers, only scalars */
		for (size_t k = 0; k < n; k += 2)
			if (!j->nodes[b->pending[from + k]].text)
				return err_set(E_FORMAT, "%s: line %zu: a key that is not a string", b->name,
					       e->start_mark.line + 1);
	if (grow((void **)&j->kids, &j->kcap, j->nkids + n, sizeof *j->kids) < 0)
		return E_NOMEM;
	if (n) /* an empty container: pending and kids may still be NULL */
		memcpy(j->kids + j->nkids, b->pending + from, n * sizeof *b->pending);
	j->nodes[c].first = j->nkids;
	j->nodes[c].n = n;
	j->nkids += n;
	b->npending = from;
	*id = -c;
	return 0;
}

/* Places node id (as open_node or close_container gave it; 0: none) as a child of the open
 * container, and opens it when it is a container's start. 0 or E_NOMEM. */
static int place(struct builder *b, int id)
{
	int opened = id > 0 && (b->j->nodes[id].type == J_ARRAY || b->j->nodes[id].type == J_OBJECT);
	int child = id < 0 ? -id : opened ? 0 : id;
	if (child && b->depth > 0) {
		if (grow((void **)&b->pending, &b->pcap, b->npending + 1, sizeof *b->pending) < 0)
			return E_NOMEM;
		b->pending[b->npending++] = child;
	}
	if (opened) {
		b->mark[b->depth] = b->npending;
		b->stack[b->depth++] = id;
	}
	return 0;
}

/* Builds the tree from libyaml's events. */
static int build(struct json *j, yaml_parser_t *p, const char *name)
{
	struct builder b = { .j = j, .name = name };
	int rc = 0, done = 0;
	while (!done && rc == 0) {
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
		case YAML_MAPPING_START_EVENT: rc = open_node(&b, &e, &id); break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: rc = close_container(&b, &e, &id); break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT: done = 1; break;
		default: break;
		}
		rc = rc ? rc : place(&b, id);
		yaml_event_delete(&e);
	}
	free(b.pending);
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
