/* half.h: the 16-bit storage types: IEEE half (f16) and bfloat16 (bf16), to and from f32 with
 * round-to-nearest-even, as PyTorch's .half() and .bfloat16() convert. */
#ifndef ELSA_HALF_H
#define ELSA_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);

enum dtype { DT_F32, DT_F16, DT_BF16 };
/* "f32" / "f16" / "bf16" */
const char *dtype_name(enum dtype d);
/* -1 when name is none of them */
int dtype_parse(const char *name);
size_t dtype_size(enum dtype d);
/* Converts n floats to storage type d at dst (dtype_size(d) * n bytes), and back. */
void dtype_encode(enum dtype d, const float *src, void *dst, size_t n);
void dtype_decode(enum dtype d, const void *src, float *dst, size_t n);

#endif
