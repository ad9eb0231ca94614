# Exact under every kernel this processor runs (issue 21): each GEMM kernel (ELSA_GEMM: BLIS's
# own, elsa's avx2 and avx512 inside BLIS) with each SIMD build (ELSA_SIMD: sse2, avx2, avx512),
# forced in turn: the encoder against the PyTorch reference's hidden states at every layer
# (1e-5), training against its gradients and 20-step AdamW trajectory (unit/finetune), the
# layer's finite differences (unit/gradcheck); and under each, the same bytes run after run and
# at one thread or three. A kernel the processor cannot run is refused in one line, and skipped.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/encoder
E=$TOP/tests/fixtures/evaluate

FAMILIES="bert roberta distilbert electra modernbert modernbert-bias"
for m in $FAMILIES; do
	mkmodel $(cat "$F/$m/mkmodel.args") "$T/$m" >/dev/null
	elsa-embed -m "$T/$m" "$F/$m/tokens.tsv" >"$T/$m.l0"
done
mkmodel --hidden 64 --heads 4 --layers 3 --max-pos 128 "$T/m" >/dev/null
elsa-tokenize -m "$T/m" -t stsb "$E/stsb.gold.tsv" | elsa-embed -m "$T/m" >"$T/stsb.l0"
elsa-encode -m "$T/m" --to 2 "$T/stsb.l0" >"$T/stsb.l2"

# exact GEMM SIMD: the comparisons above under that pair of kernels.
exact() {
	for m in $FAMILIES; do
		L=$(($(ls "$F/$m"/layer*.elsa | wc -l) - 1))
		saves=
		for l in $(seq 1 $((L - 1))); do saves="$saves --save $l=$T/$m.l$l"; done
		elsa-encode -m "$T/$m" --to $L $saves "$T/$m.l0" >"$T/$m.l$L"
		for l in $(seq 1 $L); do
			close "$1/$2: $m, layer $l matches the reference (1e-5)" "$T/$m.l$l" "$F/$m/layer$l.elsa" 1e-5
		done
	done
	for t in finetune gradcheck; do
		"$B/tests/$t" >"$T/$t.tap" 2>&1
		check "$1/$2: unit/$t passes" "! grep -q '^not ok' '$T/$t.tap' && grep -q '^1\.\.[1-9]' '$T/$t.tap'"
	done
	for j in 1 3; do
		elsa-encode -m "$T/m" --to 3 -j $j "$T/stsb.l0" >"$T/enc.j$j"
		elsa-train -m "$T/m" -t stsb --train "$T/stsb.l2" -o "$T/run.j$j" --max-steps 4 --batch 8 --seed 5 -j $j 2>/dev/null
	done
	elsa-train -m "$T/m" -t stsb --train "$T/stsb.l2" -o "$T/run.again" --max-steps 4 --batch 8 --seed 5 -j 3 2>/dev/null
	same "$1/$2: elsa-encode -j 1 and -j 3, the same bytes" "$T/enc.j1" "$T/enc.j3"
	same "$1/$2: elsa-train -j 1 and -j 3, the same weights" "$T/run.j1/model.safetensors" "$T/run.j3/model.safetensors"
	same "$1/$2: elsa-train run again, the same weights" "$T/run.j3/model.safetensors" "$T/run.again/model.safetensors"
	check "$1/$2: the run records them" "grep -q '^  gemm: \"$1\"' '$T/run.j1/run.yaml' && grep -q '^  simd: \"$2\"' '$T/run.j1/run.yaml'"
	rm -rf "$T"/run.*
}

for g in blis avx2 avx512; do
	for s in sse2 avx2 avx512; do
		if ELSA_GEMM=$g ELSA_SIMD=$s elsa-encode -m "$T/m" --to 1 --stats "$T/stats" "$T/stsb.l0" >/dev/null 2>"$T/err"; then
			check "$g/$s: elsa-encode --stats says so" "grep -q '^gemm: $g$' '$T/stats' && grep -q '^simd: $s$' '$T/stats'"
			ELSA_GEMM=$g ELSA_SIMD=$s exact $g $s
		else
			check "$g/$s: refused in one line naming what the processor cannot run" \
				"[ \$(wc -l <'$T/err') = 1 ] && grep -q '^elsa-encode: ELSA_[A-Z]*: [a-z0-9]*: this processor (.*) cannot run it$' '$T/err'"
			skip "$g/$s: the comparisons" "this processor cannot run it: $(cat "$T/err")"
		fi
	done
done
for v in ELSA_GEMM ELSA_SIMD; do
	env $v=avx1024 elsa-encode -m "$T/m" --to 1 "$T/stsb.l0" >/dev/null 2>"$T/err"
	check "$v=avx1024: refused naming the choices" "grep -q '^elsa-encode: $v: .avx1024. is not ' '$T/err'"
done
done_testing
