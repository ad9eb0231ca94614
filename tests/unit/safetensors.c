/* safetensors: write/read round trip in every dtype, and refusal of lying headers. */
#include <stdint.h>

#include "check.h"
#include "err.h"
#include "half.h"
#include "safetensors.h"

TEST(roundtrip_every_dtype)
{
	float a[6] = { 1, -2.5f, 3.25f, 1e-3f, 65504, -0.0f }, b[3] = { 7, 8, 9 };
	struct st_entry e[2] = { { "layer.weight", a, 2, { 2, 3 } }, { "layer.bias", b, 1, { 3 } } };
	for (int dt = DT_F32; dt <= DT_BF16; dt++) {
		const char *p = check_tmp("rt.safetensors");
		struct safetensors st;
		float got[6];
		CHECK(st_write(p, e, 2, dt) == 0, "%s", err_msg());
		CHECK(st_open(&st, p) == 0, "%s", err_msg());
		const struct st_tensor *t = st_find(&st, "layer.weight");
		CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3, "shape");
		CHECK(t && !strcmp(t->dtype, dt == DT_F32 ? "F32" : dt == DT_F16 ? "F16" : "BF16"), "dtype");
		CHECK(st_read_f32(&st, t, got) == 0, "%s", err_msg());
		for (int i = 0; i < 6; i++) {
			float want = dt == DT_F32 ? a[i] : dt == DT_F16 ? f16_to_f32(f32_to_f16(a[i])) : bf16_to_f32(f32_to_bf16(a[i]));
			CHECK(got[i] == want, "%s[%d]: %g vs %g", dtype_name(dt), i, got[i], want);
		}
		t = st_find(&st, "layer.bias");
		CHECK(t && st_read_f32(&st, t, got) == 0 && got[2] == 9, "bias");
		CHECK((size_t)(st.data - st.file.p) % 8 == 0, "data section is not 8-byte aligned");
		st_close(&st);
		unlink(p);
	}
}

/* Writes 8-byte length + header text + data bytes. */
static const char *write_raw(const char *header, uint64_t claimed_len, size_t data_bytes)
{
	const char *p = check_tmp("lie.safetensors");
	FILE *f = fopen(p, "wb");
	uint64_t n = claimed_len ? claimed_len : strlen(header);
	fwrite(&n, 8, 1, f);
	fputs(header, f);
	for (size_t i = 0; i < data_bytes; i++)
		fputc(0, f);
	fclose(f);
	return p;
}

static int opens(const char *header, uint64_t claimed, size_t data, const char *expect)
{
	struct safetensors st;
	const char *p = write_raw(header, claimed, data);
	int rc = st_open(&st, p);
	if (rc == 0)
		st_close(&st);
	unlink(p);
	if (rc < 0 && expect && !strstr(err_msg(), expect)) {
		printf("# message '%s' lacks '%s'\n", err_msg(), expect);
		return 1;
	}
	return rc;
}

TEST(lying_headers_are_refused)
{
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, NULL) == 0, "valid: %s",
	      err_msg());
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 4, "past the end") < 0,
	      "offsets past the end");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
		    0, 12, "overlap") < 0,
	      "overlapping tensors");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8, "shape needs 12 bytes") < 0,
	      "wrong shape");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1000000, 8, "exceeds the file") < 0,
	      "header length larger than the file");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 100ull << 30, 8, "exceeds") < 0,
	      "a 100 GB header");
	CHECK(opens("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, "dtype") < 0, "unknown dtype");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8, "bad shape") < 0,
	      "negative dimension");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", 0, 8,
		    "shape") < 0,
	      "overflowing shape");
	CHECK(opens("[1,2,3]", 0, 0, "not a JSON object") < 0, "not an object");
	CHECK(opens("{\"a\":{\"dtype\":\"F32\"", 0, 0, NULL) < 0, "cut JSON");
	CHECK(opens("{\"a\":&x {\"dtype\":\"F32\"}}", 0, 0, "anchors") < 0, "YAML anchors");
	struct safetensors st;
	const char *p = check_tmp("short");
	FILE *f = fopen(p, "wb");
	fputs("abc", f);
	fclose(f);
	CHECK(st_open(&st, p) < 0 && strstr(err_msg(), "too short"), "%s", err_msg());
	unlink(p);
}

TEST(other_dtypes_are_listed_but_not_converted)
{
	const char *p = write_raw("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1,2],\"data_offsets\":[0,16]}}", 0, 16);
	struct safetensors st;
	float out[2];
	CHECK(st_open(&st, p) == 0, "%s", err_msg());
	CHECK(st_read_f32(&st, st_find(&st, "ids"), out) < 0 && strstr(err_msg(), "I64"), "%s", err_msg());
	st_close(&st);
	unlink(p);
}

int main(void)
{
	RUN(roundtrip_every_dtype);
	RUN(lying_headers_are_refused);
	RUN(other_dtypes_are_listed_but_not_converted);
	return check_done();
}
