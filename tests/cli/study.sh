# The study in one command: elsa-sweep on a tiny grid, its reruns (only what is missing), a
# model change (the caches are rebuilt), and elsa-report's table checked against the runs.
. "${ELSA_TOP:-.}/tests/lib.sh"
mkdata --seed 3 --train 160 --dev 40 "$T/data" >/dev/null
mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --seed 4 "$T/model" >/dev/null
cat >"$T/study.yaml" <<EOT
model: model
data: data
tasks: [sst2, stsb]
frozen: [0, 1, 2]
lr: [1e-3]
seeds: [1, 2]
epochs: 1
batch: 8
max_len: 32
jobs: 2
EOT
ok "a sweep runs end to end" elsa-sweep "$T/study.yaml"
cp "$T/.out" "$T/report.md"
S=$T/study.sweep
check "every run has its record and its evaluation (2 tasks x 3 counts x 2 seeds)" \
	"[ \$(ls '$S'/runs/*/*/run.yaml | wc -l) -eq 12 ] && [ \$(ls '$S'/runs/*/*/eval.yaml | wc -l) -eq 12 ]"
check "one encoding pass per split saved every frozen count" \
	"[ \$(ls '$S'/cache/sst2/*.encode.yaml | wc -l) -eq 2 ] && elsa-view -H '$S/cache/sst2/train.L1.zst' | grep -q 'layer	1'"
check "the report has a row per frozen count and the 90% line" \
	"grep -q '^| 0 | 2 |' '$T/report.md' && grep -q '^| 1 | 1 |' '$T/report.md' && grep -q '^| 2 | 0 |' '$T/report.md' && grep -q 'fewest trained layers for 90%' '$T/report.md'"
check "frozen 0 is the baseline: 100% of itself (where its score is positive)" \
	"grep '^| 0 | 2 |' '$T/report.md' | grep -q '(100.0%)' && [ -z \"\$(grep '^| 0 | 2 |' '$T/report.md' | grep -o '([0-9.-]*%)' | grep -v '(100.0%)')\" ]"
if command -v gnuplot >/dev/null; then
	check "the figure is written as SVG and PNG" "grep -q '<svg' '$S/figure.svg' && [ \"\$(head -c 4 '$S/figure.png' | tail -c 3)\" = PNG ]"
else
	skip "the figure is written as SVG and PNG" "gnuplot is not installed"
fi

# The table's numbers, recomputed with awk from the run records: sst2 at frozen 1.
want=$(for f in "$S"/runs/sst2/N1-*/run.yaml; do grep '^    score:' "$f" | tail -1 | sed 's/.*score: //'; done |
	awk '{ s += $1 } END { printf "%.2f", 100 * s / NR }')
check "a cell is the mean over seeds of the runs' dev scores ($want)" "grep '^| 1 | 1 |' '$T/report.md' | grep -q '| $want ±'"
elsa-report --format tsv "$S/runs" >"$T/table.tsv"
check "--format tsv: a header and a row per task and count" "[ \$(wc -l <'$T/table.tsv') -eq 7 ]"
elsa-report --format yaml "$S/runs" >"$T/table.yaml"
check "--format yaml names each task's fewest trained layers for 90%" "grep -q 'fewest_trained_for_90' '$T/table.yaml'"

# Reruns: only the missing work.
ls -l --time-style=full-iso "$S"/runs/*/*/run.yaml | awk '{ print $7, $9 }' >"$T/before"
rm -rf "$S/runs/stsb/N1-lr0.001-seed2"
ok "a rerun after an interruption succeeds" elsa-sweep "$T/study.yaml"
ls -l --time-style=full-iso "$S"/runs/*/*/run.yaml | awk '{ print $7, $9 }' >"$T/after"
check "... and redid only the missing run" "[ \$(diff '$T/before' '$T/after' | grep -c '^>') -eq 1 ] && diff '$T/before' '$T/after' | grep -q 'stsb/N1-lr0.001-seed2'"
sed -i 's/seeds: \[1, 2\]/seeds: [1, 2, 3]/' "$T/study.yaml"
ok "adding a seed runs" elsa-sweep "$T/study.yaml"
check "... only the new seed's runs" "[ \$(ls '$S'/runs/*/*/run.yaml | wc -l) -eq 18 ] && [ \$(find '$S/runs' -name run.yaml -newer '$T/after' | wc -l) -eq 6 ]"
mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --seed 5 "$T/model" >/dev/null
ok "a sweep after the model changed" elsa-sweep "$T/study.yaml"
fp=$(elsa-view -H "$S/cache/stsb/dev.L2.zst" | sed -n 's/^model	//p')
check "... rebuilt the caches with the new model" "[ \$(find '$S/runs' -name run.yaml -newer '$T/after' | wc -l) -eq 18 ] && grep -q \"fingerprint: \\\"$fp\\\"\" '$S/runs/stsb/N2-lr0.001-seed1/run.yaml'"

# Bad input.
fails "elsa-report without runs" "no run.yaml under" elsa-report "$T/data"
elsa-train -m "$T/model" -t sst2 --train "$S/cache/sst2/train.L2.zst" -o "$T/nodev" --max-steps 1 2>"$T/nodev.err"
check "training without --dev says the run has no dev metrics" "grep -q 'note: no --dev: .*nodev has no dev metrics and no predictions.tsv' '$T/nodev.err'"
fails "elsa-report on a run without a dev set" "nodev/run.yaml: the run has no dev evaluation" elsa-report "$T/nodev"
fails "elsa-evaluate of a run without a dev set names the missing --dev" \
	"nodev/predictions.tsv: no such file: the run was trained without --dev" \
	elsa-evaluate -t sst2 --gold "$S/cache/sst2/dev.tokens" --pred "$T/nodev/predictions.tsv"
mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --seed 9 "$T/model9" >/dev/null
elsa-embed -m "$T/model9" "$S/cache/sst2/dev.tokens" >"$T/m9.zst"
elsa-train -m "$T/model9" -t sst2 --train "$T/m9.zst" --dev "$T/m9.zst" -o "$T/m9run" --max-steps 1 2>/dev/null
fails "elsa-report on runs of two models" "made with another model" elsa-report "$S/runs/sst2/N0-lr0.001-seed1" "$T/m9run"
printf 'model: model\ndata: data\ntasks: [sst2]\nfrozen: [0, 9]\nlr: [1e-3]\nseeds: [1]\n' >"$T/bad.yaml"
fails "a frozen count past the model's layers" "bad.yaml: line 4: frozen: 9, the model has 2 layers; give 0 to 2" elsa-sweep --dry-run "$T/bad.yaml"
printf 'model: model\ndata: data\ntasks: [sst3]\nfrozen: [0]\nlr: [1e-3]\nseeds: [1]\n' >"$T/bad.yaml"
fails "an unknown task" "bad.yaml: line 3: tasks: 'sst3' is not a GLUE task" elsa-sweep --dry-run "$T/bad.yaml"
printf 'model: model\ndata: data\ntasks: [sst2]\nlr: [1e-3]\nseeds: [1]\n' >"$T/bad.yaml"
fails "a missing setting" "bad.yaml: no frozen" elsa-sweep --dry-run "$T/bad.yaml"
ok "--dry-run writes the job list" elsa-sweep --dry-run -o "$T/dry" "$T/study.yaml"
check "... for GNU parallel or a Slurm array: one elsa-train per run" \
	"[ \$(grep -c elsa-train '$T/dry/runs.list') -eq 18 ] && [ ! -e '$T/dry/runs' ]"
done_testing
