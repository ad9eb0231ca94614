/* The vector kernels of lib/simd.h, every build the processor runs (baseline SSE2, AVX2 + FMA,
 * AVX-512; a build it cannot run is a skipped test), against double-precision loops written
 * here: every length from 1 to past two vectors of the widest build (the zero-padded tails), and
 * the same row at different places in memory giving the same bits. */
#include <stdint.h>

#include "check.h"
#include "cpu.h"
#include "gemm.h"
#include "rng.h"
#include "simd.h"

static struct rng rng;

static float *randn(size_t n, double scale)
{
	float *x = malloc((n ? n : 1) * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(scale * rng_normal(&rng));
	return x;
}

static const struct simd_ops *builds[3];
static int nbuilds;

static double gelu_ref(double x)
{
	return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

/* |a - b| relative to |b|, with a floor for values near 0. */
static double rel(double a, double b, double floor)
{
	return fabs(a - b) / fmax(fabs(b), floor);
}

TEST(gelu_forward_and_backward_match_double_precision)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		double worst = 0, worst_b = 0;
		for (size_t C = 1; C <= 35; C++) {
			float *f = randn(C, 3), *bias = randn(C, 1), *g = malloc(C * 4), *keep = malloc(C * 4);
			float *dy = randn(C, 1), *dx = malloc(C * 4);
			memcpy(keep, f, C * 4);
			o->bias_gelu(g, f, bias, C);
			for (size_t i = 0; i < C; i++) {
				float x = keep[i] + bias[i];
				CHECK(f[i] == x, "%s: f += bias at %zu of %zu", o->name, i, C);
				/* 1 + erf(x / sqrt 2) cancels for negative x in any fp32 GELU (PyTorch's
				 * too): the error is a few 1e-8 of |x|, not of the result */
				worst = fmax(worst, fabs(g[i] - gelu_ref(x)) / fmax(fabs(x), 1e-3));
			}
			o->gelu_backward(dx, dy, f, C);
			for (size_t i = 0; i < C; i++) {
				double x = f[i], d = 0.5 * (1 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI);
				worst_b = fmax(worst_b, fabs(dx[i] - dy[i] * d) / (fabs(dy[i]) * fmax(1, fabs(x)) + 1e-30));
			}
			free(f), free(bias), free(g), free(keep), free(dy), free(dx);
		}
		CHECK(worst < 3e-7, "%s: GELU off by %g of |x|", o->name, worst);
		CHECK(worst_b < 5e-7, "%s: GELU backward off by %g of |dy| max(1, |x|)", o->name, worst_b);
	}
}

TEST(softmax_rows_match_double_precision)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		double worst = 0;
		for (size_t C = 1; C <= 35; C++) {
			size_t N = 3;
			float *x = randn(N * C, 4), *y = malloc(N * C * 4);
			memcpy(y, x, N * C * 4);
			o->softmax_rows(y, N, C);
			for (size_t n = 0; n < N; n++) {
				double mx = -INFINITY, s = 0;
				for (size_t c = 0; c < C; c++)
					mx = fmax(mx, x[n * C + c]);
				for (size_t c = 0; c < C; c++)
					s += exp(x[n * C + c] - mx);
				for (size_t c = 0; c < C; c++)
					worst = fmax(worst, fabs(y[n * C + c] - exp(x[n * C + c] - mx) / s));
			}
			free(x), free(y);
		}
		CHECK(worst < 1e-6, "%s: softmax off by %g", o->name, worst);
	}
}

TEST(residual_layernorm_matches_double_precision)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		double worst = 0;
		struct mask m = mask_make(0.25f, 11, 3);
		for (size_t C = 1; C <= 40; C++) {
			float *inp = randn(C, 2), *bias = randn(C, 1), *res = randn(C, 1), *w = randn(C, 1), *b = randn(C, 1);
			float *r = malloc(C * 4), *y = malloc(C * 4), mean, rstd;
			size_t offset = 5 * C;
			o->residual_layernorm(y, r, &mean, &rstd, inp, bias, &m, offset, res, w, b, C, 1e-5f);
			double s = 0, ss = 0, rr[40];
			for (size_t c = 0; c < C; c++) {
				double v = (double)inp[c] + bias[c];
				v = mask_keep(&m, offset + c) ? v * m.scale : 0.0;
				rr[c] = v + res[c];
				CHECK(fabs(r[c] - rr[c]) <= 1e-6 * fmax(1, fabs(rr[c])), "%s: r at %zu of %zu", o->name, c, C);
				s += rr[c];
			}
			double mu = s / (double)C;
			for (size_t c = 0; c < C; c++)
				ss += (rr[c] - mu) * (rr[c] - mu);
			double rs = 1 / sqrt(ss / (double)C + 1e-5);
			for (size_t c = 0; c < C; c++)
				worst = fmax(worst, fabs(y[c] - ((rr[c] - mu) * rs * w[c] + b[c])));
			CHECK_CLOSE(mean, mu, 1e-6);
			CHECK(rel(rstd, rs, 1) < 1e-5, "%s: rstd %g, not %g", o->name, rstd, rs);
			free(inp), free(bias), free(res), free(w), free(b), free(r), free(y);
		}
		CHECK(worst < 1e-5, "%s: LayerNorm off by %g", o->name, worst);
	}
}

TEST(scores_and_combine_match_double_precision)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		static const size_t Ds[] = { 5, 8, 13, 17, 64, 72, 136 }, Ls[] = { 1, 7, 8, 9, 16, 17, 33, 40 };
		double worst_s = 0, worst_c = 0;
		for (size_t di = 0; di < sizeof Ds / sizeof *Ds; di++)
			for (size_t li = 0; li < sizeof Ls / sizeof *Ls; li++) {
				size_t D = Ds[di], L1 = Ls[li], L2 = Ls[(li + 3) % 8], lda = D + 3, ldb = D + 5;
				float *A = randn(L1 * lda, 1), *B = randn(L2 * ldb, 1), *S = malloc(L1 * L2 * 4);
				float *scratch = malloc(D * (L2 + 15) * 4), *out = malloc(L1 * lda * 4);
				float *ref = malloc(L1 * (L2 > lda ? L2 : lda) * 4);
				/* against gemm_naive, double-precision loops: S = 0.5 A B^T, out = 2 S B */
				o->scores(S, A, lda, B, ldb, L1, L2, D, 0.5f, scratch);
				gemm_naive(0, 1, L1, L2, D, 0.5f, A, lda, B, ldb, 0, ref, L2);
				for (size_t i = 0; i < L1 * L2; i++)
					worst_s = fmax(worst_s, fabs(S[i] - ref[i]));
				o->combine(out, lda, S, B, ldb, L1, L2, D, 2.0f);
				gemm_naive(0, 0, L1, D, L2, 2.0f, S, L2, B, ldb, 0, ref, lda);
				for (size_t i = 0; i < L1; i++)
					for (size_t d = 0; d < D; d++)
						worst_c = fmax(worst_c, fabs(out[i * lda + d] - ref[i * lda + d]));
				free(A), free(B), free(S), free(scratch), free(out), free(ref);
			}
		CHECK(worst_s < 1e-4, "%s: scores off by %g", o->name, worst_s);
		CHECK(worst_c < 1e-4, "%s: combine off by %g", o->name, worst_c);
	}
}

TEST(adamw_and_sum_squares_match_the_formula)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		struct adamw_coef c = { 0.999f, 0.9f, 0.999f, 1e-3f, 0.05f, 1e-8f, 0.5f };
		for (size_t n = 1; n <= 35; n++) {
			float *w = randn(n, 1), *m = randn(n, 0.1), *v = randn(n, 0.1), *g = randn(n, 1);
			for (size_t i = 0; i < n; i++)
				v[i] = fabsf(v[i]);
			float *w0 = malloc(n * 4), *m0 = malloc(n * 4), *v0 = malloc(n * 4);
			memcpy(w0, w, n * 4), memcpy(m0, m, n * 4), memcpy(v0, v, n * 4);
			o->adamw(w, m, v, g, n, &c);
			double ss = 0;
			for (size_t i = 0; i < n; i++) {
				/* in double, with the coefficients' float values */
				double b1 = c.b1, b2 = c.b2, omb1 = 1.0f - c.b1, omb2 = 1.0f - c.b2;
				double gi = (double)g[i] * c.gscale, mi = m0[i] * b1 + gi * omb1, vi = v0[i] * b2 + gi * gi * omb2;
				double wi = w0[i] * (double)c.decay - (double)c.step_size * mi / (sqrt(vi) / (double)c.bc2_sqrt + (double)c.eps);
				CHECK(rel(m[i], mi, 1e-3) < 1e-5 && rel(v[i], vi, 1e-6) < 1e-5 && rel(w[i], wi, 1e-3) < 1e-5,
				      "%s: element %zu of %zu: w %g not %g", o->name, i, n, w[i], wi);
				ss += (double)g[i] * g[i];
			}
			CHECK(rel(o->sum_squares(g, n), ss, 1e-30) < 1e-12, "%s: sum of squares of %zu", o->name, n);
			free(w), free(m), free(v), free(g), free(w0), free(m0), free(v0);
		}
	}
}

TEST(a_row_gives_the_same_bits_wherever_it_lies)
{
	/* GELU and LayerNorm of a row at the start of an array and after an odd offset: the tail
	 * is computed like the body, so a token's result does not depend on its batch. */
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		size_t C = 37;
		float *x = randn(C, 2), *w = randn(C, 1), *b = randn(C, 1), *zero = calloc(C, 4);
		float *buf = calloc(3 * C + 3, 4), *g1 = malloc(C * 4), *f1 = malloc(C * 4);
		memcpy(f1, x, C * 4);
		o->bias_gelu(g1, f1, zero, C);
		float *shifted = buf + 3;
		memcpy(shifted, x, C * 4);
		o->gelu_backward(buf + C + 5, shifted, shifted, C); /* unrelated work in between */
		memcpy(shifted, x, C * 4);
		o->bias_gelu(shifted, shifted, zero, C);
		CHECK(!memcmp(shifted, g1, C * 4), "%s: GELU depends on where the row lies", o->name);
		float y1[37], y2[37], m1, r1, m2, r2;
		o->residual_layernorm(y1, NULL, &m1, &r1, x, NULL, NULL, 0, NULL, w, b, C, 1e-12f);
		memcpy(buf + 1, x, C * 4);
		o->residual_layernorm(y2, NULL, &m2, &r2, buf + 1, NULL, NULL, 0, NULL, w, b, C, 1e-12f);
		CHECK(!memcmp(y1, y2, sizeof y1) && m1 == m2 && r1 == r2, "%s: LayerNorm depends on the row's place",
		      o->name);
		free(x), free(w), free(b), free(zero), free(buf), free(g1), free(f1);
	}
}

/* GeGLU (ModernBERT's MLP), its bias added to both halves, dropout kept or not: GELU(input) x
 * gate, and its backward, against double precision; no bias is a zero bias, bit for bit. */
TEST(geglu_forward_and_backward_match_double_precision)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		double worst = 0, worst_b = 0;
		struct mask m = mask_make(0.25f, 5, 7);
		for (size_t I = 1; I <= 35; I++) {
			float *f = randn(2 * I, 2), *bias = randn(2 * I, 1), *keep = malloc(2 * I * 4), *g = malloc(I * 4);
			float *dg = randn(I, 1), *df = malloc(2 * I * 4), *g0 = malloc(I * 4), *zero = calloc(2 * I, 4);
			memcpy(keep, f, 2 * I * 4);
			size_t offset = 3 * I;
			o->geglu(g, f, bias, &m, offset, I);
			o->geglu_backward(df, dg, f, &m, offset, I);
			for (size_t i = 0; i < I; i++) {
				double a = (double)keep[i] + bias[i], gate = (double)keep[I + i] + bias[I + i];
				double s = mask_keep(&m, offset + i) ? m.scale : 0, cdf = 0.5 * (1 + erf(a / sqrt(2.0)));
				double d = (cdf + a * exp(-0.5 * a * a) / sqrt(2 * M_PI)) * dg[i] * s;
				CHECK(f[i] == (float)a || fabs(f[i] - a) < 1e-6 * fmax(1, fabs(a)), "%s: f += bias at %zu", o->name, i);
				worst = fmax(worst, fabs(g[i] - gelu_ref(a) * gate * s) / (fmax(fabs(a), 1e-3) * fmax(1, fabs(gate)) * 2));
				worst_b = fmax(worst_b, fabs(df[i] - d * gate) / (fabs(dg[i] * gate) * fmax(1, fabs(a)) + 1e-30));
				worst_b = fmax(worst_b, fabs(df[I + i] - gelu_ref(a) * dg[i] * s) / (fabs(dg[i]) * fmax(1, fabs(a)) + 1e-30));
			}
			memcpy(f, keep, 2 * I * 4);
			o->geglu(g, f, NULL, NULL, 0, I);
			memcpy(f, keep, 2 * I * 4);
			o->geglu(g0, f, zero, NULL, 0, I);
			CHECK(!memcmp(g, g0, I * 4), "%s: GeGLU without a bias is not GeGLU with a zero bias", o->name);
			free(f), free(bias), free(keep), free(g), free(dg), free(df), free(g0), free(zero);
		}
		CHECK(worst < 3e-7, "%s: GeGLU off by %g", o->name, worst);
		CHECK(worst_b < 5e-7, "%s: GeGLU backward off by %g", o->name, worst_b);
	}
}

/* Rotary embeddings: each pair (x[i], x[half + i]) of a row turned by its angle, in double; and
 * turned back by the inverse. */
TEST(rotary_matches_double_precision_and_its_inverse_turns_back)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		double worst = 0, back = 0;
		for (size_t half = 1; half <= 20; half++) {
			size_t L = 5, ld = 2 * half + 3;
			float *x = randn(L * ld, 1), *x0 = malloc(L * ld * 4), *c = malloc(L * half * 4), *sn = malloc(L * half * 4);
			for (size_t i = 0; i < L * half; i++) {
				double angle = 3 * rng_normal(&rng);
				c[i] = (float)cos(angle);
				sn[i] = (float)sin(angle);
			}
			memcpy(x0, x, L * ld * 4);
			o->rotary(x, ld, c, sn, L, half, 0);
			for (size_t r = 0; r < L; r++)
				for (size_t i = 0; i < half; i++) {
					double a = x0[r * ld + i], b = x0[r * ld + half + i], cc = c[r * half + i], ss = sn[r * half + i];
					worst = fmax(worst, fabs(x[r * ld + i] - (a * cc - b * ss)));
					worst = fmax(worst, fabs(x[r * ld + half + i] - (b * cc + a * ss)));
				}
			for (size_t r = 0; r < L; r++)
				CHECK(x[r * ld + 2 * half] == x0[r * ld + 2 * half], "%s: a float past the row changed", o->name);
			o->rotary(x, ld, c, sn, L, half, 1);
			for (size_t i = 0; i < L * ld; i++)
				back = fmax(back, fabs(x[i] - x0[i]));
			free(x), free(x0), free(c), free(sn);
		}
		CHECK(worst < 1e-6, "%s: rotary off by %g", o->name, worst);
		CHECK(back < 1e-6, "%s: the inverse turns back within %g", o->name, back);
	}
}

/* Rounding to bf16 against the format's definition: the nearest of the two bf16 neighbours (8
 * bits of mantissa), the even one on a tie, in double; NaN stays NaN; rows of every tail length
 * at a row stride. */
TEST(round_bf16_is_to_nearest_even)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		size_t D = 37, ld = 41, L = 3;
		float *x = randn(L * ld, 3), *y = malloc(L * ld * 4);
		x[0] = 1.0f + 1.0f / 256; /* a tie between 1 and 1 + 1/128: to 1 */
		x[1] = 1.0f + 3.0f / 256; /* a tie: to 1 + 1/64, the even one */
		x[2] = NAN, x[3] = -INFINITY, x[4] = 3.3895e38f; /* rounds to the largest bf16, not infinity */
		memcpy(y, x, L * ld * 4);
		o->round_bf16(y, ld, L, D);
		int bad = 0;
		for (size_t r = 0; r < L; r++)
			for (size_t i = 0; i < ld; i++) {
				float v = x[r * ld + i], got = y[r * ld + i];
				if (i >= D) {
					bad |= memcmp(&v, &got, 4) != 0; /* past the row: untouched */
					continue;
				}
				if (isnan(v)) {
					bad |= !isnan(got);
					continue;
				}
				int e;
				frexp(v, &e);
				double ulp = isinf(v) ? 0 : ldexp(1.0, e - 8), lo = ulp ? floor(v / ulp) * ulp : v, hi = lo + ulp;
				double want = !ulp || v - lo < hi - v ? lo : v - lo > hi - v ? hi :
					      fmod(fabs(lo / ulp), 2) == 0 ? lo : hi;
				bad |= got != (float)want;
			}
		CHECK(!bad, "%s: round_bf16 is not to the nearest bf16, ties to even", o->name);
		CHECK(y[0] == 1.0f && y[1] == 1.0f + 1.0f / 64 && isinf(y[3]) && y[4] < INFINITY, "%s: ties and edges",
		      o->name);
		free(x), free(y);
	}
}

/* ModernBERT's norms and activations without a bias: a NULL bias is a zero bias, bit for bit. */
TEST(no_bias_is_a_zero_bias)
{
	for (int k = 0; k < nbuilds; k++) {
		const struct simd_ops *o = builds[k];
		size_t C = 37;
		float *x = randn(C, 2), *w = randn(C, 1), *zero = calloc(C, 4), y1[37], y2[37], m1, r1, m2, r2;
		float f1[37], f2[37], g1[37], g2[37];
		o->residual_layernorm(y1, NULL, &m1, &r1, x, NULL, NULL, 0, NULL, w, NULL, C, 1e-5f);
		o->residual_layernorm(y2, NULL, &m2, &r2, x, NULL, NULL, 0, NULL, w, zero, C, 1e-5f);
		CHECK(!memcmp(y1, y2, sizeof y1), "%s: LayerNorm without a bias", o->name);
		memcpy(f1, x, sizeof f1);
		memcpy(f2, x, sizeof f2);
		o->bias_gelu(g1, f1, NULL, C);
		o->bias_gelu(g2, f2, zero, C);
		CHECK(!memcmp(g1, g2, sizeof g1) && !memcmp(f1, f2, sizeof f1), "%s: GELU without a bias", o->name);
		free(x), free(w), free(zero);
	}
}

int main(void)
{
	rng_seed(&rng, 42);
	builds[nbuilds++] = &simd_base;
#if defined(__x86_64__)
	if (cpu_info()->avx2)
		builds[nbuilds++] = &simd_avx2;
	else
		check_skip("the avx2 build", "this processor has no AVX2 and FMA");
	if (cpu_info()->avx512)
		builds[nbuilds++] = &simd_avx512;
	else
		check_skip("the avx512 build", "this processor has no AVX-512");
#endif
	RUN(gelu_forward_and_backward_match_double_precision);
	RUN(softmax_rows_match_double_precision);
	RUN(residual_layernorm_matches_double_precision);
	RUN(scores_and_combine_match_double_precision);
	RUN(adamw_and_sum_squares_match_the_formula);
	RUN(a_row_gives_the_same_bits_wherever_it_lies);
	RUN(geglu_forward_and_backward_match_double_precision);
	RUN(rotary_matches_double_precision_and_its_inverse_turns_back);
	RUN(no_bias_is_a_zero_bias);
	RUN(round_bf16_is_to_nearest_even);
	return check_done();
}
