/* config.json (model.h config_parse): every accepted config has sizes a model can be laid out
 * with (hidden a multiple of heads, all positive; token types exactly for the families that have
 * them), and ModernBERT's attention settings it can compute (an even window, an even head size
 * for the rotary embeddings, global layers, positive rotary bases). */
#include "fuzz.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_config c;
	if (config_parse(&c, (const char *)data, size, "config.json") < 0)
		return 0;
	if (c.hidden <= 0 || c.heads <= 0 || c.hidden % c.heads || c.layers <= 0 || c.vocab <= 0 || c.max_pos <= 0 ||
	    (c.type_vocab > 0) != family_of(c.type)->token_types || c.type_vocab < 0 || c.intermediate <= 0 ||
	    c.pad_id < 0 || c.pad_id >= c.vocab || !(c.eps > 0))
		abort();
	if (c.type == MODEL_MODERNBERT && (c.window <= 0 || c.window % 2 || (c.hidden / c.heads) % 2 || c.global_every < 1 ||
					   !(c.rope_global > 0) || !(c.rope_local > 0)))
		abort();
	model_type_name(c.type);
	return 0;
}
