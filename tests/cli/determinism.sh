# Determinism (issue 8): the same inputs, seed and thread count give bit-identical caches,
# predictions and trained weights, run after run, and with one thread or two.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate

mkmodel --hidden 64 --heads 4 --layers 3 --max-pos 128 "$T/m" >/dev/null
mkmodel --type roberta --hidden 32 --heads 2 --layers 2 --max-pos 130 "$T/r" >/dev/null
# twice NAME CMD...: runs CMD twice, stdout to $T/NAME.1 and $T/NAME.2.
twice() { _tw=$1; shift; "$@" >"$T/$_tw.1" && "$@" >"$T/$_tw.2"; }

# Token streams: RTE pairs (277 examples, several chunks of the encoder's loop) and STS-B.
twice tok elsa-tokenize -m "$T/m" -t rte --max-len 96 "$F/rte.gold.tsv"
same "elsa-tokenize: the same token stream twice" "$T/tok.1" "$T/tok.2"
cp "$T/tok.1" "$T/tok"
elsa-tokenize -m "$T/m" -t stsb "$F/stsb.gold.tsv" >"$T/stsb.tok"

for d in f32 f16 bf16; do
	for j in 1 2; do
		twice "embed.$d.j$j" elsa-embed -m "$T/m" --dtype $d -j $j "$T/tok"
		same "elsa-embed --dtype $d -j $j: bit-identical run after run" "$T/embed.$d.j$j.1" "$T/embed.$d.j$j.2"
		twice "encode.$d.j$j" elsa-encode -m "$T/m" --to 3 --save 1="$T/save.$d.j$j" --dtype $d -j $j "$T/embed.f32.j1.1"
		same "elsa-encode --dtype $d -j $j: bit-identical run after run" "$T/encode.$d.j$j.1" "$T/encode.$d.j$j.2"
	done
done
# (ids of the BERT model's vocabulary, single sentences, as a stream without header: RoBERTa has
# one token type, and its own tokenizer)
elsa-tokenize -m "$T/m" -t cola "$F/cola.gold.tsv" | sed '1d; $d' >"$T/rtok"
twice roberta elsa-embed -m "$T/r" "$T/rtok"
same "elsa-embed, RoBERTa: bit-identical run after run" "$T/roberta.1" "$T/roberta.2"
same "elsa-embed: -j 1 and -j 2 give the same bytes" "$T/embed.f32.j1.1" "$T/embed.f32.j2.1"
same "elsa-encode: -j 1 and -j 2 give the same bytes" "$T/encode.f32.j1.1" "$T/encode.f32.j2.1"
same "elsa-encode --save: -j 1 and -j 2 give the same bytes" "$T/save.f32.j1" "$T/save.f32.j2"
same "elsa-encode --dtype f16: -j 1 and -j 2 give the same bytes" "$T/encode.f16.j1.1" "$T/encode.f16.j2.1"

# elsa-train: same seed and threads, the same weights, dev predictions and run record (less its
# costs); one thread against two, the same weights too (each product is split by whole rows or
# columns per thread, every sum runs in a fixed order).
elsa-embed -m "$T/m" "$T/stsb.tok" | elsa-encode -m "$T/m" --to 2 >"$T/stsb.l2"
train() { # train NAME -j N
	elsa-train -m "$T/m" -t stsb --train "$T/stsb.l2" --dev "$T/stsb.l2" -o "$T/$1" --max-steps 6 --batch 8 \
		--seed 5 "$2" "$3" 2>/dev/null
}
train run1 -j 2 && train run2 -j 2 && train run3 -j 1
same "elsa-train: the same weights run after run" "$T/run1/model.safetensors" "$T/run2/model.safetensors"
same "elsa-train -j 1 and -j 2: the same weights" "$T/run1/model.safetensors" "$T/run3/model.safetensors"
same "elsa-train: the same dev predictions run after run" "$T/run1/predictions.tsv" "$T/run2/predictions.tsv"
sed '/^cost:/,$d' "$T/run1/run.yaml" >"$T/yaml1" && sed '/^cost:/,$d' "$T/run2/run.yaml" >"$T/yaml2"
same "elsa-train: the same run record, its costs (time, memory) aside" "$T/yaml1" "$T/yaml2"
check "... which is not empty" "grep -q '^train_loss' '$T/yaml1'"
elsa-train --predict "$T/run1" -m "$T/m" "$T/stsb.l2" >"$T/pred1" && elsa-train --predict "$T/run1" -m "$T/m" "$T/stsb.l2" >"$T/pred2"
same "elsa-train --predict: the same predictions run after run" "$T/pred1" "$T/pred2"
check "elsa-train -j 1 and -j 2: dev predictions within 1e-4" "paste '$T/run1/predictions.tsv' '$T/run3/predictions.tsv' |
	awk -F'\t' 'NR > 1 { d = \$2 - \$4; if (d < 0) d = -d; if (\$1 != \$3 || d > 1e-4) bad = 1; n++ } END { exit bad || n < 100 }'"
check "elsa-train -j 1 and -j 2: the same training loss to 5 digits" \
	"[ \"\$(grep -A1 '^train_loss' '$T/run1/run.yaml' | tail -1 | sed 's/.*loss: \\([0-9.]\\{7\\}\\).*/\\1/')\" = \
	   \"\$(grep -A1 '^train_loss' '$T/run3/run.yaml' | tail -1 | sed 's/.*loss: \\([0-9.]\\{7\\}\\).*/\\1/')\" ]"

# DistilBERT, ELECTRA (projected embeddings, trained with them) and ModernBERT (its rotary
# attention within a window, its dropout rates from its config, mean pooling): the same, dropout on.
for fam in distilbert electra modernbert; do
	extra=
	[ $fam = electra ] && extra="--embedding-size 16"
	[ $fam = modernbert ] && extra="--window 8 --dropout 0.1"
	mkmodel --type $fam --hidden 32 --heads 2 --layers 2 --max-pos 128 $extra "$T/$fam" >/dev/null
	tok=$T/stsb.tok
	if [ $fam = modernbert ]; then # its own tokenizer (tokenizer.json)
		tok=$T/$fam.tok
		elsa-tokenize -m "$T/$fam" -t stsb "$F/stsb.gold.tsv" >"$tok"
	fi
	elsa-embed -m "$T/$fam" "$tok" >"$T/$fam.l0"
	for j in 1 2; do
		elsa-train -m "$T/$fam" -t stsb --train "$T/$fam.l0" --train-embeddings -o "$T/$fam.j$j" --max-steps 4 \
			--batch 8 --seed 5 -j $j 2>/dev/null
	done
	elsa-train -m "$T/$fam" -t stsb --train "$T/$fam.l0" --train-embeddings -o "$T/$fam.again" --max-steps 4 \
		--batch 8 --seed 5 -j 2 2>/dev/null
	same "$fam: elsa-train, the same weights run after run" "$T/$fam.j2/model.safetensors" "$T/$fam.again/model.safetensors"
	same "$fam: elsa-train -j 1 and -j 2, the same weights" "$T/$fam.j1/model.safetensors" "$T/$fam.j2/model.safetensors"
done
done_testing
