#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>

/* The state the OS saves (XCR0): bits 1-2 SSE and AVX (ymm), 5-7 the AVX-512 mask and zmm, 17-18
 * AMX's tile configuration and data. */
static unsigned long long xcr0(void)
{
	unsigned int lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

static void read_x86(struct cpu_info *c)
{
	unsigned int a, b, cx, d, top = __get_cpuid_max(0, NULL);
	__cpuid(0, a, b, cx, d);
	memcpy(c->vendor, &b, 4), memcpy(c->vendor + 4, &d, 4), memcpy(c->vendor + 8, &cx, 4);
	__cpuid(1, a, b, cx, d);
	int base = (a >> 8) & 15, ext = (a >> 20) & 255, model = (a >> 4) & 15, xmodel = (a >> 16) & 15;
	c->family = base == 15 ? base + ext : base;
	c->model = base == 6 || base == 15 ? (xmodel << 4) | model : model;
	int fma = (cx >> 12) & 1, osxsave = (cx >> 27) & 1;
	unsigned long long os = osxsave ? xcr0() : 0;
	int ymm = (os & 6) == 6, zmm = (os & 0xe6) == 0xe6;
	if (top >= 7) {
		__cpuid_count(7, 0, a, b, cx, d);
		c->avx2 = ymm && fma && (b >> 5 & 1);
		/* F (16), DQ (17), CD (28), BW (30), VL (31) */
		c->avx512 = zmm && c->avx2 && (b & 0xd0030000u) == 0xd0030000u;
		/* AMX-BF16 (22) and AMX-TILE (24), with the tile state (XCR0 bits 17-18) */
		c->amx_bf16 = c->avx512 && (d >> 22 & 1) && (d >> 24 & 1) && (os & 0x60000) == 0x60000;
		__cpuid_count(7, 1, a, b, cx, d);
		c->avx512_bf16 = c->avx512 && (a >> 5 & 1);
	}
	c->split512 = c->avx512 && !strcmp(c->vendor, "AuthenticAMD") && c->family == 25;
	unsigned int brand[12] = { 0 };
	if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004)
		for (unsigned int i = 0; i < 3; i++)
			__cpuid(0x80000002 + i, brand[4 * i], brand[4 * i + 1], brand[4 * i + 2], brand[4 * i + 3]);
	memcpy(c->name, brand, 48);
	snprintf(c->family_model, sizeof c->family_model, "family %d model %d", c->family, c->model);
}
#endif

static struct cpu_info info;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The brand string without its padding spaces, "unknown" when there is none. */
static void tidy_name(char *s)
{
	size_t n = strlen(s), lead = strspn(s, " ");
	memmove(s, s + lead, n - lead + 1);
	for (n = strlen(s); n > 0 && s[n - 1] == ' '; n--)
		s[n - 1] = 0;
	if (!*s)
		strcpy(s, "unknown");
}

static void read_cpu(void)
{
#if defined(__x86_64__)
	read_x86(&info);
#endif
	tidy_name(info.name);
}

const struct cpu_info *cpu_info(void)
{
	pthread_once(&once, read_cpu);
	return &info;
}

/* Whether the comma-separated list holds word. */
static int listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

/* Where the CPU controller's hierarchy is mounted (point) and which of its folders is the
 * mount's root, from mountinfo's lines "ID PARENT MAJ:MIN ROOT POINT OPTIONS... - TYPE SOURCE
 * SUPER": v1's "cgroup" with "cpu" among its super options, else v2's "cgroup2" (*v1 says
 * which). 0 when neither is mounted. */
static int cgroup_mount(const char *mountinfo, char root[PATH_MAX], char point[PATH_MAX], int *v1)
{
	FILE *f = fopen(mountinfo, "r");
	char line[4096], r[1024], p[1024], type[64], super[1024];
	int found = 0;
	if (!f)
		return 0;
	while (!(found && *v1) && fgets(line, sizeof line, f)) {
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", r, p) != 2 ||
		    sscanf(dash, " - %63s %*s %1023s", type, super) != 2)
			continue;
		int cpu_v1 = !strcmp(type, "cgroup") && listed(super, "cpu");
		if (cpu_v1 || (!found && !strcmp(type, "cgroup2"))) {
			snprintf(root, PATH_MAX, "%s", r);
			snprintf(point, PATH_MAX, "%s", p);
			*v1 = cpu_v1;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* The process's folder in that hierarchy, from the lines "ID:CONTROLLERS:PATH" of its cgroup
 * file: v1's line whose controllers hold "cpu", v2's "0::". */
static int cgroup_path(const char *cgroup, int v1, char path[PATH_MAX])
{
	FILE *f = fopen(cgroup, "r");
	char line[4096];
	int found = 0;
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*a = *b = 0;
		b[1 + strcspn(b + 1, "\n")] = 0;
		if (v1 ? listed(a + 1, "cpu") : !strcmp(line, "0") && !a[1]) {
			snprintf(path, PATH_MAX, "%s", b + 1);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* The quota of one folder in CPUs (quota / period), or 0 when it sets none. */
static double folder_quota(const char *dir, int v1)
{
	char name[2 * PATH_MAX + 32];
	double quota = -1, period = 0;
	char word[32];
	FILE *f;
	snprintf(name, sizeof name, "%s/%s", dir, v1 ? "cpu.cfs_quota_us" : "cpu.max");
	if ((f = fopen(name, "r"))) {
		if (fscanf(f, "%31s %lf", word, &period) >= 1 && strcmp(word, "max"))
			quota = atof(word);
		fclose(f);
	}
	if (v1) {
		snprintf(name, sizeof name, "%s/cpu.cfs_period_us", dir);
		if ((f = fopen(name, "r"))) {
			if (fscanf(f, "%lf", &period) != 1)
				period = 0;
			fclose(f);
		}
	}
	return quota > 0 && period > 0 ? quota / period : 0;
}

int cpu_cgroup_limit(const char *mountinfo, const char *cgroup)
{
	char root[PATH_MAX], point[PATH_MAX], path[PATH_MAX], dir[2 * PATH_MAX];
	int v1 = 0;
	if (!cgroup_mount(mountinfo ? mountinfo : "/proc/self/mountinfo", root, point, &v1) ||
	    !cgroup_path(cgroup ? cgroup : "/proc/self/cgroup", v1, path))
		return 0;
	size_t rl = strlen(root);
	const char *rel = strcmp(root, "/") && !strncmp(path, root, rl) ? path + rl : path;
	snprintf(dir, sizeof dir, "%s%s", point, strcmp(rel, "/") ? rel : "");
	double least = 0;
	for (;;) {
		double q = folder_quota(dir, v1);
		least = q > 0 && (least == 0 || q < least) ? q : least;
		char *slash = strrchr(dir, '/');
		if (strlen(dir) <= strlen(point) || !slash)
			break;
		*slash = 0;
	}
	return least > 0 ? (int)(least + 0.999999) : 0;
}

int cpu_usable(void)
{
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
	if (n < 1) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		n = online > 0 ? (int)online : 1;
	}
	int quota = cpu_cgroup_limit(NULL, NULL);
	return quota > 0 && quota < n ? quota : n;
}
