# elsa-train's checkpoints (issue 13): a run killed at random steps (SIGKILL three times, then
# SIGTERM) and run again until it completes gives the bytes of a run never interrupted; a
# checkpoint of other settings, of another model or stream, or cut short or corrupt, is refused
# in one line; a full disk while checkpointing leaves the last checkpoint, which resumes.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate
cd "$T" || exit 1

# Inputs: a model and another, 100 training examples and 40 dev ones at layer 3 (the top layer
# and the head train), 100 other examples, 30 for the full disk, and a stream of the other model.
mkmodel --hidden 64 --heads 4 --layers 4 --max-pos 128 --labels 2 "$T/m" >/dev/null
mkmodel --hidden 64 --heads 4 --layers 4 --max-pos 128 --labels 2 --seed 7 "$T/other" >/dev/null
elsa-tokenize -m "$T/m" -t rte --max-len 64 "$F/rte.gold.tsv" >"$T/tok"
# part FIRST LAST MODEL OUT: records FIRST..LAST of the token stream, at layer 3 of MODEL.
part() {
	{ head -1 "$T/tok"; sed -n "$(($1 + 1)),$(($2 + 1))p" "$T/tok"; echo "#end $(($2 - $1 + 1))"; } |
		elsa-embed -m "$3" | elsa-encode -m "$3" --to 3 >"$4"
}
part 1 100 "$T/m" "$T/train" && part 101 140 "$T/m" "$T/dev" && part 141 240 "$T/m" "$T/train2"
part 1 30 "$T/m" "$T/train30" && part 1 100 "$T/other" "$T/train.other" && part 101 140 "$T/other" "$T/dev.other"
check "the inputs were made" "[ -s '$T/train' ] && [ -s '$T/dev' ] && [ -s '$T/train2' ] && [ -s '$T/dev.other' ]"

# 300 steps: 12 epochs of 25 batches; checkpoints every 7 steps and at each epoch's end, the
# loss logged every 3 (so that most checkpoints hold a part of the loss window).
# (-j 1: a steadier pace on a busy machine; a resume below runs on two threads.)
COMMON="-m $T/m -t rte --batch 4 --epochs 12 --log-every 3"
MAIN="--train $T/train --dev $T/dev"
run() { elsa-train $COMMON $MAIN -j 1 "$@"; }
TOTAL=300
is_checkpoint_step() { [ $(($1 % 7)) = 0 ] || [ $(($1 % 25)) = 0 ]; }
# last_checkpoint_before S: the last checkpoint step below S (0: none).
last_checkpoint_before() {
	_c=$(($1 - 1))
	while [ $_c -gt 0 ] && ! is_checkpoint_step $_c; do _c=$((_c - 1)); done
	echo $_c
}
# random LO HI: a multiple of 3 (a step with a loss line) in [LO, HI + 3).
random() {
	awk -v seed="$$$(date +%N)" -v lo="$1" -v hi="$2" \
		'BEGIN { srand(seed % 1000000); print 3 * int((lo + rand() * (hi - lo)) / 3 + 1) }'
}
# same_record WHAT A B: two run.yaml files agree but for their costs and thread counts.
same_record() {
	sed -e '/^cost:/,$d' -e '/^  threads:/d' "$2" >"$T/.a" && sed -e '/^cost:/,$d' -e '/^  threads:/d' "$3" >"$T/.b" &&
		same "$1" "$T/.a" "$T/.b"
}
# kill_at SIG STEP ARGS...: runs elsa-train $COMMON ARGS, reading its stderr through a fifo,
# and sends SIG once the line of step STEP (a multiple of 3) came (the run goes on a little
# before it dies: a kill lands anywhere in a step or a checkpoint). $rc gets its status, $T/err
# its stderr.
kill_at() {
	_sig=$1 _at=$2
	shift 2
	rm -f "$T/fifo" "$T/err" && mkfifo "$T/fifo"
	elsa-train $COMMON "$@" 2>"$T/fifo" &
	_pid=$! _sent=0
	while IFS= read -r _line; do # read to the end: a closed pipe would kill the run first
		echo "$_line" >>"$T/err"
		case $_line in *": step $_at/"*) [ $_sent = 1 ] || kill -s "$_sig" $_pid; _sent=1 ;; esac
	done <"$T/fifo"
	wait $_pid 2>/dev/null
	rc=$?
}
# resumed_from: the step the run in $T/err said it resumed from (none: empty).
resumed_from() { sed -n 's/^elsa-train: resuming .* from step \([0-9]*\) of .*/\1/p' "$T/err" | head -1; }
# checkpoint_step DIR: the step of the checkpoint in DIR.
checkpoint_step() { sed -n 's/^step //p' "$1/state"; }

ok "an uninterrupted run (no checkpoints)" run -o "$T/ref" --checkpoint-every 0
check "... leaves no checkpoint folder" "[ ! -e '$T/ref.checkpoint' ] && [ -s '$T/ref/model.safetensors' ]"
ok "the same run, checkpointing every 7 steps" run -o "$T/ckpt" --checkpoint-every 7
same "... gives the same weights (checkpoints change nothing)" "$T/ref/model.safetensors" "$T/ckpt/model.safetensors"
check "... and removes its checkpoint once the run is complete" "[ ! -e '$T/ckpt.checkpoint' ]"

# Three SIGKILLs at random steps, each run resuming where the last checkpoint left it.
from=0
for i in 1 2 3; do
	at=$(random $((from + 10)) $((from + 70)))
	[ $i = 2 ] && j=2 || j=1
	kill_at KILL $at $MAIN -o "$T/run" --checkpoint-every 7 -j $j
	check "kill $i (SIGKILL at step $at, -j $j): the run died of it (status $rc)" "[ '$(kill -l $rc 2>/dev/null)' = KILL ]"
	check "kill $i: no run folder, and a checkpoint state" "[ ! -e '$T/run' ] && [ -s '$T/run.checkpoint/state' ]"
	if [ $i -gt 1 ]; then
		got=$(resumed_from)
		check "kill $i: that run had resumed from step $from, as the previous kill left it" "[ '$got' = $from ]"
	fi
	low=$(last_checkpoint_before $at)
	from=$(checkpoint_step "$T/run.checkpoint")
	check "kill $i: the checkpoint is of step $from, a checkpoint step, at least $low (the last before $at)" \
		"[ -n '$from' ] && is_checkpoint_step '$from' && [ '$from' -ge $low ] && [ '$from' -lt $TOTAL ]"
done
rm -f "$T/err"
run -o "$T/run" --checkpoint-every 7 2>"$T/err"
check "the rerun completes" "[ -s '$T/run/model.safetensors' ]"
check "... saying it resumed from step $from" \
	"grep -q '^elsa-train: resuming $T/run from step $from of $TOTAL (checkpoint of [0-9-]* [0-9:]* [-+][0-9]*)$' '$T/err'"
same "... with the weights of the uninterrupted run" "$T/ref/model.safetensors" "$T/run/model.safetensors"
same "... its dev predictions" "$T/ref/predictions.tsv" "$T/run/predictions.tsv"
same_record "... and its run.yaml, losses and dev evaluations (costs and threads aside)" "$T/ref/run.yaml" "$T/run/run.yaml"
check "... and it removed the checkpoint" "[ ! -e '$T/run.checkpoint' ]"

# A checkpoint made under other kernels (a preempted job restarted on another node type): the
# run resumes, saying that it will not be bit-identical; the resumes above, under the same
# kernels, said nothing of the kind.
check "the resumes under the same kernels said nothing of bit-identity" "! grep -q 'bit-identical' '$T/err'"
if [ "$(ELSA_SIMD=sse2 elsa-encode -m "$T/m" --to 4 --stats "$T/k1" "$T/dev" >/dev/null && sed -n 's/^simd: //p' "$T/k1")" = sse2 ] &&
	elsa-encode -m "$T/m" --to 4 --stats "$T/k2" "$T/dev" >/dev/null && [ "$(sed -n 's/^simd: //p' "$T/k2")" != sse2 ]; then
	ELSA_SIMD=sse2 kill_at KILL 30 $MAIN -o "$T/moved" --checkpoint-every 7 -j 1
	check "a checkpoint written under the baseline SIMD build names its kernels" \
		"grep -q '^kernels gemm [a-z0-9]*, blis [a-z0-9]*, simd sse2$' '$T/moved.checkpoint/state'"
	run -o "$T/moved" --checkpoint-every 7 2>"$T/err"
	now=$(sed -n 's/^simd: //p' "$T/k2")
	check "... resumed under the $now build, the run says it will not be bit-identical" \
		"grep -q '^elsa-train: $T/moved: the checkpoint was computed with gemm .*, simd sse2, this process computes with gemm .*, simd $now: the run will not be bit-identical to one never interrupted$' '$T/err'"
	check "... and completes" "[ -s '$T/moved/model.safetensors' ]"
else
	skip "a resume under other kernels" "this processor runs only the baseline SIMD build"
fi

# --keep best: the best epoch's weights so far live in the checkpoint; a run killed after that
# epoch resumes to the run never interrupted, and keeps the same epoch.
ok "an uninterrupted --keep best run" run -o "$T/bref" --checkpoint-every 0 --keep best
kept=$(sed -n 's/^kept_epoch: //p' "$T/bref/run.yaml")
kill_at KILL $(random 200 260) $MAIN -o "$T/best" --checkpoint-every 7 -j 1 --keep best
from=$(checkpoint_step "$T/best.checkpoint")
check "... killed after the epoch it keeps ($kept; the checkpoint is of step $from, epoch $((from / 25)))" \
	"[ '$kept' -lt 12 ] && [ $((from / 25)) -gt '$kept' ]"
run -o "$T/best" --checkpoint-every 7 --keep best 2>/dev/null
same "... resumes to its weights" "$T/bref/model.safetensors" "$T/best/model.safetensors"
same "... its dev predictions" "$T/bref/predictions.tsv" "$T/best/predictions.tsv"
same_record "... and its run.yaml" "$T/bref/run.yaml" "$T/best/run.yaml"

# SIGTERM (a Slurm preemption): dies of it, removes its temporaries, keeps the checkpoint.
kill_at TERM $(random 40 120) $MAIN -o "$T/term" --checkpoint-every 7 -j 1
check "SIGTERM: the run died of it (status $rc)" "[ '$(kill -l $rc 2>/dev/null)' = TERM ]"
check "SIGTERM: no run folder, and no temporary one" "[ ! -e '$T/term' ] && [ -z \"\$(ls '$T' | grep term.tmp)\" ]"
check "SIGTERM: nothing said but progress (a signal is not an error)" "! grep -v ': step \\|: epoch ' '$T/err'"
tensors=$(sed -n 's/^tensors \([^ ]*\) .*/\1/p' "$T/term.checkpoint/state")
check "SIGTERM: the checkpoint is there: its state, and the tensors file it names ($tensors)" \
	"[ -s '$T/term.checkpoint/state' ] && [ -s '$T/term.checkpoint/$tensors' ]"
cp -r "$T/term.checkpoint" "$T/saved.checkpoint"
at=$(checkpoint_step "$T/term.checkpoint")

# Settings that differ: one line naming the first, the checkpoint left as it was.
refused() { # refused WHAT PATTERN CMD...: status 1 (not a crash), one line matching PATTERN
	_what=$1 _pat=$2
	shift 2
	"$@" >/dev/null 2>"$T/.err"
	_rc=$?
	check "$_what (status $_rc)" "[ $_rc = 1 ] && [ \$(wc -l <'$T/.err') = 1 ] && grep -Eq -- \"\$_pat\" '$T/.err'"
	[ $_rc = 1 ] || sed 's/^/#   /' "$T/.err" | head -5
}
C="^elsa-train: $T/term\\.checkpoint"
NR='\(--no-resume starts over\)$'
refused "another --lr is refused, naming it" "$C: --lr differs: the checkpoint's 2e-05; this run's 0\\.001 $NR" \
	run -o "$T/term" --lr 1e-3
refused "another --seed is refused" "$C: --seed differs: the checkpoint's 42; this run's 7 $NR" run -o "$T/term" --seed 7
refused "another --batch is refused" "$C: --batch differs: the checkpoint's 4; this run's 8 $NR" run -o "$T/term" --batch 8
refused "--max-steps is refused" "$C: --max-steps differs: the checkpoint's 0; this run's 100 $NR" \
	run -o "$T/term" --max-steps 100
refused "another --keep is refused" "$C: --keep differs: the checkpoint's last; this run's best $NR" \
	run -o "$T/term" --keep best
refused "another --dropout is refused" "$C: --dropout differs: the checkpoint's 0\\.1; this run's 0 $NR" \
	run -o "$T/term" --dropout 0
refused "another --train stream is refused, naming its content" \
	"$C: --train differs: the checkpoint's layer 3, 100 examples, content [0-9a-f]{16}; this run's layer 3, 100 examples, content [0-9a-f]{16} $NR" \
	elsa-train $COMMON --train "$T/train2" --dev "$T/dev" -o "$T/term"
refused "no --dev is refused" "$C: --dev differs: the checkpoint's layer 3, 40 examples, content [0-9a-f]{16}; this run's none $NR" \
	elsa-train $COMMON --train "$T/train" -o "$T/term"
cp -r "$T/term.checkpoint" "$T/o.checkpoint"
refused "a checkpoint of another model is refused" "^elsa-train: $T/o\\.checkpoint: model differs: the checkpoint's [0-9a-f]{16}; this run's [0-9a-f]{16} $NR" \
	elsa-train $COMMON -m "$T/other" --train "$T/train.other" --dev "$T/dev.other" -o "$T/o"
check "... none of which touched the checkpoint" "diff -r '$T/saved.checkpoint' '$T/term.checkpoint' && [ ! -e '$T/term' ]"

# --force starts a run of other settings over; --no-resume starts over.
cp -r "$T/saved.checkpoint" "$T/forced.checkpoint"
run -o "$T/forced" --force --max-steps 30 2>"$T/err"
check "--force with other settings: says it starts over" \
	"grep -q '^elsa-train: $T/forced.checkpoint: --max-steps differs: .*: starting over (--force)$' '$T/err' && ! grep -q resuming '$T/err'"
run -o "$T/fresh30" --max-steps 30 2>/dev/null
same "... and gives the run those settings give" "$T/fresh30/model.safetensors" "$T/forced/model.safetensors"
cp -r "$T/saved.checkpoint" "$T/nores.checkpoint"
run -o "$T/nores" --no-resume 2>"$T/err"
check "--no-resume: starts at step 0, and removes the checkpoint" "! grep -q resuming '$T/err' && grep -q 'step 3/300 ' '$T/err' && [ ! -e '$T/nores.checkpoint' ]"
same "... giving the uninterrupted run" "$T/ref/model.safetensors" "$T/nores/model.safetensors"

# The SIGTERM'd run resumes, on two threads, to the same bytes.
run -o "$T/term" -j 2 2>"$T/err"
check "after SIGTERM, the rerun resumes from step $at" "grep -q '^elsa-train: resuming $T/term from step $at of $TOTAL ' '$T/err'"
same "... and gives the weights of the uninterrupted run" "$T/ref/model.safetensors" "$T/term/model.safetensors"
same "... and its predictions" "$T/ref/predictions.tsv" "$T/term/predictions.tsv"

# Checkpoints cut short or corrupt: one line naming the file, never a crash.
# broken NAME HOW: a copy of the saved checkpoint as NAME.checkpoint, damaged by the shell command HOW (in it).
broken() { rm -rf "$T/$1" "$T/$1.checkpoint" && cp -r "$T/saved.checkpoint" "$T/$1.checkpoint" && (cd "$T/$1.checkpoint" && eval "$2"); }
flip() { # flip FILE OFFSET: inverts the byte at OFFSET (negative: from the end)
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); i = int(sys.argv[2]); b[i] ^= 0xff; open(p, "wb").write(b)' "$@"
}
S="cut short or corrupt: its checksum does not match $NR"
broken cut 'head -c 300 state >s && mv s state'
refused "a state cut short" "^elsa-train: $T/cut\\.checkpoint/state: $S" run -o "$T/cut"
broken empty ': >state'
refused "an empty state" "^elsa-train: $T/empty\\.checkpoint/state: $S" run -o "$T/empty"
broken flip "flip state 600"
refused "a state with a byte changed" "^elsa-train: $T/flip\\.checkpoint/state: $S" run -o "$T/flip"
broken noise 'head -c 4096 /dev/urandom >state'
refused "a state of random bytes" "^elsa-train: $T/noise\\.checkpoint/state: (cut short or corrupt|corrupt zstd data)" run -o "$T/noise"
broken tcut "head -c 5000 $tensors >t && mv t $tensors"
refused "a tensors file cut short" "^elsa-train: $T/tcut\\.checkpoint/$tensors: " run -o "$T/tcut"
broken tflip "flip $tensors -100"
refused "a tensors file with a byte changed" "^elsa-train: $T/tflip\\.checkpoint/$tensors: corrupt: its tensors do not match the state's checksum $NR" \
	run -o "$T/tflip"
broken tgone "rm $tensors"
refused "a tensors file missing" "^elsa-train: $T/tgone\\.checkpoint/$tensors: No such file or directory $NR" run -o "$T/tgone"
broken folder "rm -rf * && cd .. && rmdir folder.checkpoint && : >folder.checkpoint"
refused "a file where the checkpoint folder belongs" "^elsa-train: $T/folder\\.checkpoint/state: " run -o "$T/folder"
check "... none of which left a run folder" "[ -z \"\$(ls '$T' | grep -E '^(cut|empty|flip|noise|tcut|tflip|tgone|folder)$')\" ]"

# A full disk while checkpointing: a file-size limit that the stream's copy and the run's files
# fit, and the checkpoint (3 times the weights) does not. One line; the last checkpoint stays,
# and resumes to the same bytes.
SMALL="--train $T/train30 -j 1 --checkpoint-every 5" # 8 steps an epoch, 96 in all; no dev set
elsa-train $COMMON $SMALL -o "$T/ref30" 2>/dev/null
stream=$(zstd -dcq "$T/train30" | wc -c) weights=$(wc -c <"$T/ref30/model.safetensors")
limit=$(((stream + 3 * weights) / 2 / 512))
check "a file-size limit ($limit blocks) between the stream's size ($stream) and the checkpoint's (3 x $weights)" \
	"[ $((limit * 512)) -gt $stream ] && [ $((limit * 512)) -lt $((3 * weights)) ]"
limited() { (trap '' XFSZ; ulimit -f $limit && elsa-train $COMMON $SMALL -o "$T/disk") 2>"$T/err"; rc=$?; }
limited
check "a full disk at the first checkpoint: status 1 (was $rc), naming the file" \
	"[ $rc = 1 ] && tail -1 '$T/err' | grep -q '^elsa-train: $T/disk.checkpoint/step-5.safetensors: File too large$'"
check "... leaving no checkpoint folder, no run folder" "[ ! -e '$T/disk.checkpoint' ] && [ ! -e '$T/disk' ]"
kill_at KILL 18 $SMALL -o "$T/disk"
before=$(checkpoint_step "$T/disk.checkpoint") files=$(ls "$T/disk.checkpoint")
limited
check "a full disk at a later checkpoint: status 1 (was $rc), after resuming from step $before" \
	"[ $rc = 1 ] && grep -q '^elsa-train: resuming $T/disk from step $before ' '$T/err' && tail -1 '$T/err' | grep -q 'File too large$'"
check "... leaving the checkpoint of step $before as it was" \
	"[ \"\$(checkpoint_step '$T/disk.checkpoint')\" = '$before' ] && [ \"\$(ls '$T/disk.checkpoint')\" = '$files' ]"
elsa-train $COMMON $SMALL -o "$T/disk" 2>"$T/err"
check "... which the same command then resumes" "grep -q '^elsa-train: resuming $T/disk from step $before ' '$T/err'"
same "... to the uninterrupted run's weights" "$T/ref30/model.safetensors" "$T/disk/model.safetensors"
done_testing
