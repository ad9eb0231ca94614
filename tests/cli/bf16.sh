# bf16 products (issue 23: --compute bf16), at BERT-base's shapes (hidden 768, 12 heads,
# intermediate 3072; 3 layers, 32 RTE examples). Bounds set from the errors measured there (see
# BF16 in elsa(7)), with a margin of 1.5: a change that doubles the error fails.
#   - the hidden states at each layer against f32's: max and mean relative error within the
#     bounds, and above 1e-4 (the products did take bf16 inputs);
#   - against PyTorch's reference run under torch.autocast("cpu", bfloat16): within its bounds;
#   - 20 training steps: the loss trajectory within 0.005 of f32's (it was 0.0017 off at most);
#   - the same bytes run after run and at one thread or two, natively and emulated;
#   - recorded: the stream's header, --stats, run.yaml; a cache of the other compute refused.
. "${ELSA_TOP:-.}/tests/lib.sh"
E=$TOP/tests/fixtures/evaluate
PY=${PYTHON:-/usr/bin/python3}

mkmodel --layers 3 --hidden 768 --heads 12 --intermediate 3072 --max-pos 512 --seed 3 "$T/m" >/dev/null
elsa-tokenize -m "$T/m" -t rte --max-len 128 "$E/rte.gold.tsv" >"$T/rte.tok"
{ head -33 "$T/rte.tok"; echo '#end 32'; } >"$T/r32.tok"
{ head -161 "$T/rte.tok"; echo '#end 160'; } >"$T/r160.tok"
elsa-embed -m "$T/m" "$T/r32.tok" -o "$T/l0"
elsa-encode -m "$T/m" --to 3 --save 1="$T/f1" --save 2="$T/f2" -o "$T/f3" "$T/l0"
elsa-encode -m "$T/m" --to 3 --compute bf16 --save 1="$T/b1" --save 2="$T/b2" -o "$T/b3" --stats "$T/stats" "$T/l0"
check "the bf16 streams say so in their header" "elsa-view -H '$T/b3' | grep -q '^compute	bf16$' && elsa-view -H '$T/f3' | grep -q '^compute	f32$'"
check "... and --stats" "grep -q '^compute: bf16$' '$T/stats' && grep -q '^gemm: ' '$T/stats'"
fails "going on from a bf16 cache with f32 products is refused" "b2: its layers were computed with bf16 products" \
	elsa-encode -m "$T/m" --to 3 "$T/b2"

fails "--compute of another type is refused in one line (encode)" "^elsa-encode: --compute: 'f16' is not f32 or bf16$" \
	elsa-encode -m "$T/m" --to 3 --compute f16 "$T/l0"
fails "... (train)" "^elsa-train: --compute: 'f16' is not f32 or bf16$" \
	elsa-train -m "$T/m" -t rte --train "$T/f1" -o "$T/bad" --compute f16
mkdata --seed 1 --train 8 --dev 8 "$T/d" >/dev/null
printf 'model: m\ndata: d\ntasks: [sst2]\nfrozen: [0]\nlr: [1e-3]\nseeds: [1]\ncompute: f16\n' >"$T/bad.yaml"
fails "... (an experiment file, naming its line)" "^elsa-sweep: .*bad.yaml: line 7: compute: f32 or bf16$" elsa-sweep "$T/bad.yaml"

# bounds LAYER: max and mean of elsa's bf16 against f32, then against autocast (relative)
bound() {
	case $1 in
	1) echo 1.7e-3 1.9e-3 2.0e-3 2.0e-3 ;;
	2) echo 2.8e-3 2.6e-3 2.9e-3 3.0e-3 ;;
	3) echo 3.5e-3 3.2e-3 3.6e-3 3.7e-3 ;;
	esac
}
if "$PY" -c 'import numpy, torch' 2>/dev/null; then
	"$PY" "$TOP/tests/ref/bf16_errors.py" --reference "$T/m" "$T/r32.tok" "$T/f1" "$T/b1" "$T/f2" "$T/b2" "$T/f3" "$T/b3" >"$T/err.txt"
	for l in 1 2 3; do
		set -- $(bound $l)
		line=$(grep "^layer  $l " "$T/err.txt")
		check "layer $l: bf16 within max $1, mean $2 of f32's, and not f32's ($line)" \
			"echo '$line' | awk '{ exit !(\$4 <= $1 && \$6 <= $2 && \$4 > 1e-4) }'"
		check "layer $l: bf16 within max $3, mean $4 of PyTorch's under autocast" \
			"echo '$line' | awk '{ exit !(\$10 <= $3 && \$12 <= $4) }'"
	done
else
	skip "bf16 against f32 and autocast" "no numpy and PyTorch for $PY (scripts/deps)"
fi

# Training: 20 steps of the top 2 layers and the head, from caches of each compute type.
elsa-embed -m "$T/m" "$T/r160.tok" -o "$T/t0"
for c in f32 bf16; do
	elsa-encode -m "$T/m" --to 1 --compute $c "$T/t0" -o "$T/t1.$c"
	elsa-train -m "$T/m" -t rte --train "$T/t1.$c" -o "$T/run.$c" --batch 8 --max-steps 20 --log-every 1 --lr 1e-4 \
		--compute $c -q 2>/dev/null
done
losses() { grep 'step:' "$1/run.yaml" | sed 's/.*loss: \([^,]*\),.*/\1/'; }
losses "$T/run.f32" >"$T/loss.f32" && losses "$T/run.bf16" >"$T/loss.bf16"
check "20 steps: bf16's losses within 0.005 of f32's, and not f32's" \
	"paste '$T/loss.f32' '$T/loss.bf16' | awk '{ d = \$1 - \$2; d = d < 0 ? -d : d; m = d > m ? d : m; n++ } END { exit !(n == 20 && m <= 0.005 && m > 0) }'"
check "run.yaml records the run's compute and its cache's" \
	"grep -q '^  compute: bf16$' '$T/run.bf16/run.yaml' && grep -q '^  cache_compute: bf16$' '$T/run.bf16/run.yaml'"

# Determinism under bf16, on each bf16 kernel the processor runs (AMX's, AVX512_BF16's) and
# emulated on AVX2's float kernel, on a small model (hidden 64: products split among threads).
mkmodel --layers 3 --hidden 64 --heads 4 --max-pos 512 --seed 3 "$T/s" >/dev/null
elsa-tokenize -m "$T/s" -t rte --max-len 128 "$E/rte.gold.tsv" | elsa-embed -m "$T/s" -o "$T/s0"
elsa-encode -m "$T/s" --to 1 --compute bf16 "$T/s0" -o "$T/s1"
for g in amx avx512bf16 avx2; do
	name=$g
	if ! ELSA_GEMM=$g elsa-encode -m "$T/s" --to 1 --compute bf16 "$T/s0" >/dev/null 2>"$T/err"; then
		for what in "encode, -j 1 and -j 2" "encode run again" "training, -j 1 and -j 2" "run.yaml"; do
			skip "$name: bf16 $what" "$(cat "$T/err")"
		done
		continue
	fi
	for j in 1 2; do
		ELSA_GEMM=$g elsa-encode -m "$T/s" --to 3 --compute bf16 -j $j "$T/s0" -o "$T/d.$name.$j"
		ELSA_GEMM=$g elsa-train -m "$T/s" -t rte --train "$T/s1" -o "$T/dr.$name.$j" --batch 16 --max-steps 6 \
			--compute bf16 -j $j -q 2>/dev/null
	done
	ELSA_GEMM=$g elsa-encode -m "$T/s" --to 3 --compute bf16 -j 2 "$T/s0" -o "$T/d.$name.again"
	same "$name: bf16 encode, -j 1 and -j 2 the same bytes" "$T/d.$name.1" "$T/d.$name.2"
	same "$name: bf16 encode run again, the same bytes" "$T/d.$name.2" "$T/d.$name.again"
	same "$name: bf16 training, -j 1 and -j 2 the same weights" "$T/dr.$name.1/model.safetensors" "$T/dr.$name.2/model.safetensors"
	check "$name: run.yaml names the kernel ($(sed -n 's/^  gemm: //p' "$T/dr.$name.1/run.yaml"))" \
		"grep -q '^  gemm: \"\\(amx\\|avx512bf16\\|.* (bf16 emulated)\\)\"' '$T/dr.$name.1/run.yaml'"
done
done_testing
