/* pickle, zip: the restricted unpickler (pickle.h) and the zip reader (zip.h) on archives and
 * pickles built here byte by byte (every accepted opcode, every refusal, bombs, lying archives),
 * and, given a folder written by tests/ref/make_torchbin.py (tests/cli/torchbin.sh passes one),
 * on torch.save's own files: names, dtypes, storages, offsets, shapes, strides and every value as
 * torch gives them, entries as Python's zipfile lists them, and the hostile files refused. */
#include <stdint.h>

#include "check.h"
#include "err.h"
#include "half.h"
#include "pickle.h"
#include "zip.h"

static const char *fixtures; /* the folder of make_torchbin.py's files, or NULL */

/* Bytes built up */

struct buf {
	unsigned char *p;
	size_t n, cap;
	int proto, memo; /* pickles: protocol 2 or 4 (strings, globals and memo as each writes them) */
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		if (!(b->p = realloc(b->p, b->cap)))
			abort();
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void op(struct buf *b, int c)
{
	unsigned char x = (unsigned char)c;
	put(b, &x, 1);
}

static void text(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void le(struct buf *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		op(b, (int)(v >> (8 * i) & 0xff));
}

static void memoize(struct buf *b)
{
	if (b->proto >= 4)
		op(b, 0x94);
	else if (b->memo < 256)
		op(b, 'q'), op(b, b->memo);
	else
		op(b, 'r'), le(b, (uint64_t)b->memo, 4);
	b->memo++;
}

static void str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->proto >= 4 && n < 256)
		op(b, 0x8c), le(b, n, 1);
	else
		op(b, 'X'), le(b, n, 4);
	put(b, s, n);
	memoize(b);
}

static void global(struct buf *b, const char *module, const char *name)
{
	if (b->proto >= 4) {
		str(b, module);
		str(b, name);
		op(b, 0x93);
	} else {
		op(b, 'c');
		text(b, module), op(b, '\n');
		text(b, name), op(b, '\n');
	}
	memoize(b);
}

static void integer(struct buf *b, int64_t v)
{
	if (v >= 0 && v < 256)
		op(b, 'K'), le(b, (uint64_t)v, 1);
	else if (v >= 0 && v < 65536)
		op(b, 'M'), le(b, (uint64_t)v, 2);
	else if (v >= INT32_MIN && v <= INT32_MAX)
		op(b, 'J'), le(b, (uint64_t)v, 4);
	else
		op(b, 0x8a), op(b, 8), le(b, (uint64_t)v, 8);
}

static void odict(struct buf *b)
{
	global(b, "collections", "OrderedDict");
	op(b, ')');
	op(b, 'R');
	memoize(b);
}

struct spec {
	const char *name, *cls, *key;
	int64_t numel, offset;
	int ndim;
	int64_t shape[9], stride[9];
	int hooks; /* a non-empty backward_hooks */
};

/* A tensor as torch.save writes it: _rebuild_tensor_v2 of a persistent id and the view. */
static void rebuild(struct buf *b, const struct spec *s)
{
	global(b, "torch._utils", "_rebuild_tensor_v2");
	op(b, '(');
	op(b, '(');
	str(b, "storage");
	global(b, "torch", s->cls);
	str(b, s->key);
	str(b, "cpu");
	integer(b, s->numel);
	op(b, 't'), memoize(b), op(b, 'Q');
	integer(b, s->offset);
	op(b, '(');
	for (int d = 0; d < s->ndim; d++)
		integer(b, s->shape[d]);
	op(b, 't'), memoize(b);
	op(b, '(');
	for (int d = 0; d < s->ndim; d++)
		integer(b, s->stride[d]);
	op(b, 't'), memoize(b);
	op(b, 0x89);
	odict(b);
	if (s->hooks)
		str(b, "hook"), integer(b, 1), op(b, 's');
	op(b, 't'), memoize(b), op(b, 'R'), memoize(b);
}

/* One state-dict item: its key and its tensor. */
static void tensor(struct buf *b, const struct spec *s)
{
	str(b, s->name);
	rebuild(b, s);
}

static void start(struct buf *b, int proto)
{
	memset(b, 0, sizeof *b);
	b->proto = proto;
	op(b, 0x80), op(b, proto);
}

/* A whole state dict of n tensors, SETITEMS in batches of 1000 as pickle writes them. */
static void state(struct buf *b, int proto, const struct spec *t, int n)
{
	start(b, proto);
	odict(b);
	for (int i = 0; i < n; i++) {
		if (i % 1000 == 0)
			op(b, '(');
		tensor(b, &t[i]);
		if (i % 1000 == 999 || i == n - 1)
			op(b, 'u');
	}
	op(b, '.');
}

static int parse(struct pt_state *s, const struct buf *b)
{
	return pickle_state_dict(s, b->p, b->n, "test.pkl");
}

/* Tensors as torch.save writes them */

static const struct spec two[] = {
	{ "encoder.weight", "FloatStorage", "0", 12, 0, 2, { 3, 4 }, { 4, 1 }, 0 },
	{ "encoder.bias", "FloatStorage", "0", 12, 8, 1, { 4 }, { 1 }, 0 },
	{ "position_ids", "LongStorage", "1", (int64_t)1 << 41, (int64_t)1 << 40, 2, { 1 << 20, 2 }, { 2, 1 }, 0 },
	{ "transposed", "HalfStorage", "2", 6, 0, 2, { 3, 2 }, { 1, 3 }, 0 },
	{ "scalar", "BFloat16Storage", "3", 1, 0, 0, { 0 }, { 0 }, 0 },
	{ "empty", "DoubleStorage", "4", 0, 0, 2, { 0, 5 }, { 5, 1 }, 0 },
	{ "mask", "BoolStorage", "5", 3, 0, 1, { 3 }, { 0 }, 0 },
};
static const char *const two_dtypes[] = { "F32", "F32", "I64", "F16", "BF16", "F64", "BOOL" };

static void check_like(const struct pt_state *s, const struct spec *t, const char *const *dtypes, size_t n)
{
	CHECK(s->n == n, "%zu tensors, expected %zu", s->n, n);
	for (size_t i = 0; i < s->n && i < n; i++) {
		const struct pt_tensor *p = &s->t[i];
		CHECK(!strcmp(p->name, t[i].name), "tensor %zu: %s, expected %s", i, p->name, t[i].name);
		CHECK(!strcmp(p->dtype, dtypes[i]), "%s: dtype %s, expected %s", p->name, p->dtype, dtypes[i]);
		CHECK(!strcmp(p->storage, t[i].key), "%s: storage %s", p->name, p->storage);
		CHECK(p->storage_numel == t[i].numel && p->offset == t[i].offset, "%s: numel %lld offset %lld", p->name,
		      (long long)p->storage_numel, (long long)p->offset);
		CHECK(p->ndim == t[i].ndim, "%s: ndim %d", p->name, p->ndim);
		for (int d = 0; d < p->ndim && d < t[i].ndim; d++)
			CHECK(p->shape[d] == t[i].shape[d] && p->stride[d] == t[i].stride[d], "%s: dim %d", p->name, d);
	}
}

TEST(state_dict_protocol_2_and_4)
{
	for (int proto = 2; proto <= 4; proto += 2) {
		struct buf b;
		struct pt_state s;
		size_t n = sizeof two / sizeof *two;
		state(&b, proto, two, (int)n);
		CHECK(parse(&s, &b) == 0, "protocol %d: %s", proto, err_msg());
		check_like(&s, two, two_dtypes, n);
		pickle_free(&s);
		CHECK(s.n == 0 && s.t == NULL, "pickle_free leaves it empty");
		free(b.p);
	}
}

/* 3000 tensors: memo keys past 255 (LONG_BINPUT), three SETITEMS batches, no limit reached. */
TEST(many_tensors)
{
	enum { N = 3000 };
	static struct spec t[N];
	static char names[N][16];
	struct buf b;
	struct pt_state s;
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "layer.%d", i);
		t[i] = (struct spec){ names[i], "FloatStorage", names[i] + 6, 4, 0, 1, { 4 }, { 1 }, 0 };
	}
	state(&b, 2, t, N);
	CHECK(parse(&s, &b) == 0, "%s", err_msg());
	CHECK(s.n == N && !strcmp(s.t[N - 1].name, "layer.2999") && !strcmp(s.t[N - 1].storage, "2999"), "%zu", s.n);
	pickle_free(&s);
	free(b.p);
}

/* Every other accepted opcode, in the _metadata state that BUILD drops; Parameters; the
 * wrappers {"state_dict": ...} and {"model": ...}; an empty dict; NEWOBJ of OrderedDict. */
TEST(pure_data_opcodes)
{
	struct buf b;
	struct pt_state s;
	start(&b, 2);
	odict(&b);
	op(&b, '(');
	tensor(&b, &two[0]);
	str(&b, "param"); /* _rebuild_parameter(tensor, True, OrderedDict()) */
	global(&b, "torch._utils", "_rebuild_parameter");
	rebuild(&b, &two[1]);
	op(&b, 0x88), odict(&b), op(&b, 0x87), op(&b, 'R'), memoize(&b);
	int param = b.memo - 1;
	str(&b, "param2"); /* _rebuild_parameter_with_state(tensor, False, OrderedDict(), None) */
	global(&b, "torch._utils", "_rebuild_parameter_with_state");
	op(&b, '('), rebuild(&b, &two[3]), op(&b, 0x89), odict(&b), op(&b, 'N'), op(&b, 't'), op(&b, 'R');
	str(&b, "again"), op(&b, 'h'), op(&b, param); /* BINGET: the same tensor under another name */
	op(&b, 'u');
	op(&b, '}'), str(&b, "_metadata"); /* BUILD's state: {"_metadata": [...]} */
	op(&b, ']'), op(&b, 'N'), op(&b, 'a');
	op(&b, '('), op(&b, 0x88), op(&b, 0x89), op(&b, 'G'), le(&b, 0x3ff8000000000000ull, 8);
	op(&b, 'J'), le(&b, (uint64_t)-5, 4), op(&b, 'M'), le(&b, 0x1234, 2), op(&b, 0x8a), op(&b, 0), op(&b, 'e');
	op(&b, 'U'), op(&b, 2), text(&b, "ab"), op(&b, 'a');
	op(&b, 'T'), le(&b, 3, 4), text(&b, "abc"), op(&b, 'a');
	op(&b, 0x8d), le(&b, 1, 8), text(&b, "z"), op(&b, 'a');
	op(&b, 0x8c), op(&b, 1), text(&b, "y"), op(&b, 'a');
	integer(&b, 1), integer(&b, 2), integer(&b, 3), op(&b, 0x87), op(&b, 'a');
	integer(&b, 1), integer(&b, 2), op(&b, 0x86), op(&b, ')'), op(&b, 0x85), op(&b, 0x86), op(&b, 'a');
	integer(&b, 7), op(&b, 'p'), text(&b, "90\n"), op(&b, '0'), op(&b, 'g'), text(&b, "90\n"), op(&b, 'a');
	integer(&b, 1), op(&b, '2'), op(&b, '0'), op(&b, 'a');              /* DUP, POP */
	op(&b, '('), integer(&b, 1), integer(&b, 2), op(&b, '1');            /* POP_MARK */
	op(&b, '}'), integer(&b, 1), integer(&b, 2), op(&b, 's'), op(&b, 'a'); /* {1: 2}: any keys below the top */
	op(&b, ']'), op(&b, '('), integer(&b, 1), op(&b, 'e'), op(&b, 'a');
	op(&b, 's'), op(&b, 'b'), op(&b, '.');
	CHECK(parse(&s, &b) == 0, "%s", err_msg());
	static const char *const names[] = { "encoder.weight", "param", "param2", "again" };
	static const int64_t offsets[] = { 0, 8, 0, 8 };
	CHECK(s.n == 4, "%zu tensors", s.n);
	for (size_t i = 0; i < s.n && i < 4; i++)
		CHECK(!strcmp(s.t[i].name, names[i]) && s.t[i].offset == offsets[i], "%zu: %s", i, s.t[i].name);
	pickle_free(&s);
	free(b.p);

	static const char *const wrappers[] = { "state_dict", "model" };
	for (int w = 0; w < 2; w++) {
		start(&b, 2);
		op(&b, '}'), str(&b, wrappers[w]), op(&b, '}'), op(&b, '(');
		tensor(&b, &two[0]);
		tensor(&b, &two[3]);
		op(&b, 'u'), op(&b, 's'), op(&b, '.');
		CHECK(parse(&s, &b) == 0 && s.n == 2 && !strcmp(s.t[1].name, "transposed"), "%s: %s", wrappers[w], err_msg());
		pickle_free(&s);
		free(b.p);
	}
	static const unsigned char empty[] = "\x80\x02}.", newobj[] = "\x80\x02" "ccollections\nOrderedDict\n)\x81.";
	CHECK(pickle_state_dict(&s, empty, sizeof empty - 1, "e") == 0 && s.n == 0, "%s", err_msg());
	pickle_free(&s);
	CHECK(pickle_state_dict(&s, newobj, sizeof newobj - 1, "e") == 0 && s.n == 0, "%s", err_msg());
	pickle_free(&s);
}

/* Refusals */

struct bad {
	const char *bytes;
	size_t n;
	const char *words;
};
#define BAD(s, w) { s, sizeof s - 1, w }

static const struct bad bad_pickles[] = {
	BAD("\x80\x02\xff.", "test.pkl: pickle: unknown opcode 0xff at byte 2"),
	BAD("\x80\x02" "ios\nsystem\n", "opcode 0x69 INST is not allowed at byte 2"),
	BAD("\x80\x02" "cos\nsystem\nq\x00" "X\x01\x00\x00\x00" "a\x85R.", "global os.system is not allowed at byte 2"),
	BAD("\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93", "global builtins.eval is not allowed at byte 18"),
	BAD("\x80\x02" "c__builtin__\n" "getattr\n", "global __builtin__.getattr is not allowed"),
	BAD("\x80\x02" "ctorch\nFloatStorage\n)R.", "opcode 0x52 REDUCE of torch.FloatStorage is not allowed"),
	BAD("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n)\x81.",
	    "opcode 0x81 NEWOBJ of torch._utils._rebuild_tensor_v2 is not allowed"),
	BAD("\x80\x02" "ccollections\nOrderedDict\n]\x85R.", "OrderedDict with arguments is not allowed"),
	BAD("\x80\x02X\x01\x00\x00\x00" "a)R.", "opcode 0x52 REDUCE of a str at byte 9"),
	BAD("\x80\x02" "ccollections\nOrderedDict\nK\x01R.", "REDUCE of collections.OrderedDict with an int"),
	BAD("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n)R.", "_rebuild_tensor_v2 of 0 arguments"),
	BAD("\x80\x02" "ctorch._utils\n_rebuild_parameter\n)R.", "_rebuild_parameter of other than"),
	BAD("\x80\x02]}b.", "opcode 0x62 BUILD of a list is not allowed"),
	BAD("\x80\x02PX\n", "opcode 0x50 PERSID is not allowed"),
	BAD("\x80\x02" "C\x01" "a", "opcode 0x43 SHORT_BINBYTES is not allowed"),
	BAD("\x80\x02\x82\x01", "opcode 0x82 EXT1 is not allowed"),
	BAD("\x80\x02\x8f", "opcode 0x8f EMPTY_SET is not allowed"),
	BAD("\x80\x02I1\n.", "opcode 0x49 INT is not allowed"),
	BAD("\x80\x01}.", "protocol 1"),
	BAD("\x80\x06}.", "protocol 6"),
	BAD("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00}.", "a frame of 255 bytes overruns the input"),
	BAD("\x80\x02X\x05\x00\x00\x00" "ab", "a string of 5 bytes overruns the input"),
	BAD("\x80\x02T\xff\xff\xff\xff", "negative length"),
	BAD("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff", "overruns the input"),
	BAD("\x80\x02J\x01\x00", "the input ends inside opcode 0x4a BININT at byte 2"),
	BAD("\x80\x02" "cos\nsys", "the input ends inside opcode 0x63 GLOBAL"),
	BAD("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09", "LONG1 of 9 bytes"),
	BAD("\x80\x02}", "the input ends before STOP"),
	BAD("", "the input ends before STOP"),
	BAD("\x80\x02}}.", "STOP with 1 more items"),
	BAD("\x80\x02(}.", "STOP with 0 more items and 1 marks"),
	BAD("\x80\x02.", "opcode 0x2e STOP on a stack of 0 items"),
	BAD("\x80\x02" "0", "opcode 0x30 POP on a stack of 0 items"),
	BAD("\x80\x02}(\x85.", "opcode 0x85 TUPLE1 on a stack of 0 items"),
	BAD("\x80\x02}u.", "opcode 0x75 SETITEMS without a mark"),
	BAD("\x80\x02(K\x01u.", "SETITEMS with nothing to add to"),
	BAD("\x80\x02}K\x01" "a.", "opcode 0x61 APPEND on a dict"),
	BAD("\x80\x02}(K\x01u.", "SETITEMS with a key and no value"),
	BAD("\x80\x02}r\x00\x00\x01\x00.", "memo key 65536: more than the input can hold"),
	BAD("\x80\x02h\x05NNNNNN0000000.", "memo key 5 is not set"),
	BAD("\x80\x02ga\n.", "a bad memo key"),
	BAD("\x80\x02g\n.", "a bad memo key"),
	BAD("\x80\x02\x94.", "opcode 0x94 MEMOIZE on a stack of 0 items"),
	BAD("\x80\x04K\x01K\x02\x93", "STACK_GLOBAL of an int and an int"),
	BAD("\x80\x02(X\x01\x00\x00\x00xtQ.", "a persistent id other than ('storage'"),
	BAD("\x80\x02(X\x07\x00\x00\x00storageccollections\nOrderedDict\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x01tQ.",
	    "a persistent id other than"),
	BAD("\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu"
	    "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40tQ.", "a storage of 4611686018427387904 elements"),
	BAD("\x80\x02].", "test.pkl: pickle: a list, not a state dict"),
	BAD("\x80\x02}X\x01\x00\x00\x00" "aK\x03s.", "test.pkl: pickle: a is an int, not a tensor"),
	BAD("\x80\x02}K\x01K\x02s.", "a state dict key is an int, not a str"),
};

static int refused(const unsigned char *p, size_t n, const char *words)
{
	struct pt_state s;
	int rc = pickle_state_dict(&s, p, n, "test.pkl");
	if (rc != E_FORMAT || !strstr(err_msg(), words)) {
		printf("# expected \"%s\": rc %d, %s\n", words, rc, rc ? err_msg() : "accepted");
		if (rc == 0)
			pickle_free(&s);
		return 0;
	}
	return s.n == 0 && s.t == NULL;
}

TEST(refused_opcodes_globals_and_shapes)
{
	for (size_t i = 0; i < sizeof bad_pickles / sizeof *bad_pickles; i++)
		CHECK(refused((const unsigned char *)bad_pickles[i].bytes, bad_pickles[i].n, bad_pickles[i].words), "case %zu",
		      i);
	static const struct {
		struct spec t;
		const char *words;
	} bad[] = {
		{ { "w", "FloatStorage", "0", 9, 0, 9, { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 0 },
		  "9 sizes and 9 strides (at most 8)" },
		{ { "w", "FloatStorage", "0", 9, 0, 1, { 3 }, { -1 }, 0 }, "size and stride must be non-negative" },
		{ { "w", "FloatStorage", "0", 9, 0, 1, { -3 }, { 1 }, 0 }, "size and stride must be non-negative" },
		{ { "w", "FloatStorage", "0", 9, -1, 1, { 3 }, { 1 }, 0 }, "offset >= 0" },
		{ { "w", "FloatStorage", "0", 9, 0, 2, { (int64_t)1 << 32, (int64_t)1 << 32 }, { 0, 0 }, 0 },
		  "the shape's product overflows" },
		{ { "w", "FloatStorage", "0", 9, 0, 2, { 2, 2 }, { (int64_t)1 << 62, (int64_t)1 << 62 }, 0 },
		  "the view's extent overflows" },
		{ { "w", "FloatStorage", "0", 9, 0, 1, { 3 }, { 1 }, 1 }, "a tensor with backward hooks" },
		{ { "w", "ComplexFloatStorage", "0", 9, 0, 1, { 3 }, { 1 }, 0 }, "global torch.ComplexFloatStorage is not allowed" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct buf b;
		state(&b, 2, &bad[i].t, 1);
		CHECK(refused(b.p, b.n, bad[i].words), "spec %zu", i);
		free(b.p);
	}
	struct buf b;
	const struct spec dup[2] = { two[0], two[0] };
	state(&b, 2, dup, 2);
	CHECK(refused(b.p, b.n, "two tensors named encoder.weight"), "duplicate");
	free(b.p);
	const struct spec nul = { "a?b", "FloatStorage", "0", 1, 0, 0, { 0 }, { 0 }, 0 };
	state(&b, 2, &nul, 1);
	*(unsigned char *)memchr(b.p, '?', b.n) = 0;
	CHECK(refused(b.p, b.n, "the key a?b holds a NUL byte"), "NUL");
	free(b.p);
}

/* Bombs: each refused at once, by a limit, whatever its size. */
TEST(bombs)
{
	enum { N = 100000 };
	struct buf b;
	start(&b, 2);
	for (int i = 0; i < N; i++)
		op(&b, '(');
	CHECK(refused(b.p, b.n, "more than 64 marks open at byte 66"), "marks");
	free(b.p);
	start(&b, 2);
	op(&b, ')');
	for (int i = 0; i < N; i++)
		op(&b, 0x85);
	CHECK(refused(b.p, b.n, "containers nest deeper than 64"), "tuples");
	free(b.p);
	start(&b, 2);
	op(&b, ']'), op(&b, 'q'), op(&b, 0);
	for (int i = 0; i < N; i++) /* a list holding the last one, memoized in its place */
		op(&b, ']'), op(&b, 'h'), op(&b, 0), op(&b, 'a'), op(&b, 'q'), op(&b, 0);
	CHECK(refused(b.p, b.n, "containers nest deeper than 64"), "lists");
	free(b.p);
	start(&b, 2);
	for (int i = 0; i < N; i++)
		op(&b, ']');
	CHECK(refused(b.p, b.n, "the stack grows past 65536 items"), "stack");
	free(b.p);
	start(&b, 2); /* a list that holds itself */
	op(&b, ']'), op(&b, 'q'), op(&b, 0), op(&b, 'h'), op(&b, 0), op(&b, 'a'), op(&b, '.');
	CHECK(refused(b.p, b.n, "a list, not a state dict"), "cycle");
	free(b.p);
	start(&b, 2); /* a list of a million references to another: nothing is walked or copied */
	op(&b, ']'), op(&b, 'q'), op(&b, 0), op(&b, ']');
	for (int i = 0; i < 1000; i++) {
		op(&b, '(');
		for (int j = 0; j < 1000; j++)
			op(&b, 'h'), op(&b, 0);
		op(&b, 'e');
	}
	op(&b, '.');
	CHECK(refused(b.p, b.n, "STOP with 1 more items"), "references");
	free(b.p);
}

TEST(extent)
{
	struct pt_tensor t = { .ndim = 2, .offset = 5, .shape = { 3, 4 }, .stride = { 4, 1 } };
	int64_t e;
	CHECK(pt_tensor_extent(&t, &e) == 0 && e == 17, "%lld", (long long)e);
	t.stride[0] = 1, t.stride[1] = 3; /* transposed */
	CHECK(pt_tensor_extent(&t, &e) == 0 && e == 5 + 1 + 2 + 9, "%lld", (long long)e);
	t.stride[0] = 0; /* expanded */
	CHECK(pt_tensor_extent(&t, &e) == 0 && e == 5 + 1 + 9, "%lld", (long long)e);
	t.shape[1] = 0;
	CHECK(pt_tensor_extent(&t, &e) == 0 && e == 0, "empty: %lld", (long long)e);
	t.ndim = 0;
	CHECK(pt_tensor_extent(&t, &e) == 0 && e == 6, "scalar: %lld", (long long)e);
	t.ndim = 1, t.shape[0] = 2, t.stride[0] = INT64_MAX;
	CHECK(pt_tensor_extent(&t, &e) == E_FORMAT, "overflow");
	t.ndim = 0, t.offset = INT64_MAX;
	CHECK(pt_tensor_extent(&t, &e) == E_FORMAT, "scalar at the last offset");
	t.ndim = 9, t.offset = 0;
	CHECK(pt_tensor_extent(&t, &e) == E_FORMAT, "ndim 9");
	t.ndim = 1, t.stride[0] = -1;
	CHECK(pt_tensor_extent(&t, &e) == E_FORMAT, "negative stride");
}

/* Archives */

struct ent {
	const char *name, *data;
};

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffff;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320 & (0 - (c & 1)));
	}
	return ~c;
}

/* An archive of stored entries; zip64 1: with ZIP64 end records and extra fields, every 32-bit
 * field saturated; 2: only the local headers' offsets deferred to the extra fields (as for an
 * archive of small entries past 4 GB); then a comment. */
static void build_zip(struct buf *b, const struct ent *e, int n, int zip64, const char *comment)
{
	size_t lho[8], cd;
	memset(b, 0, sizeof *b);
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(e[i].name), dl = strlen(e[i].data);
		lho[i] = b->n;
		le(b, 0x04034b50, 4), le(b, 20, 2), le(b, 0, 2), le(b, 0, 2), le(b, 0, 4);
		le(b, crc32((const unsigned char *)e[i].data, dl), 4), le(b, dl, 4), le(b, dl, 4), le(b, nl, 2), le(b, 0, 2);
		text(b, e[i].name), text(b, e[i].data);
	}
	cd = b->n;
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(e[i].name), dl = strlen(e[i].data), big = zip64 == 1 ? 0xffffffff : 0;
		le(b, 0x02014b50, 4), le(b, 20, 2), le(b, 20, 2), le(b, 0, 2), le(b, 0, 2), le(b, 0, 4);
		le(b, crc32((const unsigned char *)e[i].data, dl), 4), le(b, big | dl, 4), le(b, big | dl, 4);
		le(b, nl, 2), le(b, zip64 == 1 ? 28 : zip64 ? 16 : 0, 2), le(b, 0, 2), le(b, 0, 2), le(b, 0, 2), le(b, 0, 4);
		le(b, zip64 ? 0xffffffff : lho[i], 4), text(b, e[i].name);
		if (zip64 == 2) /* another field first, then the ZIP64 one */
			le(b, 0x5455, 2), le(b, 0, 2), le(b, 1, 2), le(b, 8, 2), le(b, lho[i], 8);
		if (zip64 == 1)
			le(b, 1, 2), le(b, 24, 2), le(b, dl, 8), le(b, dl, 8), le(b, lho[i], 8);
	}
	size_t cdsize = b->n - cd, end64 = b->n;
	if (zip64) {
		le(b, 0x06064b50, 4), le(b, 44, 8), le(b, 45, 2), le(b, 45, 2), le(b, 0, 4), le(b, 0, 4);
		le(b, (uint64_t)n, 8), le(b, (uint64_t)n, 8), le(b, cdsize, 8), le(b, cd, 8);
		le(b, 0x07064b50, 4), le(b, 0, 4), le(b, end64, 8), le(b, 1, 4);
	}
	le(b, 0x06054b50, 4), le(b, 0, 2), le(b, 0, 2);
	le(b, zip64 ? 0xffff : (uint64_t)n, 2), le(b, zip64 ? 0xffff : (uint64_t)n, 2);
	le(b, zip64 ? 0xffffffff : cdsize, 4), le(b, zip64 ? 0xffffffff : cd, 4);
	le(b, strlen(comment), 2), text(b, comment);
}

static const struct ent files[] = { { "archive/data.pkl", "\x80\x02}." }, { "archive/data/0", "0123456789abcdef" },
				    { "archive/version", "3\n" } };

TEST(zip_reads_entries)
{
	for (int zip64 = 0; zip64 < 3; zip64++) {
		struct buf b;
		struct zip z;
		build_zip(&b, files, 3, zip64, zip64 ? "" : "a comment");
		CHECK(zip_parse(&z, b.p, b.n, "t.zip") == 0, "zip64 %d: %s", zip64, err_msg());
		CHECK(z.n == 3, "%zu entries", z.n);
		for (size_t i = 0; i < z.n && i < 3; i++) {
			const struct zip_entry *e = zip_find(&z, files[i].name);
			size_t len = strlen(files[i].data);
			CHECK(e == &z.e[i] && !strcmp(e->name, files[i].name), "%s", files[i].name);
			CHECK(e && e->method == 0 && e->size == len && e->csize == len && e->offset + len <= b.n &&
				      !memcmp(b.p + e->offset, files[i].data, len) && e->crc == crc32(b.p + e->offset, len),
			      "%s: its data", files[i].name);
		}
		CHECK(!zip_find(&z, "archive/data") && !zip_find(&z, "archive/data/00") && !zip_find(&z, ""), "misses");
		zip_free(&z);
		CHECK(z.n == 0 && !z.e && !zip_find(&z, "archive/version"), "zip_free leaves it empty");
		free(b.p);
	}
}

/* A lie: up to two fields set (width bytes at field of the nth record of signature sig), or the
 * archive cut by cut bytes. */
struct patch {
	uint32_t sig;
	int nth, field, width;
	uint64_t value;
};
struct lie {
	int zip64;
	struct patch p[2];
	size_t cut;
	const char *words;
};

static size_t find_sig(const struct buf *b, uint32_t sig, int nth)
{
	for (size_t i = 0; i + 4 <= b->n; i++)
		if (b->p[i] == (sig & 0xff) && b->p[i + 1] == (sig >> 8 & 0xff) && b->p[i + 2] == (sig >> 16 & 0xff) &&
		    b->p[i + 3] == sig >> 24 && nth-- == 0)
			return i;
	abort();
}

#define LOCAL 0x04034b50
#define CENTRAL 0x02014b50
#define END 0x06054b50
#define END64 0x06064b50
#define LOCATOR 0x07064b50

static const struct lie lies[] = {
	{ 0, { { 0 } }, 1, "t.zip: zip: no end of central directory record" },
	{ 0, { { END, 0, 20, 2, 1 } }, 0, "no end of central directory record" },
	{ 0, { { END, 0, 16, 4, 1 } }, 0, "entry 0: no central directory entry at offset 1 (truncated?)" },
	{ 0, { { END, 0, 16, 4, 0xfffffff0 } }, 0, "overruns the end records" },
	{ 0, { { END, 0, 12, 4, 0xfffff } }, 0, "overruns the end records" },
	{ 0, { { END, 0, 12, 4, 172 } }, 0, "entry 2: its fields overrun the central directory" },
	{ 0, { { END, 0, 12, 4, 140 } }, 0, "entry 2: no central directory entry at offset" },
	{ 0, { { END, 0, 10, 2, 4 }, { END, 0, 8, 2, 4 } }, 0, "cannot fit" },
	{ 0, { { END, 0, 10, 2, 2 }, { END, 0, 8, 2, 2 } }, 0, "the end record says 2 entries, the central directory holds more" },
	{ 0, { { END, 0, 4, 2, 1 } }, 0, "spans several disks" },
	{ 0, { { END, 0, 10, 2, 0xffff }, { END, 0, 8, 2, 0xffff } }, 0, "defers to a ZIP64 end record that is not there" },
	{ 0, { { CENTRAL, 1, 42, 4, 0xffff } }, 0, "entry 1 (archive/data/0): no local header at offset 65535" },
	{ 0, { { CENTRAL, 1, 42, 4, 1 } }, 0, "no local header at offset 1" },
	{ 0, { { CENTRAL, 1, 20, 4, 1000 }, { CENTRAL, 1, 24, 4, 1000 } }, 0, "1000 bytes at offset" },
	{ 0, { { CENTRAL, 1, 20, 4, 3 } }, 0, "stored, but its sizes differ (16, 3)" },
	{ 0, { { CENTRAL, 1, 46 + 8, 1, 0 } }, 0, "entry 1: its name (archive/?ata/0) is empty or holds a NUL byte" },
	{ 0, { { CENTRAL, 2, 28, 2, 0 } }, 0, "is empty or holds a NUL byte" },
	{ 0, { { LOCAL, 1, 30 + 13, 1, 'x' } }, 0, "the local header names another entry or method" },
	{ 0, { { LOCAL, 1, 28, 2, 0xfff } }, 0, "its local header overruns the central directory" },
	{ 0, { { CENTRAL, 0, 8, 2, 1 } }, 0, "entry 0 (archive/data.pkl) is encrypted" },
	{ 0, { { CENTRAL, 0, 34, 2, 1 } }, 0, "is on another disk" },
	{ 0, { { CENTRAL, 0, 0, 1, 'Q' } }, 0, "entry 0: no central directory entry" },
	{ 1, { { CENTRAL, 1, 46 + 14, 2, 2 } }, 0, "entry 1 (archive/data/0): a bad or missing ZIP64 extra field" },
	{ 1, { { CENTRAL, 1, 46 + 14 + 2, 2, 8 } }, 0, "a bad or missing ZIP64 extra field" },
	{ 1, { { CENTRAL, 1, 46 + 14 + 2, 2, 200 } }, 0, "a bad or missing ZIP64 extra field" },
	{ 1, { { CENTRAL, 1, 46 + 14 + 4 + 16, 8, 1 } }, 0, "no local header at offset 1" },
	{ 1, { { LOCATOR, 0, 8, 8, 3 } }, 0, "no ZIP64 end record at offset 3" },
	{ 1, { { LOCATOR, 0, 16, 4, 2 } }, 0, "spans several disks" },
	{ 1, { { END64, 0, 16, 4, 1 } }, 0, "spans several disks" },
	{ 2, { { CENTRAL, 1, 46 + 14 + 4 + 2, 2, 4 } }, 0, "a bad or missing ZIP64 extra field" },
	{ 1, { { END64, 0, 4, 8, 40 } }, 0, "the ZIP64 end record claims 40 bytes" },
	{ 1, { { END64, 0, 32, 8, (uint64_t)1 << 60 }, { END64, 0, 24, 8, (uint64_t)1 << 60 } }, 0, "cannot fit" },
	{ 1, { { END64, 0, 48, 8, (uint64_t)1 << 62 } }, 0, "overruns the end records" },
	{ 1, { { END, 0, 12, 4, 5 } }, 0, "the end record and the ZIP64 end record disagree" },
	{ 1, { { END, 0, 0, 1, 'Q' } }, 0, "no end of central directory record" },
};

TEST(zip_refuses_lies)
{
	for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
		const struct lie *l = &lies[i];
		struct buf b;
		struct zip z;
		build_zip(&b, files, 3, l->zip64, "");
		for (int k = 0; k < 2 && l->p[k].sig; k++) {
			size_t at = find_sig(&b, l->p[k].sig, l->p[k].nth) + (size_t)l->p[k].field;
			for (int j = 0; j < l->p[k].width; j++)
				b.p[at + (size_t)j] = (unsigned char)(l->p[k].value >> (8 * j));
		}
		b.n -= l->cut;
		int rc = zip_parse(&z, b.p, b.n, "t.zip");
		CHECK(rc == E_FORMAT && strstr(err_msg(), l->words), "lie %zu: expected \"%s\": rc %d, %s", i, l->words, rc,
		      rc ? err_msg() : "accepted");
		CHECK(z.n == 0 && !z.e, "lie %zu: left empty", i);
		if (rc == 0)
			zip_free(&z);
		free(b.p);
	}
	struct zip z;
	struct buf b;
	const struct ent dup[] = { files[0], files[1], files[0] };
	build_zip(&b, dup, 3, 0, "");
	CHECK(zip_parse(&z, b.p, b.n, "t.zip") == E_FORMAT && strstr(err_msg(), "two entries named archive/data.pkl"),
	      "duplicate: %s", err_msg());
	free(b.p);
	CHECK(zip_parse(&z, (const unsigned char *)"", 0, "t.zip") == E_FORMAT && strstr(err_msg(), "too short"), "empty");
}

/* torch.save's own files, from make_torchbin.py */

struct archive {
	char path[4096], *bytes;
	size_t n;
	struct zip z;
	const struct zip_entry *pkl;
	struct pt_state s;
	int zip_rc, pickle_rc;
	char msg[1024];
};

/* Reads, lists and unpickles fixtures/file; the first failure's code and message are kept. */
static int open_archive(struct archive *a, const char *file)
{
	memset(a, 0, sizeof *a);
	snprintf(a->path, sizeof a->path, "%s/%s", fixtures, file);
	if (!(a->bytes = read_file_raw(a->path, &a->n)))
		return -1;
	a->zip_rc = zip_parse(&a->z, (const unsigned char *)a->bytes, a->n, a->path);
	for (size_t i = 0; a->zip_rc == 0 && i < a->z.n && !a->pkl; i++) {
		const char *slash = strchr(a->z.e[i].name, '/');
		if (slash && !strcmp(slash, "/data.pkl"))
			a->pkl = &a->z.e[i];
	}
	if (a->pkl)
		a->pickle_rc = pickle_state_dict(&a->s, (const unsigned char *)a->bytes + a->pkl->offset, a->pkl->size, a->path);
	if (a->zip_rc || a->pickle_rc)
		snprintf(a->msg, sizeof a->msg, "%s", err_msg());
	return 0;
}

static void close_archive(struct archive *a)
{
	pickle_free(&a->s);
	zip_free(&a->z);
	free(a->bytes);
	a->bytes = NULL;
}

/* The archive's entry of a storage: PREFIX/data/KEY. */
static const struct zip_entry *storage_entry(const struct archive *a, const char *key)
{
	char name[512];
	snprintf(name, sizeof name, "%.*sdata/%s", (int)(strchr(a->pkl->name, '/') + 1 - a->pkl->name), a->pkl->name, key);
	return zip_find(&a->z, name);
}

static size_t elem_size(const char *dtype)
{
	static const char *const names[] = { "F64", "I64", "F32", "I32", "F16", "BF16", "I16", "I8", "U8", "BOOL" };
	static const size_t sizes[] = { 8, 8, 4, 4, 2, 2, 2, 1, 1, 1 };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		if (!strcmp(dtype, names[i]))
			return sizes[i];
	return 0;
}

static double element(const char *dtype, const unsigned char *p)
{
	union {
		float f;
		double d;
		int64_t i64;
		int32_t i32;
		int16_t i16;
		uint16_t u16;
	} v;
	memcpy(&v, p, elem_size(dtype));
	return !strcmp(dtype, "F32") ? v.f : !strcmp(dtype, "F64") ? v.d : !strcmp(dtype, "F16") ? f16_to_f32(v.u16)
	       : !strcmp(dtype, "BF16") ? bf16_to_f32(v.u16) : !strcmp(dtype, "I64") ? (double)v.i64
	       : !strcmp(dtype, "I32") ? v.i32 : !strcmp(dtype, "I16") ? v.i16 : !strcmp(dtype, "I8") ? (int8_t)p[0] : p[0];
}

/* "3,4" into v; the count. */
static int dims(const char *s, int64_t *v)
{
	int n = 0;
	for (char *end; *s && n < 9; s = *end ? end + 1 : end)
		v[n++] = strtoll(s, &end, 10);
	return n;
}

/* Every element of t, in row-major order, against torch's values. */
static void check_values(const struct archive *a, const struct pt_tensor *t, const char *values)
{
	const struct zip_entry *e = storage_entry(a, t->storage);
	size_t es = elem_size(t->dtype);
	int64_t reach, idx[PT_MAX_DIMS] = { 0 };
	CHECK(e && es && pt_tensor_extent(t, &reach) == 0 && reach <= t->storage_numel &&
		      (uint64_t)t->storage_numel * es <= e->size,
	      "%s: storage %s missing or too small", t->name, t->storage);
	if (!e || !es || reach > t->storage_numel)
		return;
	for (char *end; reach;) {
		int64_t at = t->offset;
		for (int d = 0; d < t->ndim; d++)
			at += idx[d] * t->stride[d];
		double want = strtod(values, &end), got = element(t->dtype, (const unsigned char *)a->bytes + e->offset + at * es);
		CHECK(end != values && got == want, "%s at element %lld: %.17g, torch %.17g", t->name, (long long)at, got, want);
		values = end;
		int d = t->ndim - 1;
		while (d >= 0 && ++idx[d] == t->shape[d])
			idx[d--] = 0;
		if (d < 0)
			break;
	}
	CHECK(strspn(values, " ") == strlen(values), "%s: torch gives more values", t->name);
}

/* One line of tensors.tsv: file name dtype key numel offset shape stride values. */
static void check_tensor(const struct archive *a, char **f)
{
	const struct pt_tensor *t = NULL;
	int64_t shape[9], stride[9];
	for (size_t i = 0; i < a->s.n && !t; i++)
		if (!strcmp(a->s.t[i].name, f[1]))
			t = &a->s.t[i];
	CHECK(t, "%s: no tensor %s", f[0], f[1]);
	if (!t)
		return;
	CHECK(!strcmp(t->dtype, f[2]) && !strcmp(t->storage, f[3]), "%s: %s %s, torch %s %s", t->name, t->dtype, t->storage,
	      f[2], f[3]);
	CHECK(t->storage_numel == strtoll(f[4], NULL, 10) && t->offset == strtoll(f[5], NULL, 10),
	      "%s: storage of %lld, offset %lld; torch %s, %s", t->name, (long long)t->storage_numel, (long long)t->offset, f[4],
	      f[5]);
	int n = dims(f[6], shape);
	CHECK(t->ndim == n && dims(f[7], stride) == n, "%s: %d dimensions, torch %d", t->name, t->ndim, n);
	for (int d = 0; d < n && d < t->ndim; d++)
		CHECK(t->shape[d] == shape[d] && t->stride[d] == stride[d], "%s: dimension %d: %lld/%lld, torch %lld/%lld",
		      t->name, d, (long long)t->shape[d], (long long)t->stride[d], (long long)shape[d], (long long)stride[d]);
	check_values(a, t, f[8]);
}

/* Runs fn on each line of fixtures/tsv (split at tabs into at most 9 fields), with the archive of
 * its first field open; after the last line of each file, done(archive, lines of that file). */
static void each_line(const char *tsv, void (*fn)(struct archive *, char **),
		      void (*done)(struct archive *, size_t))
{
	char path[4096], *text, *cursor, *line;
	size_t n, lines = 0;
	struct archive a = { .bytes = NULL };
	snprintf(path, sizeof path, "%s/%s", fixtures, tsv);
	CHECK((text = read_file_raw(path, &n)) != NULL, "cannot read %s", path);
	for (cursor = text; cursor && (line = strsep(&cursor, "\n"));) {
		char *f[9] = { 0 };
		for (int k = 0; k < 9 && line; k++)
			f[k] = strsep(&line, "\t");
		if (!f[0] || !*f[0] || (a.bytes && strcmp(strrchr(a.path, '/') + 1, f[0]))) {
			if (a.bytes && done)
				done(&a, lines);
			close_archive(&a);
			lines = 0;
		}
		if (!f[0] || !*f[0])
			continue;
		if (!a.bytes)
			CHECK(open_archive(&a, f[0]) == 0, "cannot read %s", a.path);
		if (a.bytes)
			fn(&a, f), lines++;
	}
	if (a.bytes && done)
		done(&a, lines);
	close_archive(&a);
	free(text);
}

static void tensor_line(struct archive *a, char **f)
{
	CHECK(a->zip_rc == 0 && a->pkl && a->pickle_rc == 0, "%s: %s", a->path, a->pkl ? a->msg : "no data.pkl");
	if (f[8] && a->pickle_rc == 0)
		check_tensor(a, f);
}

static void tensors_done(struct archive *a, size_t lines)
{
	CHECK(a->s.n == lines, "%s: %zu tensors, torch %zu", a->path, a->s.n, lines);
}

TEST(torch_tensors)
{
	each_line("tensors.tsv", tensor_line, tensors_done);
}

/* entries.tsv: file name size crc, by Python's zipfile. */
static void entry_line(struct archive *a, char **f)
{
	const struct zip_entry *e = a->zip_rc == 0 && f[1] ? zip_find(&a->z, f[1]) : NULL;
	CHECK(e, "%s: no entry %s (%s)", a->path, f[1], a->msg);
	if (e && f[3])
		CHECK(e->size == strtoull(f[2], NULL, 10) && e->crc == strtoul(f[3], NULL, 10) &&
			      crc32((const unsigned char *)a->bytes + e->offset, e->size) == e->crc,
		      "%s: %s: %llu bytes, crc %u; zipfile says %s, %s", a->path, e->name, (unsigned long long)e->size, e->crc,
		      f[2], f[3]);
}

static void entries_done(struct archive *a, size_t lines)
{
	CHECK(a->z.n == lines, "%s: %zu entries, zipfile %zu", a->path, a->z.n, lines);
}

TEST(torch_entries)
{
	each_line("entries.tsv", entry_line, entries_done);
}

/* refused.tsv: file, what refuses it (zip, pickle, or storage: a key the archive lacks), words. */
static void refused_line(struct archive *a, char **f)
{
	char where[4200];
	if (!f[2])
		return;
	snprintf(where, sizeof where, "%s: %s: ", a->path, f[1]);
	if (!strcmp(f[1], "zip"))
		CHECK(a->zip_rc == E_FORMAT && strstr(a->msg, where) == a->msg && strstr(a->msg, f[2]),
		      "%s: expected a zip error with \"%s\": %s", a->path, f[2], a->zip_rc ? a->msg : "accepted");
	else if (!strcmp(f[1], "pickle"))
		CHECK(a->zip_rc == 0 && a->pkl && a->pickle_rc == E_FORMAT && strstr(a->msg, where) == a->msg &&
			      strstr(a->msg, f[2]),
		      "%s: expected a pickle error with \"%s\": %s", a->path, f[2], a->pickle_rc ? a->msg : "accepted");
	else
		CHECK(a->zip_rc == 0 && a->pickle_rc == 0 && a->s.n && !strcmp(a->s.t[0].storage, f[2]) &&
			      !storage_entry(a, f[2]),
		      "%s: expected a pickle naming storage %s, missing from the archive: %s", a->path, f[2], a->msg);
}

TEST(torch_refused)
{
	each_line("refused.tsv", refused_line, NULL);
}

int main(int argc, char **argv)
{
	fixtures = argc > 1 ? argv[1] : NULL;
	RUN(state_dict_protocol_2_and_4);
	RUN(many_tensors);
	RUN(pure_data_opcodes);
	RUN(refused_opcodes_globals_and_shapes);
	RUN(bombs);
	RUN(extent);
	RUN(zip_reads_entries);
	RUN(zip_refuses_lies);
	if (fixtures) {
		RUN(torch_tensors);
		RUN(torch_entries);
		RUN(torch_refused);
	} else {
		printf("# torch.save's files: given a folder of tests/ref/make_torchbin.py's, as cli/torchbin does\n");
	}
	return check_done();
}
