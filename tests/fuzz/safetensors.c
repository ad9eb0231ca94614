/* safetensors (safetensors.h): st_open, then st_read_f32 of every tensor (those of other dtypes
 * must be refused), each value read so that a range past the map is caught. */
#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct safetensors st;
	if (st_open(&st, fuzz_file(0, data, size)) < 0)
		return 0;
	for (size_t i = 0; i < st.n; i++) {
		const struct st_tensor *t = &st.t[i];
		size_t n = st_numel(t);
		if (n > size) /* a tensor holds at least a byte per element: checked by st_open */
			abort();
		float *dst = malloc((n ? n : 1) * sizeof *dst);
		if (!dst)
			abort();
		if (st_read_f32(&st, t, dst) == 0) {
			volatile float sum = 0;
			for (size_t k = 0; k < n; k++)
				sum += dst[k];
			(void)sum;
		}
		if (st_find(&st, t->name) == NULL)
			abort();
		free(dst);
	}
	st_close(&st);
	return 0;
}
