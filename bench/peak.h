/* peak.h: the command line of the peak measurements (gemmpeak, fmapeak): [-j THREADS] [ROUNDS].
 * Sets *rounds (default 5) and the thread count (cli_compute: -j, else ELSA_THREADS, else every
 * core), which it returns. */
#ifndef ELSA_BENCH_PEAK_H
#define ELSA_BENCH_PEAK_H

#include <string.h>

#include "cli.h"

static int peak_args(int argc, char **argv, int *rounds)
{
	const char *threads = NULL;
	*rounds = 5;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-j") && i + 1 < argc)
			threads = argv[++i];
		else
			*rounds = (int)cli_long("ROUNDS", argv[i], 1, 1000);
	return cli_compute(threads, NULL);
}

#endif
