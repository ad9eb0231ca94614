/* elsa-view: prints any elsa stream (token or tensor, compressed or not) as text. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "gemm.h"
#include "io.h"
#include "record.h"
#include "stream.h"
#include "tokens.h"

static const char usage[] =
	"usage: elsa-view [-H | -c | --values] [FILE|-]\n"
	"Prints an elsa token stream or tensor stream as text: one line per record\n"
	"(id, label, length, token ids), tab-separated.\n"
	"  -H, --header   print the header only\n"
	"  -c, --count    print the number of records only\n"
	"      --values   one line per token: id, position, then its hidden state (%.9g)\n"
	"  -h, --help     print this help\n"
	"  -V, --version  print the version\n";

enum mode { RECORDS, HEADER, COUNT, VALUES };

static void print_ids(const uint32_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		printf(i ? " %" PRIu32 : "%" PRIu32, v[i]);
}

static void print_record(const struct record *r)
{
	char label[32];
	label_format(r->label, label);
	printf("%s\t%s\t%" PRIu32 "\t", r->id, label, r->len);
	print_ids(r->tokens, r->len);
	putchar('\n');
}

static void print_values(const struct record *r, uint32_t hidden)
{
	for (uint32_t t = 0; t < r->len; t++) {
		const float *v = r->states + (size_t)t * hidden;
		printf("%s\t%" PRIu32 "\t", r->id, t);
		for (uint32_t k = 0; k < hidden; k++)
			printf(k ? " %.9g" : "%.9g", unsigned_nan(v[k]));
		putchar('\n');
	}
}

static void view_tensors(struct in *in, enum mode mode)
{
	struct stream_reader *r = stream_open_in(in);
	struct record rec = { 0 };
	uint64_t count = 0;
	int rc;
	if (!r)
		die_lib();
	const struct stream_header *h = stream_header(r);
	if (mode == HEADER) {
		printf("format\telsa-stream %d\nmodel\t%016" PRIx64 "\ntokenizer\t%016" PRIx64 "\n", STREAM_VERSION, h->model,
		       h->tokenizer);
		printf("layer\t%" PRIu32 "\nhidden\t%" PRIu32 "\ndtype\t%s\ncompute\t%s\nmax_len\t%" PRIu32 "\ntask\t%s\n",
		       h->layer, h->hidden, dtype_name(h->dtype), gemm_compute_name((int)h->compute), h->max_len,
		       h->task[0] ? h->task : "-");
		stream_close(r);
		return;
	}
	while ((rc = stream_next(r, &rec)) > 0) {
		count++;
		if (mode == RECORDS)
			print_record(&rec);
		else if (mode == VALUES)
			print_values(&rec, h->hidden);
	}
	if (rc < 0)
		die_lib();
	if (mode == COUNT)
		printf("%" PRIu64 "\n", count);
	record_free(&rec);
	stream_close(r);
}

static void view_tokens(struct in *in, enum mode mode)
{
	struct tokens_reader *r = tokens_open_in(in);
	struct record rec = { 0 };
	uint64_t count = 0;
	int rc;
	if (!r)
		die_lib();
	if (mode == VALUES)
		die("%s: a token stream holds no hidden states (--values reads tensor streams)", tokens_name(r));
	/* A token stream's header is its first line; read one record to get past it. */
	rc = tokens_next(r, &rec);
	if (mode == HEADER) {
		const struct tokens_header *h = tokens_header(r);
		if (rc < 0 && !h)
			die_lib();
		printf("format\telsa-tokens 1\n");
		if (h)
			printf("tokenizer\t%016" PRIx64 "\nmax_len\t%" PRIu32 "\ntask\t%s\n", h->tokenizer, h->max_len,
			       h->task[0] ? h->task : "-");
		tokens_close(r);
		record_free(&rec);
		return;
	}
	for (; rc > 0; rc = tokens_next(r, &rec)) {
		count++;
		if (mode == RECORDS)
			print_record(&rec);
	}
	if (rc < 0)
		die_lib();
	if (mode == COUNT)
		printf("%" PRIu64 "\n", count);
	record_free(&rec);
	tokens_close(r);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "header", 0, 0, 'H' }, { "count", 0, 0, 'c' },   { "values", 0, 0, 'x' },
		{ "help", 0, 0, 'h' },   { "version", 0, 0, 'V' }, { 0 },
	};
	enum mode mode = RECORDS;
	int o, modes = 0;
	cli_init("elsa-view");
	while ((o = getopt_long(argc, argv, "HchV", opts, NULL)) != -1) {
		switch (o) {
		case 'H': mode = HEADER, modes++; break;
		case 'c': mode = COUNT, modes++; break;
		case 'x': mode = VALUES, modes++; break;
		case 'h': cli_help(usage);
		case 'V': cli_version();
		default: cli_usage_error();
		}
	}
	if (modes > 1)
		die("-H, -c and --values exclude each other");
	if (argc - optind > 1)
		die("one input at a time (concatenate streams with cat)");
	struct in *in = in_open(optind < argc ? argv[optind] : "-");
	char first[16];
	long n;
	if (!in || (n = in_peek(in, first, sizeof first)) < 0)
		die_lib();
	if (n >= 8 && stream_magic(first))
		view_tensors(in, mode);
	else if (stream_foreign(first, (size_t)n)) {
		char say[4352]; /* the message, made before the input is closed (its name with it) */
		snprintf(say, sizeof say, "%s: %s, not a stream: elsa-view reads token and tensor streams (elsa-tokens(5), "
			 "elsa-stream(5))", in_name(in), stream_foreign(first, (size_t)n));
		in_close(in);
		die("%s", say);
	} else
		view_tokens(in, mode);
	return cli_exit();
}
