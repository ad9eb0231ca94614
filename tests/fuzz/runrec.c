/* The run record (runrec.h run_read): run.yaml as elsa-train writes it and elsa-train --predict
 * and elsa-report read it. */
#include "fuzz.h"
#include "runrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_record r;
	memset(&r, 0, sizeof r);
	if (run_read(fuzz_file(0, data, size), &r) == 0) {
		run_final(&r);
		for (size_t i = 0; i < r.nevals; i++)
			if (r.evals[i].e.count < 0 || r.evals[i].e.count > METRICS_MAX)
				abort();
	}
	run_free(&r);
	return 0;
}
