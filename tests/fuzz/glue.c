/* GLUE TSV reading (glue.h): each input is read as every task's file (the layout chosen from its
 * first line), and in the generic column mode with columns taken from the input's first bytes,
 * with and without a task (task labels or plain numbers). */
#include "fuzz.h"
#include "glue.h"

static void read_all(const char *path, const struct task *t, const struct tsv_columns *cols)
{
	struct glue_reader *r = glue_open(path, t, cols);
	struct example ex;
	if (!r)
		return;
	glue_labelled(r);
	glue_name(r);
	while (glue_next(r, &ex) > 0)
		if (!ex.a || !ex.id || !ex.id[0] || !ex.line)
			abort();
	glue_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size);
	size_t n;
	const struct task *tasks = task_all(&n);
	for (size_t i = 0; i < n; i++)
		read_all(path, &tasks[i], NULL);
	/* The generic mode: columns 1..70 (past the reader's 64), a always given. */
	unsigned b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 1, b2 = size > 2 ? data[2] : 2;
	struct tsv_columns cols = { .id = (int)(b0 % 71), .a = 1 + (int)(b1 % 70), .b = (int)(b2 % 71),
				    .label = (int)((b0 ^ b2) % 71), .header = (int)(b1 & 1) };
	read_all(path, NULL, &cols);
	read_all(path, &tasks[b2 % n], &cols);
	struct tsv_columns simple = { 1, 2, 3, 4, 1 };
	read_all(path, NULL, &simple);
	return 0;
}
