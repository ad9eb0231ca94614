# elsa-train from the command line: a run end to end, its folder, --predict, determinism, and
# refusals of bad input. (Numerics against PyTorch: tests/unit/finetune.c.)
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/encoder/bert
M=$T/model
mkmodel $(cat "$F/mkmodel.args") "$M" >/dev/null
elsa-embed -m "$M" "$F/tokens.tsv" >"$T/l0.zst"
elsa-encode -m "$M" --to 2 --save 1="$T/l1.zst" "$T/l0.zst" >"$T/l2.zst"
train() { elsa-train -m "$M" -t rte --train "$T/l2.zst" --dev "$T/l2.zst" --batch 4 --epochs 10 --lr 1e-3 --log-every 5 "$@"; }

ok "a run trains the top layer and the head" train -o "$T/run"
check "its progress names the run, the step of all, the rate and the time left" \
	"grep -Eq '^elsa-train: run: step 5/20 epoch [0-9]+ loss [0-9.]+ lr [0-9.e-]+, [0-9]+ tokens/s, [0-9]+m[0-9]{2}s left\$' '$T/.err'"
check "the run folder holds run.yaml, model.safetensors and predictions.tsv, and nothing else (no lock file)" \
	"[ \"\$(ls -A '$T/run' | paste -sd' ' -)\" = 'model.safetensors predictions.tsv run.yaml' ]"
check "no temporary folder is left beside it" "[ -z \"\$(ls '$T' | grep tmp)\" ]"
check "run.yaml records N, the trained layers and the steps" \
	"grep -q '^frozen_layers: 2' '$T/run/run.yaml' && grep -q '^trained_layers: 1' '$T/run/run.yaml' && grep -q '^steps: 20' '$T/run/run.yaml'"
first=$(grep -m1 'step: 5,' "$T/run/run.yaml" | sed 's/.*loss: \([^,]*\),.*/\1/')
last=$(grep 'step: 20,' "$T/run/run.yaml" | sed 's/.*loss: \([^,]*\),.*/\1/')
check "the training loss falls ($first to $last)" "awk 'BEGIN { exit !($last < $first) }'"
check "predictions.tsv has a header and one line per dev example" \
	"[ \$(wc -l <'$T/run/predictions.tsv') -eq 9 ] && head -1 '$T/run/predictions.tsv' | grep -q '^id	prediction$'"
ok "elsa-evaluate scores the run's predictions" elsa-evaluate -t rte --gold "$F/tokens.tsv" --pred "$T/run/predictions.tsv"
check "the dev score in run.yaml is the one elsa-evaluate computes" \
	"[ \"\$(grep '^acc:' '$T/.out' | cut -d' ' -f2)\" = \"\$(grep '    acc:' '$T/run/run.yaml' | tail -1 | sed 's/ *acc: //')\" ]"
elsa-train --predict "$T/run" -m "$M" "$T/l2.zst" >"$T/pred.tsv"
same "--predict gives the run's own dev predictions" "$T/pred.tsv" "$T/run/predictions.tsv"

# Determinism: the same seed and threads give the same bytes; another seed does not.
train -o "$T/again" 2>/dev/null
same "the same seed gives bit-identical weights" "$T/run/model.safetensors" "$T/again/model.safetensors"
same "... and predictions" "$T/run/predictions.tsv" "$T/again/predictions.tsv"
train -o "$T/seed7" --seed 7 2>/dev/null
check "another seed gives other weights" "! cmp -s '$T/run/model.safetensors' '$T/seed7/model.safetensors'"

# --keep best: the weights and predictions of the first epoch with the best dev score, which the
# test finds in the run's own dev entries; --predict with the kept weights gives the kept predictions.
train -o "$T/best" --seed 1 --keep best 2>"$T/best.err"
best=$(awk '/^    score:/ { n++; if (n == 1 || $2 > max) { max = $2; at = n } } END { print at }' "$T/best/run.yaml")
check "--keep best keeps the first epoch of the best dev score ($best, before the last, 10)" \
	"[ '$best' -lt 10 ] && grep -q '^kept_epoch: $best\$' '$T/best/run.yaml' && grep -q '^  keep: best\$' '$T/best/run.yaml'"
check "... and says so" "grep -q 'best: kept epoch $best, the best dev acc' '$T/best.err'"
kept_acc=$(grep '    acc:' "$T/best/run.yaml" | sed -n "${best}p" | sed 's/ *acc: //')
elsa-evaluate -t rte --gold "$F/tokens.tsv" --pred "$T/best/predictions.tsv" >"$T/best.eval"
check "... its predictions.tsv scores the kept epoch's acc ($kept_acc)" "grep -q '^acc: $kept_acc\$' '$T/best.eval'"
elsa-train --predict "$T/best" -m "$M" "$T/l2.zst" >"$T/best.pred"
same "... and its weights predict what it kept" "$T/best.pred" "$T/best/predictions.tsv"
train -o "$T/last" --seed 1 2>/dev/null
check "--keep last (the default) keeps the last epoch, other weights" \
	"grep -q '^kept_epoch: 10\$' '$T/last/run.yaml' && grep -q '^  keep: last\$' '$T/last/run.yaml' && ! cmp -s '$T/last/model.safetensors' '$T/best/model.safetensors'"
fails "--keep best without --dev is refused" "keep best: chooses on the dev set: give --dev" \
	elsa-train -m "$M" -t rte --train "$T/l2.zst" -o "$T/bad" --keep best
fails "--keep takes best or last" "keep 'first': best or last" train -o "$T/bad" --keep first
fails "a misspelled task: the one meant" "unknown task 'STS-B' \\(tasks: .*\\); did you mean stsb\\?\$" \
	elsa-train -m "$M" -t STS-B --train "$T/l2.zst" -o "$T/bad"
sed "s/^kept_epoch: $best\$/kept_epoch: 1/" "$T/best/run.yaml" >"$T/best/run.yaml.1" && mkdir -p "$T/kept1" &&
	mv "$T/best/run.yaml.1" "$T/kept1/run.yaml"
first_acc=$(grep '    acc:' "$T/kept1/run.yaml" | head -1 | sed 's/ *acc: //')
elsa-report "$T/kept1" >"$T/kept1.md"
check "elsa-report scores the epoch a run kept (epoch 1: $first_acc)" \
	"grep -q \"^| 2 | 1 | \$(awk -v a=$first_acc 'BEGIN { printf \"%.2f\", 100 * a }') \" '$T/kept1.md'"
sed 's/^kept_epoch: .*/kept_epoch: 11/' "$T/best/run.yaml" >"$T/kept1/run.yaml"
fails "a run.yaml whose kept_epoch is no dev entry's is refused" "run.yaml: kept_epoch 11 is none of the dev entries' epochs" \
	elsa-report "$T/kept1"
sed 's/^  keep: best$/  keep: maybe/' "$T/best/run.yaml" >"$T/kept1/run.yaml"
fails "a run.yaml whose keep is neither best nor last is refused" "run.yaml: keep is not best or last" elsa-report "$T/kept1"
fails "a cell of runs that kept best and last epochs is refused" "whose keep \\(best or last epoch\\) differ" \
	elsa-report "$T/best" "$T/last"

train -o "$T/quiet" -q 2>"$T/quiet.err"
check "-q: a run says nothing on stderr (no step, dev or kept lines)" "[ ! -s '$T/quiet.err' ] && [ -s '$T/quiet/run.yaml' ]"
same "... and trains the same run" "$T/run/model.safetensors" "$T/quiet/model.safetensors"

# Head alone (N = L), regression, and N = 0.
elsa-encode -m "$M" --to 3 "$T/l2.zst" >"$T/l3.zst"
ok "N = L trains the head alone" elsa-train -m "$M" -t rte --train "$T/l3.zst" -o "$T/head" --max-steps 3
check "... and its weights are the head's only" "grep -q '^trained_layers: 0' '$T/head/run.yaml' && ! grep -q encoder '$T/head/model.safetensors'"
check "... of 3 steps, as asked" "grep -q '^steps: 3\$' '$T/head/run.yaml' && grep -q '^  - {step: 3, loss: [0-9.e-]*, lr: ' '$T/head/run.yaml'"
ok "N = 0 trains every layer" elsa-train -m "$M" -t rte --train "$T/l0.zst" -o "$T/all" --max-steps 2
check "... and its weights hold all three layers" "grep -q 'encoder.layer.0' '$T/all/model.safetensors' && grep -q 'encoder.layer.2' '$T/all/model.safetensors'"

ok "--train-embeddings trains the embeddings too (a full fine-tune)" \
	elsa-train -m "$M" -t rte --train "$T/l0.zst" --dev "$T/l0.zst" -o "$T/full" --max-steps 2 --train-embeddings
check "... and its weights hold them" "grep -q 'bert.embeddings.word_embeddings.weight' '$T/full/model.safetensors'"
elsa-train --predict "$T/full" -m "$M" "$T/l0.zst" >"$T/full.pred"
same "--predict of a full fine-tune computes its own embeddings: the run's dev predictions" "$T/full.pred" "$T/full/predictions.tsv"
fails "--train-embeddings needs layer-0 streams" "train-embeddings: .*l2.zst holds layer 2" \
	elsa-train -m "$M" -t rte --train "$T/l2.zst" -o "$T/bad" --train-embeddings

# Bad input: one line naming the file and the mismatch; no run folder.
fails "train and dev from different layers are refused" "l1.zst: layer 1, but .*l2.zst holds layer 2" \
	elsa-train -m "$M" -t rte --train "$T/l2.zst" --dev "$T/l1.zst" -o "$T/bad"
mkmodel --seed 5 $(cat "$F/mkmodel.args" | sed 's/--seed [0-9]*//') "$T/other" >/dev/null
fails "a stream from another model is refused" "l2.zst: made by another model" \
	elsa-train -m "$T/other" -t rte --train "$T/l2.zst" -o "$T/bad"
fails "a stream of another task is refused" "l2.zst: tokenized for task rte, not cola" \
	elsa-train -m "$M" -t cola --train "$T/l2.zst" -o "$T/bad"
fails "an existing RUN_DIR is refused without --force" "run: exists \\(use --force" train -o "$T/run"
ok "--force replaces it" train -o "$T/run" --force --seed 7
same "... with the new run" "$T/run/model.safetensors" "$T/seed7/model.safetensors"
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\n0\t3\t2 5 6 3\t0 0 0 0\n#end 1\n' >"$T/lab.tok"
elsa-embed -m "$M" "$T/lab.tok" >"$T/lab.zst"
fails "a label out of range for the task is refused" "lab.zst: record 1 \\(example 0\\): label 3 is not a class of rte" \
	elsa-train -m "$M" -t rte --train "$T/lab.zst" -o "$T/bad"
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\n0\t-\t2 5 6 3\t0 0 0 0\n#end 1\n' >"$T/nolab.tok"
elsa-embed -m "$M" "$T/nolab.tok" >"$T/nolab.zst"
fails "an unlabelled training set is refused" "nolab.zst: record 1 \\(example 0\\) has no label" \
	elsa-train -m "$M" -t rte --train "$T/nolab.zst" -o "$T/bad"
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\n#end 0\n' >"$T/empty.tok"
elsa-embed -m "$M" "$T/empty.tok" >"$T/empty.zst"
fails "an empty training set is refused" "empty.zst: no examples" elsa-train -m "$M" -t rte --train "$T/empty.zst" -o "$T/bad"
# A NaN in the states (the first state of record 1, at byte 64 + 24 + 1 + 8 x 4 of the raw
# stream, elsa-stream(5)): the loss is NaN at the first step.
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\n0\t1\t2 5 6 3\t0 0 0 0\n#end 1\n' >"$T/one.tok"
elsa-embed -m "$M" "$T/one.tok" | zstd -dcq >"$T/nan.raw"
printf '\377\377\377\177' | dd of="$T/nan.raw" bs=1 seek=121 conv=notrunc 2>/dev/null
fails "a NaN loss stops the run, naming the step" "step 1: the loss is nan" \
	elsa-train -m "$M" -t rte --train "$T/nan.raw" -o "$T/bad"
# A NaN whose sign bit is set (which printf spells -nan): every tool prints it nan, as any other.
cp "$T/nan.raw" "$T/negnan.raw"
printf '\377\377\377\377' | dd of="$T/negnan.raw" bs=1 seek=121 conv=notrunc 2>/dev/null
elsa-view --values "$T/negnan.raw" >"$T/negnan.txt"
check "elsa-view --values prints a negative NaN as nan ($(head -c 40 "$T/negnan.txt" | cut -f3))" \
	"[ \"\$(head -1 '$T/negnan.txt' | cut -f3 | cut -d' ' -f1)\" = nan ] && ! grep -q -- '-nan' '$T/negnan.txt'"
fails "... and elsa-train says the loss is nan" "step 1: the loss is nan \\(" elsa-train -m "$M" -t rte --train "$T/negnan.raw" -o "$T/bad"
check "no run folder is left by any refused run" "[ ! -e '$T/bad' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
done_testing
