/* record.h: one example as it flows between the tools: its id, its label, its token ids and token
 * type ids, and in tensor streams its seq_len x hidden states (always f32 in memory). Both
 * stream formats (tokens.h, stream.h) read and write this struct. */
#ifndef ELSA_RECORD_H
#define ELSA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define ID_MAX 255           /* bytes in an example id */
#define SEQ_MAX 65536        /* tokens in one example, an upper bound for readers */

struct record {
	char id[ID_MAX + 1];  /* no TAB or newline; non-empty */
	double label;         /* class index or score; NAN: unlabelled (test sets) */
	uint32_t len;         /* tokens */
	uint32_t *tokens, *types;
	float *states;        /* len x hidden; NULL for token streams */
	size_t tokens_cap, states_cap;
};

/* Makes room for len tokens (and len x hidden states when hidden > 0). 0 or E_NOMEM. */
int record_reserve(struct record *r, uint32_t len, size_t hidden);
void record_free(struct record *r);
/* Sets r->id, checking it (non-empty, at most ID_MAX bytes, no TAB, CR or LF). 0 or E_FORMAT. */
int record_set_id(struct record *r, const char *id, size_t n);

/* Writes a label as text: a whole number as such, else the shortest form that reads back to the
 * same double; "-" for none. buf needs 32 bytes. */
void label_format(double label, char *buf);
/* Reads a label written by label_format (or any finite number; "-" is none). 0 or E_FORMAT. */
int label_parse(const char *text, double *label);

/* v as printf should show it: a NaN without its sign. printf spells a NaN "nan" or "-nan" by a
 * sign bit that means nothing (x86 makes 0/0 negative, a stream may hold either), so every
 * number elsa prints with %g or %f goes through this, and reads "nan" alike. */
double unsigned_nan(double v);

/* A number for elsa's YAML outputs: the shortest text that reads back to it, with a '.' before
 * any exponent so that YAML 1.1 readers (PyYAML) read a float ("1.0e-05", not "1e-05");
 * "null" for NAN (an undefined metric). buf needs 32 bytes. */
void yaml_number(double v, char *buf);

#endif
