/* The tensor stream: round trips in every dtype, compressed and raw; cat of two streams; a stream
 * cut at every byte of its last record is truncated, never complete; bounds and mismatches. */
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "check.h"
#include "err.h"
#include "half.h"
#include "io.h"
#include "record.h"
#include "stream.h"

#define HIDDEN 8

static struct stream_header header(enum dtype dt)
{
	struct stream_header h = { .model = 0x0123456789abcdefull, .tokenizer = 42, .layer = 3, .hidden = HIDDEN,
				   .dtype = dt, .max_len = 128 };
	strcpy(h.task, "rte");
	return h;
}

/* Record i: i+1 tokens, label i % 2 (the last one unlabelled), states from a formula. */
static void make_record(struct record *r, int i)
{
	uint32_t len = (uint32_t)i + 1;
	record_reserve(r, len, HIDDEN);
	snprintf(r->id, sizeof r->id, "ex-%d", i);
	r->label = i == 4 ? NAN : i % 2;
	r->len = len;
	for (uint32_t t = 0; t < len; t++) {
		r->tokens[t] = 100 + t * 7 + (uint32_t)i;
		r->types[t] = t >= len / 2;
		for (int k = 0; k < HIDDEN; k++)
			r->states[t * HIDDEN + k] = sinf((float)(i * 100 + (int)t * HIDDEN + k)) * 3.0f;
	}
}

static void write_stream(const char *path, enum dtype dt, int nrec, int level)
{
	struct stream_header h = header(dt);
	struct stream_writer *w = stream_create(path, &h, level);
	struct record r = { 0 };
	CHECK(w != NULL, "create: %s", err_msg());
	for (int i = 0; i < nrec; i++) {
		make_record(&r, i);
		CHECK(stream_write(w, &r) == 0, "write: %s", err_msg());
	}
	CHECK(stream_finish(w) == 0, "finish: %s", err_msg());
	record_free(&r);
}

static float stored(enum dtype dt, float x)
{
	return dt == DT_F32 ? x : dt == DT_F16 ? f16_to_f32(f32_to_f16(x)) : bf16_to_f32(f32_to_bf16(x));
}

/* Reads path and checks it holds records 0..nrec-1 (repeated `copies` times); returns the status. */
static int read_back(const char *path, enum dtype dt, int nrec, int copies)
{
	struct stream_reader *r = stream_open(path);
	struct record got = { 0 }, want = { 0 };
	int rc = 0, n = 0;
	if (!r)
		return strstr(err_msg(), "truncated") ? E_TRUNC : -100;
	struct stream_header h = header(dt);
	char diff[160];
	CHECK(!*stream_header_diff(stream_header(r), &h, diff, sizeof diff), "header differs: %s", diff);
	while ((rc = stream_next(r, &got)) > 0) {
		make_record(&want, n % nrec);
		int same = !strcmp(got.id, want.id) && got.len == want.len &&
			   (got.label == want.label || (isnan(got.label) && isnan(want.label))) &&
			   !memcmp(got.tokens, want.tokens, 4 * got.len) && !memcmp(got.types, want.types, 4 * got.len);
		for (size_t k = 0; same && k < (size_t)got.len * HIDDEN; k++)
			same = got.states[k] == stored(dt, want.states[k]);
		CHECK(same, "record %d differs", n);
		n++;
	}
	if (rc == 0)
		CHECK(n == nrec * copies, "%d records, expected %d", n, nrec * copies);
	record_free(&got);
	record_free(&want);
	stream_close(r);
	return rc;
}

TEST(roundtrip_every_dtype_raw_and_zstd)
{
	for (int dt = DT_F32; dt <= DT_BF16; dt++)
		for (int level = 0; level <= 3; level += 3) {
			const char *p = check_tmp("rt.zst");
			write_stream(p, dt, 6, level);
			CHECK(read_back(p, dt, 6, 1) == 0, "dtype %s level %d: %s", dtype_name(dt), level, err_msg());
			unlink(p);
		}
}

static size_t file_size(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 ? (size_t)sb.st_size : 0;
}

static void concat(const char *a, const char *b, const char *out)
{
	size_t na, nb;
	char *x = read_file_raw(a, &na), *y = read_file_raw(b, &nb);
	FILE *f = fopen(out, "wb");
	fwrite(x, 1, na, f);
	fwrite(y, 1, nb, f);
	fclose(f);
	free(x);
	free(y);
}

TEST(cat_of_two_streams_is_a_stream)
{
	for (int level = 0; level <= 3; level += 3) {
		const char *a = check_tmp("a"), *b = check_tmp("b"), *ab = check_tmp("ab");
		write_stream(a, DT_F16, 5, level);
		write_stream(b, DT_F16, 5, level);
		concat(a, b, ab);
		CHECK(read_back(ab, DT_F16, 5, 2) == 0, "level %d: %s", level, err_msg());
		unlink(a), unlink(b), unlink(ab);
	}
}

TEST(cat_of_streams_with_different_headers_is_refused)
{
	const char *a = check_tmp("a"), *b = check_tmp("b"), *ab = check_tmp("ab");
	write_stream(a, DT_F32, 3, 1);
	write_stream(b, DT_BF16, 3, 1);
	concat(a, b, ab);
	int rc = read_back(ab, DT_F32, 3, 2);
	CHECK(rc == E_MISMATCH, "rc %d: %s", rc, err_msg());
	CHECK(strstr(err_msg(), "dtype f32 vs bf16") && strstr(err_msg(), "after record 3"), "message: %s", err_msg());
	unlink(a), unlink(b), unlink(ab);
}

/* Cuts the file at every byte from the start of the last record to the end: each cut must be
 * reported as truncation, never read as a complete stream. */
TEST(cut_at_every_byte_of_the_last_record_is_truncated)
{
	for (int level = 0; level <= 1; level++) {
		const char *whole = check_tmp("whole"), *shorter = check_tmp("4"), *cut = check_tmp("cut");
		write_stream(whole, DT_F32, 5, level);
		write_stream(shorter, DT_F32, 4, level);
		size_t n, from = level ? 0 : file_size(shorter) - 16; /* raw: the last record starts before the 4-record end marker */
		char *bytes = read_file_raw(whole, &n);
		int bad = 0;
		for (size_t cutat = from; cutat < n; cutat++) {
			FILE *f = fopen(cut, "wb");
			fwrite(bytes, 1, cutat, f);
			fclose(f);
			int rc = read_back(cut, DT_F32, 5, 1);
			if (rc != E_TRUNC && !(cutat < 64 && rc == -100)) {
				bad++;
				if (bad < 4)
					CHECK(0, "level %d: cut at %zu of %zu: status %d (%s)", level, cutat, n, rc, err_msg());
			}
		}
		CHECK(bad == 0, "level %d: %d cuts not reported as truncation", level, bad);
		free(bytes);
		unlink(whole), unlink(shorter), unlink(cut);
	}
}

TEST(truncation_message_names_file_and_record)
{
	const char *whole = check_tmp("whole.zst"), *cut = check_tmp("cut.zst");
	write_stream(whole, DT_F32, 5, 0);
	size_t n;
	char *bytes = read_file_raw(whole, &n);
	FILE *f = fopen(cut, "wb");
	fwrite(bytes, 1, n - 40, f);
	fclose(f);
	CHECK(read_back(cut, DT_F32, 5, 1) == E_TRUNC, "not truncation");
	CHECK(strstr(err_msg(), cut) && strstr(err_msg(), "record 5: truncated"), "message: %s", err_msg());
	free(bytes);
	unlink(whole), unlink(cut);
}

/* Writes a raw stream whose first record claims the given sizes. */
static void write_lying(const char *path, uint32_t len, uint32_t idlen, uint32_t hidden)
{
	struct stream_header h = header(DT_F32);
	struct stream_writer *w = stream_create(path, &h, 0);
	struct record r = { 0 };
	make_record(&r, 1);
	stream_write(w, &r);
	stream_finish(w);
	record_free(&r);
	size_t n;
	unsigned char *b = (unsigned char *)read_file_raw(path, &n);
	memcpy(b + 36, &hidden, 4);
	memcpy(b + 64 + 4, &len, 4);
	memcpy(b + 64 + 8, &idlen, 4);
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
	free(b);
}

TEST(sizes_out_of_bounds_are_refused_before_allocating)
{
	const char *p = check_tmp("lie");
	struct record r = { 0 };
	struct stream_reader *s;
	write_lying(p, 1u << 31, 4, HIDDEN);
	s = stream_open(p);
	CHECK(s && stream_next(s, &r) == E_FORMAT && strstr(err_msg(), "record 1: sequence length 2147483648"),
	      "%s", err_msg());
	stream_close(s);
	write_lying(p, 2, 100000, HIDDEN);
	s = stream_open(p);
	CHECK(s && stream_next(s, &r) == E_FORMAT && strstr(err_msg(), "id length"), "%s", err_msg());
	stream_close(s);
	write_lying(p, 2, 4, 1u << 30);
	s = stream_open(p);
	CHECK(!s && strstr(err_msg(), "hidden size 1073741824 is out of range"), "%s", err_msg());
	CHECK(r.states == NULL, "states were allocated");
	stream_close(s);
	record_free(&r);
	unlink(p);
}

TEST(garbage_and_empty_inputs)
{
	const char *p = check_tmp("junk");
	FILE *f = fopen(p, "wb");
	fputs("this is not a stream at all, just text that goes on for a while...........", f);
	fclose(f);
	CHECK(!stream_open(p) && strstr(err_msg(), "not an elsa tensor stream"), "%s", err_msg());
	f = fopen(p, "wb");
	fclose(f);
	CHECK(!stream_open(p) && strstr(err_msg(), "empty"), "%s", err_msg());
	unlink(p);
}

TEST(failed_writer_leaves_no_file)
{
	const char *p = check_tmp("aborted.zst");
	struct stream_header h = header(DT_F32);
	struct stream_writer *w = stream_create(p, &h, 3);
	struct record r = { 0 };
	make_record(&r, 2);
	stream_write(w, &r);
	stream_abort(w);
	CHECK(access(p, F_OK) != 0, "the target exists");
	record_free(&r);
}

int main(void)
{
	RUN(roundtrip_every_dtype_raw_and_zstd);
	RUN(cat_of_two_streams_is_a_stream);
	RUN(cat_of_streams_with_different_headers_is_refused);
	RUN(cut_at_every_byte_of_the_last_record_is_truncated);
	RUN(truncation_message_names_file_and_record);
	RUN(sizes_out_of_bounds_are_refused_before_allocating);
	RUN(garbage_and_empty_inputs);
	RUN(failed_writer_leaves_no_file);
	return check_done();
}
