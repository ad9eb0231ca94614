# ModernBERT through every tool, on a generated ModernBertForMaskedLM (mkmodel: its config.json's
# keys, its tokenizer.json's layout on a small vocabulary): tokenize, embed, encode, view, train
# (from a layer's cache: the layers above, final_norm and the head; from the last layer's: final_norm
# and the head alone; every layer and the embeddings), --predict with the run and with its export,
# evaluate, export. (The numbers are checked against the reference by cli/encode, cli/export,
# unit/finetune and cli/families; the study, sweep and report, by cli/demo.) Bad configs are
# refused in one line naming the key.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate
M=$T/mb
mkmodel --type modernbert --layers 4 --hidden 32 --heads 2 --window 16 --global-every 2 --std 0.1 --seed 3 "$M" >/dev/null
# the keys of a run's or a folder's model.safetensors, one a line
keys() { head -c 40000 "$1" | tr ',{' '\n\n' | sed -n 's/^"\([a-z][^"]*\)":$/\1/p' | sort; }

ok "elsa-tokenize: RTE pairs with ModernBERT's tokenizer.json" elsa-tokenize -m "$M" -t rte "$F/rte.gold.tsv" -o "$T/rte.tok"
cls=$(sed -n 's/.*"cls_token_id": \([0-9]*\).*/\1/p' "$M/config.json")
sep=$(sed -n 's/.*"sep_token_id": \([0-9]*\).*/\1/p' "$M/config.json")
check "... [CLS] A [SEP] B [SEP] ($cls, $sep), type ids all 0" \
	"awk -F'\t' 'NR > 1 && !/^#/ { n = split(\$3, t, \" \"); s = 0; for (i = 1; i <= n; i++) s += t[i] == $sep
		if (t[1] != $cls || t[n] != $sep || s != 2 || \$4 ~ /1/) bad = 1; c++ } END { exit bad || c != 277 }' '$T/rte.tok'"
ok "elsa-embed" elsa-embed -m "$M" "$T/rte.tok" -o "$T/l0.zst"
ok "elsa-encode --to 4, saving layer 2" elsa-encode -m "$M" --to 4 --save 2="$T/l2.zst" -o "$T/l4.zst" "$T/l0.zst"
check "elsa-view: the stream of layer 4 (the last layer's state, before final_norm)" \
	"elsa-view -H '$T/l4.zst' | grep -q '^layer	4$' && elsa-view -H '$T/l4.zst' | grep -q '^hidden	32$'"

# Training from layer 2: layers 2 and 3, final_norm and the head (head.dense and head.norm from the
# masked-LM checkpoint, the classifier new); from layer 4 final_norm and the head alone.
ok "elsa-train from layer 2, with a dev set" elsa-train -m "$M" -t rte --train "$T/l2.zst" --dev "$T/l2.zst" --epochs 2 \
	--batch 8 --lr 1e-3 -o "$T/run2"
check "... run.yaml says modernbert, 2 frozen layers of 4, the classifier's 2 tensors new (the rest of the head the checkpoint's)" \
	"grep -q '^  type: \"modernbert\"$' '$T/run2/run.yaml' && grep -q '^frozen_layers: 2$' '$T/run2/run.yaml' &&
	 grep -q '^  layers: 4$' '$T/run2/run.yaml' && grep -q '^  new_tensors: 2$' '$T/run2/run.yaml'"
keys "$T/run2/model.safetensors" >"$T/run2.keys"
check "... its tensors: layers 2 and 3, final_norm, head.dense, head.norm, the classifier ($(wc -l <"$T/run2.keys") tensors)" \
	"grep -q '^model.layers.2.attn_norm.weight$' '$T/run2.keys' && grep -q '^model.layers.3.mlp.Wi.weight$' '$T/run2.keys' &&
	 grep -q '^model.final_norm.weight$' '$T/run2.keys' && grep -q '^head.norm.weight$' '$T/run2.keys' &&
	 grep -q '^classifier.bias$' '$T/run2.keys' && ! grep -q 'layers\\.[01]\\.\\|embeddings\\|decoder' '$T/run2.keys'"
ok "elsa-train from layer 4 (the cache of the last layer)" elsa-train -m "$M" -t rte --train "$T/l4.zst" --max-steps 4 \
	--lr 1e-2 -o "$T/run4"
keys "$T/run4/model.safetensors" >"$T/run4.keys"
check "... trains final_norm and the head alone" \
	"[ \"\$(cat '$T/run4.keys' | tr '\n' ' ')\" = 'classifier.bias classifier.weight head.dense.weight head.norm.weight model.final_norm.weight ' ]"
ok "elsa-evaluate the run's dev predictions" elsa-evaluate -t rte --gold-tsv "$F/rte.gold.tsv" --pred "$T/run2/predictions.tsv"
check "... an accuracy" "grep -q '^acc: 0\.[0-9]' '$T/.out'"
elsa-train --predict "$T/run2" -m "$M" --scores "$T/l2.zst" >"$T/run.pred"
check "elsa-train --predict with the run gives its dev predictions" \
	"[ \"\$(cut -f1,2 '$T/run.pred')\" = \"\$(cat '$T/run2/predictions.tsv')\" ]"
ok "elsa-export: a ModernBertForSequenceClassification folder" elsa-export -m "$M" -o "$T/hf" "$T/run2"
check "... whose config says so, with the base's ModernBERT keys" \
	"grep -q '\"ModernBertForSequenceClassification\"' '$T/hf/config.json' && grep -q '\"local_attention\": 16' '$T/hf/config.json' && [ -s '$T/hf/tokenizer.json' ]"
ok "elsa-train --predict with the exported folder, from the base's cache of layer 2" \
	elsa-train --predict "$T/hf" --scores "$T/l2.zst" -o "$T/hf.pred"
same "... predicts what the run predicts, bit for bit" "$T/run.pred" "$T/hf.pred"
elsa-tokenize -m "$T/hf" -t rte "$F/rte.gold.tsv" -o "$T/hf.tok"
check "the exported folder tokenizes as its base" "[ \"\$(sed 1d '$T/hf.tok')\" = \"\$(sed 1d '$T/rte.tok')\" ]"

# Every layer and the embeddings, on STS-B (regression).
elsa-tokenize -m "$M" -t stsb "$F/stsb.gold.tsv" | elsa-embed -m "$M" -o "$T/stsb.l0"
ok "elsa-train --train-embeddings, STS-B" elsa-train -m "$M" -t stsb --train "$T/stsb.l0" --dev "$T/stsb.l0" \
	--train-embeddings --epochs 1 -o "$T/full"
keys "$T/full/model.safetensors" >"$T/full.keys"
check "... every tensor but the decoder's ($(wc -l <"$T/full.keys") of them)" \
	"grep -q '^model.embeddings.tok_embeddings.weight$' '$T/full.keys' && grep -q '^model.layers.0.attn.Wqkv.weight$' '$T/full.keys' &&
	 ! grep -q '^model.layers.0.attn_norm' '$T/full.keys' && ! grep -q decoder '$T/full.keys'"
ok "elsa-evaluate STS-B" elsa-evaluate -t stsb --gold-tsv "$F/stsb.gold.tsv" --pred "$T/full/predictions.tsv"
check "... Pearson and Spearman" "grep -q '^pearson: ' '$T/.out' && grep -q '^spearmanr*: ' '$T/.out'"

# Bad configs: refused in one line naming the key (or the tensors missing), by every tool.
bad() { # bad NAME SED: a copy of the model with its config edited
	mkdir -p "$T/$1"
	cp "$M/tokenizer.json" "$M/tokenizer_config.json" "$M/model.safetensors" "$T/$1/"
	sed "$2" "$M/config.json" >"$T/$1/config.json"
}
bad pool 's/"classifier_pooling": "mean"/"classifier_pooling": "max"/'
fails "classifier_pooling max" "pool/config.json: classifier_pooling max: elsa computes cls or mean$" \
	elsa-embed -m "$T/pool" "$T/rte.tok"
bad odd 's/"local_attention": 16/"local_attention": 15/'
fails "an odd local_attention" "odd/config.json: local_attention 15 is not even" elsa-encode -m "$T/odd" --to 2 "$T/l0.zst"
bad act 's/"hidden_activation": "gelu"/"hidden_activation": "silu"/'
fails "another hidden_activation" "act/config.json: hidden_activation silu: elsa computes gelu$" \
	elsa-train -m "$T/act" -t rte --train "$T/l2.zst" -o "$T/x"
bad norms 's/"norm_bias": false/"norm_bias": true/'
fails "norm_bias true on weights without the norms' biases: the missing tensor named" \
	"norms/model.safetensors: no tensor model.embeddings.norm.bias$" elsa-embed -m "$T/norms" "$T/rte.tok"
bad qkv 's/"attention_bias": false/"attention_bias": true/'
elsa-embed -m "$T/qkv" "$T/rte.tok" -o "$T/qkv.l0"
fails "attention_bias true on weights without them: every missing tensor of the layers named" \
	"qkv/model.safetensors: no tensors model.layers.0.attn.Wqkv.bias, model.layers.0.attn.Wo.bias, model.layers.1.attn.Wqkv.bias, model.layers.1.attn.Wo.bias$" \
	elsa-encode -m "$T/qkv" --to 2 "$T/qkv.l0"
mkmodel --type bert --layers 2 --hidden 32 --heads 2 "$T/bertw" >/dev/null
bad prefix 's/x/x/'
cp "$T/bertw/model.safetensors" "$T/prefix/"
fails "a BERT checkpoint under a ModernBERT config" \
	"prefix/config.json: model_type modernbert, but .*holds bert.-prefixed tensors .*: a bert checkpoint's config says \"model_type\": \"bert\"" \
	elsa-embed -m "$T/prefix" "$T/rte.tok"
check "nothing was written by the refusals" "[ ! -e '$T/x' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
done_testing
