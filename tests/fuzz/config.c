/* config.json (model.h config_parse): every accepted config has sizes a model can be laid out
 * with (hidden a multiple of heads, all positive). */
#include "fuzz.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_config c;
	if (config_parse(&c, (const char *)data, size, "config.json") < 0)
		return 0;
	if (c.hidden <= 0 || c.heads <= 0 || c.hidden % c.heads || c.layers <= 0 || c.vocab <= 0 || c.max_pos <= 0 ||
	    c.type_vocab <= 0 || c.intermediate <= 0 || c.pad_id < 0 || c.pad_id >= c.vocab || !(c.eps > 0))
		abort();
	model_type_name(c.type);
	return 0;
}
