/* The tensor stream reader on zstd-compressed input: the fuzz input is the decompressed stream;
 * the target compresses it as two concatenated frames (as `cat a.zst b.zst` gives) and reads
 * that, then the same cut short by a few bytes (which must never read as a whole stream). */
#include <zstd.h>

#include "fuzz.h"
#include "record.h"
#include "stream.h"

/* Reads path to its end; returns the last stream_next() result (0: a clean end) or -100 when
 * stream_open failed. */
static int read_all(const char *path)
{
	struct stream_reader *r = stream_open(path);
	struct record rec = { 0 };
	int rc;
	if (!r)
		return -100;
	while ((rc = stream_next(r, &rec)) > 0)
		;
	record_free(&rec);
	stream_close(r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half = size / 2, cap = ZSTD_compressBound(half) + ZSTD_compressBound(size - half);
	unsigned char *z = malloc(cap);
	if (!z)
		return 0;
	size_t n1 = ZSTD_compress(z, cap, data, half, 1);
	size_t n2 = ZSTD_isError(n1) ? n1 : ZSTD_compress(z + n1, cap - n1, data + half, size - half, 1);
	if (ZSTD_isError(n1) || ZSTD_isError(n2))
		abort();
	int whole = read_all(fuzz_file(0, z, n1 + n2));
	/* Cut inside the last frame: whatever the content, the result is an error, never a clean end. */
	size_t cut = 1 + (size ? data[size - 1] % 8 : 0);
	if (cut < n2 && read_all(fuzz_file(0, z, n1 + n2 - cut)) == 0 && whole == 0) {
		fprintf(stderr, "a zstd stream cut by %zu bytes read as complete\n", cut);
		abort();
	}
	free(z);
	return 0;
}
