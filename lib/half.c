#include <string.h>

#include "half.h"

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t f32_to_bf16(float f)
{
	uint32_t u = bits(f);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 0x40); /* NaN stays a quiet NaN */
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

float bf16_to_f32(uint16_t h)
{
	return from_bits((uint32_t)h << 16);
}

uint16_t f32_to_f16(float f)
{
	uint32_t u = bits(f), sign = (u >> 16) & 0x8000, a = u & 0x7fffffff;
	if (a > 0x7f800000)
		return (uint16_t)(sign | 0x7e00);
	if (a >= 0x477ff000) /* rounds to 65520 or more: infinity */
		return (uint16_t)(sign | 0x7c00);
	if (a < 0x38800000) { /* below the smallest normal half: subnormal or zero */
		/* Adding 0.5 aligns the half subnormal grid with the float's mantissa; the FPU rounds. */
		float r = from_bits(a) + 0.5f;
		return (uint16_t)(sign | (bits(r) - bits(0.5f)));
	}
	uint32_t mant_odd = (a >> 13) & 1;
	a += 0xc8000fff + mant_odd; /* rebias the exponent (-112 << 23) and round to nearest even */
	return (uint16_t)(sign | (a >> 13));
}

float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
	if (e == 0x1f)
		return from_bits(sign | 0x7f800000 | m << 13);
	if (e == 0) /* zero or subnormal: m * 2^-24 */
		return from_bits(sign | bits((float)m * 0x1p-24f));
	return from_bits(sign | (e + 112) << 23 | m << 13);
}

static const char *const names[] = { "f32", "f16", "bf16" };

const char *dtype_name(enum dtype d)
{
	return d <= DT_BF16 ? names[d] : "?";
}

int dtype_parse(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

size_t dtype_size(enum dtype d)
{
	return d == DT_F32 ? 4 : 2;
}

void dtype_encode(enum dtype d, const float *src, void *dst, size_t n)
{
	unsigned char *h = dst; /* may be unaligned (a stream record's states follow its id) */
	if (d == DT_F32)
		memcpy(dst, src, n * 4);
	else
		for (size_t i = 0; i < n; i++) {
			uint16_t v = d == DT_F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
			memcpy(h + 2 * i, &v, 2);
		}
}

void dtype_decode(enum dtype d, const void *src, float *dst, size_t n)
{
	const unsigned char *h = src; /* may be unaligned: read each value with memcpy */
	if (d == DT_F32)
		memcpy(dst, src, n * 4);
	else
		for (size_t i = 0; i < n; i++) {
			uint16_t v;
			memcpy(&v, h + 2 * i, 2);
			dst[i] = d == DT_F16 ? f16_to_f32(v) : bf16_to_f32(v);
		}
}
