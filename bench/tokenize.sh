#!/bin/sh
# elsa-tokenize against Hugging Face tokenizers (the Rust library, through its official Node
# package in build/peers/hf-tokenizers), both on one thread and the same core, on the same GLUE
# files: SST-2 train (single sentences), QNLI dev and RTE train (pairs; MNLI is not in ../shared),
# truncated at 128 as fine-tuning does. One line per file and model:
#   tokenize FILE MODEL: elsa N tokens/s, hf M tokens/s, R x
# elsa's rate is its whole run by the wall clock (loading the tokenizer, reading the file, writing
# the stream), the best of two; Hugging Face's is its harness's timed encode pass alone (after a
# warm-up, the file read before), so the ratio leans Hugging Face's way.
# Skips with a note, and exit status 0, without ../shared or the peer.
#   O=build bench/tokenize.sh
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
S=${ELSA_SHARED:-$top/../shared}
peer=$top/build/peers/hf-tokenizers

if [ ! -d "$S/glue" ] || [ ! -d "$S/models" ]; then
	echo "tokenize: skipped: no ../shared (ELSA_SHARED)"
	exit 0
fi
if [ ! -d "$peer/node_modules/tokenizers" ] || ! command -v node >/dev/null; then
	echo "tokenize: skipped: the Hugging Face tokenizers peer is not installed (scripts/deps --bench)"
	exit 0
fi
[ -x "$O/elsa-tokenize" ] || { echo "tokenize: no $O/elsa-tokenize (make first)" >&2; exit 1; }

# One core for both; RAYON_NUM_THREADS=1 keeps the peer on one thread.
core=
command -v taskset >/dev/null && core="taskset -c 0"
export RAYON_NUM_THREADS=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/elsa-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }

# elsa_rate MODEL TASK FILE: tokens per second of the best of two runs
elsa_rate() {
	best=
	for run in 1 2; do
		t0=$(now)
		$core "$O/elsa-tokenize" -m "$S/models/$1" -t "$2" --max-len 128 "$3" >"$tmp/out" || return 1
		t1=$(now)
		best=$(echo "$t0 $t1 $best" | awk '{ d = $2 - $1; print ($3 == "" || d < $3) ? d : $3 }')
	done
	sed '1d;$d' "$tmp/out" | awk -F'\t' -v s="$best" '{ n += split($3, a, " ") } END { printf "%.0f\n", n / s }'
}

# hf_rate MODEL FILE COLUMNS...: the harness's own tokens per second
hf_rate() {
	m=$1 f=$2
	shift 2
	$core node "$peer/hf-tokenize.js" "$S/models/$m/tokenizer.json" "$f" "$@" --skip-header --max-len 128 2>&1 |
		sed -n 's/.*tokens\/s \([0-9]*\).*/\1/p'
}

while read -r name task file cols; do
	for m in bert-base-uncased roberta-base; do
		ours=$(elsa_rate "$m" "$task" "$S/glue/$file") || { echo "tokenize $name $m: elsa-tokenize failed"; continue; }
		# shellcheck disable=SC2086 # the columns are one or two words
		theirs=$(hf_rate "$m" "$S/glue/$file" $cols)
		echo "$name $m $ours ${theirs:-0}" | awk '{
			ratio = $4 > 0 ? sprintf("%.1f x", $3 / $4) : "hf failed"
			printf "tokenize %s %s: elsa %d tokens/s, hf %d tokens/s, %s\n", $1, $2, $3, $4, ratio }'
	done
done <<EOF
sst2-train sst2 SST-2/train.tsv 1
qnli-dev qnli QNLI/dev.tsv 2 3
rte-train rte RTE/train.tsv 2 3
EOF
