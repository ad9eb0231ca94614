/* err.h: status codes and the message of the last failure.
 *
 * Library functions never print and never exit. On failure they record a message with err_set()
 * and return a negative code; only a main turns it into "elsa-x: message" (see cli.h). Messages
 * carry their place: "dev.zst: record 17: hidden size 512, model has 768". */
#ifndef ELSA_ERR_H
#define ELSA_ERR_H

#include <stddef.h>

enum {
	E_IO = -1,       /* a read or write failed */
	E_TRUNC = -2,    /* input ended before its end marker */
	E_FORMAT = -3,   /* malformed input */
	E_NOMEM = -4,    /* out of memory */
	E_MISMATCH = -5, /* well formed, but not what the caller needs (another model, layer, size) */
	E_ARG = -6,      /* a bad argument or setting */
};

/* Records "fmt..." as the last message (per thread) and returns code. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Puts "fmt...: " before the last message (to add a file name or record number); returns code. */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded by this thread, and its code (E_IO when none was): what a caller
 * returns after a constructor that returned NULL. */
const char *err_msg(void);
int err_code(void);

/* Of the n names, the one a misspelled name most likely meant: the nearest within 2 edits
 * (insertions, deletions, substitutions; the first of those as near), fewer than the name's
 * length; or NULL. For messages that suggest it ("did you mean epochs?"). */
const char *err_nearest(const char *name, const char *const *names, size_t n);

/* Bytes of the input s[0..len) fit for a message: at most 80, those outside printable ASCII
 * as '?', "..." when cut; into out, which is returned. */
const char *err_shown(const char *s, size_t len, char out[84]);

#endif
