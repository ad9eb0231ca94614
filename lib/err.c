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
