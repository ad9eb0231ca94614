# elsa-embed and elsa-encode against the PyTorch reference's hidden states (tests/fixtures/encoder,
# made by tests/ref/make_fixtures.py), composition, and refusals of bad input.
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/encoder

# (ModernBERT's: 4 layers, local ones within windows of 8 tokens of examples of up to 128; 3
# layers with every bias and other rotary bases)
for m in bert roberta distilbert electra modernbert modernbert-bias; do
	mkmodel $(cat "$F/$m/mkmodel.args") "$T/$m" >/dev/null
	L=$(($(ls "$F/$m"/layer*.elsa | wc -l) - 1))
	elsa-embed -m "$T/$m" "$F/$m/tokens.tsv" >"$T/$m.l0"
	close "$m: embeddings match the reference (1e-5)" "$T/$m.l0" "$F/$m/layer0.elsa" 1e-5
	saves=
	for l in $(seq 1 $((L - 1))); do saves="$saves --save $l=$T/$m.l$l"; done
	elsa-encode -m "$T/$m" --to $L $saves "$T/$m.l0" >"$T/$m.l$L"
	for l in $(seq 1 $L); do
		close "$m: layer $l matches the reference (1e-5)" "$T/$m.l$l" "$F/$m/layer$l.elsa" 1e-5
	done
	elsa-encode -m "$T/$m" --to 1 <"$T/$m.l0" | elsa-encode -m "$T/$m" --to $L >"$T/$m.lb"
	same "$m: --to $L equals --to 1 | --to $L, bit for bit" "$T/$m.l$L" "$T/$m.lb"
	elsa-encode -m "$T/$m" --to $L -j 1 "$T/$m.l0" >"$T/$m.lj1"
	same "$m: one thread gives the bytes of two" "$T/$m.lj1" "$T/$m.l$L"
done

# Every storage dtype reads back within its precision.
for d in f16 bf16; do
	elsa-encode -m "$T/bert" --to 3 --dtype $d "$T/bert.l0" >"$T/bert.$d"
	tol=$([ $d = f16 ] && echo 5e-3 || echo 4e-2)
	close "--dtype $d stores within its precision" "$T/bert.$d" "$T/bert.l3" $tol
	check "--dtype $d is recorded in the header" "elsa-view -H '$T/bert.$d' | grep -q 'dtype	$d'"
done

# Bad input: each refused with one line naming the file and the mismatch, nothing complete left.
mkmodel --seed 99 --layers 3 --hidden 32 --heads 4 --max-pos 128 "$T/other" >/dev/null
fails "a stream from another model is refused" "bert.l0: made by another model" \
	elsa-encode -m "$T/other" --to 2 "$T/bert.l0"
mkmodel --hidden 16 --heads 4 "$T/small" >/dev/null
fails "a hidden size that does not match is refused" "bert.l0: hidden size 32, model has 16" \
	elsa-encode -m "$T/small" --to 1 "$T/bert.l0"
fails "--to at the input layer is refused" "already holds layer 2" elsa-encode -m "$T/bert" --to 2 "$T/bert.l2"
fails "--to past the last layer is refused" "--to: '4' is not" elsa-encode -m "$T/bert" --to 4 "$T/bert.l0"
fails "--save outside the layers computed is refused" "--save 3: the layer must lie in 1..2" \
	elsa-encode -m "$T/bert" --to 2 --save 3="$T/x" "$T/bert.l0"
# 20 streams concatenated (several chunks), cut inside the last one.
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do cat "$T/bert.l1"; done >"$T/many"
head -c $(($(wc -c <"$T/many") - 5000)) "$T/many" >"$T/cut"
fails "a truncated input is refused, and -o leaves no file" "cut: (after )?record [0-9]+: truncated" \
	elsa-encode -m "$T/bert" --to 3 -o "$T/out.zst" --save 2="$T/save.zst" "$T/cut"
check "no output or --save file after the failure" "[ ! -e '$T/out.zst' ] && [ ! -e '$T/save.zst' ] && [ -z \"\$(ls '$T' | grep tmp)\" ]"
elsa-encode -m "$T/bert" --to 3 "$T/cut" >"$T/partial" 2>/dev/null
check "the failed run wrote records to stdout before it stopped" "[ \$(zstd -dcq '$T/partial' 2>/dev/null | wc -c) -gt 100000 ]"
fails "the partial stdout of a failed run is refused downstream" "partial: record [0-9]+: truncated" \
	elsa-view -c "$T/partial"
head -c 20000 "$T/bert.l1" >"$T/cut1"
fails "a stream cut inside its only zstd block is refused" "cut1: truncated" elsa-view -c "$T/cut1"
: >"$T/empty"
fails "an empty input is refused" "empty" elsa-encode -m "$T/bert" --to 3 "$T/empty"
cp -r "$T/bert" "$T/broken"
mkmodel --layers 2 --hidden 32 --heads 4 --max-pos 128 --seed 11 "$T/two" >/dev/null
cp "$T/two/model.safetensors" "$T/broken/model.safetensors"
elsa-embed -m "$T/broken" "$F/bert/tokens.tsv" >"$T/broken.l0"
fails "a model folder with missing tensors is refused, naming them" "broken/model.safetensors: no tensors bert.encoder.layer.2.attention.self.query.weight, .* \\(and [0-9]+ more\\)$" \
	elsa-encode -m "$T/broken" --to 3 --save 1="$T/x" "$T/broken.l0"
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\n0\t1\t2 5 99999 3\t0 0 0 0\n#end 1\n' >"$T/badtok"
fails "a token id outside the vocabulary is refused" "badtok: line 2 \\(example 0\\): token 2: id 99999" \
	elsa-embed -m "$T/bert" "$T/badtok"
printf '#elsa-tokens 1 task=rte tokenizer=0000000000000000 max_len=128\n0\t1\t2 5 3\t0 0 0\n' >"$T/noend"
fails "a token stream without its end line is refused" "noend: truncated" elsa-embed -m "$T/bert" -o "$T/e.zst" "$T/noend"
check "... and leaves no output" "[ ! -e '$T/e.zst' ]"
if command -v script >/dev/null; then # script(1) gives the command a terminal as stdout
	script -qec "elsa-embed -m '$T/bert' '$F/bert/tokens.tsv'" /dev/null >"$T/tty.out" 2>&1
	check "binary output to a terminal is refused" "grep -q 'refusing to write binary data to a terminal' '$T/tty.out'"
else
	skip "binary output to a terminal is refused" "script(1) is not installed"
fi
# Tokens made by another model's tokenizer are refused by that name, before any of their ids.
mkmodel --type roberta --layers 1 --hidden 16 --heads 2 --max-pos 130 "$T/rob" >/dev/null
printf 'index\tsentence1\tsentence2\tlabel\n0\tthe cat\tsat\tentailment\n' >"$T/one.tsv"
elsa-tokenize -m "$T/bert" -t rte "$T/one.tsv" -o "$T/bert.tok"
fails "BERT's pair tokens (type id 1) into a RoBERTa model (one type): the tokenizers differ" "bert.tok: tokens made by another tokenizer .*: tokenize with .*/rob" \
	elsa-embed -m "$T/rob" "$T/bert.tok" -o "$T/bad"
done_testing
