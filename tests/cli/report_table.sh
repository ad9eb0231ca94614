# elsa-report's headline table against the same numbers computed here with awk from hand-written
# run records: two tasks (rte: accuracy, a classifier; stsb: the correlation, a regression) of a
# 6-layer model, frozen 0, 2, 4 and 5, two learning rates a cell, three seeds each. The scores
# are chosen so that each of these would change the table:
#   - the best learning rate is the one of the highest mean, not of the highest seed;
#   - the spread is the sample standard deviation (n - 1), not the population's (n);
#   - an undefined score counts as 0 (stsb frozen 0 at 3e-05 would be best without it);
#   - the kept epoch's score is the one read (every run's epoch 1 scores otherwise);
#   - a cell of each task lies between 85% and 90% of frozen 0 (rte frozen 4, stsb frozen 5),
#     so an 85% threshold gives other "fewest trained layers for 90%";
#   - collapsed runs count in the best learning rate's cell only (rte frozen 5 has one there,
#     rte frozen 4 one at its other learning rate).
. "${ELSA_TOP:-.}/tests/lib.sh"
R=$T/runs
L=6

# run TASK FROZEN LR SEED SCORE [collapsed]: a run folder as elsa-train writes it (elsa-run(5)),
# its dev evaluated after epochs 1 and 2, keeping the last; rte runs have predictions.tsv.
run() {
	dir=$R/$1/N$2-lr$3-seed$4
	mkdir -p "$dir"
	case $1 in
	rte) outputs=2 examples=8 metrics=acc ;;
	stsb) outputs=1 examples=6 metrics=corr ;;
	esac
	cat >"$dir/run.yaml" <<EOT
# elsa-train run record (elsa-run(5))
elsa: 0.1.0
task: "$1"
model:
  dir: "model"
  fingerprint: "857896583639c80a"
  type: "bert"
  layers: $L
frozen_layers: $2
trained_layers: $((L - $2))
train_embeddings: false
head:
  outputs: $outputs
  new_tensors: 2
data:
  train: "cache/$1/train.L$2.zst"
  train_examples: 40
  train_tokens: 1200
  dev: "cache/$1/dev.L$2.zst"
  dev_examples: $examples
hyperparameters:
  lr: $3
  epochs: 2
  batch: 8
  warmup: 0.1
  warmup_steps: 1
  weight_decay: 0.01
  dropout: 0.1
  max_grad_norm: 1
  optimizer: adamw
  betas: [0.9, 0.999]
  eps: 1.0e-08
  seed: $4
  max_steps: 0
  shuffle: true
  threads: 2
  keep: last
steps: 10
train_loss:
  - {step: 10, loss: 0.6931, lr: 0.0}
dev:
$(dev_entry "$1" 1 5 0.5)
$(dev_entry "$1" 2 10 "$5")
kept_epoch: 2
cost:
  seconds: 2.5
  train_seconds: 2.0
  tokens_per_second: 1200.0
  peak_memory_mb: 40.0
  gemm_seconds: 0.5
  gemm_gflop: 0.25
EOT
	[ "$1" = rte ] || return 0
	printf 'id\tprediction\n' >"$dir/predictions.tsv"
	for i in 1 2 3 4 5 6 7 8; do
		if [ "${6:-}" = collapsed ]; then p=1; else p=$((i % 2)); fi
		printf 'dev-%d\t%d\n' "$i" "$p" >>"$dir/predictions.tsv"
	done
}

# dev_entry TASK EPOCH STEP SCORE: one entry of dev (SCORE null: undefined).
dev_entry() {
	printf '  - epoch: %s\n    step: %s\n    loss: 0.69\n' "$2" "$3"
	if [ "$1" = rte ]; then
		printf '    acc: %s\n    primary: acc\n' "$4"
	elif [ "$4" = null ]; then
		printf '    pearson: null\n    spearmanr: null\n    corr: null\n    primary: corr\n'
	else
		awk -v c="$4" 'BEGIN { printf "    pearson: %.17g\n    spearmanr: %.17g\n", c + 0.01, c - 0.01 }'
		printf '    corr: %s\n    primary: corr\n' "$4"
	fi
	printf '    score: %s\n' "$4"
}

# task frozen lr: the scores of seeds 1, 2, 3 (the kept epoch's); a seed marked * collapsed.
while read -r task frozen lr s1 s2 s3; do
	seed=0
	for s in $s1 $s2 $s3; do
		seed=$((seed + 1))
		case $s in
		*\*) run "$task" "$frozen" "$lr" $seed "${s%\*}" collapsed ;;
		*) run "$task" "$frozen" "$lr" $seed "$s" ;;
		esac
	done
done <<EOT
rte 0 1.0e-05 0.70 0.74 0.69
rte 0 3.0e-05 0.66 0.77 0.65
rte 2 1.0e-05 0.66 0.68 0.64
rte 2 3.0e-05 0.69 0.67 0.66
rte 4 1.0e-05 0.60 0.65 0.61
rte 4 3.0e-05 0.58 0.61* 0.59
rte 5 1.0e-05 0.53 0.58 0.55*
rte 5 3.0e-05 0.52 0.53 0.51
stsb 0 1.0e-05 0.82 0.79 0.80
stsb 0 3.0e-05 0.85 null 0.84
stsb 2 1.0e-05 0.77 0.79 0.78
stsb 2 3.0e-05 0.80 0.76 0.81
stsb 4 1.0e-05 0.74 0.72 0.75
stsb 4 3.0e-05 0.70 0.73 0.71
stsb 5 1.0e-05 0.69 0.71 0.70
stsb 5 3.0e-05 0.72 0.68 0.73
EOT
check "48 run folders written" "[ \$(ls '$R'/*/*/run.yaml | wc -l) -eq 48 ]"

# Each run, read back by awk alone: task, frozen, lr, the kept epoch's primary score (null: 0),
# and whether it collapsed (a classifier predicting one class for every dev example).
for f in "$R"/*/*/run.yaml; do
	awk '/^task:/ { gsub(/"/, "", $2); task = $2 }
	     /^frozen_layers:/ { frozen = $2 }
	     /^  lr:/ { lr = $2 }
	     /^  - epoch:/ { e = $3 }
	     /^    primary:/ { primary[e] = $2 }
	     /^    [a-z_]+: / { v[e, substr($1, 1, length($1) - 1)] = $2 }
	     /^kept_epoch:/ { kept = $2 }
	     END { s = v[kept, primary[kept]]; printf "%s %s %.17g %.17g", task, frozen, lr, s == "null" ? 0 : s }' "$f"
	p=$(dirname "$f")/predictions.tsv
	if [ -f "$p" ]; then
		awk -F'\t' 'NR > 1 { n++; seen[$2] = 1 } END { k = 0; for (c in seen) k++; print (n > 1 && k == 1) ? " 1" : " 0" }' "$p"
	else
		echo " 0"
	fi
done >"$T/runs.txt"

# The table as the man page defines it, per task and frozen count: the learning rate of the
# highest mean over seeds; that mean; the sample standard deviation (two passes, n - 1); the
# quality relative to frozen 0's; its collapsed runs. Then each task's fewest trained layers
# (L - frozen) of relative quality >= 0.9, and the same at 0.85 for the test of the data.
awk -v L=$L '
	{ k = $1 SUBSEP $2 SUBSEP $3; n[k]++; x[k, n[k]] = $4; col[k] += $5; cell[$1 SUBSEP $2] = 1; lrs[k] = $3 }
	END {
		for (k in n) { m = 0; for (i = 1; i <= n[k]; i++) m += x[k, i]; mean[k] = m / n[k]
			ss = 0; for (i = 1; i <= n[k]; i++) ss += (x[k, i] - mean[k]) ^ 2; sd[k] = sqrt(ss / (n[k] - 1)) }
		for (c in cell) { best[c] = ""; for (k in n) { split(k, a, SUBSEP)
			if (a[1] SUBSEP a[2] == c && (best[c] == "" || mean[k] > mean[best[c]])) best[c] = k } }
		for (c in cell) { split(c, a, SUBSEP); k = best[c]; base = mean[best[a[1] SUBSEP 0]]; rel = mean[k] / base
			printf "%s %d %d %g %d %d %.17g %.17g %.17g\n", a[1], a[2], L - a[2], lrs[k], n[k], col[k], mean[k], sd[k], rel
			if (rel >= 0.9 && (!(a[1] in f90) || L - a[2] < f90[a[1]])) f90[a[1]] = L - a[2]
			if (rel >= 0.85 && (!(a[1] in f85) || L - a[2] < f85[a[1]])) f85[a[1]] = L - a[2] }
		for (t in f90) print t, f90[t], f85[t] > "/dev/stderr" }' "$T/runs.txt" 2>"$T/fewest" | sort >"$T/want"
check "the data: 8 cells, and an 85% threshold gives each task other fewest layers than 90%" \
	"[ \$(wc -l <'$T/want') -eq 8 ] && [ \$(awk '\$2 != \$3' '$T/fewest' | wc -l) -eq 2 ]"
check "the data: the best learning rate differs between cells, spreads are not 0, a cell has a collapsed run" \
	"[ \$(awk '{ print \$4 }' '$T/want' | sort -u | wc -l) -eq 2 ] && awk '\$8 == 0 { z = 1 } END { exit z }' '$T/want' &&
	 awk '\$6 == 1 { c = 1 } END { exit !c }' '$T/want'"

ok "elsa-report --format tsv" elsa-report --format tsv "$R"
cp "$T/.out" "$T/table.tsv"
ok "elsa-report (markdown)" elsa-report "$R"
cp "$T/.out" "$T/table.md"
ok "elsa-report --format yaml" elsa-report --format yaml "$R"
cp "$T/.out" "$T/table.yaml"
check "--format tsv: a header and the 8 cells" "[ \$(wc -l <'$T/table.tsv') -eq 9 ]"

# tsv_cell TASK FROZEN TRAINED LR SEEDS COLLAPSED MEAN SD REL: the tsv row of that cell holds
# these, the task's metric, no embeddings, no failures; numbers within 1e-9 relative (elsa-report
# sums squares in one pass, here two: they differ in the 14th digit; n against n - 1 is 22%).
tsv_cell() {
	awk -F'\t' -v t="$1" -v N="$2" -v tr="$3" -v lr="$4" -v s="$5" -v c="$6" -v m="$7" -v sd="$8" -v rel="$9" '
		function near(a, b) { d = a - b; if (d < 0) d = -d; return d <= 1e-9 * (b < 0 ? -b : b) }
		$1 == t && $3 == N { found++
			if ($2 != (t == "rte" ? "acc" : "corr") || $4 != tr || $5 != 0 || $6 != lr || $7 != s || $8 != c || $9 != 0 ||
			    !near($10, m) || !near($11, sd) || !near($12, rel)) { print "# got: " $0; bad = 1 } }
		END { if (found != 1 || bad) print "# want: " t, N, tr, lr, s, c, m, sd, rel; exit found != 1 || bad }' "$T/table.tsv"
}

# md_cell TASK FROZEN TRAINED LR SEEDS COLLAPSED MEAN SD REL: the markdown tables show the same:
# "mean ± sd (rel%)" x 100 in the task's column of the row, and "lr, seeds (k collapsed)".
md_cell() {
	awk -F'|' -v t="$1" -v N="$2" -v tr="$3" -v lr="$4" -v s="$5" -v c="$6" -v m="$7" -v sd="$8" -v rel="$9" '
		function trim(x) { gsub(/^ +| +$/, "", x); return x }
		BEGIN { want = sprintf("%.2f ± %.2f (%.1f%%)", 100 * m, 100 * sd, 100 * rel)
			want2 = lr ", " s (c > 0 ? " (" c " collapsed)" : "") }
		/^[|] frozen [|] trained/ { for (i = 1; i <= NF; i++) if (index(trim($i), t " (") == 1) col = i; table = 1; next }
		/^[|] frozen [|] / { for (i = 1; i <= NF; i++) if (index(trim($i), t ": ") == 1) col2 = i; table = 2; next }
		table == 1 && trim($2) == N && trim($3) == tr { got = trim($col) }
		table == 2 && trim($2) == N { got2 = trim($col2) }
		END { if (got != want || got2 != want2) print "# got: " got " / " got2 "; want: " want " / " want2
		      exit got != want || got2 != want2 }' "$T/table.md"
}

while read -r task frozen trained lr seeds col mean sd rel; do
	check "$task frozen $frozen (tsv): lr $lr, $seeds seeds, $col collapsed, mean, sd (n - 1), relative" \
		"tsv_cell $task $frozen $trained $lr $seeds $col $mean $sd $rel"
	check "$task frozen $frozen (markdown): the same numbers" "md_cell $task $frozen $trained $lr $seeds $col $mean $sd $rel"
done <"$T/want"

while read -r task f90 f85; do
	check "$task: fewest trained layers for 90% is $f90 (markdown)" \
		"awk -F'|' '/^[|] frozen [|] trained/ { for (i = 1; i <= NF; i++) if (index(\$i, \" $task (\") == 1) c = i }
		  /fewest trained layers for 90%/ { g = \$c } END { exit g != \" **$f90** \" }' '$T/table.md'"
	check "$task: fewest trained layers for 90% is $f90 (yaml)" \
		"awk '/^  $task:/ { t = 1; next } /^  [a-z]/ { t = 0 } t && /fewest_trained_for_90:/ { g = \$2 } END { exit g != \"$f90\" }' '$T/table.yaml'"
done <"$T/fewest"

# elsa-report(1)'s example that sorts the TSV rows, run on these runs: the header line stays on
# top, and the rows follow, all of them, by relative quality (column 12) from the highest.
awk '/^\.SH/ { ex = $2 == "EXAMPLES" } ex && /format tsv/ { on = 1 } on { print; if (!/[|\\]$/) exit }' \
	"$TOP/man/man1/elsa-report.1" | sed -e 's/\\-/-/g' -e 's/\\(aq/'\''/g' -e 's/\\e/\\/g' -e "s|study.sweep/runs|$T/runs|" >"$T/sort.sh"
elsa-report --format tsv "$T/runs" >"$T/plain.tsv"
sh "$T/sort.sh" >"$T/sorted.tsv" 2>"$T/sort.err"
check "elsa-report(1)'s sorting example keeps the header line on top ($(head -c 40 "$T/sorted.tsv" | head -1))" \
	"[ -s '$T/sort.sh' ] && head -1 '$T/sorted.tsv' | grep -q '^task	metric	frozen	' && [ ! -s '$T/sort.err' ]"
check "... then every row, by relative quality from the highest" \
	"[ \"\$(tail -n +2 '$T/sorted.tsv' | sort)\" = \"\$(tail -n +2 '$T/plain.tsv' | sort)\" ] &&
	 awk -F'\t' 'NR > 2 && \$12 > last { exit 1 } { last = \$12 }' '$T/sorted.tsv'"

# The figure of a study whose every point lies above 90% (96.25 to 100): its y axis still reaches
# 90, so the dashed 90% line shows (gnuplot would scale it to 96-100).
R=$T/high
run rte 0 1.0e-05 1 0.80
run rte 2 1.0e-05 1 0.79
run rte 4 1.0e-05 1 0.78
run rte 5 1.0e-05 1 0.77
if command -v gnuplot >/dev/null; then
	ok "the figure of a study above 90% everywhere" elsa-report --plot "$T/high/figure" "$R"
	check "... has 90 on its y axis (its tick labels: $(sed -n 's/.*<tspan[^>]*> *\([0-9.]*\)<\/tspan>.*/\1/p' "$T/high/figure.svg" | tr '\n' ' '))" \
		"grep -q '<tspan[^>]*> 90</tspan>' '$T/high/figure.svg'"
else
	skip "the figure of a study above 90% everywhere has 90 on its y axis" "gnuplot is not installed"
fi
done_testing
