/* simd_kernels.h: the bodies of simd.h's kernels, included once by each build (simd_base.c,
 * simd_avx2.c, simd_avx512.c) after it defines SIMD_OPS (the table's name), SIMD_NAME, W (the
 * lanes of the vector vf: 8, or 16 for AVX-512), and SIMD_ERF(v), SIMD_EXP(v), SIMD_SQRT(v) over
 * vf. Not a public header.
 *
 * Every loop walks W floats at a time; a row's last partial vector is loaded zero-padded (or
 * -inf-padded for a maximum) and stored in part, so each element goes through the same
 * arithmetic wherever it lies. Horizontal sums add neighbouring lanes pairwise, so the 8-lane
 * builds sum in the same order. */
#include <math.h>
#include <string.h>

#include "simd.h"

typedef float vf __attribute__((vector_size(4 * W)));
typedef float vfh __attribute__((vector_size(2 * W))); /* half of vf */
typedef double vd __attribute__((vector_size(4 * W))); /* W / 2 doubles */
typedef int vi __attribute__((vector_size(4 * W)));
typedef unsigned vu __attribute__((vector_size(4 * W)));

/* k (1..W) floats from p into a vector whose other lanes are pad; and back. */
static inline vf vload(const float *p)
{
	vf v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline vf vsplat(float x)
{
	vf v;
	for (int l = 0; l < W; l++)
		v[l] = x;
	return v;
}

static inline vf vget(const float *p, size_t k, float pad)
{
	if (k >= W)
		return vload(p);
	vf v = vsplat(pad);
	for (size_t l = 0; l < k; l++)
		v[l] = p[l];
	return v;
}

static inline void vput(float *p, vf v, size_t k)
{
	if (k >= W) {
		memcpy(p, &v, sizeof v);
		return;
	}
	for (size_t l = 0; l < k; l++)
		p[l] = v[l];
}

static inline vfh vlo(vf v)
{
	vfh h;
	memcpy(&h, &v, sizeof h);
	return h;
}

static inline vfh vhi(vf v)
{
	vfh h;
	memcpy(&h, (const char *)&v + sizeof h, sizeof h);
	return h;
}

static inline vf vjoin(vfh lo, vfh hi)
{
	vf v;
	memcpy(&v, &lo, sizeof lo);
	memcpy((char *)&v + sizeof lo, &hi, sizeof hi);
	return v;
}

static inline vf vmax(vf a, vf b)
{
	vi m = a > b;
	return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* f on each lane of v (the scalar build's erf, exp and sqrt). */
static inline vf vmap(float (*f)(float), vf v)
{
	for (int l = 0; l < W; l++)
		v[l] = f(v[l]);
	return v;
}

/* Horizontal sums in a fixed order: neighbouring lanes pairwise, ((v0 + v1) + (v2 + v3)) + ... */
static inline float vsum(vf v)
{
	float x[W];
	memcpy(x, &v, sizeof x);
	for (int n = W / 2; n > 0; n /= 2)
		for (int l = 0; l < n; l++)
			x[l] = x[2 * l] + x[2 * l + 1];
	return x[0];
}

static inline double vdsum(vd v)
{
	double x[W / 2];
	memcpy(x, &v, sizeof x);
	for (int n = W / 4; n > 0; n /= 2)
		for (int l = 0; l < n; l++)
			x[l] = x[2 * l] + x[2 * l + 1];
	return x[0];
}

/* Adds the lanes of v (as doubles) into acc[0..1]; and the squares, into sq. */
static inline void vwiden_add(vd acc[2], vf v)
{
	acc[0] += __builtin_convertvector(vlo(v), vd);
	acc[1] += __builtin_convertvector(vhi(v), vd);
}

static inline void vwiden_add_squares(vd acc[2], vf v)
{
	vd lo = __builtin_convertvector(vlo(v), vd), hi = __builtin_convertvector(vhi(v), vd);
	acc[0] += lo * lo;
	acc[1] += hi * hi;
}

static inline vf gelu(vf x)
{
	return 0.5f * x * (1.0f + SIMD_ERF(x * (float)M_SQRT1_2));
}

static void op_bias_gelu(float *g, float *f, const float *bias, size_t C)
{
	for (size_t c = 0; c < C; c += W) {
		size_t k = C - c;
		vf x = vget(f + c, k, 0);
		if (bias)
			x += vget(bias + c, k, 0);
		vput(f + c, x, k);
		vput(g + c, gelu(x), k);
	}
}

static void op_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	const float inv_sqrt_2pi = 0.3989422804014327f;
	for (size_t i = 0; i < n; i += W) {
		size_t k = n - i;
		vf x = vget(inp + i, k, 0), dy = vget(dout + i, k, 0);
		vf cdf = 0.5f * (1.0f + SIMD_ERF(x * (float)M_SQRT1_2)), pdf = inv_sqrt_2pi * SIMD_EXP(-0.5f * x * x);
		vput(dinp + i, dy * (cdf + x * pdf), k);
	}
}

static void op_residual_layernorm(float *y, float *r, float *mean, float *rstd, const float *inp, const float *bias,
			       const struct mask *mk, size_t offset, const float *res, const float *w, const float *b,
			       size_t C, float eps)
{
	vd s[2] = { 0 }, ss[2] = { 0 };
	for (size_t c = 0; c < C; c += W) {
		size_t k = C - c;
		vf v = vget(inp + c, k, 0);
		if (bias)
			v += vget(bias + c, k, 0);
		if (mk) {
			vf keep;
			for (int l = 0; l < W; l++)
				keep[l] = mask_keep(mk, offset + c + (size_t)l) ? mk->scale : 0.0f;
			v *= keep;
		}
		if (res)
			v += vget(res + c, k, 0);
		if (r)
			vput(r + c, v, k);
		vwiden_add(s, v);
	}
	const float *x = r ? r : inp;
	float m = (float)((vdsum(s[0]) + vdsum(s[1])) / (double)C);
	for (size_t c = 0; c < C; c += W) {
		size_t k = C - c;
		vf d = vget(x + c, k, m) - m; /* padding lanes give 0 */
		vwiden_add_squares(ss, d);
	}
	float rs = 1.0f / sqrtf((float)((vdsum(ss[0]) + vdsum(ss[1])) / (double)C) + eps);
	for (size_t c = 0; c < C; c += W) {
		size_t k = C - c;
		vf v = (vget(x + c, k, 0) - m) * rs * vget(w + c, k, 0);
		vput(y + c, b ? v + vget(b + c, k, 0) : v, k);
	}
	*mean = m;
	*rstd = rs;
}

static void op_softmax_rows(float *x, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++, x += C) {
		vf mx = vsplat(-INFINITY), s = vsplat(0);
		for (size_t c = 0; c < C; c += W)
			mx = vmax(mx, vget(x + c, C - c, -INFINITY));
		float m = mx[0];
		for (int l = 1; l < W; l++)
			m = mx[l] > m ? mx[l] : m;
		for (size_t c = 0; c < C; c += W) {
			vf e = SIMD_EXP(vget(x + c, C - c, -INFINITY) - m); /* padding: exp(-inf) = 0 */
			vput(x + c, e, C - c);
			s += e;
		}
		float inv = 1.0f / vsum(s);
		for (size_t c = 0; c < C; c += W)
			vput(x + c, vget(x + c, C - c, 0) * inv, C - c);
	}
}

static void op_scores(float *S, const float *A, size_t lda, const float *B, size_t ldb, size_t L1, size_t L2, size_t D,
		   float alpha, float *Bt)
{
	size_t L2p = (L2 + W - 1) / W * W;
	/* Bt [D, L2p] = B^T, zero-padded: each output vector then sums D broadcasts times loads. */
	for (size_t d = 0; d < D; d++) {
		for (size_t j = 0; j < L2; j++)
			Bt[d * L2p + j] = B[j * ldb + d];
		for (size_t j = L2; j < L2p; j++)
			Bt[d * L2p + j] = 0;
	}
	for (size_t i = 0; i < L1; i++) {
		const float *a = A + i * lda;
		float *s = S + i * L2;
		size_t j = 0;
		for (; j + 4 * W <= L2p; j += 4 * W) { /* four vectors of the row at once */
			vf c0 = vsplat(0), c1 = c0, c2 = c0, c3 = c0;
			for (size_t d = 0; d < D; d++) {
				vf ad = vsplat(a[d]);
				const float *bt = Bt + d * L2p + j;
				c0 += ad * vload(bt);
				c1 += ad * vload(bt + W);
				c2 += ad * vload(bt + 2 * W);
				c3 += ad * vload(bt + 3 * W);
			}
			vput(s + j, c0 * alpha, L2 - j);
			vput(s + j + W, c1 * alpha, L2 - j - W);
			vput(s + j + 2 * W, c2 * alpha, L2 - j - 2 * W);
			vput(s + j + 3 * W, c3 * alpha, L2 - j - 3 * W);
		}
		for (; j < L2p; j += W) {
			vf c0 = vsplat(0);
			for (size_t d = 0; d < D; d++)
				c0 += vsplat(a[d]) * vload(Bt + d * L2p + j);
			vput(s + j, c0 * alpha, L2 - j);
		}
	}
}

#define HEAD 64

static void op_combine(float *out, size_t ldo, const float *P, const float *R, size_t ldr, size_t L1, size_t L2,
		    size_t D, float alpha)
{
	for (size_t i = 0; i < L1; i++) {
		const float *p = P + i * L2;
		float *o = out + i * ldo;
		size_t d = 0;
		for (; d + HEAD <= D; d += HEAD) { /* a head of 64 in 64 / W accumulators */
			vf c[HEAD / W];
			for (int v = 0; v < HEAD / W; v++)
				c[v] = vsplat(0);
			for (size_t j = 0; j < L2; j++) {
				vf pj = vsplat(p[j]);
				const float *r = R + j * ldr + d;
#pragma GCC unroll 8
				for (int v = 0; v < HEAD / W; v++)
					c[v] += pj * vload(r + v * W);
			}
#pragma GCC unroll 8
			for (int v = 0; v < HEAD / W; v++)
				vput(o + d + v * W, c[v] * alpha, W);
		}
		for (; d < D; d += W) {
			vf c0 = vsplat(0);
			for (size_t j = 0; j < L2; j++)
				c0 += vsplat(p[j]) * vget(R + j * ldr + d, D - d, 0);
			vput(o + d, c0 * alpha, D - d);
		}
	}
}

static void op_add_rows(float *x, size_t ld, const float *v, size_t L, size_t D)
{
	for (size_t i = 0; i < L; i++)
		for (size_t d = 0; d < D; d += W)
			vput(x + i * ld + d, vget(x + i * ld + d, D - d, 0) + vget(v + d, D - d, 0), D - d);
}

static void op_adamw(float *w, float *m, float *v, const float *g, size_t n, const struct adamw_coef *k)
{
	for (size_t i = 0; i < n; i += W) {
		size_t r = n - i;
		vf gr = vget(g + i, r, 0) * k->gscale;
		vf wi = vget(w + i, r, 0) * k->decay;
		vf mi = vget(m + i, r, 0) * k->b1 + gr * (1.0f - k->b1);
		vf vv = vget(v + i, r, 0) * k->b2 + gr * gr * (1.0f - k->b2);
		wi -= k->step_size * (mi / (SIMD_SQRT(vv) / k->bc2_sqrt + k->eps));
		vput(w + i, wi, r);
		vput(m + i, mi, r);
		vput(v + i, vv, r);
	}
}

static double op_sum_squares(const float *x, size_t n)
{
	vd acc[2] = { 0 };
	for (size_t i = 0; i < n; i += W)
		vwiden_add_squares(acc, vget(x + i, n - i, 0));
	return vdsum(acc[0]) + vdsum(acc[1]);
}

/* The dropout mask's lanes at elements offset..offset + W - 1: the scale where kept, else 0. */
static inline vf vkeep(const struct mask *mk, size_t offset)
{
	vf keep;
	for (int l = 0; l < W; l++)
		keep[l] = mask_keep(mk, offset + (size_t)l) ? mk->scale : 0.0f;
	return keep;
}

static void op_geglu(float *g, float *f, const float *bias, const struct mask *mk, size_t offset, size_t I)
{
	for (size_t i = 0; i < I; i += W) {
		size_t k = I - i;
		vf a = vget(f + i, k, 0), gate = vget(f + I + i, k, 0);
		if (bias) {
			a += vget(bias + i, k, 0);
			gate += vget(bias + I + i, k, 0);
			vput(f + i, a, k);
			vput(f + I + i, gate, k);
		}
		vf v = gelu(a) * gate;
		vput(g + i, mk ? v * vkeep(mk, offset + i) : v, k);
	}
}

static void op_geglu_backward(float *df, const float *dg, const float *f, const struct mask *mk, size_t offset, size_t I)
{
	const float inv_sqrt_2pi = 0.3989422804014327f;
	for (size_t i = 0; i < I; i += W) {
		size_t k = I - i;
		vf a = vget(f + i, k, 0), gate = vget(f + I + i, k, 0), d = vget(dg + i, k, 0);
		if (mk)
			d *= vkeep(mk, offset + i);
		vf cdf = 0.5f * (1.0f + SIMD_ERF(a * (float)M_SQRT1_2)), pdf = inv_sqrt_2pi * SIMD_EXP(-0.5f * a * a);
		vput(df + i, d * gate * (cdf + a * pdf), k);
		vput(df + I + i, d * (a * cdf), k);
	}
}

static void op_rotary(float *x, size_t ld, const float *cos, const float *sin, size_t L, size_t half, int inverse)
{
	for (size_t r = 0; r < L; r++) {
		float *x1 = x + r * ld, *x2 = x1 + half;
		const float *c = cos + r * half, *s = sin + r * half;
		for (size_t i = 0; i < half; i += W) {
			size_t k = half - i;
			vf a = vget(x1 + i, k, 0), b = vget(x2 + i, k, 0), cv = vget(c + i, k, 0), sv = vget(s + i, k, 0);
			if (inverse)
				sv = -sv;
			vput(x1 + i, a * cv - b * sv, k);
			vput(x2 + i, b * cv + a * sv, k);
		}
	}
}

static void op_round_bf16(float *x, size_t ld, size_t L, size_t D)
{
	for (size_t r = 0; r < L; r++)
		for (size_t i = 0; i < D; i += W) {
			vf v = vget(x + r * ld + i, D - i, 0);
			vu u = (vu)v, nan = (vu)(v != v);
			vu up = u + 0x7fffu + ((u >> 16) & 1u);
			vu out = ((nan & (u | 0x00400000u)) | (~nan & up)) & 0xffff0000u;
			vput(x + r * ld + i, (vf)out, D - i);
		}
}

const struct simd_ops SIMD_OPS = {
	.name = SIMD_NAME,
	.bias_gelu = op_bias_gelu,
	.gelu_backward = op_gelu_backward,
	.residual_layernorm = op_residual_layernorm,
	.softmax_rows = op_softmax_rows,
	.scores = op_scores,
	.combine = op_combine,
	.add_rows = op_add_rows,
	.adamw = op_adamw,
	.sum_squares = op_sum_squares,
	.geglu = op_geglu,
	.geglu_backward = op_geglu_backward,
	.rotary = op_rotary,
	.round_bf16 = op_round_bf16,
};
