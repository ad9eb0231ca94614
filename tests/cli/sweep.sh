# elsa-sweep when things go wrong: a diverging run does not stop the study (the rest finishes, the
# failures are listed and marked in the report); a signal to elsa-sweep stops every job it
# started and leaves no partial output; runs.list runs for real under GNU parallel, each line on
# its own (folders made, finished runs skipped, threads set); experiment files with unknown
# settings, duplicates, missing task files or unbuildable paths are refused before anything runs.
. "${ELSA_TOP:-.}/tests/lib.sh"
mkdata --seed 3 --train 96 --dev 24 "$T/data" >/dev/null
mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --seed 4 "$T/model" >/dev/null
study() { # study FILE LR [MORE SETTINGS]: a one-task grid (one epoch unless told)
	printf 'model: model\ndata: data\ntasks: [sst2]\nfrozen: [0, 2]\nlr: %s\nseeds: [1]\nbatch: 8\nmax_len: 32\njobs: 2\n%s' \
		"$2" "${3:-epochs: 1
}" >"$T/$1"
}

# A diverging learning rate (with a weight decay that makes it blow up): its runs fail, the
# others finish and are reported.
study div.yaml '[1e-3, 10]' 'epochs: 1
weight_decay: 10
'
fails "a study with a diverging run ends with status 1, naming what is incomplete" "the study is not complete \\(1 failed run;" \
	sh -c "elsa-sweep '$T/div.yaml' >'$T/div.out' 2>'$T/div.err'; status=\$?; tail -1 '$T/div.err' >&2; exit \$status"
D=$T/div.sweep
check "... after every run it could do (3 of 4 finished: the head alone does not diverge)" \
	"[ \$(ls '$D'/runs/sst2/*/run.yaml | wc -l) -eq 3 ] && [ -s '$D/runs/sst2/N0-lr0.001-seed1/eval.yaml' ]"
check "... listing the failed run with its log's last line" \
	"grep -q 'failed: sst2/N0-lr10-seed1: elsa-train: step 12: the loss is nan' '$T/div.err'"
check "... and printing the report of what finished" "grep -q '^| 0 | 2 |' '$T/div.out' && [ -s '$D/report.md' ]"
check "the report marks the failures in their cells and lists them" \
	"grep -q '| 0 | 0.001, 1 (.*1 failed), \\[' '$D/report.md' && grep -q '^1 run failed' '$D/report.md' && grep -q '^- sst2 N0-lr10-seed1: elsa-train: step 12: the loss is nan' '$D/report.md'"
printf 'model: model\ndata: data\ntasks: [sst2]\nfrozen: [0]\nlr: [10]\nseeds: [1]\nepochs: 1\nbatch: 8\nweight_decay: 10\n' >"$T/allfail.yaml"
elsa-sweep "$T/allfail.yaml" >"$T/allfail.out" 2>"$T/allfail.err"
st=$?
check "a study whose every run fails says there is no report, and exits 1" \
	"[ $st = 1 ] && grep -q 'no run finished: no report' '$T/allfail.err' && grep -q 'not complete (1 failed run' '$T/allfail.err' && [ ! -s '$T/allfail.out' ]"

# On a terminal (script(1) makes one): one progress line redrawn (caches and runs done of all,
# failures, elapsed), the jobs' messages above it on lines of their own, and where the report and
# figure are. Not on a pipe.
if command -v script >/dev/null 2>&1; then
	rm -rf "$T/div.sweep"
	script -qec "elsa-sweep '$T/div.yaml' >/dev/null" /dev/null | tr '\r' '\n' | sed 's/\x1b\[K//g' >"$T/tty.err"
	check "on a terminal: a progress line of caches and runs done, failures and time" \
		"grep -Eq '^elsa-sweep: caches [0-4]/4, runs [0-4]/4 done(, [0-9]+m[0-9]{2}s elapsed| \\(1 failed\\))' '$T/tty.err' && grep -Eq '^elsa-sweep: caches 4/4, runs 3/4 done \\(1 failed\\), [0-9]+m[0-9]{2}s elapsed\$' '$T/tty.err'"
	check "... the jobs' messages on lines of their own (make's own, even under make check)" "grep -q '^make: \\*\\*\\* .*N0-lr10-seed1/run.yaml. Error 1' '$T/tty.err'"
	grep -q '^make: ' "$T/tty.err" || sed 's/^/#   /' "$T/tty.err" | grep -v '^#   $' | tail -20
	check "... and no progress line on a pipe" "! grep -q 'caches [0-9]' '$T/div.err'"
	study tty.yaml '[1e-3]'
	script -qec "elsa-sweep '$T/tty.yaml' >/dev/null" /dev/null | tr '\r' '\n' >"$T/tty.err"
	check "a study that finishes says what this pass took and where its report and figure are" \
		"grep -q '^elsa-sweep: this pass took [0-9]*s (2 of the 2 runs trained in it): report $T/tty.sweep/report.md, figure $T/tty.sweep/figure.svg and .png' '$T/tty.err'"
	rm "$T/tty.sweep/runs/sst2/N2-lr0.001-seed1/run.yaml"
	script -qec "elsa-sweep '$T/tty.yaml' >/dev/null" /dev/null | tr '\r' '\n' >"$T/tty.err"
	check "... and a rerun, what this pass did (1 of the 2 runs)" \
		"grep -q '^elsa-sweep: this pass took [0-9]*s (1 of the 2 runs trained in it): report' '$T/tty.err'"
	rm -rf "$T/tty.sweep"
	script -qec "elsa-sweep -q '$T/tty.yaml' >/dev/null" /dev/null | tr '\r' '\n' >"$T/quiet.err"
	check "-q: on a terminal, no progress and no closing line" "! grep -q 'caches [0-9]\\|the study took' '$T/quiet.err' && [ -s '$T/tty.sweep/report.md' ]"
	# The tools beside a copy of elsa-sweep (it runs those beside its own binary): an elsa-train
	# that takes $SLOW seconds more per run, an elsa-evaluate that fails when $FAIL is set.
	mkdir "$T/bin"
	cp "$B/elsa-sweep" "$T/bin/"
	for t in tokenize embed encode report; do ln -s "$B/elsa-$t" "$T/bin/elsa-$t"; done
	printf '#!/bin/sh\nsleep ${SLOW:-0}\nexec "%s/elsa-train" "$@"\n' "$B" >"$T/bin/elsa-train"
	printf '#!/bin/sh\n[ -z "${FAIL:-}" ] || { echo "elsa-evaluate: not today" >&2; exit 1; }\nexec "%s/elsa-evaluate" "$@"\n' \
		"$B" >"$T/bin/elsa-evaluate"
	chmod +x "$T/bin/elsa-train" "$T/bin/elsa-evaluate"
	study slow.yaml '[1e-3, 2e-3]'
	sed -i 's/^jobs: 2$/jobs: 1/' "$T/slow.yaml"
	FAIL=1 script -qec "'$T/bin/elsa-sweep' '$T/slow.yaml' >/dev/null" /dev/null | tr '\r' '\n' | sed 's/\x1b\[K//g' >"$T/slow.err"
	check "a run counts as done once trained, not once evaluated (every evaluation failed here)" \
		"grep -Eq '^elsa-sweep: caches 4/4, runs 4/4 done, [0-9]+m[0-9]{2}s elapsed\$' '$T/slow.err' && [ ! -e '$T/slow.sweep/runs/sst2/N0-lr0.001-seed1/eval.yaml' ]"
	# The time left, in seconds, of each progress line, with the runs done: it never grows
	# while no run ends (lines of the same count), and some lines show it.
	rm -rf "$T/slow.sweep"
	SLOW=2 script -qec "'$T/bin/elsa-sweep' '$T/slow.yaml' >/dev/null" /dev/null | tr '\r' '\n' | sed 's/\x1b\[K//g' >"$T/slow.err"
	sed -n 's/^elsa-sweep: caches 4\/4, runs \([0-9]\)\/4 done, .*, about \([0-9]*\)m\([0-9]*\)s left$/\1 \2 \3/p' "$T/slow.err" >"$T/left"
	awk '$1 == runs && $2 * 60 + $3 > left { print "#   runs " $1 " done: " left " s left, then " $2 * 60 + $3 " s" }
	     $1 == runs { pairs++ } { runs = $1; left = $2 * 60 + $3 }
	     END { if (pairs < 2) print "#   only " pairs + 0 " pairs of lines of the same count" }' "$T/left" >"$T/left.bad"
	check "the time left, from the runs that ended, does not grow while none ends ($(wc -l <"$T/left" | tr -d ' ') lines)" \
		"[ ! -s '$T/left.bad' ]"
	cat "$T/left.bad"
else
	skip "sweep progress on a terminal" "script(1) is not installed"
fi

# A grid without frozen 0 (the paper's own N = 6..12): the study finishes, relative to the fewest
# frozen layers run, and says so.
study nozero.yaml '[1e-3]'
sed -i 's/frozen: \[0, 2\]/frozen: [1, 2]/' "$T/nozero.yaml"
ok "a study without frozen 0 finishes" elsa-sweep "$T/nozero.yaml"
check "... its qualities relative to frozen 1, as its caption says" \
	"grep -q 'relative to the fewest frozen layers run, frozen 0 being absent: sst2 frozen 1' '$T/.out' && grep -q '^| 1 | 1 | .*(100.0%)' '$T/.out'"
check "... and its figure is drawn" "[ -s '$T/nozero.sweep/figure.svg' ] && [ ! -e '$T/nozero.sweep/figure.log' ]"

# A signal to elsa-sweep reaches every job: nothing of the study runs after it, nothing partial stays.
study long.yaml '[1e-3]' 'epochs: 100000
'
elsa-sweep "$T/long.yaml" >/dev/null 2>"$T/long.err" &
pid=$!
i=0
while [ $i -lt 300 ] && ! pgrep -f "long.sweep/runs/sst2" >/dev/null; do sleep 0.1; i=$((i + 1)); done
check "the long study's training has started" "pgrep -f 'long.sweep/runs/sst2' >/dev/null"
kill -TERM $pid 2>/dev/null
wait $pid
status=$?
check "SIGTERM: elsa-sweep dies of it (status $status)" "[ $status = 143 ]"
sleep 0.5
check "... and no job of the study runs after it" "! pgrep -f 'long.sweep' >/dev/null"
check "... and no partial run folder is left" "[ -z \"\$(ls '$T/long.sweep/runs/sst2' | grep -v '\\.log\$')\" ]"
pkill -f 'long.sweep' 2>/dev/null
# --status of the stopped study: a run with a checkpoint (elsa-train's, here written by hand as
# a killed run leaves it) says where it resumes.
run=$(sed -n 's/.* -o \([^ ]*\) .*/\1/p' "$T/long.sweep/runs.list" | head -1)
run=${run:-$T/long.sweep/no-run-in-runs.list} # (the check below then fails, writing nothing outside $T)
mkdir -p "$run.checkpoint" && printf 'elsa-checkpoint 1\nstep 42\n' >"$run.checkpoint/state"
ok "--status of the stopped study" elsa-sweep --status "$T/long.sweep"
check "... names the run that will resume, and the counts" \
	"grep -q '^missing  sst2/N0-lr0.001-seed1 (checkpoint at step 42: resumes from there)' '$T/.out' && grep -q '^2 runs: 0 done' '$T/.out'"

# runs.list under GNU parallel, after the caches: every run, and a rerun redoes none.
study par.yaml '[1e-3, 2e-3]'
P=$T/par.sweep
elsa-sweep --dry-run "$T/par.yaml" >/dev/null
ok "make caches" make -s -f "$P/Makefile" caches
check "runs.list: each line sets its threads and makes its folder" \
	"[ \$(grep -c 'ELSA_THREADS=\${ELSA_THREADS:-1}' '$P/runs.list') -eq 4 ] && [ \$(grep -c '^mkdir -p ' '$P/runs.list') -eq 4 ]"
if command -v parallel >/dev/null; then
	ok "parallel -j 2 < runs.list trains every run" parallel -j 2 <"$P/runs.list"
	check "... all 4 of them" "[ \$(ls '$P'/runs/sst2/*/run.yaml | wc -l) -eq 4 ]"
	ls -l --time-style=full-iso "$P"/runs/sst2/*/run.yaml >"$T/par.before"
	ok "a rerun of runs.list" parallel -j 2 <"$P/runs.list"
	ls -l --time-style=full-iso "$P"/runs/sst2/*/run.yaml >"$T/par.after"
	same "... redoes no finished run" "$T/par.before" "$T/par.after"
	ok "make then evaluates and reports" make -s -f "$P/Makefile"
	check "... from the runs parallel trained" "[ -s '$P/report.md' ] && [ \$(ls '$P'/runs/sst2/*/eval.yaml | wc -l) -eq 4 ]"
else
	skip "runs.list under GNU parallel" "parallel is not installed (scripts/deps installs it)"
fi

# Caches in shards, each a job of its own: the same caches, so the same table.
cp "$T/par.yaml" "$T/shard.yaml"
printf 'shards: {train: 3, dev: 2}\n' >>"$T/shard.yaml"
ok "a study whose caches are made in shards" elsa-sweep "$T/shard.yaml"
Q=$T/shard.sweep
check "... by one embedding and one encoding job per shard, joined" \
	"[ -s '$Q/cache/sst2/train.L0.3.zst' ] && [ -s '$Q/cache/sst2/train.L2.3.zst' ] && [ -s '$Q/cache/sst2/dev.L2.2.zst' ] && [ ! -e '$Q/cache/sst2/dev.L2.3.zst' ] &&
	 grep -q '^shard-3: ' '$Q/Makefile'"
check "... whose records are those of the whole caches" \
	"[ \"\$(elsa-view --values '$Q/cache/sst2/train.L2.zst' | md5sum)\" = \"\$(elsa-view --values '$P/cache/sst2/train.L2.zst' | md5sum)\" ]"
sed -n '1,/fewest/p' "$Q/report.md" >"$T/shard.table"
sed -n '1,/fewest/p' "$P/report.md" >"$T/par.table"
same "... and whose table is the unsharded study's" "$T/shard.table" "$T/par.table"
printf 'shards: {train: 2, test: 1}\n' >"$T/badshard.yaml"
cat "$T/par.yaml" "$T/badshard.yaml" >"$T/bad.yaml"
fails "shards of a split that is not one" "bad.yaml: line 11: shards: test is not a split" elsa-sweep --dry-run "$T/bad.yaml"

# The report says only what is true: a run given twice counts once; a cell of one seed has no
# spread; each seed's bootstrap interval is shown; two sweeps of other settings are not pooled.
R1=$P/runs/sst2/N0-lr0.001-seed1
ok "elsa-report of a run given twice (its folder and its run.yaml)" elsa-report "$R1" "$R1/run.yaml"
check "... counts it once, with no spread for one seed, and its bootstrap interval" \
	"grep -q ' 1 run of' '$T/.out' && grep -q '^| 0 | 2 | [0-9.]* (1 seed) (100.0%) |' '$T/.out' && grep -q '| 0 | 0.001, 1.*, \\[[0-9.]*, [0-9.]*\\] |' '$T/.out'"
ok "--format tsv" elsa-report --format tsv "$P/runs"
check "... writes the shortest numbers, and leaves the undefined spread empty" \
	"awk -F'\t' 'NR > 1 { if (length(\$10) > 17 || \$11 != \"\") bad = 1 } END { exit bad || NR != 3 }' '$T/.out'"
fails "--costs with --format tsv is refused" "--costs: the costs are tables of the md format" \
	elsa-report --format tsv --costs "$P/cache" "$P/runs"
fails "--costs where there are no encoding stats" "--costs .*/runs: no elsa-encode --stats files" \
	elsa-report --costs "$P/runs" "$P/runs"
study ep2.yaml '[1e-3]' 'epochs: 2
'
elsa-sweep "$T/ep2.yaml" >/dev/null 2>&1
fails "two sweeps of other epochs are not pooled into one cell" "one cell \\(sst2, frozen 0, lr 0.001\\) of runs whose epochs differ" \
	elsa-report "$P/runs" "$T/ep2.sweep/runs"

# Experiment files refused before anything runs, with the line and the setting meant.
study bad.yaml '[1e-3]' 'epoch: 2
'
fails "an unknown setting names the one meant" "bad.yaml: line 10: epoch is not a setting; did you mean epochs\\?" elsa-sweep --dry-run "$T/bad.yaml"
study bad.yaml '[1e-3]' 'learning_rate: 2e-5
'
fails "Hugging Face's names are recognized" "line 10: learning_rate is not a setting; did you mean lr\\?" elsa-sweep --dry-run "$T/bad.yaml"
study bad.yaml '[1e-3]' 'max_length: 64
'
fails "... max_length" "line 10: max_length is not a setting; did you mean max_len\\?" elsa-sweep --dry-run "$T/bad.yaml"
study bad.yaml '[1e-3]' 'epochs: 1
epochs: 2
'
fails "a setting given twice" "bad.yaml: line 11: epochs is given twice" elsa-sweep --dry-run "$T/bad.yaml"
study keep.yaml '[1e-3]' 'epochs: 2
keep: best
'
elsa-sweep --dry-run -o "$T/keep.sweep" "$T/keep.yaml" >/dev/null
check "keep: best gives every run --keep best" \
	"[ \$(grep -c -- '--keep best' '$T/keep.sweep/runs.list') -eq 2 ] && ! grep -q -- '--keep last' '$T/keep.sweep/runs.list'"
check "... and the default is --keep last" "[ \$(grep -c -- '--keep last' '$P/runs.list') -eq 4 ]"
study bad.yaml '[1e-3]' 'keep: first
'
fails "keep: takes best or last" "bad.yaml: line 10: keep: best or last" elsa-sweep --dry-run "$T/bad.yaml"
study bad.yaml '[1e-3]' 'load_best_model_at_end: true
'
fails "... and is found under Hugging Face's name" "load_best_model_at_end is not a setting; did you mean keep\\?" elsa-sweep --dry-run "$T/bad.yaml"
sed 's/tasks: \[sst2\]/tasks: [SST-2]/' "$T/par.yaml" >"$T/bad.yaml"
fails "a task by its GLUE folder's name: the task meant" "bad.yaml: line 3: tasks: 'SST-2' is not a GLUE task elsa trains; did you mean sst2\\?\$" \
	elsa-sweep --dry-run "$T/bad.yaml"
sed 's/tasks: \[sst2\]/tasks: [sst2, rtee]/' "$T/par.yaml" >"$T/bad.yaml"
fails "... a misspelled task" "bad.yaml: line 3: tasks: 'rtee' is not a GLUE task elsa trains; did you mean rte\\?\$" \
	elsa-sweep --dry-run "$T/bad.yaml"
sed 's/^lr: .*/lr: [1e-3,\n  2e-3x]/' "$T/par.yaml" >"$T/bad.yaml"
fails "a bad learning rate, with its line" "bad.yaml: line 6: lr: '2e-3x' is not a number in \\[1e-12, 10\\]\$" elsa-sweep --dry-run "$T/bad.yaml"
sed 's/^lr: .*/lr: []/' "$T/par.yaml" >"$T/bad.yaml"
fails "... or none, with its line" "bad.yaml: line 5: lr: give 1 to 64 values\$" elsa-sweep --dry-run "$T/bad.yaml"
sed 's/^frozen: .*/frozen: [0, -2]/' "$T/par.yaml" >"$T/bad.yaml"
fails "a bad frozen count, with its line" "bad.yaml: line 4: frozen: '-2' is not a whole number in \\[0, " elsa-sweep --dry-run "$T/bad.yaml"
sed 's/^frozen: .*/frozen:\n  - 0\n  - 3/' "$T/par.yaml" >"$T/bad.yaml"
fails "... or past the model's layers, with its line and what to give" "bad.yaml: line 6: frozen: 3, the model has 2 layers; give 0 to 2\$" \
	elsa-sweep --dry-run "$T/bad.yaml"
sed 's/tasks: \[sst2\]/tasks: [sst2, sst2]/' "$T/par.yaml" >"$T/bad.yaml"
fails "a task given twice" "bad.yaml: line 3: tasks: sst2 is given twice" elsa-sweep --dry-run "$T/bad.yaml"
sed 's/frozen: \[0, 2\]/frozen: [0, 2, 2]/' "$T/par.yaml" >"$T/bad.yaml"
fails "a frozen count given twice" "bad.yaml: line 4: frozen: 2 is given twice" elsa-sweep --dry-run "$T/bad.yaml"
sed 's/tasks: \[sst2\]/tasks: [sst2, rte]/' "$T/par.yaml" >"$T/bad.yaml"
fails "a task whose files are missing" "bad.yaml: line 3: tasks: rte: .*/RTE/train.tsv: No such file" elsa-sweep --dry-run "$T/bad.yaml"
mkdir -p "$T/with space"
fails "a sweep folder whose path has a space" "with space/x: make cannot build a path with a space" \
	elsa-sweep --dry-run -o "$T/with space/x" "$T/par.yaml"
# The model and data paths go into the Makefile too: refused the same way, and so are the
# characters make or sh would take for syntax (a command run in the middle of a path).
mkdir -p "$T/with space" "$T/a&b"
cp -r "$T/model" "$T/with space/model" && cp -r "$T/data" "$T/a&b/data"
sed 's#^model: model#model: with space/model#' "$T/par.yaml" >"$T/spmodel.yaml"
fails "a model whose path has a space" "with space/model: make cannot build a path with a space" \
	elsa-sweep --dry-run -o "$T/spmodel.sweep" "$T/spmodel.yaml"
sed 's#^data: data#data: with space/data#' "$T/par.yaml" >"$T/spdata.yaml"
cp -r "$T/data" "$T/with space/data"
fails "data whose path has a space" "with space/data: make cannot build a path with a space" \
	elsa-sweep --dry-run -o "$T/spdata.sweep" "$T/spdata.yaml"
sed 's#^data: data#data: "a\&b/data"#' "$T/par.yaml" >"$T/ampdata.yaml"
fails "data whose path has a & (sh would run half of it in the background)" "a&b/data: make cannot build a path with .*&" \
	elsa-sweep --dry-run -o "$T/ampdata.sweep" "$T/ampdata.yaml"
check "... refused before any file of the study is written" \
	"[ ! -e '$T/spmodel.sweep/Makefile' ] && [ ! -e '$T/spdata.sweep/runs.list' ] && [ ! -e '$T/ampdata.sweep/Makefile' ]"
# An experiment file whose name has a quote: the Slurm report job's script still names it.
cp "$T/par.yaml" "$T/it's.yaml"
ok "--slurm --dry-run of an experiment file named with a quote" elsa-sweep --slurm --dry-run -o "$T/quote.sweep" "$T/it's.yaml"
check "... whose report job's script gives elsa-sweep that file" \
	"[ \"\$(sed -n 's/^exec \\(.*\\) >.*/set -- \\1; printf %s \"\$6\"/p' '$T/quote.sweep/slurm/report.sh' | sh)\" = \"$T/it's.yaml\" ]"
done_testing
