/* peak.h: the command line of the peak measurements (gemmpeak, fmapeak): [-j THREADS]
 * [--compute f32|bf16] [ROUNDS]. Sets *rounds (default 5), the thread count (cli_compute: -j,
 * else ELSA_THREADS, else every usable CPU), which it returns, and the products' inputs. */
#ifndef ELSA_BENCH_PEAK_H
#define ELSA_BENCH_PEAK_H

#include <string.h>

#include "cli.h"

static int peak_args(int argc, char **argv, int *rounds)
{
	const char *threads = NULL, *compute = NULL;
	*rounds = 5;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-j") && i + 1 < argc)
			threads = argv[++i];
		else if (!strcmp(argv[i], "--compute") && i + 1 < argc)
			compute = argv[++i];
		else
			*rounds = (int)cli_long("ROUNDS", argv[i], 1, 1000);
	return cli_compute(threads, compute);
}

#endif
