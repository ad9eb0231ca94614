/* pickle.h: a restricted unpickler for the state dict that torch.save writes (data.pkl): it
 * builds no objects but those a state dict holds and calls nothing; any other global or opcode is
 * refused by name. It reads the pure-data opcodes of protocols 2 to 5, the globals
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2, _rebuild_parameter and
 * _rebuild_parameter_with_state, and the storage classes torch.FloatStorage, ... within persistent
 * ids ('storage', class, key, location, numel). The result is a dict (or OrderedDict) of str ->
 * tensor, or a dict holding one such dict under "state_dict" or "model".
 *
 * Bounded for any input of n bytes: strings are views of the input, there is at most one object
 * per opcode, memo keys are below n, the stack holds at most PK_MAX_STACK items, at most
 * PK_MAX_MARKS marks are open, containers nest at most PK_MAX_DEPTH deep, and nothing recurses. */
#ifndef ELSA_PICKLE_H
#define ELSA_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#define PT_MAX_DIMS 8
#define PK_MAX_STACK 65536
#define PK_MAX_MARKS 64
#define PK_MAX_DEPTH 64

struct pt_tensor {
	char *name;            /* the state-dict key, e.g. "bert.encoder.layer.0.attention.self.query.weight" */
	char dtype[8];         /* from the storage class: "F32" FloatStorage, "F16" HalfStorage, "BF16"
				* BFloat16Storage, "F64" DoubleStorage, "I64" LongStorage, "I32" IntStorage,
				* "I16" ShortStorage, "I8" CharStorage, "U8" ByteStorage, "BOOL" BoolStorage */
	char *storage;         /* the storage's key: the file data/<key> in the archive */
	int64_t storage_numel; /* elements the persistent id says the storage has */
	int64_t offset;        /* storage offset, in elements */
	int ndim;
	int64_t shape[PT_MAX_DIMS];
	int64_t stride[PT_MAX_DIMS];
};

struct pt_state {
	struct pt_tensor *t; /* in the pickle's order; names are unique */
	size_t n;
};

/* Parses a pickle p[0..n) ("name" for messages). 0, or E_FORMAT "NAME: pickle: ..." naming the
 * refused global ("global posix.system is not allowed at byte K") or opcode ("opcode 0x52 REDUCE
 * of torch.FloatStorage is not allowed at byte K", "unknown opcode 0xNN at byte K"), E_NOMEM.
 * Every tensor has 0 <= ndim <= 8, non-negative offset, shape and strides, a shape whose product
 * and a view whose extent (pt_tensor_extent) fit in int64_t, and storage_numel <= 2^60. On
 * failure s is left empty. */
int pickle_state_dict(struct pt_state *s, const unsigned char *p, size_t n, const char *name);
void pickle_free(struct pt_state *s);

/* The number of storage elements the view reaches: offset + 1 + sum((shape[i] - 1) * stride[i]),
 * 0 when a dimension is 0. 0, or E_FORMAT when a value is negative, ndim is out of range or the
 * sum overflows. */
int pt_tensor_extent(const struct pt_tensor *t, int64_t *elements);

#endif
