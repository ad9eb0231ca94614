/* The token stream reader (tokens.h): tokens_open, then tokens_next to the end; and gold labels
 * read from a token stream for a task (predictions.h), which checks them against it. */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "glue.h"
#include "predictions.h"
#include "record.h"
#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size);
	struct tokens_reader *r = tokens_open(path);
	struct record rec = { 0 };
	int rc;
	if (!r) { /* opening only peeks: it fails on the first bytes of another format alone, naming it */
		if (!strstr(err_msg(), ", not a token stream (elsa-tokens(5))"))
			abort();
		return 0;
	}
	while ((rc = tokens_next(r, &rec)) > 0)
		if (!rec.len || !rec.id[0] || !tokens_line(r))
			abort();
	tokens_header(r);
	record_free(&rec);
	tokens_close(r);

	size_t n;
	const struct task *tasks = task_all(&n);
	struct scores s = { 0 };
	gold_read_tokens(path, &tasks[size % n], &s);
	scores_free(&s);
	return 0;
}
