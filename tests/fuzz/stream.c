/* The tensor stream reader (stream.h): stream_open, then stream_next to the end, on the input as
 * it is (raw, or zstd-compressed when it starts with a zstd frame: the seeds hold both). */
#include "fuzz.h"
#include "record.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_reader *r = stream_open(fuzz_file(0, data, size));
	if (!r)
		return 0;
	const struct stream_header *h = stream_header(r);
	struct record rec = { 0 };
	char diff[160];
	stream_header_diff(h, h, diff, sizeof diff);
	while (stream_next(r, &rec) > 0)
		if (!rec.len || !rec.id[0] || stream_count(r) == 0)
			abort(); /* the reader promised a whole record */
	record_free(&rec);
	stream_close(r);
	return 0;
}
