# elsa-train --predict with a fine-tuned model folder reads its outputs through its id2label names
# (issue 1): the same model with its classifier rows in another order and id2label saying so
# (datasets' MNLI order, roberta-large-mnli's upper-case one, RTE and QNLI swapped) predicts the
# same classes, logits and probabilities; generic names (LABEL_k) are read as the task's one
# numbering where both agree (saying so), and refused for MNLI unless --label-order states the
# model's; names that are not the task's classes are refused, saying how to state the order.
# The folders are made here from one mkmodel head by a script that only moves rows and rewrites
# config.json (Python's standard library), independently of elsa.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate

# relabel SRC DST TASK K:NAME...: DST is SRC with output j of its head taken from SRC's output K
# (the j-th argument), named NAME in id2label / label2id, and finetuning_task TASK.
cat >"$T/relabel.py" <<'EOF'
import json, os, shutil, struct, sys
src, dst, task, outs = sys.argv[1], sys.argv[2], sys.argv[3], [a.split(":", 1) for a in sys.argv[4:]]
shutil.copytree(src, dst)
blob = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
head, data = json.loads(blob[8:8 + n]), bytearray(blob[8 + n:])
for name in ("classifier.weight", "classifier.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"):
    if name not in head:
        continue
    t = head[name]
    assert t["dtype"] == "F32" and t["shape"][0] == len(outs), name
    a, b = t["data_offsets"]
    row = (b - a) // len(outs)
    old = bytes(data[a:b])
    for j, (k, _) in enumerate(outs):
        data[a + j * row:a + (j + 1) * row] = old[int(k) * row:(int(k) + 1) * row]
open(os.path.join(dst, "model.safetensors"), "wb").write(blob[:8 + n] + bytes(data))
cfg = json.load(open(os.path.join(src, "config.json")))
cfg["id2label"] = {str(j): name for j, (_, name) in enumerate(outs)}
cfg["label2id"] = {name: j for j, (_, name) in enumerate(outs)}
cfg["finetuning_task"] = task
json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=2)
EOF
relabel() { python3 "$T/relabel.py" "$@"; }
# predict DIR OUT [ARGS...]: the token stream $T/tok.TASK through DIR's embeddings, predicted by DIR.
predict() {
	_dir=$1 _out=$2 _task=$(sed -n 's/.*"finetuning_task": "\([a-z]*\)".*/\1/p' "$1/config.json")
	shift 2
	elsa-embed -m "$_dir" "$T/tok.$_task" >"$T/l0" && elsa-train --predict "$_dir" --scores "$@" "$T/l0" >"$_out"
}

# exported TASK: $T/TASK, an exported run of TASK, trained (every layer, briefly) on the
# fixture's examples so that it predicts more than one class.
mkmodel --layers 1 --hidden 32 --heads 4 --max-pos 128 --word-std 0.5 "$T/base" >/dev/null
exported() {
	elsa-tokenize -m "$T/base" -t "$1" "$F/$1.gold.tsv" >"$T/tok.$1" &&
		elsa-embed -m "$T/base" "$T/tok.$1" >"$T/$1.l0" &&
		elsa-train -q -m "$T/base" -t "$1" --train "$T/$1.l0" -o "$T/$1.run" --lr 3e-3 --epochs 20 --batch 8 \
			--train-embeddings --dropout 0 2>/dev/null &&
		elsa-export -m "$T/base" -o "$T/$1" "$T/$1.run"
}

# MNLI: the exported folder G names its outputs contradiction, entailment, neutral (elsa's
# numbering); the others hold the same rows in other orders.
exported mnli
relabel "$T/mnli" "$T/G" mnli 0:contradiction 1:entailment 2:neutral
relabel "$T/mnli" "$T/D" mnli 1:entailment 2:neutral 0:contradiction
relabel "$T/mnli" "$T/R" mnli 0:CONTRADICTION 2:NEUTRAL 1:ENTAILMENT
predict "$T/G" "$T/G.pred"
check "the glue-ordered folder predicts more than one class (so that orders matter here)" \
	"[ \$(sed 1d '$T/G.pred' | cut -f2 | sort -u | wc -l) -ge 2 ]"
ok "a folder in datasets' order (entailment, neutral, contradiction) predicts" predict "$T/D" "$T/D.pred"
same "... the same classes, logits and probabilities, named alike" "$T/G.pred" "$T/D.pred"
ok "a folder in roberta-large-mnli's order and case (CONTRADICTION, NEUTRAL, ENTAILMENT) predicts" \
	predict "$T/R" "$T/R.pred"
check "... the same classes, logits and probabilities" \
	"[ \"\$(cut -f1,2,4- '$T/G.pred' | sed 1d)\" = \"\$(cut -f1,2,4- '$T/R.pred' | sed 1d)\" ]"
check "... its --scores columns and class names in the model's own labels" \
	"head -1 '$T/R.pred' | grep -q 'label	logit_CONTRADICTION	logit_ENTAILMENT	logit_NEUTRAL	prob_CONTRADICTION	prob_ENTAILMENT	prob_NEUTRAL\$' &&
	 [ \"\$(cut -f3 '$T/G.pred' | sed 1d | tr a-z A-Z)\" = \"\$(cut -f3 '$T/R.pred' | sed 1d)\" ]"
predict "$T/G" "$T/G.ds" --label-order datasets
ok "--label-order datasets with the datasets-ordered folder" predict "$T/D" "$T/D.ds" --label-order datasets
same "... numbers the classes as with the glue-ordered one" "$T/G.ds" "$T/D.ds"

# Generic names: MNLI's two numberings differ, so the model's must be stated.
relabel "$T/mnli" "$T/X" mnli 1:LABEL_0 2:LABEL_1 0:LABEL_2
elsa-embed -m "$T/X" "$T/tok.mnli" >"$T/X.l0"
fails "generic names (LABEL_0, LABEL_1, LABEL_2) for MNLI are refused, saying how to state the order" \
	"X/config.json: id2label names the outputs LABEL_0, LABEL_1, LABEL_2, not mnli's classes .*: say how the model numbers them with --label-order glue \\(contradiction, entailment, neutral\\) or datasets \\(entailment, neutral, contradiction\\)" \
	elsa-train --predict "$T/X" "$T/X.l0"
ok "... read with --label-order datasets" predict "$T/X" "$T/X.ds" --label-order datasets
same "... as datasets numbers them: the predictions of the named folder" "$T/G.ds" "$T/X.ds"
relabel "$T/mnli" "$T/Y" mnli 0:yes 1:maybe 2:no
elsa-embed -m "$T/Y" "$T/tok.mnli" >"$T/Y.l0"
fails "names that are not the task's classes are refused, naming them" \
	"Y/config.json: id2label names the outputs yes, maybe, no, not mnli's classes \\(contradiction, entailment, neutral, in any order and case\\)" \
	elsa-train --predict "$T/Y" "$T/Y.l0"
ok "... read with --label-order glue" predict "$T/Y" "$T/Y.pred" --label-order glue
same "... as elsa numbers them" "$T/G.pred" "$T/Y.pred"
relabel "$T/mnli" "$T/twice" mnli 0:contradiction 1:entailment 2:entailment
elsa-embed -m "$T/twice" "$T/tok.mnli" >"$T/twice.l0"
fails "a class named twice is refused" "id2label names the outputs contradiction, entailment, entailment, not mnli's classes" \
	elsa-train --predict "$T/twice" "$T/twice.l0"

# Two classes (RTE, QNLI): both numberings agree, so generic names are read as that numbering.
exported rte
exported qnli
relabel "$T/rte" "$T/rte.swapped" rte 1:not_entailment 0:entailment
relabel "$T/rte" "$T/rte.generic" rte 0:LABEL_0 1:LABEL_1
predict "$T/rte" "$T/rte.pred"
check "the RTE folder predicts both classes" "[ \$(sed 1d '$T/rte.pred' | cut -f2 | sort -u | wc -l) = 2 ]"
predict "$T/rte.swapped" "$T/rte.swapped.pred"
same "RTE, its outputs swapped (not_entailment, entailment): the same predictions" "$T/rte.pred" "$T/rte.swapped.pred"
predict "$T/rte.generic" "$T/rte.generic.pred" 2>"$T/note"
same "RTE, LABEL_0 and LABEL_1: read as RTE's numbering" "$T/rte.pred" "$T/rte.generic.pred"
check "... saying so in one line" \
	"[ \$(wc -l <'$T/note') = 1 ] && grep -q '^elsa-train: note: .*rte.generic/config.json: id2label names the outputs LABEL_0, LABEL_1: read as rte.s classes 0 entailment, 1 not_entailment' '$T/note'"
relabel "$T/rte" "$T/rte.yesno" rte 0:yes 1:no
elsa-embed -m "$T/rte.yesno" "$T/tok.rte" >"$T/yesno.l0"
fails "RTE, names that are not its classes: refused, saying how to state GLUE's numbering" \
	"rte.yesno/config.json: id2label names the outputs yes, no, not rte's classes \\(entailment, not_entailment, in any order and case\\): if the model numbers them as GLUE and datasets do \\(0 entailment, 1 not_entailment\\), say so with --label-order glue" \
	elsa-train --predict "$T/rte.yesno" "$T/yesno.l0"
ok "... read with --label-order glue" predict "$T/rte.yesno" "$T/rte.yesno.pred" --label-order glue
same "... as the named folder" "$T/rte.pred" "$T/rte.yesno.pred"
relabel "$T/qnli" "$T/qnli.swapped" qnli 1:NOT_ENTAILMENT 0:ENTAILMENT
predict "$T/qnli" "$T/qnli.pred"
predict "$T/qnli.swapped" "$T/qnli.swapped.pred"
check "QNLI, upper-case and swapped: the same predictions, logits and probabilities" \
	"[ \"\$(cut -f1,2,4- '$T/qnli.pred' | sed 1d)\" = \"\$(cut -f1,2,4- '$T/qnli.swapped.pred' | sed 1d)\" ] && [ \$(sed 1d '$T/qnli.pred' | cut -f2 | sort -u | wc -l) = 2 ]"
done_testing
