/* unicode.h: UTF-8 decoding and the Unicode properties and mappings the tokenizers need (general
 * categories, White_Space, canonical decomposition and combining classes, lowercase, NFC), all read
 * from utf8proc's tables, never from tables of our own. */
#ifndef ELSA_UNICODE_H
#define ELSA_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* The most code points one character decomposes into (NFD). */
#define UC_DECOMPOSE_MAX 4

/* Decodes the character at s[0..n), n > 0: returns its length (1-4) and sets *cp, or 0 when the
 * bytes there are not well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF are
 * not). */
int utf8_decode(const unsigned char *s, size_t n, int32_t *cp);
/* Writes cp as UTF-8 into out (room for 4 bytes); returns its length. */
int utf8_encode(int32_t cp, char *out);
/* The offset of the first byte of s[0..n) that is not well-formed UTF-8, or n when all are. */
size_t utf8_check(const char *s, size_t n);

/* White_Space, as Rust's char::is_whitespace and regex \s: categories Zs, Zl, Zp, TAB..CR, NEL. */
int uc_is_space(int32_t c);
int uc_is_letter(int32_t c);          /* L* */
int uc_is_number(int32_t c);          /* N* */
int uc_is_punctuation(int32_t c);     /* P* */
int uc_is_nonspacing_mark(int32_t c); /* Mn */
int uc_is_other(int32_t c);           /* Cc, Cf, Co, Cs: not Cn (unassigned) */
int uc_combining_class(int32_t c);
/* The canonical decomposition of c (recursive, not reordered) into out; returns the count. */
int uc_decompose(int32_t c, int32_t out[UC_DECOMPOSE_MAX]);
/* The full lowercase mapping of c (as Rust's char::to_lowercase: U+0130 gives two characters)
 * into out; returns the count, 1 or 2. */
int uc_lowercase(int32_t c, int32_t out[2]);

/* Whether NFC certainly leaves s[0..n) (well-formed UTF-8) as it is, by a quick look at each
 * character: 1 when every one is below U+0300, or is a starter (combining class 0) that is no mark,
 * has no canonical decomposition and is no Hangul vowel or final jamo (so that no composition takes
 * it as its second character); 0 when NFC may change the text. */
int uc_nfc_quick(const char *s, size_t n);
/* The NFC form of s[0..n) (well-formed UTF-8), as utf8proc makes it: written as UTF-8 from the
 * start of *work, an array of *cap code points grown with mem.h's grow(); returns its length in
 * bytes, or E_NOMEM (E_FORMAT when utf8proc refuses the text, which well-formed UTF-8 never is). */
long uc_nfc(const char *s, size_t n, int32_t **work, size_t *cap);

#endif
