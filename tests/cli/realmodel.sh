# On a real model folder (ELSA_TEST_MODEL=DIR, e.g. bert-base-uncased with its model.safetensors):
# elsa's hidden states at every layer against the PyTorch reference, on real GLUE pairs when
# ../shared is there (else the encoder fixtures' tokens). Skipped without the folder or PyTorch.
. "${ELSA_TOP:-.}/tests/lib.sh"
M=${ELSA_TEST_MODEL:-}
PY=${PYTHON:-/usr/bin/python3}
if [ -z "$M" ]; then
	skip "a real model against the PyTorch reference" "ELSA_TEST_MODEL is not set (a Hugging Face model folder)"
	done_testing
	exit
fi
"$PY" -c 'import torch' 2>/dev/null || skip_all "a real model against the PyTorch reference" "no PyTorch for $PY (scripts/deps --ref)"
if [ -f "$S/glue/RTE/dev.tsv" ]; then
	head -n 17 "$S/glue/RTE/dev.tsv" >"$T/dev.tsv"
	ok "tokenize 16 RTE pairs" elsa-tokenize -m "$M" -t rte "$T/dev.tsv" -o "$T/tokens"
else
	cp "$TOP/tests/fixtures/encoder/bert/tokens.tsv" "$T/tokens"
fi
L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' "$M/config.json")
saves=
for l in $(seq 1 $((L - 1))); do saves="$saves --save $l=$T/l$l"; done
elsa-embed -m "$M" "$T/tokens" -o "$T/l0"
ok "encode every layer" elsa-encode -m "$M" --to "$L" $saves -o "$T/l$L" "$T/l0"
files=
for l in $(seq 0 "$L"); do files="$files $T/l$l"; done
ok "every layer within 1e-5 of the reference" "$PY" "$TOP/tests/ref/compare.py" "$M" "$T/tokens" $files
sed 's/^/# /' "$T/.out"
done_testing
