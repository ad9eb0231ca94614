# DistilBERT, ELECTRA and ModernBERT at their real shapes (distilbert-base: 6 layers of 768 with 12
# heads; electra-small: 12 layers of 256 with 4 heads and 128-wide embeddings projected to 256;
# ModernBERT-base below), random weights: elsa's hidden states at every layer against the PyTorch
# reference (tests/ref), within 1e-5, on RTE-like pairs tokenized by the model's own tokenizer.
# (The gradients and the 20-step AdamW trajectory of each family are unit/finetune's, on small
# shapes; ModernBERT-base's gradients are checked here too.)
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
	rm -rf "$M" "$T/$fam".l*
done

# ModernBERT-base's shapes: 22 layers of 768, 12 heads, intermediate 1152, local layers within a
# window of 128 (64 tokens each side), every third layer global from layer 0, rotary bases 160000
# (global) and 10000 (local); random weights, stored in bf16 (half the disk; the reference reads
# the same values). Examples of 512, 140 and 24 tokens, one at a time (no padding): the windows
# leave keys out of the first two.
M=$T/modernbert
mkmodel --type modernbert --layers 22 --hidden 768 --heads 12 --intermediate 1152 --window 128 --global-every 3 \
	--labels 3 --dtype bf16 --seed 5 "$M" >/dev/null
"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import elsa_ref, numpy as np
rng = np.random.default_rng(24)
recs = [dict(id=f"len{n}", label=float(i), tokens=rng.integers(0, 1131, n).tolist(), types=[0] * n)
        for i, n in enumerate((512, 140, 24))]
elsa_ref.write_tokens(sys.argv[2], recs, task="mnli", max_len=512)' "$TOP/tests/ref" "$T/mb.tok"
elsa-embed -m "$M" "$T/mb.tok" -o "$T/mb.l0"
saves=
files="$T/mb.l0"
for l in $(seq 1 21); do saves="$saves --save $l=$T/mb.l$l" files="$files $T/mb.l$l"; done
ok "modernbert-base: encode every layer" elsa-encode -m "$M" --to 22 $saves -o "$T/mb.l22" "$T/mb.l0"
ok "modernbert-base: every layer within 1e-5 of the reference (the last before final_norm)" \
	"$PY" "$TOP/tests/ref/compare.py" "$M" "$T/mb.tok" $files "$T/mb.l22" --batch 1 --cache "$T/mb.ref.npz"
sed 's/^/# /' "$T/.out" | tail -2
# The comparison sees a wrong window or rotary base: elsa run with one of them changed (the
# config's) is refused by the reference of the true model, at the last layer.
for wrong in "local_attention 126" "local_attention 130" "global_rope_theta 150000.0" "local_rope_theta 11000.0"; do
	set -- $wrong
	W=$T/wrong
	mkdir -p "$W"
	ln -sf "$M/model.safetensors" "$W/model.safetensors"
	sed "s/\"$1\": [0-9.]*/\"$1\": $2/" "$M/config.json" >"$W/config.json"
	elsa-embed -m "$W" "$T/mb.tok" | elsa-encode -m "$W" --to 22 -o "$T/wrong.l22"
	"$PY" "$TOP/tests/ref/compare.py" "$M" "$T/mb.tok" "$T/wrong.l22" --cache "$T/mb.ref.npz" >"$T/wrong.out"
	st=$?
	check "modernbert-base: with $1 $2, elsa's last layer is off the reference's ($(cat "$T/wrong.out"))" \
		"[ $st = 1 ] && grep -q '^layer 22: max abs difference' '$T/wrong.out'"
done
# Training at these shapes, from states at layer 19 (N(0, 1): any states train): layers 19 and
# 20 (local) and 21 (global), final_norm and the head; the first step's gradients within 1e-4 of
# PyTorch's, and 3 steps of AdamW's losses within 1e-5 (unit/finetune on cases made now), with
# mean pooling (every token of the top layer) and with cls pooling (its first tokens alone).
C=$T/cases
mkdir -p "$M.cls"
ln -sf "$M/model.safetensors" "$M.cls/model.safetensors"
sed 's/"classifier_pooling": "mean"/"classifier_pooling": "cls"/' "$M/config.json" >"$M.cls/config.json"
for pool in mean cls; do
	m=$M
	[ $pool = cls ] && m=$M.cls
	"$PY" "$TOP/tests/ref/make_fixtures.py" "$B" --out "$C" --case "base-$pool" --args "(cli/families' $m)" --outputs 3 \
		--first 19 --steps 3 --batch 2 --lengths 300,140,60,24 --model "$m" --random-states
	ELSA_TRAIN_FIXTURES=$C ELSA_TRAIN_CASES=base-$pool ELSA_TRAIN_MODEL=$m "$B/tests/finetune" >"$T/train.tap" 2>&1
	check "modernbert-base, $pool pooling: gradients within 1e-4, 3 steps' losses within 1e-5 ($(grep '^# base' "$T/train.tap"))" \
		"grep -q '^ok 1 - base-$pool' '$T/train.tap' && grep -q '^1\.\.1' '$T/train.tap'"
done
done_testing
