# elsa-embed and elsa-encode --shard K/N (issue 13): shard K of N holds the K-th of N contiguous
# runs of the examples; each shard's output is a valid stream, and the shards' outputs joined in
# order with cat hold the records of one unsharded pass, byte for byte, so that every reader
# (elsa-view, elsa-encode, elsa-train) sees the same data. The joined files are not the unsharded
# stream's bytes: each shard keeps its own header and end marker (elsa-stream(5), Concatenation).
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate
M=$T/m
E=96 # examples, in several chunks of the encoders' loop (CHUNK_TOKENS, 2048 tokens)

mkmodel --hidden 32 --heads 4 --layers 3 --max-pos 128 "$M" >/dev/null
elsa-tokenize -m "$M" -t rte "$F/rte.gold.tsv" >"$T/rte.tok"
{ head -n 1 "$T/rte.tok"; grep -v '^#' "$T/rte.tok" | head -n $E; echo "#end $E"; } >"$T/tok"
elsa-embed -m "$M" "$T/tok" -o "$T/l0"
elsa-encode -m "$M" --to 3 --save 1="$T/l1" "$T/l0" -o "$T/l3"
check "the unsharded pass: $E examples, more than two chunks of tokens" \
	"[ \$(elsa-view -c '$T/l3') -eq $E ] && [ \$(grep -v '^#' '$T/tok' | cut -f3 | wc -w) -gt 4096 ]"

# header FILE, records FILE: a tensor stream's first 64 bytes, and the bytes between its header
# and its 16-byte end marker (its records), decompressed.
header() { zstd -dcq "$1" | head -c 64; }
records() { _size=$(zstd -dcq "$1" | wc -c) && zstd -dcq "$1" | tail -c +65 | head -c $((_size - 80)); }
# each FUNCTION PREFIX N: FUNCTION PREFIX.K for K = 1..N, in order.
each() { _k=1; while [ $_k -le $3 ]; do $1 "$2.$_k"; _k=$((_k + 1)); done; }
ids() { elsa-view "$1" | cut -f1; }
header "$T/l0" >"$T/l0.head"
header "$T/l3" >"$T/l3.head"
for f in l0 l1 l3; do records "$T/$f" >"$T/$f.rec"; done
ids "$T/l0" >"$T/ids"
elsa-view --values "$T/l3" >"$T/l3.values"

for n in 1 2 3 7 $((E + 3)); do
	rc=0
	for k in $(seq $n); do
		elsa-embed -m "$M" --shard $k/$n "$T/tok" -o "$T/e$n.$k" || rc=1
		elsa-view -c "$T/e$n.$k" >>"$T/counts$n" || rc=1
	done
	check "N=$n: every elsa-embed shard is a valid stream" "[ $rc = 0 ] && [ \$(wc -l <'$T/counts$n') -eq $n ]"
	check "N=$n: shards hold $((E / n)) or $(((E + n - 1) / n)) examples, the first ones the more, $E in all" \
		"awk -v lo=$((E / n)) -v hi=$(((E + n - 1) / n)) '\$1 < lo || \$1 > hi || \$1 > last && NR > 1 { bad = 1 }
			{ s += \$1; last = \$1 } END { exit bad || s != $E }' '$T/counts$n'"
	for k in $(seq $n); do cat "$T/l0.head"; done >"$T/heads$n"
	each header "$T/e$n" $n >"$T/e$n.heads"
	same "N=$n: every shard's header is the unsharded stream's" "$T/heads$n" "$T/e$n.heads"
	each cat "$T/e$n" $n >"$T/e$n"
	ids "$T/e$n" >"$T/e$n.ids"
	same "N=$n: the joined shards hold each example once, in the input's order" "$T/ids" "$T/e$n.ids"
	each records "$T/e$n" $n >"$T/e$n.rec"
	same "N=$n: the shards' records are the unsharded pass's, byte for byte" "$T/l0.rec" "$T/e$n.rec"
	check "N=$n: decompressed, the joined shards are the unsharded stream's bytes and $((n - 1)) end marker and header pairs (80 bytes each)" \
		"[ \$(zstd -dcq '$T/e$n' | wc -c) -eq $(($(zstd -dcq "$T/l0" | wc -c) + 80 * (n - 1))) ]"

	# elsa-encode --shard on the joined layer-0 shards, saving layer 1 on the way.
	rc=0
	for k in $(seq $n); do
		elsa-encode -m "$M" --to 3 --shard $k/$n --save 1="$T/c$n.l1.$k" -o "$T/c$n.$k" "$T/e$n" || rc=1
	done
	check "N=$n: elsa-encode --shard K/$n runs on the joined shards" "[ $rc = 0 ]"
	each records "$T/c$n" $n >"$T/c$n.rec"
	same "N=$n: elsa-encode's shards hold the unsharded layer 3, byte for byte" "$T/l3.rec" "$T/c$n.rec"
	each records "$T/c$n.l1" $n >"$T/c$n.l1.rec"
	same "N=$n: ... and its --save files the unsharded layer 1" "$T/l1.rec" "$T/c$n.l1.rec"
	each cat "$T/c$n" $n >"$T/c$n"
	elsa-view --values "$T/c$n" >"$T/c$n.values"
	same "N=$n: elsa-view --values prints the same for the joined layer 3 as for the unsharded" \
		"$T/l3.values" "$T/c$n.values"
done
same "N=1: the one shard is the unsharded stream, compressed bytes and all" "$T/l0" "$T/e1.1"
check "N=$((E + 3)): the last 3 shards are empty, valid streams" \
	"[ \"\$(tail -n 3 '$T/counts$((E + 3))' | tr '\n' ' ')\" = '0 0 0 ' ]"

# The man pages' way on several machines: each shard of tokens through both tools in a pipe.
for k in 1 2 3; do
	elsa-embed -m "$M" --shard $k/3 "$T/tok" | elsa-encode -m "$M" --to 3 -o "$T/p.$k"
done
each records "$T/p" 3 >"$T/p.rec"
same "elsa-embed --shard K/3 | elsa-encode, joined: the unsharded layer 3's records" "$T/l3.rec" "$T/p.rec"
each header "$T/p" 3 >"$T/p.heads"
for k in 1 2 3; do cat "$T/l3.head"; done >"$T/heads3.l3"
same "... and its headers" "$T/heads3.l3" "$T/p.heads"
# A compressed token stream is a regular file too.
zstd -q "$T/tok" -o "$T/tok.zst"
elsa-embed -m "$M" --shard 2/3 "$T/tok.zst" -o "$T/z.2"
same "--shard 2/3 of the zstd-compressed token stream: the plain one's shard" "$T/e3.2" "$T/z.2"
# Training on the joined shards is training on the unsharded stream, bit for bit; shards joined
# out of order (other data) give other weights, so the comparison can fail.
train() { elsa-train -m "$M" -t rte --train "$1" -o "$T/$2" --max-steps 6 --batch 8 --seed 5 2>/dev/null; }
cat "$T/e3.2" "$T/e3.1" "$T/e3.3" >"$T/e3.swapped"
train "$T/l0" run.l0 && train "$T/e3" run.e3 && train "$T/e3.swapped" run.swapped
same "elsa-train on the joined layer-0 shards: the unsharded stream's weights" \
	"$T/run.l0/model.safetensors" "$T/run.e3/model.safetensors"
check "... and on the shards out of order, other weights" \
	"[ -s '$T/run.swapped/model.safetensors' ] && ! cmp -s '$T/run.l0/model.safetensors' '$T/run.swapped/model.safetensors'"
train "$T/l3" run.l3 && train "$T/c7" run.c7
same "elsa-train on the joined layer-3 shards of elsa-encode --shard K/7: the unsharded one's weights" \
	"$T/run.l3/model.safetensors" "$T/run.c7/model.safetensors"
cat "$T/e3.1" "$T/e3.2" "$T/e3.3" | elsa-train -m "$M" -t rte --train - -o "$T/run.piped" --max-steps 6 --batch 8 \
	--seed 5 2>/dev/null
same "elsa-train reading the shards piped in, never joined on disk: the same weights" \
	"$T/run.l0/model.safetensors" "$T/run.piped/model.safetensors"

# An input without examples: every shard is the unsharded (empty) stream, its header included.
printf '%s\n#end 0\n' "$(head -n 1 "$T/tok")" >"$T/none.tok"
elsa-embed -m "$M" "$T/none.tok" -o "$T/none"
elsa-embed -m "$M" --shard 1/2 "$T/none.tok" -o "$T/none.1" && elsa-embed -m "$M" --shard 2/2 "$T/none.tok" -o "$T/none.2"
same "no examples: shard 1/2 is the unsharded stream" "$T/none" "$T/none.1"
same "no examples: shard 2/2 is the unsharded stream" "$T/none" "$T/none.2"
check "... which names the task" "elsa-view -H '$T/none.2' | grep -q 'task	rte'"
# A hand-made token stream (no header line): the same holds.
grep -v '^#' "$T/tok" >"$T/hand.tok"
elsa-embed -m "$M" "$T/hand.tok" -o "$T/hand"
elsa-embed -m "$M" --shard 1/2 "$T/hand.tok" -o "$T/hand.1" && elsa-embed -m "$M" --shard 2/2 "$T/hand.tok" -o "$T/hand.2"
each records "$T/hand" 2 >"$T/hand.rec"
records "$T/hand" >"$T/hand.all.rec"
same "a token stream without header: the shards' records are the unsharded pass's" "$T/hand.all.rec" "$T/hand.rec"

# Bad --shard arguments: one line each, before anything is read.
for arg in 0/2 3/2 1/0 abc 1/2/3 /2 2/ -1/2 1/1000001 ''; do
	fails "elsa-embed --shard '$arg' is refused" "^elsa-embed: --shard: '$arg' is not K/N \\(shard K of N, 1 <= K <= N" \
		elsa-embed -m "$M" --shard "$arg" "$T/tok" -o "$T/bad"
done
fails "elsa-encode --shard 3/2 is refused" "^elsa-encode: --shard: '3/2' is not K/N" \
	elsa-encode -m "$M" --to 3 --shard 3/2 "$T/l0" -o "$T/bad"
check "... and no output is left" "[ ! -e '$T/bad' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
# Standard input and pipes cannot be read twice (counted, then sharded): refused.
fails "elsa-embed --shard on standard input (a pipe) is refused" \
	"^elsa-embed: stdin: --shard needs a regular file: it reads the input twice" \
	sh -c 'cat "$1" | elsa-embed -m "$2" --shard 1/2' sh "$T/tok" "$M"
fails "elsa-embed --shard on standard input from a file is refused too" "^elsa-embed: stdin: --shard needs a regular file" \
	sh -c 'elsa-embed -m "$2" --shard 1/2 -o "$3" <"$1"' sh "$T/tok" "$M" "$T/bad"
fails "elsa-encode --shard on a pipe given by name (/dev/stdin) is refused" "^elsa-encode: /dev/stdin: --shard needs a regular file" \
	sh -c 'cat "$1" | elsa-encode -m "$2" --to 3 --shard 2/2 -o "$3" /dev/stdin' sh "$T/l0" "$M" "$T/bad"
check "... and no output is left" "[ ! -e '$T/bad' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
# The counting pass reads the whole input: a cut input fails every shard, not only the last.
head -n $((E - 3)) "$T/tok" >"$T/cut.tok"
fails "a token stream without its end line fails shard 1/2 too" "cut.tok: truncated" \
	elsa-embed -m "$M" --shard 1/2 "$T/cut.tok" -o "$T/bad"
head -c $(($(wc -c <"$T/l0") - 1000)) "$T/l0" >"$T/cut.l0"
fails "a cut tensor stream fails elsa-encode --shard 1/3 too" "cut.l0: (record [0-9]+: )?truncated" \
	elsa-encode -m "$M" --to 3 --shard 1/3 "$T/cut.l0" -o "$T/bad"
check "... and no output is left" "[ ! -e '$T/bad' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
# An example the model refuses fails the shard that holds it, naming its line, and only that one.
awk -F'\t' -v OFS='\t' 'NR == 90 { $3 = $3 " 99999"; $4 = $4 " 0" } { print }' "$T/tok" >"$T/badid.tok"
ok "an id outside the vocabulary in the last shard: shard 1/2 runs" \
	elsa-embed -m "$M" --shard 1/2 "$T/badid.tok" -o "$T/ok.1"
fails "... and shard 2/2 names it" "badid.tok: line 90 \\(example [0-9]+\\): token [0-9]+: id 99999" \
	elsa-embed -m "$M" --shard 2/2 "$T/badid.tok" -o "$T/bad"
done_testing
