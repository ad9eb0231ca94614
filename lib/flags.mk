# lib/flags.mk: the instruction sets of the files that hold the vector builds (lib/simd.h's
# kernels, lib/gemm_ukr.h's micro-kernels), included by the Makefile and tests/fuzz/Makefile;
# the rest stays baseline x86-64, and each build runs only where the processor has it (lib/cpu.h).
# $(1): the object folder; $(2): the variable that holds the compiler flags.
AVX512 = -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma
define isa_flags
ifeq ($(shell uname -m),x86_64)
$(1)/lib/simd_avx2.o: $(2) += -mavx2 -mfma -ffp-contract=fast
$(1)/lib/simd_avx512.o: $(2) += $(AVX512) -ffp-contract=fast
$(1)/lib/gemm_avx2.o: $(2) += -mavx2 -mfma
$(1)/lib/gemm_avx512.o: $(2) += $(AVX512)
$(1)/lib/gemm_avx512bf16.o: $(2) += $(AVX512) -mavx512bf16
$(1)/lib/gemm_amx.o: $(2) += $(AVX512) -mavx512bf16 -mamx-tile -mamx-bf16
endif
endef
