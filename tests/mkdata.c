/* mkdata: writes two small made-up GLUE tasks in the benchmark's own file layouts, for the demo
 * and the tests: SST-2/{train,dev}.tsv, a sentiment task whose label needs composition
 * ("not good" is negative), and STS-B/{train,dev}.tsv, a regression on sentence pairs: the share
 * of the pair's opinions that are positive, from 0 to 5. Words come from mkmodel's built-in
 * vocabulary. Seeded; not installed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "rng.h"

static const char usage[] = "usage: mkdata [--seed N] [--train N] [--dev N] DIR\n";

static const char *const positive[] = { "good", "great", "excellent", "brilliant", "charming", "fun", "funny", "best", "fine" };
static const char *const negative[] = { "bad", "terrible", "awful", "poor", "boring", "dull", "worst" };
static const char *const filler[] = { "the", "a", "film", "movie", "story", "is", "was", "very", "so", "and", "it",
				      "this", "that", "with", "people", "man", "woman", "day", "time", "world" };
#define PICK(r, a) (a[rng_below(r, sizeof a / sizeof *a)])

static FILE *open_file(const char *dir, const char *task, const char *split)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, task);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s.tsv", dir, task, split);
	FILE *f = fopen(path, "w");
	if (!f)
		die("%s: cannot write", path);
	return f;
}

/* A sentence of filler words with sentiment words, some negated; its label is the sign of the
 * sum of their polarities (negation flips one), ties broken by the last sentiment word. */
static void sentiment(struct rng *r, FILE *f)
{
	int score = 0, last = 1, words = 4 + (int)rng_below(r, 8), opinions = 1 + (int)rng_below(r, 3);
	for (int w = 0; w < words; w++) {
		/* Selection sampling: exactly `opinions` of the words are opinions. */
		if (rng_below(r, (uint64_t)(words - w)) < (uint64_t)opinions) {
			opinions--;
			int pos = rng_below(r, 2) == 0, neg = rng_below(r, 4) == 0;
			fprintf(f, "%s%s ", neg ? "not " : "", pos ? PICK(r, positive) : PICK(r, negative));
			last = (pos ? 1 : -1) * (neg ? -1 : 1);
			score += last;
		} else {
			fprintf(f, "%s ", PICK(r, filler));
		}
	}
	fprintf(f, ".\t%d\n", score > 0 || (score == 0 && last > 0));
}

/* A sentence of filler words and opinions (some negated); adds its positive and all opinions. */
static void opinions(struct rng *r, FILE *f, int *pos, int *all)
{
	int words = 3 + (int)rng_below(r, 6), left = 1 + (int)rng_below(r, 2);
	for (int w = 0; w < words; w++) {
		if (rng_below(r, (uint64_t)(words - w)) < (uint64_t)left) {
			left--;
			int good = rng_below(r, 2) == 0, neg = rng_below(r, 4) == 0;
			fprintf(f, "%s%s ", neg ? "not " : "", good ? PICK(r, positive) : PICK(r, negative));
			*pos += good != neg;
			++*all;
		} else {
			fprintf(f, "%s ", PICK(r, filler));
		}
	}
	fputc('.', f);
}

/* A pair of opinion sentences scored by the share of their opinions that are positive, 0..5. */
static void pair_score(struct rng *r, FILE *f, long index)
{
	int pos = 0, all = 0;
	fprintf(f, "%ld\tmain-captions\tmade-up\t2024\t%04ld\tnone\tnone\t", index, index);
	opinions(r, f, &pos, &all);
	fputc('\t', f);
	opinions(r, f, &pos, &all);
	fprintf(f, "\t%.3f\n", 5.0 * pos / all);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", 1, 0, 's' }, { "train", 1, 0, 't' }, { "dev", 1, 0, 'd' }, { "help", 0, 0, 'h' }, { 0 },
	};
	long seed = 1, ntrain = 2000, ndev = 400;
	int o;
	cli_init("mkdata");
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': seed = cli_long("--seed", optarg, 0, 1L << 40); break;
		case 't': ntrain = cli_long("--train", optarg, 1, 1L << 24); break;
		case 'd': ndev = cli_long("--dev", optarg, 1, 1L << 24); break;
		case 'h': cli_help(usage);
		default: cli_usage_error();
		}
	}
	if (optind + 1 != argc)
		die("expected one output folder (see --help)");
	const char *dir = argv[optind];
	mkdir(dir, 0755);
	struct rng r;
	rng_seed(&r, (uint64_t)seed);
	for (int split = 0; split < 2; split++) {
		const char *name = split ? "dev" : "train";
		long n = split ? ndev : ntrain;
		FILE *f = open_file(dir, "SST-2", name);
		fputs("sentence\tlabel\n", f);
		for (long i = 0; i < n; i++)
			sentiment(&r, f);
		if (fclose(f) != 0)
			die("SST-2/%s.tsv: write error", name);
		f = open_file(dir, "STS-B", name);
		fputs("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n", f);
		for (long i = 0; i < n; i++)
			pair_score(&r, f, i);
		if (fclose(f) != 0)
			die("STS-B/%s.tsv: write error", name);
	}
	return cli_exit();
}
