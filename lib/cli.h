/* cli.h: what every main shares: its name in messages, fatal errors, number options, the thread
 * count, progress on a terminal, and the final check of stdout; and, through clock.h, the clock
 * and peak memory. Only mains use it: the library never prints or exits (see err.h). */
#ifndef ELSA_CLI_H
#define ELSA_CLI_H

#include <stdarg.h>
#include <stddef.h>

#include "clock.h"

extern const char *prog; /* "elsa-view", ... */
extern int quiet;        /* -q: no progress nor log lines, only what went wrong */

/* Names the program and installs handlers that remove uncommitted outputs on SIGINT, SIGTERM,
 * SIGHUP and SIGPIPE before dying of the signal. */
void cli_init(const char *name);
/* Flushes stdout, prints "prog: message" on stderr, removes uncommitted outputs, exits 1. A
 * message that ends in ':' gets the system's reason (strerror(errno)) after it, as warn's. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* die() with the library's last message (err_msg()). */
_Noreturn void die_lib(void);
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* malloc, calloc, realloc and strdup that die "out of memory" rather than return NULL (a size
 * of 0 asks for 1). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* The formatted text in a new string (vasprintf), or death. */
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvprintf(const char *fmt, va_list ap);
/* Prints "prog VERSION" on stdout and exits 0. */
_Noreturn void cli_version(void);
/* Prints text on stdout and exits 0 (for --help). */
_Noreturn void cli_help(const char *text);
/* Dies with "unknown option" or "missing argument" advice for getopt's '?' and ':'. */
_Noreturn void cli_usage_error(void);

/* Parses a whole number or a real for option opt within [lo, hi], or dies naming opt. */
long cli_long(const char *opt, const char *arg, long lo, long hi);
double cli_double(const char *opt, const char *arg, double lo, double hi);
/* The task named name, or dies naming the tasks there are. */
struct task;
const struct task *cli_task(const char *name);
/* The class numbering named by --label-order's argument (glue or datasets), or dies. */
int cli_label_order(const char *arg);
/* The storage dtype named by --dtype's argument, or dies. */
int cli_dtype(const char *arg);
/* Sets up a tool that computes, before it reads or writes anything: the thread count from -j
 * (arg, may be NULL), else ELSA_THREADS, else the CPUs this process may use (cpu_usable); on
 * more than one thread, a passive wait for OpenMP's threads (the tool runs itself again with
 * OMP_WAIT_POLICY=passive unless the user set a policy); the products' kernel (gemm_init) and
 * the SIMD build (simd_init), dying when ELSA_GEMM or ELSA_SIMD names one this processor cannot
 * run. Returns the thread count. */
int cli_compute(const char *arg);

/* Closes stdout and checks it (a full disk must not exit 0), and that no read of stdin failed.
 * Returns the exit status, 0. */
int cli_exit(void);

/* Progress on stderr, only when stderr is a terminal. */
struct progress {
	double start, last;
	int on;
};
void progress_start(struct progress *p);
/* done of total (total 0 when unknown), with a count of tokens for the rate. */
void progress_update(struct progress *p, size_t examples, size_t tokens, double fraction);
void progress_end(struct progress *p);

#endif
