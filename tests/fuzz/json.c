/* JSON in general (json.h): json_parse, then a walk of the whole tree through every accessor.
 * The parser promises a tree (no aliases), so the walk ends; depth is bounded by the parser. */
#include "fuzz.h"
#include "json.h"

static size_t walk(const struct json *j, int node, int depth)
{
	size_t seen = 1, len;
	double d;
	long long v;
	if (depth > 300)
		abort(); /* deeper than the parser allows */
	switch (json_type(j, node)) {
	case J_NONE:
		abort(); /* every node reached from the root exists */
	case J_NULL:
	case J_BOOL:
	case J_NUMBER:
	case J_STRING: {
		const char *s = json_str(j, node, &len);
		if (!s || s[len] != 0)
			abort();
		json_number(j, node, &d);
		json_int(j, node, -1000, 1000, &v);
		json_bool(j, node);
		break;
	}
	case J_ARRAY:
	case J_OBJECT:
		if (json_str(j, node, NULL))
			abort();
		for (size_t i = 0, n = json_len(j, node); i < n; i++) {
			const char *key = NULL;
			int kid = json_at(j, node, i, &key);
			if (json_type(j, node) == J_OBJECT) {
				if (!key)
					abort(); /* keys are scalars */
				json_get(j, node, key);
			}
			seen += walk(j, kid, depth + 1);
		}
		if (json_at(j, node, json_len(j, node), NULL))
			abort();
		break;
	}
	return seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json *j = json_parse((const char *)data, size, "fuzz.json");
	if (!j)
		return 0;
	walk(j, json_root(j), 0);
	json_get(j, json_root(j), "model");
	json_free(j);
	return 0;
}
