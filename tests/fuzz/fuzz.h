/* fuzz.h: what the fuzz targets share. Each target is one file, tests/fuzz/NAME.c, defining
 * LLVMFuzzerTestOneInput; the Makefile finds it, and its seeds live in corpus/NAME/ and its
 * regressions in regressions/NAME/.
 *
 * The library reads paths (open, read, mmap), so a target hands it the fuzz input as a file: a
 * memfd, reopened through /proc/self/fd/N, so every input is read by the library's own code with
 * no temporary file left behind and no disk touched. */
#ifndef ELSA_FUZZ_H
#define ELSA_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The bytes data[0..size) as a file whose path is returned (valid until the next call with the
 * same slot; slots 0..3 are separate files). Aborts if the memfd cannot be made: a broken
 * harness must not pass for a robust parser. */
static __attribute__((unused)) const char *fuzz_file(int slot, const void *data, size_t size)
{
	static int fd[4] = { -1, -1, -1, -1 };
	static char path[4][64];
	if (fd[slot] < 0) {
		if ((fd[slot] = memfd_create("elsa-fuzz", 0)) < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
	}
	if (ftruncate(fd[slot], 0) < 0 || (size && pwrite(fd[slot], data, size, 0) != (ssize_t)size)) {
		perror("memfd write");
		abort();
	}
	return path[slot];
}

/* Splits data at the first occurrence of the byte sep: *a, *na the part before, and the rest
 * after it in *b, *nb (empty when sep is absent). For targets that take several files. */
static __attribute__((unused)) void fuzz_split(const uint8_t *data, size_t size, uint8_t sep, const uint8_t **a,
					       size_t *na, const uint8_t **b, size_t *nb)
{
	const uint8_t *p = memchr(data, sep, size);
	*a = data;
	*na = p ? (size_t)(p - data) : size;
	*b = p ? p + 1 : data + size;
	*nb = p ? size - *na - 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
