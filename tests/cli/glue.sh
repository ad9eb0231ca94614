# Real GLUE files from ../shared through the whole pipeline with generated models that use the
# real vocabularies: every task's train/dev/test tokenizes with the right count (tokenize.sh
# checks ids), RTE pairs run tokenize | embed | encode --save for BERT and RoBERTa, and training
# on SST-2 makes the loss fall. Skipped without ../shared.
. "${ELSA_TOP:-.}/tests/lib.sh"
if [ ! -f "$S/glue/RTE/dev.tsv" ] || [ ! -f "$S/models/roberta-base/vocab.json" ]; then
	skip "the pipeline on real GLUE data" "no ../shared/glue and ../shared/models (ELSA_SHARED)"
	done_testing
	exit
fi
for m in bert-base-uncased roberta-base; do
	type=bert
	[ $m = roberta-base ] && type=roberta
	mkmodel --type $type --layers 4 --hidden 32 --heads 2 --max-pos 514 --tokenizer "$S/models/$m" "$T/$m" >/dev/null
	want=$(sed -n 's/^ *"vocab_size": *\([0-9]*\).*/\1/p' "$S/models/$m/config.json")
	got=$(sed -n 's/^ *"vocab_size": *\([0-9]*\).*/\1/p' "$T/$m/config.json")
	check "$m: mkmodel --tokenizer counts the vocabulary's entries: vocab_size $got, as $m's own config.json ($want)" \
		"[ -n '$want' ] && [ '$got' = '$want' ]"
	elsa-tokenize -m "$T/$m" -t rte "$S/glue/RTE/dev.tsv" | elsa-embed -m "$T/$m" |
		elsa-encode -m "$T/$m" --to 4 --save 1="$T/$m.l1" --save 3="$T/$m.l3" >"$T/$m.l4"
	check "$m: RTE dev through tokenize | embed | encode --save: 277 examples at layers 1, 3 and 4" \
		"[ \$(elsa-view -c '$T/$m.l1') = 277 ] && [ \$(elsa-view -c '$T/$m.l3') = 277 ] && [ \$(elsa-view -c '$T/$m.l4') = 277 ]"
	check "$m: the layer-4 stream names its layer, model and task" \
		"elsa-view -H '$T/$m.l4' | grep -q 'layer	4' && elsa-view -H '$T/$m.l4' | grep -q 'task	rte'"
done
# Training on 2000 SST-2 sentences. A random model knows no words, so it learns them: a full
# fine-tune (embeddings too) from layer 0, over six epochs; its training loss falls.
M=$T/sst
mkmodel --layers 2 --hidden 32 --heads 2 --max-pos 512 --word-std 1 --tokenizer "$S/models/bert-base-uncased" "$M" >/dev/null
head -n 2001 "$S/glue/SST-2/train.tsv" >"$T/train.tsv"
elsa-tokenize -m "$M" -t sst2 "$T/train.tsv" | elsa-embed -m "$M" >"$T/train.l0"
elsa-tokenize -m "$M" -t sst2 "$S/glue/SST-2/dev.tsv" | elsa-embed -m "$M" >"$T/dev.l0"
ok "train on SST-2 with a dev set" elsa-train -m "$M" -t sst2 --train "$T/train.l0" --dev "$T/dev.l0" -o "$T/run" \
	--lr 3e-3 --epochs 6 --log-every 125 --train-embeddings
first=$(grep -m1 'step: 125,' "$T/run/run.yaml" | sed 's/.*loss: \([^,]*\),.*/\1/')
last=$(grep 'step: 750,' "$T/run/run.yaml" | sed 's/.*loss: \([^,]*\),.*/\1/')
check "the training loss falls ($first at step 125, $last at step 750)" "awk 'BEGIN { exit !($last < $first - 0.03) }'"
ok "elsa-evaluate scores the dev predictions against the GLUE file" \
	elsa-evaluate -t sst2 --gold-tsv "$S/glue/SST-2/dev.tsv" --pred "$T/run/predictions.tsv"
done_testing
