#include <blis.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "cpu.h"
#include "err.h"
#include "gemm.h"
#include "gemm_ukr.h"

static int nthreads = 1;
static double total_seconds, total_flops; /* gemm() is called from one thread only */

void gemm_totals(double *s, double *f)
{
	*s = total_seconds;
	*f = total_flops;
}

void threads_set(int n)
{
	nthreads = n < 1 ? 1 : n;
	omp_set_num_threads(nthreads);
}

int threads_get(void)
{
	return nthreads;
}

/* A way to compute the products: BLIS's context, with one of elsa's micro-kernels registered in
 * it (ukr; its packing rounding the inputs to bf16 when rounded) or BLIS's own (ukr NULL); the
 * micro-tile as C's rows and columns, the steps in which the threads split C; and its name. */
struct engine {
	const struct gemm_ukr *ukr;
	int rounded;
	cntx_t cntx;
	size_t row_step, col_step;
	char name[32];
};

/* The float products' engine and the bf16 products' (set up when first asked for), the one in
 * use, and BLIS's configuration. */
static struct {
	struct engine f32, bf16;
	const struct engine *use;
	const struct gemm_ukr *bf16_kernel; /* the bf16 kernel ELSA_GEMM or gemm_use named, or NULL */
	const char *blis_config;
	int ready, bf16_ready;
} K;

/* The BLIS configuration elsa asks for, before BLIS starts, when the user has not chosen one
 * (BLIS_ARCH_TYPE): BLIS 0.9 takes Intel's AVX-512 servers it does not know by model number
 * for AVX2 ones (haswell), and AMD's Zen 5 (family 26) for nothing it knows (generic, its
 * reference C kernel). skx (BLIS's AVX-512 configuration, 0) where the processor has
 * full-width AVX-512 FMAs; haswell (3) on an AVX2 processor other than Intel's and AMD's Zen
 * 1-4 (families 23 and 25), which BLIS knows; else BLIS's own choice. The variable is set only
 * while BLIS starts, so that the tools this one runs choose for themselves. */
static void blis_start(void)
{
	const struct cpu_info *c = cpu_info();
	const char *want = NULL, *user = getenv("BLIS_ARCH_TYPE");
	int amd_known = !strcmp(c->vendor, "AuthenticAMD") && (c->family == 23 || c->family == 25);
	if (!(user && *user)) {
		if (c->avx512 && !c->split512)
			want = "0";
		else if (c->avx2 && strcmp(c->vendor, "GenuineIntel") && !amd_known)
			want = "3";
	}
	if (want)
		setenv("BLIS_ARCH_TYPE", want, 1);
	bli_init();
	if (want)
		unsetenv("BLIS_ARCH_TYPE");
	K.blis_config = bli_arch_string(bli_arch_query_id());
}

/* Which kernel runs the products when ELSA_GEMM does not choose (measured: README, elsa(7)
 * SPEED): elsa's avx512 on processors with full-width AVX-512 FMAs, where it runs BERT's shapes
 * faster than BLIS's skx kernel; elsa's avx2 on AVX2 processors where BLIS's configuration has
 * no AVX2 kernel (generic); BLIS's own everywhere else (its zen3 assembly on AMD Zen 3 and 4,
 * haswell on Intel's AVX2 parts), and always when the user chose BLIS's configuration. */
static const char *default_kernel(void)
{
	const struct cpu_info *c = cpu_info();
	const char *user = getenv("BLIS_ARCH_TYPE");
	if (user && *user)
		return "blis";
	if (c->avx512 && !c->split512)
		return "avx512";
	if (c->avx2 && !strcmp(K.blis_config, "generic"))
		return "avx2";
	return "blis";
}

/* A float block size of ctx set to def (max: the largest it may stretch to), the other types'
 * kept. */
static blksz_t block(bszid_t id, dim_t def, dim_t max, cntx_t *ctx)
{
	blksz_t b = *bli_cntx_get_blksz(id, ctx);
	bli_blksz_set_def(def, BLIS_FLOAT, &b);
	bli_blksz_set_max(max, BLIS_FLOAT, &b);
	return b;
}

/* BLIS's context with elsa's kernel u in it: the micro-kernel (column-preferring), its block
 * sizes and its packing kernels (BLIS looks them up by panel size), those rounding to bf16 when
 * rounded. */
static void register_ukr(const struct gemm_ukr *u, int rounded, cntx_t *ctx)
{
	blksz_t mr = block(BLIS_MR, u->mr, u->mr, ctx), nr = block(BLIS_NR, u->nr, u->nr, ctx);
	blksz_t mc = block(BLIS_MC, u->mc, u->mc, ctx), nc = block(BLIS_NC, u->nc, u->nc, ctx);
	blksz_t kc = block(BLIS_KC, u->kc, u->kc * 5 / 4, ctx); /* a short last block joins the one before */
	blksz_t kr = block(BLIS_KR, u->kr ? u->kr : 1, u->kr ? u->kr : 1, ctx); /* the panels' k padded to it */
	bli_cntx_set_l3_nat_ukrs(1, BLIS_GEMM_UKR, BLIS_FLOAT, (void_fp)u->kernel, FALSE, ctx);
	bli_cntx_set_blkszs(BLIS_NAT, 6, BLIS_NC, &nc, BLIS_NR, BLIS_KC, &kc, BLIS_KR, BLIS_MC, &mc, BLIS_MR,
			    BLIS_NR, &nr, BLIS_NR, BLIS_MR, &mr, BLIS_MR, BLIS_KR, &kr, BLIS_KR, ctx);
	bli_cntx_set_packm_kers(2, (l1mkr_t)u->mr, BLIS_FLOAT, (void_fp)(rounded ? u->pack_a_bf16 : u->pack_a),
				(l1mkr_t)u->nr, BLIS_FLOAT, (void_fp)(rounded ? u->pack_b_bf16 : u->pack_b), ctx);
}

/* e set up on elsa's kernel u (NULL: BLIS's own), its inputs rounded to bf16 when rounded. */
static void engine_set(struct engine *e, const struct gemm_ukr *u, int rounded)
{
	e->ukr = u;
	e->rounded = rounded;
	e->cntx = *bli_gks_query_cntx();
	if (u) {
		register_ukr(u, rounded, &e->cntx);
		e->row_step = (size_t)u->nr, e->col_step = (size_t)u->mr;
		snprintf(e->name, sizeof e->name, "%s%s", u->name, rounded ? " (bf16 emulated)" : "");
	} else { /* BLIS's own: its tile, as C's rows and columns by the storage it prefers */
		size_t mr = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, &e->cntx);
		size_t nr = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, &e->cntx);
		int rows = bli_cntx_l3_vir_ukr_prefers_rows_dt(BLIS_FLOAT, BLIS_GEMM_UKR, &e->cntx);
		e->row_step = rows ? mr : nr, e->col_step = rows ? nr : mr;
		snprintf(e->name, sizeof e->name, "blis");
	}
}

/* Linux keeps AMX's tile data off until a process asks for it (arch_prctl
 * ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): 1 when granted, asked once. */
static int amx_granted(void)
{
	static int granted = -1;
#if defined(__x86_64__) && defined(SYS_arch_prctl)
	if (granted < 0)
		granted = cpu_info()->amx_bf16 && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#endif
	return granted > 0;
}

/* elsa's kernels by name (ELSA_GEMM's): the float ones, and the bf16 ones (which the float
 * products leave to elsa's avx512). */
static const struct gemm_ukr *kernel_named(const char *name)
{
#if defined(__x86_64__)
	static const struct gemm_ukr *const all[] = { &gemm_ukr_avx2, &gemm_ukr_avx512, &gemm_ukr_avx512bf16, &gemm_ukr_amx };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		if (!strcmp(name, all[i]->name))
			return all[i];
#endif
	(void)name;
	return NULL;
}

/* Whether this processor can run kernel `name`; 0, or E_ARG saying what it lacks. */
static int runnable(const char *name, const char *source)
{
	const struct cpu_info *c = cpu_info();
	if (strcmp(name, "blis") && !kernel_named(name))
		return err_set(E_ARG, "%s: '%s' is not blis, avx2, avx512, avx512bf16 or amx", source, name);
	int ok = !strcmp(name, "blis") || (!strcmp(name, "avx2") && c->avx2) || (!strcmp(name, "avx512") && c->avx512) ||
		 (!strcmp(name, "avx512bf16") && c->avx512_bf16) || (!strcmp(name, "amx") && amx_granted());
	if (!ok)
		return err_set(E_ARG, "%s: %s: this processor (%s, %s) cannot run it", source, name, c->name,
			       c->family_model);
	return 0;
}

static pthread_once_t started = PTHREAD_ONCE_INIT;

int gemm_use(const char *name)
{
	pthread_once(&started, blis_start);
	const char *source = name ? "gemm kernel" : "ELSA_GEMM";
	if (!name) {
		const char *env = getenv("ELSA_GEMM");
		name = env && *env ? env : default_kernel();
	}
	int rc = runnable(name, source);
	if (rc < 0)
		return rc;
	const struct gemm_ukr *u = kernel_named(name);
	K.bf16_kernel = u && u->pack_a_bf16 ? NULL : u; /* a bf16 kernel: for the bf16 products */
#if defined(__x86_64__)
	if (K.bf16_kernel)
		u = &gemm_ukr_avx512;
#endif
	engine_set(&K.f32, u, 0);
	K.use = &K.f32;
	K.ready = 1;
	K.bf16_ready = 0;
	return 0;
}

int gemm_init(void)
{
	return gemm_use(NULL);
}

/* The bf16 products' engine: the bf16 kernel ELSA_GEMM names (amx, avx512bf16); else, when it
 * names a float kernel of elsa's (avx2, avx512), that kernel emulating them, its packing rounding
 * the inputs to bf16 (the same products, summed in another order); else the best this processor
 * has: AMX's tiles (Intel's Xeons from Sapphire Rapids on: their AVX512_BF16 runs at half the
 * float FMA rate, AMX's at eight to sixteen times it), AVX512_BF16 (AMD's Zen 4 and 5: twice the
 * float rate), or the emulation. E_ARG without AVX2. */
static int bf16_start(void)
{
	const struct cpu_info *c = cpu_info();
	const struct gemm_ukr *u = K.f32.ukr, *kernel = K.bf16_kernel;
	if (!c->avx2)
		return err_set(E_ARG, "bf16 products need AVX512_BF16, AMX, or AVX2 and FMA to emulate them: this processor "
				      "(%s, %s) has none", c->name, c->family_model);
#if defined(__x86_64__)
	const char *forced = getenv("ELSA_GEMM");
	if (!kernel && !(forced && *forced && u))
		kernel = amx_granted() ? &gemm_ukr_amx : c->avx512_bf16 ? &gemm_ukr_avx512bf16 : NULL;
	if (kernel)
		engine_set(&K.bf16, kernel, 0);
	else
		engine_set(&K.bf16, u ? u : c->avx512 ? &gemm_ukr_avx512 : &gemm_ukr_avx2, 1);
#endif
	K.bf16_ready = 1;
	return 0;
}

int gemm_compute(int bf16)
{
	if (!K.ready && gemm_init() < 0)
		return err_code();
	if (bf16 && !K.bf16_ready && bf16_start() < 0)
		return err_code();
	K.use = bf16 ? &K.bf16 : &K.f32;
	return 0;
}

int gemm_compute_parse(const char *name)
{
	return !name ? -1 : !strcmp(name, "f32") ? 0 : !strcmp(name, "bf16") ? 1 : -1;
}

const char *gemm_compute_name(int bf16)
{
	return bf16 ? "bf16" : "f32";
}

int gemm_bf16(void)
{
	return K.ready && K.use == &K.bf16;
}

const char *gemm_kernel(void)
{
	if (!K.ready)
		gemm_init();
	return K.use->name;
}

const char *gemm_blis_config(void)
{
	pthread_once(&started, blis_start);
	return K.blis_config;
}

/* One product through BLIS on the calling thread. */
static void blis(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
		 const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;
	bli_rntm_set_num_threads(1, &rntm);
	/* BLIS's small-matrix ("sup") path is slower at elsa's shapes (it chose a 33 GFLOP/s kernel
	 * for 400 x 3072 x 768 where the packed path runs at 71), and keeping one path makes each
	 * output element's sum independent of the batch it is in. */
	bli_rntm_disable_l3_sup(&rntm);
	if (m == 0 || n == 0)
		return;
	bli_sgemm_ex(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		     (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (float *)A, (inc_t)lda, 1, (float *)B, (inc_t)ldb, 1,
		     &beta, C, (inc_t)ldc, 1, (cntx_t *)&K.use->cntx, &rntm);
}

/* [lo, hi) of part t of `parts` over n, in steps of `step`. */
static void part(size_t n, int parts, int t, size_t step, size_t *lo, size_t *hi)
{
	size_t steps = (n + step - 1) / step, each = steps / (size_t)parts, extra = steps % (size_t)parts;
	size_t a = (size_t)t * each + ((size_t)t < extra ? (size_t)t : extra);
	size_t b = a + each + ((size_t)t < extra);
	*lo = a * step < n ? a * step : n;
	*hi = b * step < n ? b * step : n;
}

void gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
	  const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	if (!K.ready && gemm_init() < 0)
		gemm_use("blis"); /* a tool checks ELSA_GEMM first (cli_compute); a test may not */
	double t0 = now_seconds(), work = (double)m * (double)n * (double)k;
	/* The threads split C into blocks of rows (when it is taller than wide) or of columns,
	 * each a product of its own on one thread: no thread waits for another inside BLIS (its
	 * barriers spin, which collapses when another job holds a core). The blocks are whole
	 * micro-tiles of the kernel, so that each element's sum runs in the same order whatever the
	 * thread count. Under 2 MFLOP, one thread. */
	int parts = work < (1 << 20) ? 1 : nthreads, by_rows = m >= n;
	#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
	for (int t = 0; t < parts; t++) {
		size_t lo, hi;
		if (by_rows) {
			part(m, parts, t, K.use->row_step, &lo, &hi);
			blis(ta, tb, hi - lo, n, k, alpha, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
		} else {
			part(n, parts, t, K.use->col_step, &lo, &hi);
			blis(ta, tb, m, hi - lo, k, alpha, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
		}
	}
	total_seconds += now_seconds() - t0;
	total_flops += 2.0 * work;
}

void gemm_naive(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
		const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			double s = 0;
			for (size_t p = 0; p < k; p++)
				s += (double)(ta ? A[p * lda + i] : A[i * lda + p]) *
				     (double)(tb ? B[j * ldb + p] : B[p * ldb + j]);
			float *c = &C[i * ldc + j];
			*c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
		}
}
