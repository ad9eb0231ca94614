#include <stdio.h>

#include "cpu.h"
#include "gemm.h"
#include "machine.h"
#include "simd.h"

void machine_get(struct machine *m)
{
	const struct cpu_info *c = cpu_info();
	*m = (struct machine){ c->name, c->family_model, gemm_blis_config(), gemm_kernel(), simd()->name };
}

const char *machine_kernels(char *buf, size_t size)
{
	struct machine m;
	machine_get(&m);
	snprintf(buf, size, "gemm %s, blis %s, simd %s", m.gemm, m.blis, m.simd);
	return buf;
}
