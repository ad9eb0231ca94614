# The man pages: every page renders without a warning, and a tool's --help and the OPTIONS of its
# man1 page name the same options, long and short (each set against the other, both ways), so
# that --help and the manual cannot drift apart.
. "${ELSA_TOP:-.}/tests/lib.sh"

pages=$(ls "$TOP"/man/man1/*.1 "$TOP"/man/man5/*.5 "$TOP"/man/man7/*.7 2>/dev/null)
check "there are man pages" "[ -n \"\$pages\" ]"

# Rendering: man(1) as a reader sees the page (tbl included), and groff with every warning on.
for f in $pages; do
	name=${f#"$TOP"/}
	if command -v man >/dev/null; then
		MANWIDTH=80 man --warnings -l "$f" 2>"$T/warn" >"$T/page"
		check "$name renders with man, without warnings" "[ ! -s '$T/warn' ] && [ -s '$T/page' ]"
		[ -s "$T/warn" ] && sed 's/^/#   /' "$T/warn" | head -5
	else
		skip "$name renders with man" "man(1) is not installed"
	fi
	if command -v groff >/dev/null; then
		groff -t -man -Tutf8 -rcR=1 -rLL=80n -ww -z "$f" 2>"$T/warn"
		check "$name formats with groff -ww, without warnings" "[ ! -s '$T/warn' ]"
		[ -s "$T/warn" ] && sed 's/^/#   /' "$T/warn" | head -5
	else
		skip "$name formats with groff -ww" "groff is not installed"
	fi
	check "$name names the version the tools print ($(elsa-view --version | cut -d' ' -f2))" \
		"head -3 '$f' | grep -q '^\\.TH .*\"elsa $(elsa-view --version | cut -d' ' -f2)\"'"
done

# The options of a tool's --help, long and short: those of its usage lines and those that begin
# its option lines (the text before the description, and after a ';'), not options a
# description mentions.
help_options() {
	awk '
		/^usage:/ { usage = 1 }
		usage && !/^(usage:|[ \t])/ { usage = 0 }
		usage { sub(/^usage: [^ ]*/, ""); print; next }
		/^[ \t]+-/ { n = split($0, part, ";")
			for (i = 1; i <= n; i++) {
				p = part[i]; sub(/^[ \t]+/, "", p)
				if (p ~ /^-/) { sub(/  .*/, "", p); print p }
			} }
	' | grep -oE -- '(^|[] [|(,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[] [|(,]//' | sort -u
}
# The options of a man1 page's OPTIONS section: those of each paragraph's tag (the line after
# .TP), long and short.
man_options() {
	awk '/^\.SH/ { on = $2 == "OPTIONS" } on && prev ~ /^\.TP/ { print } { prev = $0 }' "$1" |
		sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/^\.[A-Z]* //' -e 's/"//g' |
		grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,]//' | sort -u
}
for bin in "$B"/elsa-*; do
	[ -x "$bin" ] || continue
	tool=$(basename "$bin")
	page=$TOP/man/man1/$tool.1
	if [ ! -f "$page" ]; then
		skip "$tool: every --help option is in its man page" "man/man1/$tool.1 does not exist yet"
		continue
	fi
	"$bin" --help >"$T/help" 2>&1
	help_options <"$T/help" >"$T/all"
	man_options "$page" >"$T/manopts"
	grep -- '^--' "$T/all" >"$T/opts"
	check "$tool: its --help prints options ($(wc -l <"$T/all" | tr -d ' ')), its page's OPTIONS too ($(wc -l <"$T/manopts" | tr -d ' '))" \
		"[ -s '$T/opts' ] && [ -s '$T/manopts' ]"
	comm -23 "$T/all" "$T/manopts" >"$T/missing"
	check "$tool: every option of --help is in the OPTIONS of $tool.1" "[ ! -s '$T/missing' ]"
	[ -s "$T/missing" ] && echo "#   missing from $tool.1: $(tr '\n' ' ' <"$T/missing")"
	comm -13 "$T/all" "$T/manopts" >"$T/missing"
	check "$tool: every option of $tool.1's OPTIONS is in --help" "[ ! -s '$T/missing' ]"
	[ -s "$T/missing" ] && echo "#   missing from --help: $(tr '\n' ' ' <"$T/missing")"
	# Ranges: each option the tool checks as a number in [LO, HI] (as it says of a bad value)
	# has both bounds in its paragraph of the rendered page.
	MANWIDTH=1000 man -l "$page" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' >"$T/rendered"
	: >"$T/ranges"
	while read -r opt; do
		msg=$("$bin" "$opt" x 2>&1 </dev/null | sed -n "s/.*$opt: 'x' is not a .*number in \[\(.*\), \(.*\)\]\$/\1 \2/p")
		[ -n "$msg" ] || continue
		set -- $msg
		awk -v o="$opt" '$1 == o || index($0, ", " o " ") { p = 1 } p && /^$/ { exit } p' "$T/rendered" >"$T/para"
		for bound in "$1" "$2"; do # a power of two may be written 2^k
			pow=$(awk -v b="$bound" 'BEGIN { k = log(b) / log(2); if (b > 1024 && 2 ^ int(k + 0.5) == b) print "2^" int(k + 0.5) }')
			grep -qF -- "$bound" "$T/para" || { [ -n "$pow" ] && grep -qF -- "$pow" "$T/para"; } ||
				echo "$opt: $bound (the tool's range is [$1, $2])" >>"$T/ranges"
		done
	done <"$T/opts"
	check "$tool: the ranges $tool.1 gives are the tool's" "[ ! -s '$T/ranges' ]"
	[ -s "$T/ranges" ] && sed 's/^/#   not in the page: /' "$T/ranges"
done
# Messages the pages quote, as the tools print them: "PAGE<TAB>COMMAND", run in a folder holding
# "model" (12 layers), its model.safetensors, the token streams dev.tok and one.tok, the
# tensor stream l9.zst and an RTE file dev.tsv; the command's one line on stderr must be in the page, word for word.
DIAGNOSED='elsa-encode.1	elsa-encode -m model --to 12 dev.tok
elsa-encode.1	elsa-encode -m model --to 12 model.safetensors
elsa-stream.5	elsa-encode -m model --to 1 one.tok
elsa-stream.5	elsa-encode -m model --to 1 model.safetensors
elsa-stream.5	elsa-encode -m model --to 1 dev.tsv
elsa-embed.1	elsa-embed -m model model.safetensors
elsa-tokens.5	elsa-embed -m model model.safetensors
elsa-tokens.5	elsa-embed -m model l9.zst'
D=$T/diag
mkdir "$D"
mkmodel --layers 12 --hidden 8 --heads 2 --intermediate 16 "$D/model" >/dev/null && cp "$D/model/model.safetensors" "$D/"
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\nex7\t1\t2 5 3\t0 0 0\n#end 1\n' >"$D/one.tok"
cp "$D/one.tok" "$D/dev.tok"
printf 'index\tsentence1\tsentence2\tlabel\n0\tThe cat sat on the mat.\tA cat sat.\tentailment\n' >"$D/dev.tsv"
elsa-embed -m "$D/model" "$D/dev.tok" >"$D/l9.zst"
while IFS='	' read -r page cmd; do
	f=$(ls "$TOP"/man/man*/"$page")
	(cd "$D" && sh -c "$cmd" >/dev/null 2>"$T/msg")
	# the page's lines, unescaped as man shows them
	sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g' "$f" >"$T/page"
	check "$page quotes what '$cmd' says ($(cat "$T/msg"))" "[ \$(wc -l <'$T/msg') = 1 ] && grep -qxF -f '$T/msg' '$T/page'"
done <<EOF
$DIAGNOSED
EOF

# Every tool takes -h and -V alike.
version=$(elsa-view --version | cut -d" " -f2)
for t in tokenize embed encode train evaluate report view sweep export; do
	"elsa-$t" -h >"$T/h" 2>&1
	check "elsa-$t -h prints its usage" "head -1 '$T/h' | grep -q '^usage: elsa-$t '"
	check "elsa-$t -V prints its version" "[ \"\$(elsa-$t -V)\" = 'elsa-$t $version' ]"
done
done_testing
