# Fault injection (issue 8): a full disk mid-write, kills at random moments, a pipe closed early,
# streams that do not belong together, and sizes that would overflow. After each, the tool said
# what went wrong in one line, exited non-zero, and left nothing that looks complete: no output
# file, no temporary file, and a stdout stream that the next tool refuses.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate
cd "$T" || exit 1
san=0
case $B in *build-san) san=1 ;; esac

# Inputs: a model, a GLUE-like file of 1662 examples, its token stream and states at layers 0, 2.
mkmodel --hidden 64 --heads 4 --layers 4 --max-pos 128 --labels 2 "$T/m" >/dev/null
mkmodel --hidden 64 --heads 4 --layers 4 --max-pos 128 --seed 7 "$T/other" >/dev/null
awk -F'\t' -v OFS='\t' 'NR == 1 { print; next } { for (k = 0; k < 6; k++) { $1 = NR * 10 + k; print } }' \
	"$F/rte.gold.tsv" >"$T/glue.tsv"
elsa-tokenize -m "$T/m" -t rte --max-len 64 "$T/glue.tsv" >"$T/tok"
# (1662 examples: many chunks, so that the chunk's record slots are reused; this once read stale
# states past their buffer, lib/chunk.c lay_out, found by this file under SAN=1)
ok "elsa-embed reads a token stream of many chunks" elsa-embed -m "$T/m" -o "$T/l0" "$T/tok"
elsa-encode -m "$T/m" --to 2 "$T/l0" >"$T/l2"
head -1 "$T/tok" >"$T/tok100" && sed -n 2,101p "$T/tok" >>"$T/tok100" && echo '#end 100' >>"$T/tok100"
elsa-embed -m "$T/m" "$T/tok100" | elsa-encode -m "$T/m" --to 3 >"$T/l3small"
elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/run" --max-steps 2 --batch 8 2>/dev/null
check "the inputs were made" "[ -s '$T/l2' ] && [ -s '$T/run/run.yaml' ]"

# The tools, one line each: cmd_NAME runs it with output options (none: stdout; -o FILE) given
# first; WITH_O lists those that take -o FILE, STREAMS those whose stdout a next tool reads.
# Adding a tool is adding its line.
WITH_O= STDOUT= STREAMS=
cmd_tokenize() { elsa-tokenize -m "$T/m" -t rte --max-len 64 "$@" "$T/glue.tsv"; }; WITH_O="$WITH_O tokenize" STDOUT="$STDOUT tokenize" STREAMS="$STREAMS tokenize"
cmd_embed() { elsa-embed -m "$T/m" "$@" "$T/tok"; }; WITH_O="$WITH_O embed" STDOUT="$STDOUT embed" STREAMS="$STREAMS embed"
cmd_encode() { elsa-encode -m "$T/m" --to 2 "$@" "$T/l0"; }; WITH_O="$WITH_O encode" STDOUT="$STDOUT encode" STREAMS="$STREAMS encode"
cmd_evaluate() { elsa-evaluate -t rte --gold-tsv "$F/rte.gold.tsv" --pred "$F/rte.pred.tsv" "$@"; }; WITH_O="$WITH_O evaluate" STDOUT="$STDOUT evaluate"
cmd_view() { elsa-view "$@" "$T/l0"; }; STDOUT="$STDOUT view"
cmd_predict() { elsa-train --predict "$T/run" -m "$T/m" "$@" "$T/l3small"; }; WITH_O="$WITH_O predict" STDOUT="$STDOUT predict"

# leftovers DIR NAME: the files in DIR that look like NAME or its temporaries (none expected).
leftovers() { ls -a "$1" | grep -F "$2" | tr '\n' ' '; }
# limited BLOCKS CMD...: CMD under a file-size limit (512-byte blocks), with SIGXFSZ ignored so
# that write() fails with EFBIG instead of killing the process.
limited() { _l=$1; shift; (trap '' XFSZ; ulimit -f "$_l" && "$@"); }
# half SIZE: a file-size limit (blocks) that cuts an output of SIZE bytes (at least 1 block: the
# limit applies to stderr's file too, and the message must fit).
half() { if [ "$1" -gt 8192 ]; then echo $(($1 / 2048)); else echo 1; fi; }

mkdir -p "$T/ref"
for t in $STDOUT; do cmd_$t >"$T/ref/$t" 2>/dev/null; done

# 1. A full disk: stdout on /dev/full, -o FILE under a file-size limit, and on a full tmpfs.
to_full() { cmd_$1 >/dev/full; }
for t in $STDOUT; do
	fails "$t: stdout on a full disk (/dev/full) is a one-line error" "No space left on device" to_full $t
done
mkdir -p "$T/o"
for t in $WITH_O; do
	if [ "$(wc -c <"$T/ref/$t")" -le 1024 ]; then
		skip "$t -o under a file-size limit" "its output is too small to be cut by a limit (/dev/full and tmpfs cover it)"
		continue
	fi
	fails "$t -o: a full disk mid-write (file-size limit) is a one-line error" "File too large" \
		limited "$(half "$(wc -c <"$T/ref/$t")")" cmd_$t -o "$T/o/$t.out"
	check "$t -o: ... and leaves neither the file nor a temporary" "[ -z \"\$(leftovers '$T/o' $t.out)\" ]"
done
fails "encode --save: a full disk mid-write is a one-line error" "File too large" \
	limited 40 elsa-encode -m "$T/m" --to 3 --save 2="$T/o/save.l2" -o /dev/null "$T/l0"
check "encode --save: ... and leaves neither the file nor a temporary" "[ -z \"\$(leftovers '$T/o' save.l2)\" ]"
for t in $STREAMS; do
	limited "$(half "$(wc -c <"$T/ref/$t")")" cmd_$t >"$T/o/$t.cut" 2>"$T/o/$t.err"
	check "$t: stdout cut by a full disk: the tool said so" "grep -q 'File too large' '$T/o/$t.err'"
	fails "$t: ... and elsa-view refuses the cut stream" "truncated" elsa-view -c "$T/o/$t.cut"
done
fails "train -o RUN_DIR: a full disk while writing the run folder is a one-line error" "File too large" \
	limited 16 elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/o/run" --max-steps 2 --batch 8
check "train -o RUN_DIR: ... and leaves no run folder, not even a temporary one" "[ -z \"\$(leftovers '$T/o' run)\" ]"
mkdir -p "$T/tiny"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=32k elsa-faults "$T/tiny" 2>/dev/null; then
	trap 'umount "$T/tiny" 2>/dev/null; rm -rf "$T"' EXIT
	# big outputs fill it mid-write; then, filled up, it refuses the small ones their first write
	for t in $WITH_O; do
		[ "$(wc -c <"$T/ref/$t")" -gt 65536 ] || continue
		fails "$t -o on a full tmpfs (mid-write) is a one-line error" "No space left on device" cmd_$t -o "$T/tiny/$t.out"
		check "$t -o on a full tmpfs leaves nothing" "[ -z \"\$(ls -A '$T/tiny')\" ]"
	done
	dd if=/dev/zero of="$T/tiny/fill" bs=4096 2>/dev/null
	for t in $WITH_O; do
		[ "$(wc -c <"$T/ref/$t")" -le 65536 ] || continue
		fails "$t -o on a full tmpfs is a one-line error" "No space left on device" cmd_$t -o "$T/tiny/$t.out"
		check "$t -o on a full tmpfs leaves nothing" "[ \"\$(ls -A '$T/tiny')\" = fill ]"
	done
	umount "$T/tiny"
else
	skip "-o on a full tmpfs" "cannot mount a tmpfs here (needs root and mount permission); the file-size limit tests stand"
fi

# 2. Kills at random moments: elsa-encode writing -o and --save from an input that takes a
# few seconds (the layer-0 stream 3 times over: streams with equal headers concatenate), on one
# thread (steadier timing on a busy machine).
cat "$T/l0" "$T/l0" "$T/l0" >"$T/big"
enc() { elsa-encode -m "$T/m" -j 1 --to 4 --save 2="$T/k/s2" "$@" "$T/big"; }
mkdir -p "$T/k"
start=$(date +%s)
enc -o "$T/k/full" 2>/dev/null && mv "$T/k/full" "$T/k/ref" && mv "$T/k/s2" "$T/k/ref.s2"
span=$(($(date +%s) - start + 1))
check "the uninterrupted run took a moment to kill in (${span}s)" "[ -s '$T/k/ref' ] && [ $span -ge 2 ]"
# kill_run SIG TO: runs enc's command (not through the function: $! must be elsa-encode) to TO
# (-o FILE, or stdout to a file) and sends SIG at a random moment in its first 0.8 s (the whole
# run takes longer, checked above); $rc gets the exit status, $when the delay.
kill_run() {
	when=$(awk -v seed="$$$(date +%N)" 'BEGIN { srand(seed % 100000); printf "%.2f", 0.05 + rand() * 0.75 }')
	if [ "$2" = stdout ]; then
		elsa-encode -m "$T/m" -j 1 --to 4 --save 2="$T/k/s2" "$T/big" >"$T/k/out" 2>"$T/k/err" &
	else
		elsa-encode -m "$T/m" -j 1 --to 4 --save 2="$T/k/s2" -o "$T/k/out" "$T/big" 2>"$T/k/err" &
	fi
	_pid=$!
	sleep "$when"
	kill -s "$1" $_pid
	wait $_pid
	rc=$?
}
for sig in INT TERM KILL; do
	for to in file stdout; do
		rm -f "$T/k/out" "$T/k/s2" "$T/k/"*.tmp.*
		kill_run $sig $to
		code=$(kill -l $rc 2>/dev/null)
		check "SIG$sig at ${when}s, output to $to: the run died of it (status $rc)" "[ '$code' = $sig ]"
		if [ $to = file ]; then
			check "SIG$sig at ${when}s: no output or --save file is left" "[ ! -e '$T/k/out' ] && [ ! -e '$T/k/s2' ]"
		else
			fails "SIG$sig at ${when}s: the partial stdout is refused downstream" "truncated|empty" elsa-view -c "$T/k/out"
			check "SIG$sig at ${when}s: no --save file is left" "[ ! -e '$T/k/s2' ]"
		fi
		if [ $sig = KILL ]; then
			check "SIG$sig at ${when}s: at most temporaries named FILE.tmp.XXXXXX" \
				"[ -z \"\$(ls '$T/k' | grep -v '^ref' | grep -v '^err$' | grep -v '^\\(out\\|s2\\)\\.tmp\\.[A-Za-z0-9]\\{6\\}$' | grep -v '^out$')\" ]"
		else
			check "SIG$sig at ${when}s: no temporary file is left" "[ -z \"\$(ls '$T/k' | grep tmp)\" ]"
			check "SIG$sig at ${when}s: nothing said (a signal is not an error)" "[ ! -s '$T/k/err' ]"
		fi
	done
	rm -f "$T/k/out" "$T/k/s2" "$T/k/"*.tmp.*
	ok "after SIG$sig, the same command runs to the end" enc -o "$T/k/out"
	same "after SIG$sig, the rerun's output is identical to an uninterrupted run" "$T/k/ref" "$T/k/out"
	same "after SIG$sig, the rerun's --save file is identical too" "$T/k/ref.s2" "$T/k/s2"
done
# elsa-train killed: no run folder (so no run.yaml), and a rerun gives the same weights.
for sig in INT KILL; do
	rm -rf "$T/k/run" "$T/k/run".tmp.*
	elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/k/run" --epochs 100000 --batch 8 2>/dev/null &
	_pid=$!
	sleep 0.5
	kill -s $sig $_pid
	wait $_pid
	rc=$?
	check "elsa-train, SIG$sig: died of it (status $rc), and left no run folder" "[ '$(kill -l $rc 2>/dev/null)' = $sig ] && [ ! -e '$T/k/run' ]"
	if [ $sig = INT ]; then
		check "elsa-train, SIG$sig: no temporary run folder" "[ -z \"\$(ls '$T/k' | grep run.tmp)\" ]"
	else
		check "elsa-train, SIG$sig: a temporary run folder is left (nothing can remove it)" "ls -d '$T/k/run'.tmp.?????? >/dev/null"
	fi
done
ok "elsa-train reruns after a kill" elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/k/run" --max-steps 2 --batch 8
same "elsa-train: the rerun's weights are identical to an uninterrupted run" "$T/run/model.safetensors" "$T/k/run/model.safetensors"
check "... and it removed the killed run's temporary folder, whose writer is gone" "[ -z \"\$(ls '$T/k' | grep run.tmp)\" ]"
# A temporary folder whose writer lives is not touched: a run still training (run2), and another
# run of the same folder that completes beside it.
elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/k/run2" --epochs 100000 --batch 8 2>/dev/null &
_pid=$!
for _i in 1 2 3 4 5 6 7 8 9 10; do ls -d "$T/k/run2".tmp.?????? >/dev/null 2>&1 && break; sleep 0.3; done
live=$(ls -d "$T/k/run2".tmp.?????? 2>/dev/null)
ok "a second run of run2 while the first trains" elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/k/run2" --max-steps 2 --batch 8
check "... leaves the first's temporary folder (${live##*/}), whose writer lives" "[ -n '$live' ] && [ -d '$live' ] && kill -0 $_pid"
kill -s KILL $_pid
wait $_pid 2>/dev/null
elsa-train -m "$T/m" -t rte --train "$T/l3small" -o "$T/k/run2" --max-steps 2 --batch 8 --force
check "the next run of run2 removes it once its writer is gone (killed)" "[ -s '$T/k/run2/run.yaml' ] && [ ! -e '$live' ]"

# 3. A pipe closed early: a clean exit (SIGPIPE's 141, or 0), nothing said, nothing left.
pipe_run() { # pipe_run TOOL HEAD-ARGS: $rc and $T/pipe.err from cmd_TOOL | head HEAD-ARGS
	{ cmd_$1 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | head $2 >/dev/null
	rc=$(cat "$T/pipe.rc")
}
for t in $STDOUT; do
	case $t in view | evaluate | predict) h=-1 ;; *) h="-c 100" ;; esac
	pipe_run $t "$h"
	check "$t | head $h: exit status 141 or 0 (was $rc), nothing on stderr" "{ [ $rc = 141 ] || [ $rc = 0 ]; } && [ ! -s '$T/pipe.err' ]"
done
mkdir -p "$T/p"
{ elsa-encode -m "$T/m" --to 3 --save 2="$T/p/s2" "$T/big" 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | head -c 100 >/dev/null
check "encode --save ... | head -c 100: died of SIGPIPE, nothing said" "[ \"\$(cat '$T/pipe.rc')\" = 141 ] && [ ! -s '$T/pipe.err' ]"
check "... and left neither the --save file nor its temporary" "[ -z \"\$(ls -A '$T/p')\" ]"
check "no core file anywhere in the scratch folder" "[ -z \"\$(find '$T' -name 'core*' -type f)\" ]"

# 4. Streams that do not belong together: each refused with a message naming the mismatch.
elsa-embed -m "$T/other" "$T/tok100" >"$T/l0other"
elsa-embed -m "$T/m" --dtype f16 "$T/tok100" >"$T/l0f16"
elsa-embed -m "$T/m" "$T/tok100" >"$T/l0small"
cat "$T/l0small" "$T/l0other" >"$T/cat-model"
fails "two streams of different models concatenated" "after record 100: concatenated streams differ: model" \
	elsa-view -c "$T/cat-model"
fails "... refused by elsa-encode too" "after record 100: concatenated streams differ: model" \
	elsa-encode -m "$T/m" --to 1 -o "$T/x" "$T/cat-model"
check "... which leaves no output" "[ ! -e '$T/x' ]"
cat "$T/l0small" "$T/l2" >"$T/cat-layer"
fails "two streams of different layers concatenated" "concatenated streams differ: layer 0 vs 2" elsa-view -c "$T/cat-layer"
cat "$T/l0small" "$T/l0f16" >"$T/cat-dtype"
fails "two streams of different dtypes concatenated" "concatenated streams differ: dtype f32 vs f16" elsa-view -c "$T/cat-dtype"
elsa-tokenize -m "$T/m" -t qnli "$F/qnli.gold.tsv" >"$T/tok-qnli"
cat "$T/tok100" "$T/tok-qnli" >"$T/cat-task"
fails "two token streams of different tasks concatenated" "concatenated streams differ: task rte vs qnli" \
	elsa-embed -m "$T/m" -o "$T/x" "$T/cat-task"
fails "a stream of another model given to elsa-train" "l0other: made by another model" \
	elsa-train -m "$T/m" -t rte --train "$T/l0other" -o "$T/x"
fails "a --dev stream of another layer than --train" "layer" \
	elsa-train -m "$T/m" -t rte --train "$T/l3small" --dev "$T/l2" -o "$T/x"
fails "a stream of another task given to elsa-train" "task" \
	elsa-train -m "$T/m" -t qnli --train "$T/l3small" -o "$T/x"
check "... none of which left a run folder" "[ ! -e '$T/x' ]"
fails "a stream whose hidden size is not the model's" "hidden size 64, model has 32" \
	sh -c "mkmodel --hidden 32 --heads 4 '$T/h32' >/dev/null && elsa-encode -m '$T/h32' --to 1 '$T/l0small'"
zstd -dcq "$T/l0small" >"$T/l0raw"
# patch FILE OFFSET HEX: writes the bytes HEX (e.g. 03000000) at OFFSET of FILE.
patch() { python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(bytes.fromhex(sys.argv[3]))' "$@"; }
cp "$T/l0raw" "$T/dtype3" && patch "$T/dtype3" 40 03000000
fails "a stream of an unknown dtype" "dtype3: unknown dtype 3" elsa-view -c "$T/dtype3"
fails "... refused by elsa-encode too" "dtype3: unknown dtype 3" elsa-encode -m "$T/m" --to 1 "$T/dtype3"
cp "$T/l0raw" "$T/lying" && patch "$T/lying" 36 20000000
fails "a header that lies about the hidden size (32 for 64)" "lying: record [0-9]+: (bad record tag|truncated)" elsa-view -c "$T/lying"
fails "a token stream given where a tensor stream is needed, and what to do" "tok100: a token stream \\(elsa-tokens\\(5\\)\\), not a tensor stream: elsa-embed makes one from it" \
	elsa-encode -m "$T/m" --to 1 "$T/tok100"
fails "a tensor stream given where a token stream is needed" "l0raw: a tensor stream \\(elsa-stream\\(5\\)\\), not a token stream" \
	elsa-embed -m "$T/m" "$T/l0raw"
# Files that are no stream at all: what they are, and what to do.
printf 'sentence\tlabel\nit is good .\t1\n' >"$T/sst2.tsv"
fails "a GLUE TSV file given to elsa-embed: tokenize it first" \
	"sst2.tsv: line 1: 2 fields, expected 4 \\(id, label, tokens, types\\); not a token stream \\(no #elsa-tokens header\\): a GLUE TSV file\\? elsa-tokenize makes its token stream\$" \
	elsa-embed -m "$T/m" "$T/sst2.tsv"
printf 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n' >"$T/rte.tsv"
fails "... an RTE file (four columns) too" "rte.tsv: line 1: label 'sentence1' is not a number; not a token stream .*elsa-tokenize makes its token stream\$" \
	elsa-embed -m "$T/m" "$T/rte.tsv"
fails "a model's weights given to elsa-view: what the file is" \
	"m/model.safetensors: a safetensors file \\(a model's weights\\), not a stream: elsa-view reads token and tensor streams" \
	elsa-view "$T/m/model.safetensors"
fails "... to elsa-embed" "m/model.safetensors: a safetensors file \\(a model's weights\\), not a token stream" \
	elsa-embed -m "$T/m" "$T/m/model.safetensors"
fails "... to elsa-encode" "m/model.safetensors: a safetensors file \\(a model's weights\\), not a tensor stream" \
	elsa-encode -m "$T/m" --to 1 "$T/m/model.safetensors"
fails "a config.json given to elsa-view" "m/config.json: a JSON file \\(a config.json\\?\\), not a stream" elsa-view -c "$T/m/config.json"
printf 'PK\003\004\024\000\000\000\010\000' >"$T/pytorch_model.bin"
fails "a zip archive given to elsa-view" "pytorch_model.bin: a zip archive \\(PyTorch's pytorch_model.bin\\?\\), not a stream" \
	elsa-view "$T/pytorch_model.bin"
printf 'x\000y\n' >"$T/nul.bin"
fails "binary data given to elsa-view" "nul.bin: line 1: NUL byte: binary data, not a token stream" elsa-view "$T/nul.bin"

# 5. Sizes that would overflow: refused before any allocation. Each runs with at most 400 MB of
# address space (ulimit -v), so an attempt at a huge allocation fails the test; under SAN=1
# (ASan reserves terabytes of address space) ASan refuses any allocation above 256 MB instead.
small_mem() {
	if [ $san = 1 ]; then
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_allocation_size_mb=256:allocator_may_return_null=0" "$@"
	else
		(ulimit -v 400000 && "$@")
	fi
}
python3 - "$T" <<'EOF'
import struct, sys
t = sys.argv[1] + "/"
h = open(t + "l0raw", "rb").read(64)
def rec(n, idb=b"x"):
    return struct.pack("<IIIId", 0x52534C45, n, len(idb), 0, 0.0) + idb
end = lambda n: struct.pack("<IIQ", 0x45534C45, 0, n)
open(t + "len2p31", "wb").write(h + rec(1 << 31) + b"\0" * 64)
hh = bytearray(h); struct.pack_into("<I", hh, 36, 1 << 30)
open(t + "hidden2p30", "wb").write(bytes(hh) + rec(1))
hh = bytearray(h); struct.pack_into("<I", hh, 36, 65536)
open(t + "claims16g", "wb").write(bytes(hh) + rec(65536) + b"\0" * 4096)
open(t + "end2p40", "wb").write(h + end(1 << 40))
ids = " ".join(["5"] * 3000000)
open(t + "tok3m", "w").write("#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=0\n"
                             "a\t0\t" + ids + "\t" + ids.replace("5", "0") + "\n#end 1\n")
st = open(t + "m/model.safetensors", "rb").read()
n = struct.unpack("<Q", st[:8])[0]
open(t + "st-header100g", "wb").write(struct.pack("<Q", 100 * 10**9) + st[8:])
big = b'{"x":{"dtype":"F32","shape":[25000000000],"data_offsets":[0,100000000000]}}'
open(t + "st-tensor100g", "wb").write(struct.pack("<Q", len(big)) + big + b"\0" * 64)
hidden = struct.unpack_from("<I", h, 36)[0]
body = struct.pack("<200I", *[5] * 200) + bytes(800) + bytes(200 * hidden * 4)
open(t + "len200", "wb").write(h + rec(200) + body + end(1))
EOF
fails "a record claiming a 2^31-token sequence" "len2p31: record 1: sequence length 2147483648 is out of range" \
	small_mem elsa-view -c "$T/len2p31"
fails "... refused by elsa-encode too" "sequence length 2147483648 is out of range" \
	small_mem elsa-encode -m "$T/m" --to 1 "$T/len2p31"
fails "a header claiming a hidden size of 2^30" "hidden2p30: hidden size 1073741824 is out of range" \
	small_mem elsa-view -c "$T/hidden2p30"
fails "a 4 KB stream whose one record claims 65536 x 65536 values (16 GB)" "claims16g: record 1: truncated" \
	small_mem elsa-view -c "$T/claims16g"
fails "an end marker claiming 2^40 records" "end marker counts 1099511627776 records, the stream has 0" \
	small_mem elsa-view -c "$T/end2p40"
fails "a token stream line of 3 million token ids" "tok3m: line 2: more than 65536 tokens" \
	small_mem elsa-embed -m "$T/m" "$T/tok3m"
fails "... refused by elsa-view too" "tok3m: line 2: more than 65536 tokens" small_mem elsa-view -c "$T/tok3m"
for f in header100g tensor100g; do
	rm -rf "$T/st-$f.d" && cp -r "$T/m" "$T/st-$f.d" && cp "$T/st-$f" "$T/st-$f.d/model.safetensors"
done
fails "a safetensors header claiming 100 GB" "header length 100000000000 exceeds the file" \
	small_mem elsa-embed -m "$T/st-header100g.d" "$T/tok100"
fails "a safetensors tensor claiming 100 GB" "tensor x: bytes 0..100000000000 lie past the end of the data" \
	small_mem elsa-encode -m "$T/st-tensor100g.d" --to 1 "$T/l0small"
rm -rf "$T/huge" && cp -r "$T/m" "$T/huge" && sed -i 's/"hidden_size": 64/"hidden_size": 65536/' "$T/huge/config.json"
fails "a config.json claiming more parameters than its weights file holds: the key and the shape found" \
	"huge/config.json: hidden_size 65536 does not fit the weights: .*huge/model.safetensors holds bert.embeddings.word_embeddings.weight as [0-9]+ x 64, not [0-9]+ x 65536 \\(the config claims [0-9]+ parameters, more than the weights' [0-9]+ bytes can hold\\)" \
	small_mem elsa-embed -m "$T/huge" "$T/tok100"
rm -rf "$T/deep" && cp -r "$T/m" "$T/deep" && sed -i 's/"num_hidden_layers": 4/"num_hidden_layers": 400/' "$T/deep/config.json"
fails "... too many layers: the key and the first layer missing" \
	"deep/config.json: num_hidden_layers 400 does not fit the weights: .*deep/model.safetensors has no bert.encoder.layer.4.attention.self.query.weight" \
	small_mem elsa-embed -m "$T/deep" "$T/tok100"
rm -rf "$T/wide" && cp -r "$T/m" "$T/wide" && sed -i 's/"intermediate_size": 256/"intermediate_size": 256000/' "$T/wide/config.json"
fails "... a larger intermediate_size" \
	"wide/config.json: intermediate_size 256000 does not fit the weights: .*holds bert.encoder.layer.0.intermediate.dense.weight as 256 x 64, not 256000 x 64" \
	small_mem elsa-embed -m "$T/wide" "$T/tok100"
rm -rf "$T/rob" && cp -r "$T/m" "$T/rob" && sed -i 's/"model_type": "bert"/"model_type": "roberta"/' "$T/rob/config.json"
fails "model_type roberta on BERT's weights: says that bert. tensors are there and what the config should say" \
	"rob/config.json: model_type roberta, but .*rob/model.safetensors holds bert.-prefixed tensors \\(bert.embeddings.word_embeddings.weight\\), not roberta.: a bert checkpoint's config says \"model_type\": \"bert\"" \
	elsa-embed -m "$T/rob" "$T/tok100"
fails "a record longer than the model's position table" "len200: record 1 \\(example x\\): 200 tokens, the model has 128 positions" \
	small_mem elsa-encode -m "$T/m" --to 1 "$T/len200"
done_testing
