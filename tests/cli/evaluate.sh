# elsa-evaluate: every task's metrics against scikit-learn and scipy (the values of
# tests/fixtures/evaluate/expected.tsv, written by tests/ref/metrics_fixtures.py), the YAML it
# prints, the bootstrap, submissions, and each kind of bad input.
. "$(dirname "$0")/../lib.sh"
F=$TOP/tests/fixtures/evaluate

# gold_option FILE: --gold for a token stream, --gold-tsv for a GLUE TSV file
gold_option() {
	case $1 in *.tok) echo --gold ;; *) echo --gold-tsv ;; esac
}

# compare CASE YAML: each metric expected for CASE is in YAML, equal within 1e-12 (null to null);
# primary and score are the task's primary metric and its value. Prints what differs.
compare() {
	awk -F'\t' -v c="$1" '
		FNR == NR { if ($1 == c) { want[$5] = $6; last = $5 } next }
		{ i = index($0, ": "); got[substr($0, 1, i - 1)] = substr($0, i + 2) }
		END {
			bad = 0
			for (m in want) {
				w = want[m]; g = got[m]
				if (!(m in got)) { print "# no " m; bad = 1 }
				else if (w == "null" || g == "null") { if (w != g) { print "# " m ": " g ", expected " w; bad = 1 } }
				else if ((g - w) > 1e-12 || (w - g) > 1e-12) { print "# " m ": " g ", expected " w; bad = 1 }
			}
			if (got["primary"] != last || got["score"] != got[last]) { print "# primary " got["primary"]; bad = 1 }
			exit bad
		}' "$F/expected.tsv" "$2"
}

# Every task, from its GLUE TSV and from its token stream, and every edge case.
for c in $(cut -f1 "$F/expected.tsv" | sed 1d | uniq); do
	row=$(grep -m1 "^$c	" "$F/expected.tsv")
	task=$(echo "$row" | cut -f2) gold=$(echo "$row" | cut -f3) pred=$(echo "$row" | cut -f4)
	elsa-evaluate -t "$task" $(gold_option "$gold") "$F/$gold" --pred "$F/$pred" >"$T/$c.yaml" 2>"$T/$c.err"
	check "$c: metrics as sklearn/scipy" "compare $c '$T/$c.yaml'"
done
check "no NaN printed, ever" "! grep -il nan '$T'/*.yaml"
check "the examples are counted" "grep -qx 'examples: 277' '$T/rte.yaml'"
for t in cola sst2 mrpc stsb qqp mnli mnli-mm qnli rte wnli; do
	sed 1d "$T/$t.yaml" >"$T/a" && sed 1d "$T/$t-tokens.yaml" >"$T/b"
	same "$t: the same from the GLUE TSV and from the token stream" "$T/a" "$T/b"
done

# The YAML, whole, for the edge cases.
printf 'task: stsb\nexamples: 5\npearson: null\nspearmanr: null\ncorr: null\nprimary: corr\nscore: null\nnote: "%s"\n' \
	"pearson, spearmanr and corr are undefined: the predictions are constant" >"$T/want"
same "constant STS-B prediction: null with a note" "$T/want" "$T/stsb-constant-pred.yaml"
check "constant STS-B gold: the note says so" \
	"grep -qx 'note: \"pearson, spearmanr and corr are undefined: the gold labels are constant\"' '$T/stsb-constant-gold.yaml'"
check "one STS-B example: the note says so" "grep -q 'undefined: fewer than 2 examples' '$T/stsb-single.yaml'"
printf 'task: cola\nexamples: 8\nmcc: 0\nprimary: mcc\nscore: 0\nnote: "%s"\n' \
	"mcc is 0 by convention: the predictions are constant" >"$T/want"
same "constant CoLA prediction: mcc 0 with a note" "$T/want" "$T/cola-constant-pred.yaml"
check "nothing predicted positive: f1 0 with a note" \
	"grep -qx 'f1: 0' '$T/mrpc-no-positive-pred.yaml' && grep -q '^note: \"f1 is 0: nothing is predicted positive' '$T/mrpc-no-positive-pred.yaml'"
check "one example" "grep -qx 'acc: 1' '$T/qqp-single.yaml' && grep -qx 'f1: 1' '$T/qqp-single.yaml'"

# Inputs and outputs: stdin, pipelines, -o.
ev() { elsa-evaluate -t rte --gold-tsv "$F/rte.gold.tsv" "$@"; }
ok "predictions from stdin" sh -c "elsa-evaluate -t rte --gold-tsv '$F/rte.gold.tsv' --pred - <'$F/rte.pred.tsv' >'$T/stdin.yaml'"
same "... as from the file" "$T/rte.yaml" "$T/stdin.yaml"
ok "gold from a pipeline" sh -c "cat '$F/rte.gold.tok' | elsa-evaluate -t rte --gold - --pred '$F/rte.pred.tsv' >'$T/pipe.yaml'"
check "... the same metrics" "compare rte '$T/pipe.yaml'"
ok "-o FILE" ev --pred "$F/rte.pred.tsv" -o "$T/out.yaml"
same "... holds what stdout gets" "$T/rte.yaml" "$T/out.yaml"
fails "-o FILE on bad input" "cola.gold.tsv: line 1: not a predictions file" ev --pred "$F/cola.gold.tsv" -o "$T/never.yaml"
check "... leaves no file" "[ ! -e '$T/never.yaml' ] && [ -z \"\$(ls -A '$T' | grep never)\" ]"

# The bootstrap.
ok "--bootstrap" ev --pred "$F/rte.pred.tsv" --bootstrap 400 -o "$T/b1.yaml"
ok "--bootstrap again" ev --pred "$F/rte.pred.tsv" --bootstrap 400 -o "$T/b2.yaml"
same "... the same interval (default seed)" "$T/b1.yaml" "$T/b2.yaml"
check "... seed 42 by default, and the interval holds the value" "grep -qx 'seed: 42' '$T/b1.yaml' && awk '
	/^acc: / { v = \$2 } /^acc_ci95: / { gsub(/[][,]/, \"\"); lo = \$2; hi = \$3 }
	END { exit !(lo < v && v < hi && hi - lo < 0.2) }' '$T/b1.yaml'"
ok "--seed 7" ev --pred "$F/rte.pred.tsv" --bootstrap 400 --seed 7 -o "$T/b3.yaml"
check "... another interval" "! cmp -s '$T/b1.yaml' '$T/b3.yaml' && grep -qx 'seed: 7' '$T/b3.yaml'"
check "... the point values do not change" "grep -qx 'acc: 0.8808664259927798' '$T/b3.yaml'"
ok "--bootstrap on MRPC" elsa-evaluate -t mrpc --gold "$F/mrpc.gold.tok" --pred "$F/mrpc.pred.tsv" -b 200 -o "$T/m.yaml"
check "... an interval for each metric" "[ \$(grep -c '^[a-z_0-9]*_ci95: \\[0\\.[0-9]*, 0\\.[0-9]*\\]\$' '$T/m.yaml') = 3 ]"
ok "--bootstrap on a constant STS-B prediction" elsa-evaluate -t stsb --gold "$F/stsb-constant-pred.gold.tok" \
	--pred "$F/stsb-constant-pred.pred.tsv" -b 50 -o "$T/s.yaml"
check "... null intervals" "[ \$(grep -c '_ci95: null\$' '$T/s.yaml') = 3 ]"

# Submissions.
ok "--submission" elsa-evaluate -t rte --submission --pred "$F/rte.pred.tsv" -o "$T/RTE.tsv"
check "... index and label names" "head -1 '$T/RTE.tsv' | grep -qx 'index	prediction' && [ \$(wc -l <'$T/RTE.tsv') = 278 ] &&
	! sed 1d '$T/RTE.tsv' | grep -qv '^[0-9]*	\\(entailment\\|not_entailment\\)\$'"
check "... the predictions file's order without gold" "[ \"\$(sed -n 2p '$T/RTE.tsv' | cut -f1)\" = \"\$(sed -n 2p '$F/rte.pred.tsv' | cut -f1)\" ]"
ok "--submission with the gold file" elsa-evaluate -t rte --submission --gold-tsv "$F/rte.gold.tsv" --pred "$F/rte.pred.tsv" -o "$T/RTE2.tsv"
check "... rows in the gold file's order" "sed 1d '$T/RTE2.tsv' | cut -f1 | awk '\$1 != NR - 1 { exit 1 }'"
sort "$T/RTE.tsv" >"$T/a"; sort "$T/RTE2.tsv" >"$T/b"
same "... the same rows" "$T/a" "$T/b"
printf 'index\tsentence1\tsentence2\n0\ta\tb\n1\tc\td\n2\te\tf\n' >"$T/ax.tsv"
printf 'id\tprediction\n2\t2\n0\t1\n1\t0\n' >"$T/ax.pred"
ok "ax: a submission from the unlabelled test file" elsa-evaluate -t ax --submission --gold-tsv "$T/ax.tsv" --pred "$T/ax.pred" -o "$T/AX.tsv"
printf 'index\tprediction\n0\tentailment\n1\tcontradiction\n2\tneutral\n' >"$T/want"
same "... MNLI's label names" "$T/want" "$T/AX.tsv"
fails "ax: metrics need labels" "ax.tsv: line 2: no gold label" elsa-evaluate -t ax --gold-tsv "$T/ax.tsv" --pred "$T/ax.pred"
printf 'id\tprediction\n0\t3.25\n1\t0.1\n' >"$T/stsb.pred"
ok "STS-B submission" elsa-evaluate -t stsb --submission --pred "$T/stsb.pred" -o "$T/STS-B.tsv"
printf 'index\tprediction\n0\t3.25\n1\t0.1\n' >"$T/want"
same "... scores as they were" "$T/want" "$T/STS-B.tsv"

# Bad input: one line naming the file (and the line), exit 1.
P=$T/p.tsv G=$T/g.tsv
printf 'id\tprediction\n0\t1\n1\tx\n' >"$P"
fails "a prediction that is not a number" "p.tsv: line 3: prediction 'x' is not a number" ev --pred "$P"
printf 'id\tprediction\n0\t1\n1\t2\n' >"$P"
fails "a prediction outside the label set" "p.tsv: line 3: prediction '2' is not a class of rte \\(0 to 1\\)" ev --pred "$P"
printf 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tmaybe\n' >"$G"
fails "a gold label outside the label set (TSV)" "g.tsv: line 3: label 'maybe' is not one of rte's labels" \
	elsa-evaluate -t rte --gold-tsv "$G" --pred "$F/rte.pred.tsv"
printf '#elsa-tokens 1 task=rte tokenizer=0 max_len=0\n0\t1\t1 2\t0 0\n1\t4\t1 2\t0 0\n#end 2\n' >"$T/g.tok"
fails "a gold label outside the label set (token stream)" "g.tok: line 3: label '4' is not a class of rte" \
	elsa-evaluate -t rte --gold "$T/g.tok" --pred "$F/rte.pred.tsv"
fails "a token stream of another task" "g.tok: the stream was tokenized for task rte, not qnli" \
	elsa-evaluate -t qnli --gold "$T/g.tok" --pred "$F/rte.pred.tsv"
head -50 "$F/rte.pred.tsv" >"$P"
fails "a missing id" "p.tsv: no prediction for id '[0-9]+' \\(.*rte.gold.tsv: line [0-9]+\\)" ev --pred "$P"
{ cat "$F/rte.pred.tsv"; printf 'extra\t1\n'; } >"$P"
fails "an extra id" "p.tsv: line 279: id 'extra' is not in .*rte.gold.tsv" ev --pred "$P"
{ cat "$F/rte.pred.tsv"; sed -n 5p "$F/rte.pred.tsv"; } >"$P"
fails "a duplicate id" "p.tsv: line 279: duplicate id '[0-9]+' \\(first on line 5\\)" ev --pred "$P"
printf 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n0\ta\tb\tentailment\n' >"$G"
fails "a duplicate gold id" "g.tsv: line 3: duplicate id '0' \\(first on line 2\\)" \
	elsa-evaluate -t rte --gold-tsv "$G" --pred "$F/rte.pred.tsv"
: >"$P"
fails "an empty predictions file" "p.tsv: empty file" ev --pred "$P"
printf 'id\tprediction\n' >"$P"
fails "a predictions file without predictions" "p.tsv: no predictions" ev --pred "$P"
printf 'id\tpred\n0\t1\n' >"$P"
fails "not a predictions file" "p.tsv: line 1: not a predictions file" ev --pred "$P"
printf 'id\tprediction\n0\t1\t1\n' >"$P"
fails "a line of three fields" "p.tsv: line 2: 3 fields, the header has 2" ev --pred "$P"
printf 'id\tprediction\n0\t1' >"$P"
fails "a cut last line" "p.tsv: line 2: truncated" ev --pred "$P"
: >"$G"
fails "an empty gold file" "g.tsv: empty file" elsa-evaluate -t rte --gold-tsv "$G" --pred "$F/rte.pred.tsv"
: >"$T/g.tok"
fails "an empty token stream" "g.tok: empty" elsa-evaluate -t rte --gold "$T/g.tok" --pred "$F/rte.pred.tsv"
printf 'index\tsentence1\tsentence2\tlabel\n' >"$G"
fails "a gold file without examples" "g.tsv: no examples" elsa-evaluate -t rte --gold-tsv "$G" --pred "$F/rte.pred.tsv"
fails "a missing file" "nothing-here" ev --pred "$T/nothing-here"

# Options.
fails "an unknown task" "unknown task 'glue' \\(tasks: cola sst2" elsa-evaluate -t glue --gold-tsv "$G" --pred "$P"
fails "no task" "-t TASK is required" elsa-evaluate --gold-tsv "$G" --pred "$P"
fails "no predictions" "--pred FILE is required" elsa-evaluate -t rte --gold-tsv "$G"
fails "no gold" "--gold FILE or --gold-tsv FILE is required" elsa-evaluate -t rte --pred "$P"
fails "both golds" "exclude each other" elsa-evaluate -t rte --gold "$G" --gold-tsv "$G" --pred "$P"
fails "both from stdin" "cannot both come from stdin" elsa-evaluate -t rte --gold - --pred -
fails "--seed without --bootstrap" "--seed has no meaning without --bootstrap" ev --pred "$P" --seed 3
fails "--bootstrap 0" "--bootstrap: '0' is not a whole number" ev --pred "$P" --bootstrap 0
fails "--bootstrap with --submission" "no meaning with --submission" ev --pred "$P" --bootstrap 10 --submission
ev --pred "$P" --frobnicate >/dev/null 2>"$T/err"
rc=$?
check "an unknown option: exit 1, getopt's message and advice" "[ $rc = 1 ] && grep -q frobnicate '$T/err' && grep -q -- '--help' '$T/err'"
ok "--help" elsa-evaluate --help
check "... shows the usage" "grep -q '^usage: elsa-evaluate' '$T/.out'"
ok "--version" elsa-evaluate --version
check "... names the program" "grep -q '^elsa-evaluate [0-9]' '$T/.out'"

done_testing
