#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cpu.h"
#include "err.h"
#include "gemm.h"
#include "glue.h"
#include "half.h"
#include "io.h"
#include "simd.h"

const char *prog = "elsa";

static void on_signal(int sig)
{
	out_remove_temps();
	signal(sig, SIG_DFL);
	raise(sig);
}

void cli_init(const char *name)
{
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	prog = name;
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		struct sigaction sa = { .sa_handler = on_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Set once cli_exit has closed stdout: a message then must not flush it. */
static int stdout_closed;

int quiet;

/* "prog: message"; a message ending in ':' gets the system's reason for the last failure. */
static void vmessage(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);
	if (!stdout_closed)
		fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

static void *checked(void *p)
{
	if (!p)
		die("out of memory");
	return p;
}

void *xmalloc(size_t n)
{
	return checked(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return checked(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return checked(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return checked(strdup(s));
}

char *xvprintf(const char *fmt, va_list ap)
{
	char *s;
	return vasprintf(&s, fmt, ap) < 0 ? checked(NULL) : s;
}

char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvprintf(fmt, ap);
	va_end(ap);
	return s;
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	out_remove_temps();
	exit(1);
}

void die_lib(void)
{
	die("%s", err_msg());
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void cli_version(void)
{
	printf("%s %s\n", prog, ELSA_VERSION);
	exit(cli_exit());
}

void cli_help(const char *text)
{
	fputs(text, stdout);
	exit(cli_exit());
}

void cli_usage_error(void)
{
	/* getopt has already said what was wrong; this is the one line that follows it. */
	die("see '%s --help'", prog);
}

long cli_long(const char *opt, const char *arg, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi)
		die("%s: '%s' is not a whole number in [%ld, %ld]", opt, arg, lo, hi);
	return v;
}

double cli_double(const char *opt, const char *arg, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		die("%s: '%s' is not a number in [%g, %g]", opt, arg, lo, hi);
	return v;
}

const struct task *cli_task(const char *name)
{
	size_t n;
	const struct task *t = task_find(name), *all = task_all(&n);
	char list[256] = "";
	if (t)
		return t;
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "", all[i].name);
	die("unknown task '%s' (tasks: %s)", name, list);
}

int cli_label_order(const char *arg)
{
	enum label_order o;
	if (label_order_parse(arg, &o) < 0)
		die("--label-order: %s", err_msg());
	return o;
}

int cli_dtype(const char *arg)
{
	int d = dtype_parse(arg);
	if (d < 0)
		die("--dtype: '%s' is not f32, f16 or bf16", arg);
	return d;
}

/* libgomp reads its wait policy once, as it loads, and by default a thread that waits for work
 * spins for a while first: on a machine another job shares, elsa's waiting thread then holds the
 * free core while the other one crawls beside that job (a 4-layer training took 22 s there, 3 s
 * with -j 1). So a tool that computes on several threads runs itself again, once, before it has
 * read or written anything, with OMP_WAIT_POLICY=passive: a waiting thread sleeps at once, and
 * the one that lags takes over the free core. A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT stands.
 * The arguments are read back from /proc/self/cmdline, as given (getopt has reordered argv). */
static void wait_passively(void)
{
	const char *policy = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
	size_t len;
	char *cmdline = (policy && *policy) || (spin && *spin) ? NULL : read_file("/proc/self/cmdline", &len);
	if (!cmdline || setenv("OMP_WAIT_POLICY", "passive", 1) < 0) {
		free(cmdline);
		return;
	}
	size_t argc = 0;
	for (size_t i = 0; i < len; i++)
		argc += cmdline[i] == 0;
	char **argv = calloc(argc + 1, sizeof *argv);
	for (size_t i = 0, k = 0; argv && i < len; i += strlen(cmdline + i) + 1)
		argv[k++] = cmdline + i;
	if (argv)
		execv("/proc/self/exe", argv);
	free(argv); /* no exec: go on, threads spinning */
	free(cmdline);
}

int cli_compute(const char *arg)
{
	const char *env = getenv("ELSA_THREADS");
	long n;
	if (arg)
		n = cli_long("-j/--threads", arg, 1, 1024);
	else if (env && *env)
		n = cli_long("ELSA_THREADS", env, 1, 1024);
	else
		n = cpu_usable();
	if (n > 1)
		wait_passively();
	threads_set((int)n);
	if (gemm_init() < 0 || simd_init() < 0)
		die_lib();
	return (int)n;
}

int cli_exit(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	stdout_closed = 1;
	bad |= fclose(stdout) != 0;
	if (bad)
		die("stdout: %s", errno ? strerror(errno) : "write error");
	if (ferror(stdin)) /* a read of stdin that failed and was taken for its end */
		die("stdin: read error");
	return 0;
}

void progress_start(struct progress *p)
{
	p->start = p->last = now_seconds();
	p->on = isatty(2) && !quiet;
}

void progress_update(struct progress *p, size_t examples, size_t tokens, double fraction)
{
	double t = now_seconds();
	if (!p->on || t - p->last < 0.5)
		return;
	p->last = t;
	double rate = (double)tokens / (t - p->start);
	fprintf(stderr, "\r%s: %zu examples, %.0f tokens/s", prog, examples, rate);
	if (fraction > 0.001 && fraction < 1)
		fprintf(stderr, ", %.0f%%, ETA %.0fs", 100 * fraction, (t - p->start) * (1 - fraction) / fraction);
	fprintf(stderr, "   ");
}

void progress_end(struct progress *p)
{
	if (p->on && p->last > p->start)
		fputc('\n', stderr);
}
