/* metrics.h: GLUE's metrics, as Hugging Face's glue_compute_metrics defines them (accuracy, F1 of
 * class 1, Matthews correlation, Pearson and Spearman correlation), on arrays of gold labels and
 * predictions in the same order; the per-task set of metrics with its primary one; percentile
 * bootstrap intervals over examples; and the mean and spread of a few values (seeds).
 *
 * Labels and predictions are class indices (0, 1, 2) as doubles, or scores for regression.
 * A metric that is undefined (a correlation of a constant) is NAN; MCC and F1 follow
 * scikit-learn's conventions instead (0 when the denominator is 0). */
#ifndef ELSA_METRICS_H
#define ELSA_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct task;

/* Fraction of examples with pred == gold; n > 0. */
double metric_accuracy(const double *gold, const double *pred, size_t n);
/* F1 of the positive class (1): 2 tp / (2 tp + fp + fn), 0 when that denominator is 0. */
double metric_f1(const double *gold, const double *pred, size_t n);
/* Matthews correlation over nclasses classes, as sklearn.metrics.matthews_corrcoef (for two
 * classes the binary formula); 0 when the gold labels or the predictions are constant. */
double metric_mcc(const double *gold, const double *pred, size_t n, int nclasses);
/* Pearson's r as scipy.stats.pearsonr computes it; NAN when n < 2 or either array is constant. */
double metric_pearson(const double *x, const double *y, size_t n);
/* rank[i]: the 1-based rank of x[i], ties given their average rank (scipy's rankdata). 0 or E_NOMEM. */
int metric_ranks(const double *x, size_t n, double *rank);
/* Spearman's rho (Pearson's r of the ranks) into *rho, NAN when undefined. 0 or E_NOMEM. */
int metric_spearman(const double *x, const double *y, size_t n, double *rho);
/* The p-quantile (0 <= p <= 1) of sorted[0..n) with linear interpolation (numpy's default). */
double metric_quantile(const double *sorted, size_t n, double p);

/* Statistics over a few values, such as the seeds of one of elsa-report's cells. */
/* The mean of x[0..n) (n > 0): the values summed left to right, divided by n. NAN when any value
 * is NAN (an interval bound that one seed lacks leaves the bound's mean undefined). */
double metric_mean(const double *x, size_t n);
/* The sample standard deviation of x[0..n), n - 1 in the denominator:
 * sqrt((sum x^2 - (sum x)^2 / n) / (n - 1)), the sums in one pass left to right, a variance that
 * rounding leaves below 0 taken as 0. NAN when n < 2 (one value has no spread). */
double metric_sd(const double *x, size_t n);

#define METRICS_MAX 3

struct metric {
	const char *name; /* as Hugging Face names it: "acc", "f1", "acc_and_f1", "mcc", ... */
	double value;     /* NAN: undefined */
	double lo, hi;    /* 95% percentile bootstrap interval; NAN: none (not computed, or undefined) */
};

/* A task's metrics on one set of examples. */
struct evaluation {
	const struct task *task;
	size_t examples;
	int count, primary;           /* metrics in m; index of the task's primary metric */
	struct metric m[METRICS_MAX];
	char note[256];               /* why a metric is undefined or 0 by convention; "" */
};

/* Computes the task's metrics (task->metric names the set and its primary member); n > 0.
 * 0, E_ARG (a label or prediction outside the task's classes) or E_NOMEM. */
int metrics_evaluate(const struct task *task, const double *gold, const double *pred, size_t n,
		     struct evaluation *e);
/* Adds to each metric of e (computed by metrics_evaluate on the same arrays) the 2.5% and 97.5%
 * quantiles of its values on reps samples of n examples drawn with replacement, using a generator
 * seeded with seed. Samples on which a metric is undefined are left out of its quantiles.
 * 0 or E_NOMEM. */
int metrics_bootstrap(struct evaluation *e, const double *gold, const double *pred, size_t n, size_t reps,
		      uint64_t seed);

#endif
