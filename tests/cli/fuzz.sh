# Short runs of every fuzz target (tests/fuzz/NAME.c, built with clang and libFuzzer under ASan and
# UBSan into build-fuzz/), each for ELSA_FUZZ_SECONDS (default 10), and a replay of every committed
# seed and regression input (tests/fuzz/corpus/NAME/, tests/fuzz/regressions/NAME/). Targets are
# found by their files: a new target needs no change here. `make fuzz` runs them longer.
. "${ELSA_TOP:-.}/tests/lib.sh"
FO=${ELSA_FUZZ_BUILD:-$TOP/build-fuzz}
secs=${ELSA_FUZZ_SECONDS:-10}
cc=${FUZZ_CC:-clang}
targets=$(cd "$TOP/tests/fuzz" && ls ./*.c | sed 's|^\./||; s|\.c$||')

case $B in
*build-san)
	skip "fuzz targets" "under SAN=1: the fuzz targets carry their own sanitizers and run in the plain make check"
	done_testing
	exit
	;;
esac
# libFuzzer ships with clang's runtime (Debian: clang, libclang-rt-14-dev); lib/ needs OpenMP (libomp-dev).
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$T/probe.c"
if ! command -v "$cc" >/dev/null 2>&1; then
	skip "fuzz targets" "$cc is not installed (Debian: apt-get install clang libclang-rt-14-dev libomp-dev)"
	done_testing
	exit
fi
if ! "$cc" -fopenmp -fsanitize=fuzzer,address,undefined -o "$T/probe" "$T/probe.c" >"$T/probe.err" 2>&1; then
	skip "fuzz targets" "$cc cannot build a libFuzzer target with OpenMP ($(head -1 "$T/probe.err"))"
	done_testing
	exit
fi

ok "the fuzz targets build (make -f tests/fuzz/Makefile build)" \
	make --no-print-directory -C "$TOP" -j2 -f tests/fuzz/Makefile build FO="$FO" FUZZ_CC="$cc"

# report WHAT STATUS OUTPUT: one TAP line saying what tests/fuzz/run said; its details when it failed.
report() {
	[ "$2" = 0 ] || printf '%s\n' "$3" | sed '1d; s/^/# /'
	check "$1" "[ $2 = 0 ]"
}

for t in $targets; do
	check "$t: has committed seeds" "[ -n \"\$(ls '$TOP/tests/fuzz/corpus/$t' 2>/dev/null)\" ]"
	out=$("$TOP/tests/fuzz/run" -b "$FO" -r "$t" 2>&1)
	report "$(printf '%s' "$out" | head -1)" $? "$out"
	out=$("$TOP/tests/fuzz/run" -b "$FO" -t "$secs" "$t" 2>&1)
	report "$(printf '%s' "$out" | head -1)" $? "$out"
done
done_testing
