/* The predictions file (predictions.h predictions_read) for every task, each accepted file then
 * matched against itself (scores_match) and checked for labels. */
#include <math.h>

#include "fuzz.h"
#include "glue.h"
#include "predictions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size);
	size_t n;
	const struct task *tasks = task_all(&n);
	for (size_t i = 0; i < n; i++) {
		struct scores s = { 0 };
		if (predictions_read(path, &tasks[i], &s) == 0) {
			double *out = malloc(s.n * sizeof *out);
			if (!s.n || !out || scores_match(&s, &s, out) < 0 || scores_check_labelled(&s) < 0)
				abort(); /* a file read whole has predictions, each with its own id */
			for (size_t k = 0; k < s.n; k++)
				if (out[k] != s.v[k].value || !isfinite(out[k]))
					abort();
			free(out);
		}
		scores_free(&s);
	}
	return 0;
}
