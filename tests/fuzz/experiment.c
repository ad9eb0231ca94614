/* The experiment file of elsa-sweep (experiment.h experiment_read): YAML or JSON settings. The
 * seeds name "/" as model and data folders, which exist everywhere, so that inputs get past the
 * folders to every other setting. */
#include "err.h"
#include "experiment.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct experiment e;
	if (experiment_read(fuzz_file(0, data, size), &e) == 0) {
		if (e.ntasks < 1 || e.nfrozen < 1 || e.nlr < 1 || e.nseeds < 1 || !e.model || !e.data || !e.dtype)
			abort(); /* accepted, so every required setting is there */
		experiment_free(&e);
	} else if (!*err_msg()) {
		abort(); /* refused without a message */
	}
	return 0;
}
