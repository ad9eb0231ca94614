/* check.h: the unit tests' harness. Each TEST is one TAP line ("ok N - name" or "not ok N - name");
 * CHECK failures print where and why, mark the running test failed, and let it go on.
 *
 *   TEST(roundtrip) { CHECK(x == 1, "x is %d", x); }
 *   int main(void) { RUN(roundtrip); return check_done(); }
 */
#ifndef ELSA_CHECK_H
#define ELSA_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_count, check_failed_tests, check_current_failed;

static __attribute__((unused)) void check_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;
	printf("# %s:%d: failed: %s: ", file, line, expr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	check_current_failed = 1;
}

#define CHECK(cond, ...) \
	do { if (!(cond)) check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

/* CHECK_CLOSE: |a - b| <= tol, NaN never close. */
#define CHECK_CLOSE(a, b, tol) \
	do { double ca_ = (a), cb_ = (b); \
	     if (!(fabs(ca_ - cb_) <= (tol))) \
		check_fail(__FILE__, __LINE__, #a " ~ " #b, "%.17g vs %.17g (tol %g)", ca_, cb_, (double)(tol)); \
	} while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name) check_run(#name, test_##name)

static __attribute__((unused)) void check_run(const char *name, void (*fn)(void))
{
	check_current_failed = 0;
	fflush(stdout);
	fn();
	check_count++;
	if (check_current_failed)
		check_failed_tests++;
	printf("%s %d - %s\n", check_current_failed ? "not ok" : "ok", check_count, name);
	fflush(stdout);
}

static __attribute__((unused)) void check_skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++check_count, name, why);
}

static __attribute__((unused)) int check_done(void)
{
	printf("1..%d\n", check_count);
	return check_failed_tests ? 1 : 0;
}

/* A scratch path under $TMPDIR, unique per process and call. */
static __attribute__((unused)) const char *check_tmp(const char *name)
{
	static char buf[8][4096];
	static int n;
	const char *dir = getenv("TMPDIR");
	char *p = buf[n++ % 8];
	snprintf(p, sizeof buf[0], "%s/elsa-unit-%ld-%d-%s", dir ? dir : "/tmp", (long)getpid(), n, name);
	return p;
}

/* A file's bytes as they are on disk (no decompression); NULL if unreadable. */
static __attribute__((unused)) char *read_file_raw(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
		buf[size] = 0;
		*n = (size_t)size;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

#endif
