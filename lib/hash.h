/* hash.h: XXH64, the fingerprint of models, tokenizers and files (see elsa-stream(5)). */
#ifndef ELSA_HASH_H
#define ELSA_HASH_H

#include <stddef.h>
#include <stdint.h>

/* XXH64 of one buffer, as the xxHash reference computes it. */
uint64_t xxh64(const void *buf, size_t n, uint64_t seed);

#endif
