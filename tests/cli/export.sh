# elsa-export: a run as a Hugging Face model folder. The folder holds what transformers loads
# (checked independently by tests/ref/check_export.py: config, the class's exact key set, and
# the logits of the PyTorch reference run as a whole sequence-classification model, within 1e-5
# of elsa's); elsa reads it back as a model and predicts with it exactly as with the run.
. "${ELSA_TOP:-.}/tests/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
F=$TOP/tests/fixtures/encoder
have_torch=0
"$PY" -c 'import torch' 2>/dev/null && have_torch=1

for type in bert roberta distilbert electra modernbert modernbert-bias; do
	M=$T/$type
	mkmodel $(cat "$F/$type/mkmodel.args") "$M" >/dev/null
	L=$(($(ls "$F/$type"/layer*.elsa | wc -l) - 1))
	tokens=$F/$type/tokens.tsv
	elsa-embed -m "$M" "$tokens" >"$T/$type.l0"
	elsa-encode -m "$M" --to 2 "$T/$type.l0" >"$T/$type.l2"
	for task in rte stsb; do
		R=$T/$type.$task.run
		X=$T/$type.$task.hf
		# the fixture's tokens carry rte's labels: stsb reads them as scores 0 and 1
		sed "1s/task=rte/task=$task/" "$tokens" >"$T/$task.tokens"
		elsa-embed -m "$M" "$T/$task.tokens" >"$T/$task.l0"
		elsa-encode -m "$M" --to 2 "$T/$task.l0" >"$T/$task.l2"
		elsa-train -m "$M" -t "$task" --train "$T/$task.l2" --dev "$T/$task.l2" --epochs 3 --batch 4 --lr 1e-3 \
			-o "$R" 2>/dev/null
		ok "$type $task: elsa-export writes the folder" elsa-export -m "$M" -o "$X" "$R"
		check "$type $task: ... with config.json, model.safetensors, the tokenizer and a model card" \
			"[ -s '$X/config.json' ] && [ -s '$X/model.safetensors' ] && [ -s '$X/vocab.txt' -o -s '$X/vocab.json' -o -s '$X/tokenizer.json' ] && [ -s '$X/README.md' ]"
		check "$type $task: ... and no temporary folder beside it" "[ -z \"\$(ls '$T' | grep tmp)\" ]"
		check "$type $task: the model card names the task, the frozen layers and the dev metrics" \
			"grep -q 'GLUE $(echo $task | sed 's/rte/RTE/; s/stsb/STS-B/')' '$X/README.md' && grep -q '| frozen layers | 2 of $L |' '$X/README.md' && grep -q '^## Dev set' '$X/README.md'"
		# elsa reads the exported folder as a model: its states at layer 2 are the base model's
		# (the same frozen layers), and its predictions those of the run.
		elsa-embed -m "$X" "$T/$task.tokens" >"$T/x.l0"
		elsa-encode -m "$X" --to 2 "$T/x.l0" >"$T/x.l2"
		elsa-train --predict "$R" -m "$M" --scores "$T/$task.l2" >"$T/run.pred"
		ok "$type $task: --predict reads the exported folder, with no run" elsa-train --predict "$X" --scores "$T/x.l2" -o "$T/x.pred"
		same "$type $task: ... and predicts what the run predicts, bit for bit" "$T/run.pred" "$T/x.pred"
		if [ $have_torch = 1 ]; then
			ok "$type $task: transformers' keys, config, and PyTorch's logits within 1e-5" \
				"$PY" "$TOP/tests/ref/check_export.py" "$X" "$task" "$T/$task.tokens" "$T/x.pred"
			sed 's/^/# /' "$T/.out"
		else
			skip "$type $task: the PyTorch check of the exported folder" "no PyTorch for $PY"
		fi
	done
done

# The README's example, end to end on a small model: caches of the base model at layers 2 and 3
# (of 4), a run from layer 2, its export; --predict with the exported folder reads the base's
# cache of the run's layer (and below: the layers the run froze are the base's), and predicts
# what the run predicts. The folder records its base's fingerprint and the layers it kept.
E=$T/readme
mkdir -p "$E"
mkmodel --layers 4 --hidden 32 --heads 4 --max-pos 128 "$E/model" >/dev/null
for split in train dev; do
	elsa-tokenize -m "$E/model" -t rte "$TOP/tests/fixtures/evaluate/rte.gold.tsv" |
		elsa-embed -m "$E/model" -o "$E/$split.l0.zst"
	elsa-encode -m "$E/model" --to 4 --save 1="$E/$split.l1.zst" --save 2="$E/$split.l2.zst" \
		--save 3="$E/$split.l3.zst" -o "$E/$split.l4.zst" "$E/$split.l0.zst"
done
elsa-train -m "$E/model" -t rte --train "$E/train.l2.zst" --dev "$E/dev.l2.zst" -o "$E/run.n2" --epochs 2 2>/dev/null
ok "README: elsa-export of run.n2" elsa-export -m "$E/model" -o "$E/rte-model" "$E/run.n2"
fp=$(elsa-view -H "$E/dev.l2.zst" | sed -n 's/^model	//p')
check "... its config.json names the base model ($fp) and the 2 layers it kept" \
	"grep -q '\"elsa_base_fingerprint\": \"$fp\"' '$E/rte-model/config.json' && grep -q '\"elsa_base_layers\": 2' '$E/rte-model/config.json'"
elsa-train --predict "$E/run.n2" -m "$E/model" --scores "$E/dev.l2.zst" >"$E/run.pred"
ok "README: elsa-train --predict rte-model --scores dev.l2.zst (the base model's cache)" \
	elsa-train --predict "$E/rte-model" --scores "$E/dev.l2.zst" -o "$E/x.pred"
same "... predicts what the run predicts, logits and probabilities" "$E/run.pred" "$E/x.pred"
check "... and the run's own dev predictions" "[ \"\$(cut -f1,2 '$E/x.pred')\" = \"\$(cat '$E/run.n2/predictions.tsv')\" ]"
elsa-train --predict "$E/rte-model" --scores "$E/dev.l1.zst" -o "$E/x1.pred"
same "... from the base's cache of layer 1 too (below the run's: the layers it froze)" "$E/run.pred" "$E/x1.pred"
fails "... but not of layer 3, which the run trained: refused, saying what to give" \
	"dev.l3.zst: layer 3 of the base model of .*rte-model \\(fingerprint $fp\\), which shares only its layers up to 2 with it \\(those above were trained\\): give a stream of layer 2 or below" \
	elsa-train --predict "$E/rte-model" "$E/dev.l3.zst"
elsa-tokenize -m "$E/rte-model" -t rte "$TOP/tests/fixtures/evaluate/rte.gold.tsv" | elsa-embed -m "$E/rte-model" |
	elsa-encode -m "$E/rte-model" --to 4 -o "$E/own.l4.zst"
ok "elsa-encode -m rte-model reads the base's layer-2 cache" elsa-encode -m "$E/rte-model" --to 4 -o "$E/x.l4.zst" "$E/dev.l2.zst"
same "... into the stream the exported model makes of its own, byte for byte (its fingerprint in the header)" \
	"$E/own.l4.zst" "$E/x.l4.zst"
fails "a stream of another model: the message says the fingerprint covers the weights as stored, and what to do" \
	"dev.l2.zst: made by another model \\(fingerprint $fp, .*other's is [0-9a-f]{16}; the fingerprint covers config.json and the weight files as stored, so the same weights in another layout or dtype are another model\\): make the stream with .*other \\(elsa-embed -m .*other\\), or give the model folder that made it" \
	sh -c "mkmodel --layers 4 --hidden 32 --heads 4 --max-pos 128 --seed 2 '$E/other' >/dev/null &&
		elsa-encode -m '$E/other' --to 4 '$E/dev.l2.zst'"
dev=$(sed -n 's/^  dev_examples: //p' "$E/run.n2/run.yaml")
check "the model card gives the dev set's size ($dev examples) and the epoch kept" \
	"[ '$dev' -gt 0 ] && grep -q '^## Dev set ($dev examples, after epoch 2)\$' '$E/rte-model/README.md'"
mkdir -p "$E/full"
elsa-train -m "$E/model" -t rte --train-embeddings --train "$E/train.l0.zst" --max-steps 2 -o "$E/full/run" 2>/dev/null
elsa-export -m "$E/model" -o "$E/full/model" "$E/full/run" 2>/dev/null
check "a full fine-tune (the embeddings trained) keeps nothing of its base: no elsa_base keys" \
	"[ -s '$E/full/model/config.json' ] && ! grep -q elsa_base '$E/full/model/config.json'"

# dtype: f16 and bf16 as asked, the base's by default.
R=$T/bert.rte.run
ok "--dtype f16" elsa-export -m "$T/bert" -o "$T/f16" --dtype f16 "$R"
check "... stores F16 and says so in config.json" \
	"head -c 400 '$T/f16/model.safetensors' | grep -q '\"F16\"' && grep -q '\"torch_dtype\": \"float16\"' '$T/f16/config.json'"
check "... and records no base model: its frozen layers are the f32 base's rounded, not the base's" \
	"grep -q '\"elsa_base_layers\": 2' '$T/bert.rte.hf/config.json' && ! grep -q elsa_base '$T/f16/config.json'"
mkmodel $(cat "$F/bert/mkmodel.args") --dtype bf16 "$T/bf16base" >/dev/null
elsa-embed -m "$T/bf16base" "$F/bert/tokens.tsv" | elsa-encode -m "$T/bf16base" --to 2 >"$T/bf16.l2"
elsa-train -m "$T/bf16base" -t rte --train "$T/bf16.l2" --max-steps 2 -o "$T/bf16run" 2>/dev/null
ok "a bf16 base model" elsa-export -m "$T/bf16base" -o "$T/bf16out" "$T/bf16run"
check "... is exported in bf16 by default" "head -c 400 '$T/bf16out/model.safetensors' | grep -q '\"BF16\"' && ! head -c 400 '$T/bf16out/model.safetensors' | grep -q '\"F32\"'"

# A model saved without the bert. prefix (BertModel) is exported under the class's names.
mkmodel $(cat "$F/bert/mkmodel.args") --no-prefix --gamma-beta "$T/bare" >/dev/null
elsa-embed -m "$T/bare" "$F/bert/tokens.tsv" | elsa-encode -m "$T/bare" --to 2 >"$T/bare.l2"
elsa-train -m "$T/bare" -t rte --train "$T/bare.l2" --max-steps 2 -o "$T/barerun" 2>/dev/null
ok "a base model without prefixes, with gamma/beta" elsa-export -m "$T/bare" -o "$T/bareout" "$T/barerun"
check "... is exported with bert. and LayerNorm weight/bias" \
	"head -c 4000 '$T/bareout/model.safetensors' | grep -q 'bert.encoder.layer.0.output.LayerNorm.weight' && ! head -c 4000 '$T/bareout/model.safetensors' | grep -q gamma"

# Refusals: one line, exit 1, nothing written.
fails "a run of another model" "the run was trained on model" elsa-export -m "$T/roberta" -o "$T/bad" "$R"
fails "an existing OUT_DIR without --force" "bert.rte.hf: exists \\(use --force" elsa-export -m "$T/bert" -o "$T/bert.rte.hf" "$R"
ok "--force replaces it" elsa-export -m "$T/bert" -o "$T/bert.rte.hf" --force "$R"
fails "a missing run" "nope/run.yaml" elsa-export -m "$T/bert" -o "$T/bad" "$T/nope"
fails "no -o" "-o OUT_DIR" elsa-export -m "$T/bert" "$R"
check "nothing was written by the refusals" "[ ! -e '$T/bad' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
fails "--predict of a model folder without a head" "no classification head" elsa-train --predict "$T/bert" -t rte "$T/bert.l2"
fails "--predict of a model folder of another task's size" "config.json: 2 labels, task mnli has 3" \
	elsa-train --predict "$T/bert.rte.hf" -t mnli "$T/x.l2"
done_testing
