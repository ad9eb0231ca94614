/* elsa-train: the checks of a stream against the model and the task, which both modes make. */
#include <stdint.h>

#include "cli.h"
#include "err.h"
#include "glue.h"
#include "train.h"

void check_stream(const struct stream_header *h, const char *name, const struct model *m, const struct task *t)
{
	if (model_check_stream(m, h, name) < 0)
		die_lib();
	if (h->layer > (uint32_t)m->cfg.layers)
		die("%s: layer %u, the model has %d layers", name, h->layer, m->cfg.layers);
	const struct task *made = h->task[0] ? task_find(h->task) : t;
	if (!made || !task_same_classes(t, made))
		die("%s: tokenized for task %s, not %s", name, h->task, t->name);
}
