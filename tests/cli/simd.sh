# The baseline x86-64 build of the vector kernels (ELSA_SIMD=sse2; lib/simd.h) is exact too:
# the encoder against the PyTorch reference's hidden states, training against its gradients and
# AdamW trajectory, the layer's finite differences. The default build (AVX2 + FMA where the
# processor has it) is checked by cli/encode and the unit tests.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/encoder
export ELSA_SIMD=sse2

for m in bert roberta distilbert electra; do
	mkmodel $(cat "$F/$m/mkmodel.args") "$T/$m" >/dev/null
	elsa-embed -m "$T/$m" "$F/$m/tokens.tsv" >"$T/$m.l0"
	elsa-encode -m "$T/$m" --to 3 "$T/$m.l0" >"$T/$m.l3"
	close "$m: layer 3 with the baseline kernels matches the reference (1e-5)" "$T/$m.l3" "$F/$m/layer3.elsa" 1e-5
done
for t in finetune gradcheck; do
	"$B/tests/$t" >"$T/$t.tap" 2>&1
	check "unit/$t passes with the baseline kernels" "! grep -q '^not ok' '$T/$t.tap' && grep -q '^1\.\.[1-9]' '$T/$t.tap'"
done
done_testing
