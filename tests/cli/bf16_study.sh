# --compute bf16 end to end on every family (issue 23: tokenize, embed, encode, train, evaluate,
# sweep and report on BERT, RoBERTa, DistilBERT, ELECTRA and ModernBERT): a study of one task,
# frozen 0, 1 and 2 of 2 layers, in bf16, on a small generated model of each family that learns
# the task (as the demo's); the records and caches say bf16, every run is evaluated, the report has
# its rows, and the frozen-0 cell (about 71%, chance 50%) lies within 3 points of f32's.
. "${ELSA_TOP:-.}/tests/lib.sh"
mkdata --seed 1 "$T/data" >/dev/null
score() { # score REPORT: sst2's frozen-0 accuracy
	sed -n 's/^| 0 | 2 | \([0-9.]*\) .*/\1/p' "$1"
}
for fam in bert roberta distilbert electra modernbert; do
	mkmodel --type $fam --layers 2 --hidden 32 --heads 2 --max-pos 128 --seed 1 --word-std 1 "$T/$fam" >/dev/null
	for c in f32 bf16; do
		cat >"$T/$fam.$c.yaml" <<EOT
model: $fam
data: data
tasks: [sst2]
frozen: $([ $c = bf16 ] && echo '[0, 1, 2]' || echo '[0]')
lr: [1e-3]
seeds: [1]
epochs: 3
batch: 16
max_len: 32
jobs: 2
compute: $c
EOT
		elsa-sweep -q "$T/$fam.$c.yaml" >"$T/$fam.$c.md" 2>"$T/$fam.$c.err"
		echo $? >"$T/$fam.$c.rc"
	done
	check "$fam: a study of frozen 0 alone (no cache: no costs) ends with its report" \
		"[ \$(cat '$T/$fam.f32.rc') = 0 ] && grep -q '^| 0 | 2 |' '$T/$fam.f32.md'"
	S=$T/$fam.bf16.sweep
	check "$fam: a bf16 study runs end to end, three runs, each evaluated" \
		"[ \$(cat '$T/$fam.bf16.rc') = 0 ] && [ \$(ls '$S'/runs/*/*/eval.yaml | wc -l) -eq 3 ] && [ \$(ls '$S'/runs/*/*/run.yaml | wc -l) -eq 3 ]"
	check "$fam: every run records compute bf16, the cached ones their cache's too" \
		"[ \$(grep -l '^  compute: bf16$' '$S'/runs/*/*/run.yaml | wc -l) -eq 3 ] && [ \$(grep -l '^  cache_compute: bf16$' '$S'/runs/*/*/run.yaml | wc -l) -eq 2 ]"
	check "$fam: the caches' headers say bf16" "elsa-view -H '$S/cache/sst2/train.L1.zst' | grep -q '^compute	bf16$'"
	check "$fam: the report has its three rows and says the products were bf16's" \
		"grep -q '^| 0 | 2 |' '$T/$fam.bf16.md' && grep -q '^| 1 | 1 |' '$T/$fam.bf16.md' && grep -q '^| 2 | 0 |' '$T/$fam.bf16.md' &&
		 grep -q 'with bf16 inputs (--compute bf16' '$T/$fam.bf16.md' && ! grep -q 'bf16' '$T/$fam.f32.md'"
	a=$(score "$T/$fam.f32.md") b=$(score "$T/$fam.bf16.md")
	check "$fam: frozen 0 in bf16 within 3 points of f32's (bf16 $b, f32 $a)" \
		"[ -n '$a' ] && [ -n '$b' ] && awk 'BEGIN { d = $a - $b; exit !(d <= 3 && d >= -3) }'"
done
done_testing
