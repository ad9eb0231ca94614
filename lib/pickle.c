/* pickle.c: the restricted unpickler of pickle.h. A small stack machine over a table of objects
 * (None, bool, int, float, str, tuple, list, dict, an allowed global, a storage, a tensor), each
 * referred to by its index: containers hold indices, strings point into the input, so a memo
 * reference costs nothing and no object is copied, walked or freed one by one. Opcodes are read
 * through one table giving each its name and handler (none: refused by name). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "pickle.h"

enum kind { K_NONE, K_BOOL, K_INT, K_FLOAT, K_STR, K_TUPLE, K_LIST, K_DICT, K_GLOBAL, K_STORAGE, K_TENSOR };
static const char *const kind_name[] = { "None",   "a bool",    "an int",   "a float",
					 "a str",  "a tuple",   "a list",   "a dict",
					 "a global", "a storage", "a tensor" };

enum callable { G_ODICT, G_TENSOR, G_PARAM, G_PARAM_STATE, G_STORAGE };

static const struct global {
	const char *module, *name;
	enum callable what;
	const char *dtype; /* G_STORAGE */
} globals[] = {
	{ "collections", "OrderedDict", G_ODICT, NULL },
	{ "torch._utils", "_rebuild_tensor_v2", G_TENSOR, NULL },
	{ "torch._utils", "_rebuild_parameter", G_PARAM, NULL },
	{ "torch._utils", "_rebuild_parameter_with_state", G_PARAM_STATE, NULL },
	{ "torch", "FloatStorage", G_STORAGE, "F32" },
	{ "torch", "HalfStorage", G_STORAGE, "F16" },
	{ "torch", "BFloat16Storage", G_STORAGE, "BF16" },
	{ "torch", "DoubleStorage", G_STORAGE, "F64" },
	{ "torch", "LongStorage", G_STORAGE, "I64" },
	{ "torch", "IntStorage", G_STORAGE, "I32" },
	{ "torch", "ShortStorage", G_STORAGE, "I16" },
	{ "torch", "CharStorage", G_STORAGE, "I8" },
	{ "torch", "ByteStorage", G_STORAGE, "U8" },
	{ "torch", "BoolStorage", G_STORAGE, "BOOL" },
};

struct obj {
	unsigned char kind, depth; /* depth: 0 for a leaf, 1 + the deepest item's for a container */
	unsigned char global;      /* K_GLOBAL, K_STORAGE: index in globals */
	union {
		int64_t i; /* K_BOOL, K_INT; K_TENSOR: index in pk.t */
		double f;
		struct {
			const char *s;
			size_t len;
		} str; /* K_STR */
		struct {
			size_t *v;
			size_t n, cap;
		} items; /* K_TUPLE, K_LIST; K_DICT: key, value, key, value, ... */
		struct {
			const char *key;
			size_t len;
			int64_t numel;
		} storage; /* K_STORAGE */
	};
};

/* A tensor while parsing: its name and storage key are set at the end. */
struct rec {
	size_t storage; /* object index */
	struct pt_tensor t;
};

struct pk {
	const unsigned char *p;
	size_t n, at, op; /* input, read position, the current opcode's byte */
	const char *name;
	struct obj *o;
	size_t no, co;
	size_t *stack, ns, cs;
	size_t marks[PK_MAX_MARKS];
	int nm;
	size_t *memo, nmemo, memo_len; /* memo[key] (SIZE_MAX: unset); nmemo allocated; memo_len set */
	struct rec *t;
	size_t nt, ct;
};

struct op {
	const char *name;
	int (*fn)(struct pk *, int code);
};
static const struct op ops[256];

__attribute__((format(printf, 2, 3))) static int fail(const struct pk *pk, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(E_FORMAT, "%s: pickle: %s at byte %zu", pk->name, msg, pk->op);
}


/* Bytes of the current opcode's argument: len more, within the input. */
static int take(struct pk *pk, size_t len, const unsigned char **out)
{
	if (len > pk->n - pk->at)
		return fail(pk, "the input ends inside opcode 0x%02x %s", pk->p[pk->op], ops[pk->p[pk->op]].name);
	*out = pk->p + pk->at;
	pk->at += len;
	return 0;
}

static uint64_t le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* A text argument: the bytes up to the next newline, which is consumed. */
static int line(struct pk *pk, const char **s, size_t *len)
{
	const unsigned char *q = memchr(pk->p + pk->at, '\n', pk->n - pk->at), *b = NULL;
	if (!q)
		return fail(pk, "the input ends inside opcode 0x%02x %s", pk->p[pk->op], ops[pk->p[pk->op]].name);
	*len = (size_t)(q - (pk->p + pk->at));
	take(pk, *len + 1, &b);
	*s = (const char *)b;
	return 0;
}

/* The stack */

static size_t floor_(const struct pk *pk)
{
	return pk->nm ? pk->marks[pk->nm - 1] : 0;
}

static int push(struct pk *pk, size_t i)
{
	if (pk->ns >= PK_MAX_STACK)
		return fail(pk, "the stack grows past %d items", PK_MAX_STACK);
	int rc = grow((void **)&pk->stack, &pk->cs, pk->ns + 1, sizeof *pk->stack);
	if (rc == 0)
		pk->stack[pk->ns++] = i;
	return rc;
}

/* The top k items above the open mark: their indices at *items, still on the stack. */
static int peek(struct pk *pk, size_t k, size_t **items)
{
	if (pk->ns - floor_(pk) < k)
		return fail(pk, "opcode 0x%02x %s on a stack of %zu items (it needs %zu)", pk->p[pk->op],
			    ops[pk->p[pk->op]].name, pk->ns - floor_(pk), k);
	*items = pk->stack + pk->ns - k;
	return 0;
}

/* Closes the open mark: the items above it are stack[*start..ns). */
static int close_mark(struct pk *pk, size_t *start)
{
	if (!pk->nm)
		return fail(pk, "opcode 0x%02x %s without a mark", pk->p[pk->op], ops[pk->p[pk->op]].name);
	*start = pk->marks[--pk->nm];
	return 0;
}

/* A new object of that kind (zeroed), pushed; its index in *i when i is not NULL. */
static int push_new(struct pk *pk, enum kind kind, size_t *i)
{
	int rc = grow((void **)&pk->o, &pk->co, pk->no + 1, sizeof *pk->o);
	if (rc < 0)
		return rc;
	memset(&pk->o[pk->no], 0, sizeof *pk->o);
	pk->o[pk->no].kind = (unsigned char)kind;
	if (i)
		*i = pk->no;
	return push(pk, pk->no++);
}

/* Container c takes child as an item: its depth follows. */
static int deepen(struct pk *pk, struct obj *c, size_t child)
{
	int d = pk->o[child].depth + 1;
	if (d > PK_MAX_DEPTH)
		return fail(pk, "containers nest deeper than %d", PK_MAX_DEPTH);
	if (d > c->depth)
		c->depth = (unsigned char)d;
	return 0;
}

/* Appends k items to container c (a list or a dict, k even). */
static int add_items(struct pk *pk, size_t c, const size_t *items, size_t k)
{
	struct obj *o = &pk->o[c];
	int rc = grow((void **)&o->items.v, &o->items.cap, o->items.n + k, sizeof *o->items.v);
	for (size_t j = 0; j < k && rc == 0; j++)
		if ((rc = deepen(pk, o, items[j])) == 0)
			o->items.v[o->items.n++] = items[j];
	return rc;
}

/* Opcodes of data */

static int op_proto(struct pk *pk, int code)
{
	const unsigned char *b = NULL;
	int rc = take(pk, code == 0x80 ? 1 : 8, &b);
	if (rc < 0)
		return rc;
	if (code == 0x80 && (b[0] < 2 || b[0] > 5))
		return fail(pk, "protocol %d (2 to 5 are read)", b[0]);
	if (code == 0x95 && le(b, 8) > pk->n - pk->at)
		return fail(pk, "a frame of %llu bytes overruns the input", (unsigned long long)le(b, 8));
	return 0;
}

static int op_mark(struct pk *pk, int code)
{
	(void)code;
	if (pk->nm >= PK_MAX_MARKS)
		return fail(pk, "more than %d marks open", PK_MAX_MARKS);
	pk->marks[pk->nm++] = pk->ns;
	return 0;
}

static int op_pop(struct pk *pk, int code)
{
	size_t *items, start = 0;
	int rc = code == '1' ? close_mark(pk, &start) : peek(pk, 1, &items);
	if (rc == 0)
		pk->ns = code == '1' ? start : pk->ns - 1;
	return rc;
}

static int op_dup(struct pk *pk, int code)
{
	size_t *items = NULL;
	(void)code;
	int rc = peek(pk, 1, &items);
	return rc < 0 ? rc : push(pk, *items);
}

static int op_const(struct pk *pk, int code)
{
	size_t i;
	int rc = push_new(pk, code == 'N' ? K_NONE : K_BOOL, &i);
	if (rc == 0)
		pk->o[i].i = code == 0x88;
	return rc;
}

static int op_int(struct pk *pk, int code)
{
	const unsigned char *b = NULL;
	size_t len = code == 'J' ? 4 : code == 'M' ? 2 : 1, i; /* LONG1: its length byte first */
	int rc = take(pk, len, &b);
	if (rc == 0 && code == 0x8a) { /* LONG1: a length, then that many bytes of two's complement */
		if ((len = b[0]) > 8)
			return fail(pk, "LONG1 of %zu bytes: an integer too large", len);
		rc = take(pk, len, &b);
	}
	if (rc < 0 || (rc = push_new(pk, K_INT, &i)) < 0)
		return rc;
	uint64_t v = le(b, (int)len);
	if ((code == 'J' || code == 0x8a) && len && len < 8 && b[len - 1] & 0x80)
		v |= ~(uint64_t)0 << (8 * len); /* sign extension */
	pk->o[i].i = (int64_t)v;
	return 0;
}

static int op_float(struct pk *pk, int code)
{
	const unsigned char *b = NULL;
	size_t i;
	(void)code;
	int rc = take(pk, 8, &b);
	if (rc < 0 || (rc = push_new(pk, K_FLOAT, &i)) < 0)
		return rc;
	uint64_t bits = 0;
	for (int k = 0; k < 8; k++) /* big-endian */
		bits = bits << 8 | b[k];
	memcpy(&pk->o[i].f, &bits, sizeof bits);
	return 0;
}

static int op_str(struct pk *pk, int code)
{
	const unsigned char *b = NULL;
	int width = code == 0x8c || code == 'U' ? 1 : code == 0x8d ? 8 : 4;
	size_t i;
	int rc = take(pk, (size_t)width, &b);
	if (rc < 0)
		return rc;
	uint64_t len = le(b, width);
	if (code == 'T' && len >> 31)
		return fail(pk, "a string of negative length");
	if (len > pk->n - pk->at)
		return fail(pk, "a string of %llu bytes overruns the input", (unsigned long long)len);
	if ((rc = push_new(pk, K_STR, &i)) < 0)
		return rc;
	pk->o[i].str.s = (const char *)pk->p + pk->at;
	pk->o[i].str.len = (size_t)len;
	pk->at += (size_t)len;
	return 0;
}

/* Containers */

static int op_tuple(struct pk *pk, int code)
{
	size_t k = code == ')' || code == 't' ? 0 : (size_t)(code - 0x84), start = 0, t;
	size_t *items = NULL;
	int rc = code == 't' ? close_mark(pk, &start) : peek(pk, k, &items);
	if (rc < 0)
		return rc;
	if (code == 't')
		k = pk->ns - start;
	struct obj tuple = { .kind = K_TUPLE };
	if (k && !(tuple.items.v = malloc(k * sizeof *tuple.items.v)))
		return err_set(E_NOMEM, "out of memory");
	tuple.items.cap = k;
	items = pk->stack + pk->ns - k;
	for (size_t j = 0; j < k && rc == 0; j++)
		if ((rc = deepen(pk, &tuple, items[j])) == 0)
			tuple.items.v[tuple.items.n++] = items[j];
	pk->ns -= k;
	if (rc < 0 || (rc = push_new(pk, K_TUPLE, &t)) < 0) {
		free(tuple.items.v);
		return rc;
	}
	pk->o[t] = tuple;
	return 0;
}

static int op_empty(struct pk *pk, int code)
{
	return push_new(pk, code == ']' ? K_LIST : K_DICT, NULL);
}

/* APPEND, APPENDS, SETITEM, SETITEMS: items into the list or dict below them. */
static int op_add(struct pk *pk, int code)
{
	size_t k = code == 'a' ? 1 : 2, start = 0, *items;
	int many = code == 'e' || code == 'u', rc = many ? close_mark(pk, &start) : peek(pk, k + 1, &items);
	if (rc < 0)
		return rc;
	if (many) {
		k = pk->ns - start;
		if (start == floor_(pk))
			return fail(pk, "opcode 0x%02x %s with nothing to add to", code, ops[code].name);
	}
	size_t c = pk->stack[pk->ns - k - 1];
	enum kind want = code == 'a' || code == 'e' ? K_LIST : K_DICT;
	if (pk->o[c].kind != want)
		return fail(pk, "opcode 0x%02x %s on %s", code, ops[code].name, kind_name[pk->o[c].kind]);
	if (want == K_DICT && k % 2)
		return fail(pk, "opcode 0x%02x %s with a key and no value", code, ops[code].name);
	rc = add_items(pk, c, pk->stack + pk->ns - k, k);
	pk->ns -= k;
	return rc;
}

/* The memo */

/* A memo key: the argument of PUT, BINPUT, LONG_BINPUT, GET, BINGET, LONG_BINGET. */
static int memo_key(struct pk *pk, int code, size_t *key)
{
	const unsigned char *b = NULL;
	const char *s;
	size_t len;
	int rc;
	if (code == 'p' || code == 'g') {
		if ((rc = line(pk, &s, &len)) < 0)
			return rc;
		*key = 0;
		for (size_t k = 0; k < len; k++) {
			if (s[k] < '0' || s[k] > '9' || *key > pk->n)
				return fail(pk, "a bad memo key");
			*key = *key * 10 + (size_t)(s[k] - '0');
		}
		if (!len)
			return fail(pk, "a bad memo key");
	} else if ((rc = take(pk, code == 'q' || code == 'h' ? 1 : 4, &b)) == 0) {
		*key = (size_t)le(b, code == 'q' || code == 'h' ? 1 : 4);
	}
	return rc;
}

static int op_put(struct pk *pk, int code)
{
	size_t key = pk->memo_len, *items;
	int rc = code == 0x94 ? 0 : memo_key(pk, code, &key);
	if (rc < 0 || (rc = peek(pk, 1, &items)) < 0)
		return rc;
	if (key >= pk->n) /* pickle numbers its memo from 0, at least a byte per PUT: so the memo stays below n */
		return fail(pk, "memo key %zu: more than the input can hold", key);
	size_t old = pk->nmemo;
	if ((rc = grow((void **)&pk->memo, &pk->nmemo, key + 1, sizeof *pk->memo)) < 0)
		return rc;
	for (size_t k = old; k < pk->nmemo; k++)
		pk->memo[k] = SIZE_MAX;
	pk->memo_len += pk->memo[key] == SIZE_MAX;
	pk->memo[key] = *items;
	return 0;
}

static int op_get(struct pk *pk, int code)
{
	size_t key;
	int rc = memo_key(pk, code, &key);
	if (rc < 0)
		return rc;
	if (key >= pk->nmemo || pk->memo[key] == SIZE_MAX)
		return fail(pk, "memo key %zu is not set", key);
	return push(pk, pk->memo[key]);
}

/* Globals, persistent ids and calls */

static int op_global(struct pk *pk, int code)
{
	const char *mod, *name;
	size_t mlen, nlen, *items, i;
	char a[84], b[84];
	int rc;
	if (code == 'c') {
		rc = line(pk, &mod, &mlen);
		rc = rc ? rc : line(pk, &name, &nlen);
	} else if ((rc = peek(pk, 2, &items)) == 0) {
		const struct obj *m = &pk->o[items[0]], *n = &pk->o[items[1]];
		if (m->kind != K_STR || n->kind != K_STR)
			return fail(pk, "STACK_GLOBAL of %s and %s", kind_name[m->kind], kind_name[n->kind]);
		mod = m->str.s, mlen = m->str.len, name = n->str.s, nlen = n->str.len;
		pk->ns -= 2;
	}
	if (rc < 0)
		return rc;
	for (size_t g = 0; g < sizeof globals / sizeof *globals; g++)
		if (strlen(globals[g].module) == mlen && !memcmp(globals[g].module, mod, mlen) &&
		    strlen(globals[g].name) == nlen && !memcmp(globals[g].name, name, nlen)) {
			if ((rc = push_new(pk, K_GLOBAL, &i)) == 0)
				pk->o[i].global = (unsigned char)g;
			return rc;
		}
	return fail(pk, "global %s.%s is not allowed", err_shown(mod, mlen, a), err_shown(name, nlen, b));
}

static int is_str(const struct obj *o, const char *s)
{
	return o->kind == K_STR && o->str.len == strlen(s) && !memcmp(o->str.s, s, o->str.len);
}

/* BINPERSID of ('storage', torch.XStorage, key, location, numel): a storage. */
static int op_persid(struct pk *pk, int code)
{
	size_t *items, i;
	(void)code;
	int rc = peek(pk, 1, &items);
	if (rc < 0)
		return rc;
	const struct obj *t = &pk->o[*items];
	const size_t *v = t->items.v;
	if (t->kind != K_TUPLE || t->items.n != 5 || !is_str(&pk->o[v[0]], "storage") || pk->o[v[1]].kind != K_GLOBAL ||
	    globals[pk->o[v[1]].global].what != G_STORAGE || pk->o[v[2]].kind != K_STR || pk->o[v[3]].kind != K_STR ||
	    pk->o[v[4]].kind != K_INT)
		return fail(pk, "a persistent id other than ('storage', torch.<type>Storage, key, location, numel)");
	if (pk->o[v[4]].i < 0 || pk->o[v[4]].i > (int64_t)1 << 60)
		return fail(pk, "a storage of %lld elements", (long long)pk->o[v[4]].i);
	struct obj s = { .kind = K_STORAGE, .global = pk->o[v[1]].global };
	s.storage.key = pk->o[v[2]].str.s;
	s.storage.len = pk->o[v[2]].str.len;
	s.storage.numel = pk->o[v[4]].i;
	pk->ns--;
	if ((rc = push_new(pk, K_STORAGE, &i)) == 0)
		pk->o[i] = s;
	return rc;
}

/* The size and stride tuples of a tensor into r, checked. */
static int view(struct pk *pk, const struct obj *size, const struct obj *stride, struct rec *r)
{
	int64_t numel = 1, extent;
	if (size->items.n > PT_MAX_DIMS || stride->items.n != size->items.n)
		return fail(pk, "_rebuild_tensor_v2 of %zu sizes and %zu strides (at most %d)", size->items.n,
			    stride->items.n, PT_MAX_DIMS);
	r->t.ndim = (int)size->items.n;
	for (int d = 0; d < r->t.ndim; d++) {
		const struct obj *a = &pk->o[size->items.v[d]], *b = &pk->o[stride->items.v[d]];
		if (a->kind != K_INT || b->kind != K_INT || a->i < 0 || b->i < 0)
			return fail(pk, "_rebuild_tensor_v2: dimension %d: size and stride must be non-negative ints", d);
		r->t.shape[d] = a->i;
		r->t.stride[d] = b->i;
		if (__builtin_mul_overflow(numel, a->i, &numel))
			return fail(pk, "_rebuild_tensor_v2: the shape's product overflows");
	}
	if (pt_tensor_extent(&r->t, &extent) < 0)
		return fail(pk, "_rebuild_tensor_v2: the view's extent overflows");
	return 0;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
static int rebuild_tensor(struct pk *pk, const struct obj *args)
{
	const size_t *v = args->items.v;
	size_t i;
	if (args->items.n != 6 && args->items.n != 7)
		return fail(pk, "_rebuild_tensor_v2 of %zu arguments, not 6 or 7", args->items.n);
	const struct obj *st = &pk->o[v[0]], *off = &pk->o[v[1]], *hooks = &pk->o[v[5]];
	if (st->kind != K_STORAGE || off->kind != K_INT || off->i < 0 || pk->o[v[2]].kind != K_TUPLE ||
	    pk->o[v[3]].kind != K_TUPLE || pk->o[v[4]].kind != K_BOOL || hooks->kind != K_DICT)
		return fail(pk, "_rebuild_tensor_v2 of other than (storage, offset >= 0, size, stride, bool, hooks)");
	if (hooks->items.n)
		return fail(pk, "a tensor with backward hooks");
	struct rec r = { .storage = v[0] };
	snprintf(r.t.dtype, sizeof r.t.dtype, "%s", globals[st->global].dtype);
	r.t.storage_numel = st->storage.numel;
	r.t.offset = off->i;
	int rc = view(pk, &pk->o[v[2]], &pk->o[v[3]], &r);
	if (rc == 0)
		rc = grow((void **)&pk->t, &pk->ct, pk->nt + 1, sizeof *pk->t);
	if (rc < 0)
		return rc;
	pk->t[pk->nt] = r;
	if ((rc = push_new(pk, K_TENSOR, &i)) == 0)
		pk->o[i].i = (int64_t)pk->nt++;
	return rc;
}

/* _rebuild_parameter(data, requires_grad, backward_hooks[, state]): the tensor data. */
static int rebuild_parameter(struct pk *pk, const struct obj *args, enum callable g)
{
	const size_t *v = args->items.v;
	size_t want = g == G_PARAM ? 3 : 4;
	if (args->items.n != want || pk->o[v[0]].kind != K_TENSOR || pk->o[v[1]].kind != K_BOOL ||
	    pk->o[v[2]].kind != K_DICT || pk->o[v[2]].items.n)
		return fail(pk, "%s of other than (tensor, bool, no hooks%s)", globals[g].name, want == 4 ? ", state" : "");
	return push(pk, v[0]);
}

/* REDUCE and NEWOBJ: a call of an allowed global with a tuple of arguments. */
static int op_reduce(struct pk *pk, int code)
{
	size_t *items = NULL;
	int rc = peek(pk, 2, &items);
	if (rc < 0)
		return rc;
	const struct obj *f = &pk->o[items[0]], *args = &pk->o[items[1]];
	if (f->kind != K_GLOBAL)
		return fail(pk, "opcode 0x%02x %s of %s", code, ops[code].name, kind_name[f->kind]);
	const struct global *g = &globals[f->global];
	if (args->kind != K_TUPLE)
		return fail(pk, "opcode 0x%02x %s of %s.%s with %s", code, ops[code].name, g->module, g->name,
			    kind_name[args->kind]);
	pk->ns -= 2;
	if (g->what == G_ODICT && !args->items.n)
		return push_new(pk, K_DICT, NULL);
	if (code == 'R' && g->what == G_TENSOR)
		return rebuild_tensor(pk, args);
	if (code == 'R' && (g->what == G_PARAM || g->what == G_PARAM_STATE))
		return rebuild_parameter(pk, args, g->what);
	return fail(pk, "opcode 0x%02x %s of %s.%s%s is not allowed", code, ops[code].name, g->module, g->name,
		    g->what == G_ODICT ? " with arguments" : "");
}

/* BUILD: an OrderedDict's attributes (_metadata) are read and dropped; nothing else is built. */
static int op_build(struct pk *pk, int code)
{
	size_t *items = NULL;
	int rc = peek(pk, 2, &items);
	if (rc < 0)
		return rc;
	if (pk->o[items[0]].kind != K_DICT)
		return fail(pk, "opcode 0x%02x BUILD of %s is not allowed", code, kind_name[pk->o[items[0]].kind]);
	pk->ns--;
	return 0;
}

static const struct op ops[256] = {
	['('] = { "MARK", op_mark },
	['.'] = { "STOP", NULL }, /* the loop's */
	['0'] = { "POP", op_pop },
	['1'] = { "POP_MARK", op_pop },
	['2'] = { "DUP", op_dup },
	['F'] = { "FLOAT", NULL },
	['I'] = { "INT", NULL },
	['J'] = { "BININT", op_int },
	['K'] = { "BININT1", op_int },
	['L'] = { "LONG", NULL },
	['M'] = { "BININT2", op_int },
	['N'] = { "NONE", op_const },
	['P'] = { "PERSID", NULL },
	['Q'] = { "BINPERSID", op_persid },
	['R'] = { "REDUCE", op_reduce },
	['S'] = { "STRING", NULL },
	['T'] = { "BINSTRING", op_str },
	['U'] = { "SHORT_BINSTRING", op_str },
	['V'] = { "UNICODE", NULL },
	['X'] = { "BINUNICODE", op_str },
	['a'] = { "APPEND", op_add },
	['b'] = { "BUILD", op_build },
	['c'] = { "GLOBAL", op_global },
	['d'] = { "DICT", NULL },
	['}'] = { "EMPTY_DICT", op_empty },
	['e'] = { "APPENDS", op_add },
	['g'] = { "GET", op_get },
	['h'] = { "BINGET", op_get },
	['i'] = { "INST", NULL },
	['j'] = { "LONG_BINGET", op_get },
	['l'] = { "LIST", NULL },
	[']'] = { "EMPTY_LIST", op_empty },
	['o'] = { "OBJ", NULL },
	['p'] = { "PUT", op_put },
	['q'] = { "BINPUT", op_put },
	['r'] = { "LONG_BINPUT", op_put },
	['s'] = { "SETITEM", op_add },
	['t'] = { "TUPLE", op_tuple },
	[')'] = { "EMPTY_TUPLE", op_tuple },
	['u'] = { "SETITEMS", op_add },
	['G'] = { "BINFLOAT", op_float },
	[0x80] = { "PROTO", op_proto },
	[0x81] = { "NEWOBJ", op_reduce },
	[0x82] = { "EXT1", NULL },
	[0x83] = { "EXT2", NULL },
	[0x84] = { "EXT4", NULL },
	[0x85] = { "TUPLE1", op_tuple },
	[0x86] = { "TUPLE2", op_tuple },
	[0x87] = { "TUPLE3", op_tuple },
	[0x88] = { "NEWTRUE", op_const },
	[0x89] = { "NEWFALSE", op_const },
	[0x8a] = { "LONG1", op_int },
	[0x8b] = { "LONG4", NULL },
	['B'] = { "BINBYTES", NULL },
	['C'] = { "SHORT_BINBYTES", NULL },
	[0x8c] = { "SHORT_BINUNICODE", op_str },
	[0x8d] = { "BINUNICODE8", op_str },
	[0x8e] = { "BINBYTES8", NULL },
	[0x8f] = { "EMPTY_SET", NULL },
	[0x90] = { "ADDITEMS", NULL },
	[0x91] = { "FROZENSET", NULL },
	[0x92] = { "NEWOBJ_EX", NULL },
	[0x93] = { "STACK_GLOBAL", op_global },
	[0x94] = { "MEMOIZE", op_put },
	[0x95] = { "FRAME", op_proto },
	[0x96] = { "BYTEARRAY8", NULL },
	[0x97] = { "NEXT_BUFFER", NULL },
	[0x98] = { "READONLY_BUFFER", NULL },
};

/* Runs the opcodes to STOP; *result is the object it returns. */
static int run(struct pk *pk, size_t *result)
{
	size_t *items = NULL;
	while (pk->at < pk->n) {
		pk->op = pk->at;
		int code = pk->p[pk->at++], rc;
		const struct op *o = &ops[code];
		if (!o->name)
			return fail(pk, "unknown opcode 0x%02x", code);
		if (code == '.') {
			if ((rc = peek(pk, 1, &items)) < 0)
				return rc;
			if (pk->ns != 1 || pk->nm)
				return fail(pk, "STOP with %zu more items and %d marks on the stack", pk->ns - 1, pk->nm);
			*result = *items;
			return 0;
		}
		if (!o->fn)
			return fail(pk, "opcode 0x%02x %s is not allowed", code, o->name);
		if ((rc = o->fn(pk, code)) < 0)
			return rc;
	}
	return err_set(E_FORMAT, "%s: pickle: the input ends before STOP", pk->name);
}

/* The result */

/* The top dict, or the dict it holds as its one item "state_dict" or "model". */
static int top_dict(const struct pk *pk, size_t result, const struct obj **d)
{
	const struct obj *o = &pk->o[result];
	if (o->kind != K_DICT)
		return err_set(E_FORMAT, "%s: pickle: %s, not a state dict", pk->name, kind_name[o->kind]);
	if (o->items.n == 2 && (is_str(&pk->o[o->items.v[0]], "state_dict") || is_str(&pk->o[o->items.v[0]], "model")) &&
	    pk->o[o->items.v[1]].kind == K_DICT)
		o = &pk->o[o->items.v[1]];
	*d = o;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct pt_tensor *const *)a)->name, (*(const struct pt_tensor *const *)b)->name);
}

/* Two tensors of one name are an error. */
static int unique_names(const struct pt_state *s, const char *name)
{
	char b[84];
	const struct pt_tensor **sorted = malloc((s->n ? s->n : 1) * sizeof *sorted);
	int rc = 0;
	if (!sorted)
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		sorted[i] = &s->t[i];
	qsort(sorted, s->n, sizeof *sorted, by_name);
	for (size_t i = 1; i < s->n && rc == 0; i++)
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
			rc = err_set(E_FORMAT, "%s: pickle: two tensors named %s", name,
				     err_shown(sorted[i]->name, strlen(sorted[i]->name), b));
	free(sorted);
	return rc;
}

/* A NUL-terminated copy of a key, which must hold no NUL. */
static int copy_key(const struct pk *pk, const char *s, size_t len, char **out)
{
	char b[84];
	if (memchr(s, 0, len))
		return err_set(E_FORMAT, "%s: pickle: the key %s holds a NUL byte", pk->name, err_shown(s, len, b));
	if (!(*out = strndup(s, len)))
		return err_set(E_NOMEM, "out of memory");
	return 0;
}

/* The state dict's tensors into s. */
static int collect(const struct pk *pk, size_t result, struct pt_state *s)
{
	const struct obj *d = NULL;
	char b[84];
	int rc = top_dict(pk, result, &d);
	if (rc < 0)
		return rc;
	if (!(s->t = calloc(d->items.n / 2 + 1, sizeof *s->t)))
		return err_set(E_NOMEM, "out of memory");
	for (size_t i = 0; i + 1 < d->items.n && rc == 0; i += 2) {
		const struct obj *k = &pk->o[d->items.v[i]], *v = &pk->o[d->items.v[i + 1]];
		if (k->kind != K_STR)
			return err_set(E_FORMAT, "%s: pickle: a state dict key is %s, not a str", pk->name, kind_name[k->kind]);
		if (v->kind != K_TENSOR)
			return err_set(E_FORMAT, "%s: pickle: %s is %s, not a tensor", pk->name, err_shown(k->str.s, k->str.len, b),
				       kind_name[v->kind]);
		const struct rec *r = &pk->t[v->i];
		const struct obj *st = &pk->o[r->storage];
		s->t[s->n++] = r->t; /* its name and storage key are NULL until copied */
		rc = copy_key(pk, k->str.s, k->str.len, &s->t[s->n - 1].name);
		rc = rc ? rc : copy_key(pk, st->storage.key, st->storage.len, &s->t[s->n - 1].storage);
	}
	return rc ? rc : unique_names(s, pk->name);
}

static void pk_free(struct pk *pk)
{
	for (size_t i = 0; i < pk->no; i++)
		if (pk->o[i].kind == K_TUPLE || pk->o[i].kind == K_LIST || pk->o[i].kind == K_DICT)
			free(pk->o[i].items.v);
	free(pk->o);
	free(pk->stack);
	free(pk->memo);
	free(pk->t);
}

int pickle_state_dict(struct pt_state *s, const unsigned char *p, size_t n, const char *name)
{
	struct pk pk = { .p = p, .n = n, .name = name };
	size_t result = 0;
	int rc = 0;
	memset(s, 0, sizeof *s);
	rc = grow((void **)&pk.stack, &pk.cs, 1, sizeof *pk.stack); /* never NULL, even for EMPTY_TUPLE first */
	if (rc == 0)
		rc = run(&pk, &result);
	if (rc == 0)
		rc = collect(&pk, result, s);
	pk_free(&pk);
	if (rc < 0)
		pickle_free(s);
	return rc;
}

void pickle_free(struct pt_state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->t[i].name);
		free(s->t[i].storage);
	}
	free(s->t);
	memset(s, 0, sizeof *s);
}

int pt_tensor_extent(const struct pt_tensor *t, int64_t *elements)
{
	int64_t last = t->offset;
	*elements = 0;
	if (t->ndim < 0 || t->ndim > PT_MAX_DIMS || t->offset < 0)
		return err_set(E_FORMAT, "a view of %d dimensions at offset %lld", t->ndim, (long long)t->offset);
	for (int d = 0; d < t->ndim; d++)
		if (t->shape[d] < 0 || t->stride[d] < 0)
			return err_set(E_FORMAT, "a view of negative size or stride");
	for (int d = 0; d < t->ndim; d++)
		if (t->shape[d] == 0)
			return 0;
	for (int d = 0; d < t->ndim; d++) {
		int64_t step;
		if (__builtin_mul_overflow(t->shape[d] - 1, t->stride[d], &step) || __builtin_add_overflow(last, step, &last))
			return err_set(E_FORMAT, "a view reaching past 2^63 elements");
	}
	if (__builtin_add_overflow(last, 1, elements))
		return err_set(E_FORMAT, "a view reaching past 2^63 elements");
	return 0;
}
