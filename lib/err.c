#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static _Thread_local char message[1024];
static _Thread_local int last_code;

int err_set(int code, const char *fmt, ...)
{
	va_list ap;
	last_code = code;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	return code;
}

int err_prefix(int code, const char *fmt, ...)
{
	char prefix[512], old[sizeof message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	last_code = code;
	memcpy(old, message, sizeof old);
	size_t n = strlen(prefix);
	if (n > sizeof message - 3)
		n = sizeof message - 3;
	memcpy(message, prefix, n);
	memcpy(message + n, ": ", 2);
	size_t rest = sizeof message - n - 3;
	strncpy(message + n + 2, old, rest);
	message[sizeof message - 1] = 0;
	return code;
}

const char *err_msg(void)
{
	return message;
}

int err_code(void)
{
	return last_code < 0 ? last_code : E_IO;
}

const char *err_shown(const char *s, size_t len, char out[84])
{
	size_t k = 0;
	for (; k < len && k < 80; k++)
		out[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	if (k < len)
		out[k++] = '.', out[k++] = '.', out[k++] = '.';
	out[k] = 0;
	return out;
}

/* Edits (insertions, deletions, substitutions) between two short names; at most 3 counted. */
static int distance(const char *a, const char *b)
{
	size_t n = strlen(b), prev[64], cur[64];
	if (n >= 64 || strlen(a) >= 64)
		return 99;
	for (size_t k = 0; k <= n; k++)
		prev[k] = k;
	for (size_t i = 1; a[i - 1]; i++) {
		cur[0] = i;
		for (size_t k = 1; k <= n; k++) {
			size_t sub = prev[k - 1] + (a[i - 1] != b[k - 1]), del = prev[k] + 1, ins = cur[k - 1] + 1;
			cur[k] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (n + 1) * sizeof *prev);
	}
	return prev[n] > 3 ? 3 : (int)prev[n];
}

const char *err_nearest(const char *name, const char *const *names, size_t n)
{
	const char *best = NULL;
	int d = 3, len = (int)strlen(name);
	for (size_t i = 0; i < n; i++)
		if (distance(name, names[i]) < d && distance(name, names[i]) < len) /* not a whole new name */
			d = distance(name, names[i]), best = names[i];
	return best;
}
