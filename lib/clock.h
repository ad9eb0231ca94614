/* clock.h: what a run costs the machine, measured one way everywhere: seconds on a monotonic
 * clock, and the process's peak memory. */
#ifndef ELSA_CLOCK_H
#define ELSA_CLOCK_H

/* Seconds on CLOCK_MONOTONIC, from an unspecified start: subtract two. */
double now_seconds(void);
/* The peak resident memory of the process so far (getrusage's ru_maxrss) in MB, NaN when it
 * cannot be read. */
double peak_memory_mb(void);

#endif
