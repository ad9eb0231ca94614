/* pickle (pickle.h): pickle_state_dict of the input as a pickle (data.pkl); every tensor it returns
 * must hold what pickle.h promises (dimensions, signs, an extent that does not overflow), and no
 * input may make it allocate, recurse or run without bound. */
#include "fuzz.h"
#include "pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_state s;
	if (pickle_state_dict(&s, data, size, "fuzz") < 0)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		const struct pt_tensor *t = &s.t[i];
		int64_t reach;
		if (!t->name || !t->storage || !t->dtype[0] || t->ndim < 0 || t->ndim > PT_MAX_DIMS || t->offset < 0 ||
		    t->storage_numel < 0 || pt_tensor_extent(t, &reach) < 0)
			abort();
		for (int d = 0; d < t->ndim; d++)
			if (t->shape[d] < 0 || t->stride[d] < 0)
				abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s.t[j].name, t->name))
				abort();
	}
	pickle_free(&s);
	return 0;
}
