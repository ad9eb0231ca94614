#include <utf8proc.h>

#include "err.h"
#include "mem.h"
#include "unicode.h"

int utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned char b = s[0];
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	int len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0;
	if (!len || b > 0xF4 || (size_t)len > n)
		return 0;
	int32_t c = b & (0x7F >> len);
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	/* The shortest form only, no surrogates, nothing past U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

int utf8_encode(int32_t cp, char *out)
{
	return (int)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out);
}

size_t utf8_check(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		int32_t c;
		int len = utf8_decode(u + i, n - i, &c);
		if (!len)
			return i;
		i += (size_t)len;
	}
	return n;
}

static utf8proc_category_t category(int32_t c)
{
	return utf8proc_category(c);
}

int uc_is_space(int32_t c)
{
	if (c < 0x80)
		return c == ' ' || (c >= '\t' && c <= '\r');
	utf8proc_category_t k = category(c);
	return c == 0x85 || k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

int uc_is_letter(int32_t c)
{
	utf8proc_category_t k = category(c);
	return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

int uc_is_number(int32_t c)
{
	utf8proc_category_t k = category(c);
	return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

int uc_is_punctuation(int32_t c)
{
	utf8proc_category_t k = category(c);
	return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

int uc_is_nonspacing_mark(int32_t c)
{
	return category(c) == UTF8PROC_CATEGORY_MN;
}

int uc_is_other(int32_t c)
{
	utf8proc_category_t k = category(c);
	return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO ||
	       k == UTF8PROC_CATEGORY_CS;
}

int uc_combining_class(int32_t c)
{
	return utf8proc_get_property(c)->combining_class;
}

int uc_decompose(int32_t c, int32_t out[UC_DECOMPOSE_MAX])
{
	int boundclass = 0;
	utf8proc_ssize_t n = utf8proc_decompose_char(c, out, UC_DECOMPOSE_MAX, UTF8PROC_DECOMPOSE, &boundclass);
	if (n < 1 || n > UC_DECOMPOSE_MAX) { /* cannot happen with Unicode's data; keep c as it is */
		out[0] = c;
		return 1;
	}
	return (int)n;
}

int uc_lowercase(int32_t c, int32_t out[2])
{
	if (c == 0x130) { /* the one unconditional multi-character lowercase mapping (SpecialCasing) */
		out[0] = 'i';
		out[1] = 0x307;
		return 2;
	}
	out[0] = utf8proc_tolower(c);
	return 1;
}

/* Whether NFC keeps c, U+0300 or above, as it is, and never composes it with the character before
 * it (see uc_nfc_quick). */
static int nfc_stable(int32_t c)
{
	int32_t d[UC_DECOMPOSE_MAX];
	utf8proc_category_t k = category(c);
	if (uc_combining_class(c) || k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME)
		return 0;
	if ((c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2)) /* Hangul V and T jamo */
		return 0;
	return uc_decompose(c, d) == 1 && d[0] == c;
}

int uc_nfc_quick(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		/* Bytes below 0xCC are ASCII, continuation bytes or the lead bytes of U+0080..U+02FF. */
		if (u[i] < 0xCC)
			continue;
		int32_t c;
		int len = utf8_decode(u + i, n - i, &c);
		if (!len || !nfc_stable(c))
			return 0;
		i += (size_t)len - 1;
	}
	return 1;
}

long uc_nfc(const char *s, size_t n, int32_t **work, size_t *cap)
{
	const utf8proc_option_t nfc = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
	for (;;) {
		utf8proc_ssize_t len = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, *work,
							  (utf8proc_ssize_t)*cap, nfc);
		if (len < 0)
			return err_set(E_FORMAT, "NFC: %s", utf8proc_errmsg(len));
		/* utf8proc_reencode ends the bytes with a NUL, which may need one more place. */
		if ((size_t)len < *cap)
			return (long)utf8proc_reencode(*work, len, nfc);
		if (grow((void **)work, cap, (size_t)len + 1, sizeof **work) < 0)
			return E_NOMEM;
	}
}
