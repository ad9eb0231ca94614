# The man pages' examples, run. Every shell session the pages show (man1, man5, man7, in page order:
# the lines "$ CMD" of their .EX/.nf blocks, unescaped, with their continuations) runs in a sandbox
# made once by the tools themselves, as the pages describe it: "model", the test-sized 12-layer
# model of hidden size 64 with the real bert-base-uncased vocabulary; "small" (hidden size 4); the
# real tokenizers as bert-base-uncased and modernbert-base; the real GLUE data as glue; RTE's token
# streams and caches (train.* from its first 300 training examples, to keep it fast). Each example
# must exit 0; where its output does not depend on the random model's numbers (those listed in
# COMPARED below) or is "same", it must be the output the page shows. Each page starts from the
# sandbox as made (what an earlier page wrote is removed); a file a page shows by "cat FILE" and no
# example of it made is written from the text shown (study.yaml). SKIPPED lists the examples that
# cannot run here, and Python lines whose modules are missing are skipped saying which. Under SAN=1,
# a smaller training set and SAN_SKIPPED too. Skipped without ../shared.
. "${ELSA_TOP:-.}/tests/lib.sh"
if [ ! -f "$S/glue/RTE/dev.tsv" ] || [ ! -f "$S/models/bert-base-uncased/vocab.txt" ]; then
	skip_all "the man pages' examples" "no ../shared/glue and ../shared/models/bert-base-uncased (ELSA_SHARED)"
fi
if [ ! -x "$B/mkmodel" ]; then
	skip_all "the man pages' examples" "no $B/mkmodel (make tests)"
fi
san=0
case $B in *build-san) san=1 ;; esac

# Examples compared with the output the page shows: "PAGE<TAB>COMMAND'S FIRST LINE", optionally
# "<TAB>SED -E SCRIPT" applied to both outputs first (the lines that vary from run to run dropped).
# Besides these, every example whose shown output is "same" is compared. The others (the random
# model's numbers, file sizes, timings, training logs) are checked for their exit status only.
# Model fingerprints are compared: mkmodel's seeded weights make them the pages' own.
COMPARED='elsa-embed.1	elsa-view -H dev.l0.zst
elsa-encode.1	elsa-view -H dev.l12.f16.zst | grep -E '\''layer|dtype'\''
elsa-encode.1	elsa-encode -m model --to 12 --stats enc.yaml dev.l9.zst | elsa-view -c
elsa-encode.1	cat enc.yaml	/^(seconds|tokens_per_second|threads|gemm_seconds|peak_memory_mb|cpu|cpu_family|blis|gemm|simd):/d
elsa-sweep.1	cat study.yaml
elsa-tokenize.1	elsa-tokenize -m bert-base-uncased -t sst2 glue/SST-2/dev.tsv | head -3
elsa-tokenize.1	elsa-tokenize -m modernbert-base -t sst2 glue/SST-2/dev.tsv | head -3
elsa-train.1	ls rte.n9
elsa-view.1	elsa-view dev.tok | head -2 | cut -c1-60
elsa-view.1	elsa-view -H dev.tok
elsa-view.1	elsa-view -c dev.tok
elsa-view.1	elsa-view -H dev.l9.zst
elsa-view.1	elsa-view dev.l9.zst | awk -F'\''\t'\'' '\''{ n += $3 } END { print NR, n, n / NR }'\''
elsa-view.1	elsa-embed -m model dev.tok | elsa-view -c
elsa-run.5	python3 -c '\''import json, struct, sys
elsa-stream.5	zstd -dc one.zst | od -A d -t x1	7q
elsa-stream.5	python3 read_stream.py <dev.l9.raw | wc -l
elsa-stream.5	elsa-view -c dev.l9.raw
elsa-stream.5	cat dev.l9.zst dev.l9.zst | elsa-view -c
elsa-tokens.5	head -n 3 dev.tok | cut -c1-72
elsa-tokens.5	tail -n 1 dev.tok
elsa-tokens.5	grep -v '\''^#'\'' dev.tok | cut -f2 | sort | uniq -c
elsa-tokens.5	awk -F'\''\t'\'' '\''!/^#/ { n = split($3, t, " "); if (n > m) m = n } END { print m }'\'' dev.tok
elsa-tokens.5	elsa-tokenize -m bert-base-uncased -t stsb glue/STS-B/dev.tsv | sed -n 2,3p | cut -f1-2
elsa-tokens.5	elsa-tokenize -m bert-base-uncased -t rte glue/RTE/test.tsv | sed -n 2p | cut -f1-2
elsa-tokens.5	elsa-view hand.tok
elsa.7	cat study.yaml'
# Examples that cannot run here: "PAGE<TAB>COMMAND'S FIRST LINE<TAB>WHY". (Python examples whose
# modules the Python here lacks are skipped as they come, saying which.)
SKIPPED='elsa-sweep.1	elsa-sweep study.yaml > table.md	the paper'\''s grid on bert-base-uncased: 144 runs of BERT-base (whose weights are not in ../shared); cli/study and cli/sweep run sweeps
elsa.7	elsa-sweep study.yaml	the paper'\''s grid on bert-base-uncased, as in elsa-sweep.1
elsa.7	ls study.sweep	lists the folder the skipped elsa-sweep study.yaml writes'
# Under SAN=1 (where the whole takes over 90 s) these are skipped too: RTE's 3000 test examples
# through 9 layers, and what reads them, take 40 s there.
SAN_SKIPPED='elsa-train.1	elsa-tokenize -m model -t rte glue/RTE/test.tsv | elsa-embed -m model |
elsa-train.1	elsa-train --predict rte.n9 -m model test.l9.zst -o test.pred.tsv
elsa-train.1	elsa-evaluate -t rte --submission --gold-tsv glue/RTE/test.tsv \'

# The extractor: D/NNN.page, D/NNN.cmd and D/NNN.out, one example each; with WANT=TEXT, the text
# of the first other block that holds TEXT instead (a script a page gives).
cat >"$T/extract.awk" <<'EOF'
function unesc(s,   o, i, c, n, k) { # sets ub: the escapes it does not know
	o = ub = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c != "\\") { o = o c; continue }
		n = substr(s, i + 1, 1)
		if (n == "-") { o = o "-"; i++ }
		else if (n == "e") { o = o "\\"; i++ }
		else if (n == "&") i++
		else if (n == "f") { i += 2; if (substr(s, i, 1) == "(") i += 2 } # fonts
		else if (n == "(") {
			k = substr(s, i + 2, 2); i += 3
			if (k == "aq") o = o "'"; else if (k == "dq") o = o "\""; else if (k == "ha") o = o "^"
			else if (k == "ti") o = o "~"; else if (k == "rs") o = o "\\"
			else { o = o "\\(" k; ub = ub " \\(" k }
		} else { o = o c; ub = ub " \\" n }
	}
	return o
}
function open_quote(s,   i, c, q) { # 1 when the shell text s leaves a quote open
	q = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (q == "'") { if (c == "'") q = ""; continue }
		if (c == "\\") { i++; continue }
		if (q == "\"") { if (c == "\"") q = ""; continue }
		if (c == "'" || c == "\"") q = c
	}
	return q != ""
}
function flush(   f) {
	if (cmd == "") return
	n++; f = sprintf("%s/%03d", D, n)
	printf "%s\n", page >(f ".page"); close(f ".page")
	printf "%s\n", cmd >(f ".cmd"); close(f ".cmd")
	printf "%s", out >(f ".out"); close(f ".out")
	if (bad != "") { printf "%s\n", bad >(f ".bad"); close(f ".bad") }
	cmd = out = bad = ""
}
FNR == 1 { flush(); page = FILENAME; sub(/.*\//, "", page); inblock = cont = 0 }
/^\.(EX|nf)/ { inblock = 1; block = ""; prompt = 0; next }
/^\.(EE|fi)/ {
	if (WANT != "" && !prompt && index(block, WANT)) { printf "%s", block; exit }
	flush(); inblock = cont = 0; next
}
!inblock { next }
/^\.[a-zA-Z]/ { next }
WANT != "" { block = block unesc($0) "\n"; if (/^\$ /) prompt = 1; next }
{
	line = unesc($0)
	if (cont) cmd = cmd "\n" line
	else if (substr(line, 1, 2) == "$ ") { flush(); cmd = substr(line, 3) }
	else { if (cmd != "") out = out line "\n"; next }
	bad = bad ub
	cont = line ~ /(\\|\|)$/ || open_quote(cmd)
}
END { if (WANT == "") flush() }
EOF
pages=$(ls "$TOP"/man/man1/*.1 "$TOP"/man/man5/*.5 "$TOP"/man/man7/elsa.7)
mkdir "$T/ex"
awk -v D="$T/ex" -v WANT= -f "$T/extract.awk" $pages
count=$(ls "$T/ex" | grep -c '\.cmd$')
check "the pages show example sessions ($count commands)" "[ $count -gt 0 ]"

# The sandbox, made once.
X=$T/sandbox
mkdir "$X" && cd "$X" || exit 1
ok "sandbox: model (mkmodel: 12 layers, hidden size 64, bert-base-uncased's vocabulary), small (hidden size 4)" \
	sh -c "mkmodel --layers 12 --hidden 64 --heads 4 --max-pos 512 --tokenizer '$S/models/bert-base-uncased' model &&
		mkmodel --layers 2 --hidden 4 --heads 2 small"
ln -s "$S/models/bert-base-uncased" bert-base-uncased
ln -s "$S/models/modernbert-base" modernbert-base
ln -s "$S/glue" glue
ntrain=300
[ $san = 1 ] && ntrain=100 # (training on them takes 15 s there, twice)
head -n $((ntrain + 1)) glue/RTE/train.tsv >"$T/rte-train.tsv"
ok "sandbox: train.tok, train.l0.zst and train.l6/l9/l12.zst (RTE's first $ntrain training examples)" \
	sh -c "elsa-tokenize -m model -t rte -o train.tok '$T/rte-train.tsv' &&
		elsa-embed -m model -o train.l0.zst train.tok &&
		elsa-encode -m model --to 12 --save 6=train.l6.zst --save 9=train.l9.zst -o train.l12.zst train.l0.zst"
ok "sandbox: dev.l0.zst and dev.l6/l9/l12.zst (RTE's dev set)" \
	sh -c "elsa-tokenize -m model -t rte glue/RTE/dev.tsv | elsa-embed -m model -o dev.l0.zst &&
		elsa-encode -m model --to 12 --save 6=dev.l6.zst --save 9=dev.l9.zst -o dev.l12.zst dev.l0.zst"
awk -v D= -v WANT='def read_stream(' -f "$T/extract.awk" "$TOP/man/man5/elsa-stream.5" >read_stream.py
check "sandbox: read_stream.py, the reader elsa-stream(5) gives" "grep -q 'def read_stream' read_stream.py"
ls -A >"$T/made"

# python3 in the examples: one with the modules they import, if there is one.
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)
mkdir "$T/bin" && ln -s "$(command -v "$PY" || echo "$PY")" "$T/bin/python3"
# missing FILE: the modules the Python text in FILE imports that $PY cannot import
missing() {
	sed -E -n 's/^(|.*[^A-Za-z0-9_])from ([A-Za-z0-9_.]+) import .*$/\2/p
		s/^(|.*[^A-Za-z0-9_])import ([A-Za-z0-9_., ]+).*$/\2/p' "$1" | tr ',' '\n' |
		sed 's/ as .*//; s/^ *//; s/ *$//; s/\..*//' | grep . | sort -u |
		while read -r m; do "$PY" -c "import $m" 2>/dev/null || printf ' %s' "$m"; done
}

# short TEXT: the command's first line, at most 60 characters, for the TAP line (its backslashes
# doubled where lib.sh's echo would read them as escapes, as dash's does)
bs='s/x/x/'
[ "$(echo 'a\tb')" = 'a\tb' ] || bs='s/\\/\\\\/g'
short() {
	printf '%s\n' "$1" | awk 'NR == 1 { s = $0 } END { if (length(s) > 60 || NR > 1) s = substr(s, 1, 57) "..."; print s }' |
		tr '\t' ' ' | sed "$bs"
}

# listed N [PREFIX]: of the list on stdin, field N of the line naming $page and $first (PREFIX
# before it, to tell an empty field from none)
listed() { P=$page C=$first awk -F'\t' -v n="$1" -v pre="${2:-}" '$1 == ENVIRON["P"] && $2 == ENVIRON["C"] { print pre $n; exit }'; }

prev=
for c in "$T"/ex/*.cmd; do
	e=${c%.cmd}
	page=$(cat "$e.page")
	cmd=$(cat "$c")
	first=$(printf '%s\n' "$cmd" | head -1)
	what="$page: $(short "$cmd")"
	if [ "$page" != "$prev" ]; then # each page from the sandbox as made
		ls -A | grep -vxF -f "$T/made" | while read -r f; do rm -rf "./$f"; done
		prev=$page
	fi
	if [ -f "$e.bad" ]; then
		echo "unknown troff escapes:$(cat "$e.bad")" >"$T/.err"
		_report 1 "$what (unescaped)" "$T/.err"
		continue
	fi
	why=$(printf '%s\n' "$SKIPPED" | listed 3)
	if [ -n "$why" ]; then
		skip "$what" "$why"
		continue
	fi
	if [ $san = 1 ] && [ -n "$(printf '%s\n' "$SAN_SKIPPED" | listed 1)" ]; then
		skip "$what" "under SAN=1: RTE's test set through 9 layers takes 40 s there; the plain make check runs it"
		continue
	fi
	case $cmd in
	*python3*) # its text and that of the scripts it names
		printf '%s\n' "$cmd" >"$T/py"
		for f in $(printf '%s\n' "$cmd" | grep -oE '[A-Za-z0-9_./-]+\.py'); do cat "$f" >>"$T/py" 2>/dev/null; done
		lacks=$(missing "$T/py")
		if [ -n "$lacks" ]; then
			skip "$what" "$PY has no Python module$lacks (PYTHON=... names another)"
			continue
		fi
		;;
	esac
	# cat FILE of a file no example made: the page shows its text; write that.
	case $first in
	"cat "*)
		f=${first#cat }
		case $f in *[!A-Za-z0-9_./-]*) ;; *) [ -e "$f" ] || cp "$e.out" "$f" ;; esac
		;;
	esac
	filter=$(printf '%s\n' "$COMPARED" | listed 3 =)
	[ "$(cat "$e.out")" = same ] && filter==
	[ -n "$filter" ] && what="$what (output as shown)"
	PATH="$T/bin:$PATH" sh -c "$cmd" >"$T/.out" 2>"$T/.err"
	rc=$?
	[ $rc = 0 ] || echo "exit status $rc" >>"$T/.err"
	if [ $rc = 0 ] && [ -n "$filter" ]; then
		sed -E -e "${filter#=}" "$e.out" >"$T/.want"
		sed -E -e "${filter#=}" "$T/.out" >"$T/.got"
		if ! cmp -s "$T/.want" "$T/.got"; then
			rc=1
			{ echo "the page shows (<), the command prints (>):"; diff "$T/.want" "$T/.got"; } >"$T/.err"
		fi
	fi
	_report $rc "$what" "$T/.err"
done

# Each listed example exists (a list naming a command no page shows anymore fails).
printf '%s\n%s\n%s\n' "$COMPARED" "$SKIPPED" "$SAN_SKIPPED" | cut -f1,2 >"$T/listed"
for c in "$T"/ex/*.cmd; do printf '%s\t%s\n' "$(cat "${c%.cmd}.page")" "$(head -1 "$c")"; done >"$T/shown"
grep -vxF -f "$T/shown" "$T/listed" >"$T/stale"
check "every example COMPARED, SKIPPED and SAN_SKIPPED name is one a page shows" "[ ! -s '$T/stale' ]"
[ -s "$T/stale" ] && sed 's/^/#   not shown: /' "$T/stale"
done_testing
