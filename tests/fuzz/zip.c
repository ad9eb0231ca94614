/* zip (zip.h): zip_parse of the input as an archive; every entry's data read (so a range past the
 * input is caught) and found again by name; and, as lib/weights.c does, pickle_state_dict of the
 * first stored entry named PREFIX/data.pkl, each tensor's storage looked up as PREFIX/data/KEY. */
#include "fuzz.h"
#include "pickle.h"
#include "zip.h"

static void unpickle(const struct zip *z, const struct zip_entry *pkl, const uint8_t *data)
{
	struct pt_state s;
	char name[512];
	if (pickle_state_dict(&s, data + pkl->offset, (size_t)pkl->size, "fuzz") < 0)
		return;
	for (size_t i = 0; i < s.n; i++) {
		snprintf(name, sizeof name, "%.*sdata/%s", (int)(strchr(pkl->name, '/') + 1 - pkl->name), pkl->name,
			 s.t[i].storage);
		const struct zip_entry *e = zip_find(z, name);
		if (e && strcmp(e->name, name))
			abort();
	}
	pickle_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zip z;
	const struct zip_entry *pkl = NULL;
	if (zip_parse(&z, data, size, "fuzz") < 0)
		return 0;
	for (size_t i = 0; i < z.n; i++) {
		const struct zip_entry *e = &z.e[i];
		const char *slash = strchr(e->name, '/');
		if (e->offset > size || e->csize > size - e->offset || zip_find(&z, e->name) != e)
			abort();
		volatile unsigned sum = 0;
		for (uint64_t k = 0; k < e->csize; k++)
			sum += data[e->offset + k];
		(void)sum;
		if (!pkl && e->method == 0 && slash && !strcmp(slash, "/data.pkl"))
			pkl = e;
	}
	if (pkl)
		unpickle(&z, pkl, data);
	zip_free(&z);
	return 0;
}
