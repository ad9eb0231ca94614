# lib.sh: the command tests' harness (POSIX sh). Source it, then:
#   ok "what" CMD...                  CMD exits 0
#   fails "what" PATTERN CMD...       CMD exits non-zero and its stderr matches PATTERN (grep -E)
#   same "what" FILE1 FILE2           the two files are byte-identical
#   check "what" SHELL-CONDITION      the condition (a string for eval) holds
#   skip "what" "why"
#   skip_all "what" "why"             the whole script cannot run here: one skip, the plan, exit
#   done_testing                      prints the plan; the script's exit status tells failure
# Each call is one TAP line. $T is a fresh scratch folder, $B the build folder, $S ../shared.
set -u
B=${ELSA_BIN:?run through tests/run or set ELSA_BIN}
TOP=${ELSA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
S=${ELSA_SHARED:-$TOP/../shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/elsa-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH="$B:$PATH"
_n=0 _failed=0

_report() { # _report STATUS WHAT [DETAIL-FILE]
	_n=$((_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_n - $2"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $2"
		[ -n "${3:-}" ] && [ -s "$3" ] && sed 's/^/#   /' "$3" | head -20
	fi
	return 0
}

ok() {
	_what=$1; shift
	"$@" >"$T/.out" 2>"$T/.err"
	_rc=$?
	[ $_rc = 0 ] || echo "exit status $_rc" >>"$T/.err"
	_report $_rc "$_what" "$T/.err"
}

fails() {
	_what=$1 _pat=$2; shift 2
	"$@" >"$T/.out" 2>"$T/.err"
	_rc=$?
	if [ $_rc = 0 ]; then
		echo "exited 0, expected failure" >>"$T/.err"
		_report 1 "$_what" "$T/.err"
	elif ! grep -Eq -- "$_pat" "$T/.err"; then
		echo "stderr does not match: $_pat" >>"$T/.err"
		_report 1 "$_what" "$T/.err"
	elif [ "$(wc -l <"$T/.err")" -ne 1 ]; then
		echo "expected a one-line message" >>"$T/.err"
		_report 1 "$_what" "$T/.err"
	else
		_report 0 "$_what"
	fi
}

same() {
	if cmp "$2" "$3" >"$T/.err" 2>&1; then _report 0 "$1"; else _report 1 "$1" "$T/.err"; fi
}

check() {
	if eval "$2"; then _report 0 "$1"; else echo "false: $2" >"$T/.err"; _report 1 "$1" "$T/.err"; fi
}

skip() {
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

done_testing() {
	echo "1..$_n"
	[ $_failed = 0 ]
}
skip_all() {
	skip "$1" "$2"
	done_testing
	exit
}

# close "what" A B TOL: two tensor streams hold the same records (ids, positions) and their
# states differ by at most TOL anywhere (compared as text through elsa-view --values).
close() {
	elsa-view --values "$2" >"$T/.a" 2>"$T/.err" && elsa-view --values "$3" >"$T/.b" 2>>"$T/.err" ||
		{ _report 1 "$1" "$T/.err"; return 0; }
	if [ "$(wc -l <"$T/.a")" -ne "$(wc -l <"$T/.b")" ] || [ ! -s "$T/.a" ]; then
		echo "different numbers of tokens: $(wc -l <"$T/.a") vs $(wc -l <"$T/.b")" >"$T/.err"
		_report 1 "$1" "$T/.err"
		return 0
	fi
	paste "$T/.a" "$T/.b" | awk -F'\t' -v tol="$4" '
		$1 != $4 || $2 != $5 { print "line " NR ": record " $1 "/" $2 " vs " $4 "/" $5; bad = 1; exit }
		{ n = split($3, x, " "); m = split($6, y, " ")
		  if (n != m) { print "line " NR ": " n " vs " m " values"; bad = 1; exit }
		  for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > worst) worst = d } }
		END { if (!bad && worst > tol) { print "max abs difference " worst " > " tol; bad = 1 }
		      if (!bad) print "max abs difference " worst + 0; exit bad }' >"$T/.err"
	_report $? "$1" "$T/.err"
	echo "# $1: $(cat "$T/.err")"
}
