#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "record.h"

int record_reserve(struct record *r, uint32_t len, size_t hidden)
{
	if (len > r->tokens_cap) {
		size_t cap = len < 64 ? 64 : len;
		uint32_t *t = realloc(r->tokens, cap * sizeof *t);
		uint32_t *y = t ? realloc(r->types, cap * sizeof *y) : NULL;
		if (t)
			r->tokens = t;
		if (!y)
			return err_set(E_NOMEM, "out of memory");
		r->types = y;
		r->tokens_cap = cap;
	}
	size_t need = (size_t)len * hidden;
	if (hidden && need > r->states_cap) {
		float *s = realloc(r->states, need * sizeof *s);
		if (!s)
			return err_set(E_NOMEM, "out of memory");
		r->states = s;
		r->states_cap = need;
	}
	return 0;
}

void record_free(struct record *r)
{
	free(r->tokens);
	free(r->types);
	free(r->states);
	memset(r, 0, sizeof *r);
}

int record_set_id(struct record *r, const char *id, size_t n)
{
	if (n == 0)
		return err_set(E_FORMAT, "empty example id");
	if (n > ID_MAX)
		return err_set(E_FORMAT, "example id longer than %d bytes", ID_MAX);
	for (size_t i = 0; i < n; i++)
		if (id[i] == '\t' || id[i] == '\n' || id[i] == '\r' || id[i] == 0)
			return err_set(E_FORMAT, "example id holds a tab, newline or NUL");
	memcpy(r->id, id, n);
	r->id[n] = 0;
	return 0;
}

void label_format(double label, char *buf)
{
	if (isnan(label)) {
		strcpy(buf, "-");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, label);
		if (strtod(buf, NULL) == label)
			return;
	}
}

double unsigned_nan(double v)
{
	return isnan(v) ? fabs(v) : v;
}

void yaml_number(double v, char *buf)
{
	if (isnan(v)) {
		strcpy(buf, "null");
		return;
	}
	label_format(v, buf);
	char *e = strchr(buf, 'e');
	if (e && !memchr(buf, '.', (size_t)(e - buf))) {
		memmove(e + 2, e, strlen(e) + 1);
		memcpy(e, ".0", 2);
	}
}

int label_parse(const char *text, double *label)
{
	char *end;
	if (!strcmp(text, "-")) {
		*label = NAN;
		return 0;
	}
	errno = 0;
	*label = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(*label))
		return err_set(E_FORMAT, "label '%s' is not a number", text);
	return 0;
}
