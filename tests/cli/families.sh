# DistilBERT and ELECTRA at their real shapes (distilbert-base: 6 layers of 768 with 12 heads;
# electra-small: 12 layers of 256 with 4 heads and 128-wide embeddings projected to 256), random
# weights: elsa's hidden states at every layer against the PyTorch reference (tests/ref), within
# 1e-5, on RTE-like pairs tokenized by the model's own tokenizer. (The gradients and the 20-step
# AdamW trajectory of each family are unit/finetune's, on small shapes.)
. "${ELSA_TOP:-.}/tests/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import torch' 2>/dev/null || skip_all "real-shaped DistilBERT and ELECTRA against the PyTorch reference" "no PyTorch for $PY"
head -n 9 "$TOP/tests/fixtures/evaluate/rte.gold.tsv" >"$T/rte.tsv"
for shape in "distilbert --layers 6 --hidden 768 --heads 12 --intermediate 3072" \
	"electra --layers 12 --hidden 256 --heads 4 --intermediate 1024 --embedding-size 128"; do
	set -- $shape
	fam=$1
	shift
	M=$T/$fam
	mkmodel --type "$fam" "$@" --max-pos 512 --seed 5 "$M" >/dev/null
	L=$(sed -n 's/.*"\(num_hidden_layers\|n_layers\)": *\([0-9]*\).*/\2/p' "$M/config.json")
	elsa-tokenize -m "$M" -t rte "$T/rte.tsv" -o "$T/$fam.tok"
	elsa-embed -m "$M" "$T/$fam.tok" -o "$T/$fam.l0"
	saves=
	for l in $(seq 1 $((L - 1))); do saves="$saves --save $l=$T/$fam.l$l"; done
	ok "$fam: encode every layer" elsa-encode -m "$M" --to "$L" $saves -o "$T/$fam.l$L" "$T/$fam.l0"
	files=
	for l in $(seq 0 "$L"); do files="$files $T/$fam.l$l"; done
	ok "$fam ($*): every layer within 1e-5 of the reference" "$PY" "$TOP/tests/ref/compare.py" "$M" "$T/$fam.tok" $files
	sed 's/^/# /' "$T/.out" | tail -2
done
done_testing
