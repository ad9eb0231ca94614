/* dataset.h: a tensor stream read once into random-access storage, for training and evaluation.
 * Each record's states stay in their stored dtype in a temporary file that is unlinked at once
 * and memory-mapped: a cache larger than memory is paged in as batches need it, and nothing is
 * left behind however the program ends. Ids, labels, lengths and token ids live in memory. */
#ifndef ELSA_DATASET_H
#define ELSA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

struct dataset {
	char *name;
	struct stream_header h;
	size_t n, ntokens; /* records, tokens */
	uint32_t *len;
	double *label;
	char *ids;         /* every id, each NUL-terminated */
	size_t *id_off;    /* where record i's id starts in ids */
	size_t *off;       /* where record i's states start in map, in bytes */
	uint32_t *tokens, *types; /* every record's token ids and type ids, end to end */
	size_t *tok_off;   /* where record i's start in them */
	unsigned char *map;
	size_t map_size;
};

/* Reads the whole stream at path into d, the states into a temporary file in dir. 0, or a
 * negative code with err_msg() naming the file and the record (an empty stream is E_FORMAT). */
int dataset_load(struct dataset *d, const char *path, const char *dir);
void dataset_free(struct dataset *d);
const char *dataset_id(const struct dataset *d, size_t i);
/* Record i's token ids and type ids. */
const uint32_t *dataset_tokens(const struct dataset *d, size_t i);
const uint32_t *dataset_types(const struct dataset *d, size_t i);
/* Record i's states as f32, len[i] x hidden of them, at dst. */
void dataset_states(const struct dataset *d, size_t i, float *dst);

#endif
