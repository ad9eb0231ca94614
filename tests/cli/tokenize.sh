# elsa-tokenize: every GLUE task's layout and the generic TSV mode on a small hand-made vocabulary
# (the expected ids worked out by hand from it), stdin, -o and pipelines, tokenizer.json alone and
# beside a vocab.txt that disagrees, truncation, and each kind of bad input. With ../shared: every
# GLUE file tokenizes with its official example count, tokenizer.json alone gives the ids of the
# whole folder (modernbert-base's too, whose folder has no other tokenizer file), a setting elsa
# does not implement in modernbert-base's tokenizer.json is refused in one line, and when the
# Hugging Face peer is installed (scripts/deps --bench), the ids are its ids.
. "$(dirname "$0")/../lib.sh"

M=$T/model
mkdir "$M"
# ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] 5 the 6 cat 7 sat 8 . 9 a 10 dog 11 ran 12 ##s
printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\n.\na\ndog\nran\n##s\n' >"$M/vocab.txt"

# body FILE: the stream without its header line (whose fingerprint is checked on its own)
body() { sed 1d "$1"; }

# RTE: a pair with a label name; "Cat!" has an unknown "!".
printf 'index\tsentence1\tsentence2\tlabel\n0\tThe cat sat.\tA dog ran.\tentailment\n7\tThe dogs.\tCat!\tnot_entailment\n' >"$T/rte.tsv"
printf '0\t0\t2 5 6 7 8 3 9 10 11 8 3\t0 0 0 0 0 0 1 1 1 1 1\n7\t1\t2 5 10 12 8 3 6 1 3\t0 0 0 0 0 0 1 1 1\n#end 2\n' >"$T/rte.want"
ok "rte" sh -c "elsa-tokenize -m '$M' -t rte '$T/rte.tsv' >'$T/rte.out'"
body "$T/rte.out" >"$T/rte.body"
same "... ids, type ids, labels, ids from the index column" "$T/rte.want" "$T/rte.body"
check "... the header: task, fingerprint, max_len 128" \
	"head -1 '$T/rte.out' | grep -Eqx '#elsa-tokens 1 task=rte tokenizer=[0-9a-f]{16} max_len=128'"
ok "from stdin" sh -c "elsa-tokenize -m '$M' -t rte <'$T/rte.tsv' >'$T/stdin.out'"
same "... the same stream" "$T/rte.out" "$T/stdin.out"
ok "-o FILE" elsa-tokenize -m "$M" -t rte -o "$T/o.tok" "$T/rte.tsv"
same "... the same stream" "$T/rte.out" "$T/o.tok"
check "in a pipeline" "[ \"\$(cat '$T/rte.tsv' | elsa-tokenize -m '$M' -t rte - | elsa-view -c)\" = 2 ]"
mkdir "$T/model2"
{ cat "$M/vocab.txt"; echo extra; } >"$T/model2/vocab.txt"
ok "another vocabulary" sh -c "elsa-tokenize -m '$T/model2' -t rte '$T/rte.tsv' >'$T/rte2.out'"
check "... another fingerprint" "[ \"\$(head -1 '$T/rte.out')\" != \"\$(head -1 '$T/rte2.out')\" ]"

# tokenizer.json alone, its model holding the same vocabulary: the same ids.
# bert_json VOCAB: a BERT tokenizer.json whose model has the vocab.txt VOCAB.
bert_json() {
	printf '{"added_tokens": ['
	for i in 0 1 2 3 4; do
		printf '%s{"id": %d, "content": "%s", "special": true, "normalized": false}' "$([ $i = 0 ] || echo ,)" $i \
			"$(sed -n "$((i + 1))p" "$1")"
	done
	printf '], "normalizer": {"type": "BertNormalizer", "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"},'
	printf ' "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},'
	printf ' "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "vocab": {'
	awk '{ printf "%s\"%s\": %d", (NR > 1 ? ", " : ""), $0, NR - 1 }' "$1"
	printf '}}}'
}
mkdir "$T/json"
bert_json "$M/vocab.txt" >"$T/json/tokenizer.json"
ok "tokenizer.json alone" sh -c "elsa-tokenize -m '$T/json' -t rte '$T/rte.tsv' >'$T/json.out' 2>'$T/json.err'"
body "$T/json.out" >"$T/json.body"
same "... the ids of vocab.txt" "$T/rte.want" "$T/json.body"
check "... nothing on stderr" "[ ! -s '$T/json.err' ]"
# Beside a vocab.txt that disagrees (dog is cow in tokenizer.json): tokenizer.json is used, with a note.
mkdir "$T/both"
cp "$M/vocab.txt" "$T/both/vocab.txt"
sed 's/^dog$/cow/' "$M/vocab.txt" >"$T/cow.txt"
bert_json "$T/cow.txt" >"$T/both/tokenizer.json"
ok "vocab.txt and tokenizer.json disagree" sh -c "elsa-tokenize -m '$T/both' -t rte '$T/rte.tsv' >'$T/both.out' 2>'$T/both.err'"
check "... the note on stderr" "[ \"\$(cat '$T/both.err')\" = \"elsa-tokenize: note: vocab.txt and tokenizer.json disagree (id 10: 'dog' vs 'cow'); using tokenizer.json\" ]"
check "... the ids of tokenizer.json" "sed -n 2p '$T/both.out' | grep -qx '0	0	2 5 6 7 8 3 9 1 11 8 3	0 0 0 0 0 0 1 1 1 1 1'"
mkdir "$T/unigram"
printf '{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.5]]}}' >"$T/unigram/tokenizer.json"
fails "a Unigram model" "^elsa-tokenize: .*/unigram/tokenizer.json: model type Unigram is not supported \\(WordPiece or BPE\\)\$" \
	elsa-tokenize -m "$T/unigram" -t rte "$T/rte.tsv"

# Truncation: budget 6 - 3 = 3 for 4 + 4 tokens: 1 + 2, the second text getting the odd one.
ok "--max-len 6" sh -c "elsa-tokenize -m '$M' -t rte --max-len 6 '$T/rte.tsv' >'$T/t6.out'"
check "... cut longest first" "sed -n 2p '$T/t6.out' | grep -qx '0	0	2 5 3 9 10 3	0 0 0 1 1 1'"
check "... max_len=6 in the header" "head -1 '$T/t6.out' | grep -q ' max_len=6\$'"
ok "--max-len 0" sh -c "elsa-tokenize -m '$M' -t rte --max-len 0 '$T/rte.tsv' >'$T/t0.out'"
check "... no truncation" "head -1 '$T/t0.out' | grep -q ' max_len=0\$' && body '$T/t0.out' | cmp -s - '$T/rte.want'"

# Each task's layouts. tok TASK FILE WANT: the stream's records and end line are WANT.
tok() {
	printf "$3" >"$T/want"
	elsa-tokenize -m "$M" -t "$1" "$2" >"$T/got" 2>"$T/err" && body "$T/got" >"$T/body"
	same "$1: $(basename "$2")" "$T/want" "$T/body"
}
printf 'gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the.\n' >"$T/cola-train.tsv"
tok cola "$T/cola-train.tsv" '0\t1\t2 5 6 7 8 3\t0 0 0 0 0 0\n1\t0\t2 6 5 8 3\t0 0 0 0 0\n#end 2\n'
printf 'index\tsentence\n0\tA cat.\n' >"$T/cola-test.tsv"
tok cola "$T/cola-test.tsv" '0\t-\t2 9 6 8 3\t0 0 0 0 0\n#end 1\n'
printf 'sentence\tlabel\nthe cat \t1\na dog \t0\n' >"$T/sst2-train.tsv"
tok sst2 "$T/sst2-train.tsv" '0\t1\t2 5 6 3\t0 0 0 0\n1\t0\t2 9 10 3\t0 0 0 0\n#end 2\n'
printf 'index\tsentence\n5\tcats\n' >"$T/sst2-test.tsv"
tok sst2 "$T/sst2-test.tsv" '5\t-\t2 6 12 3\t0 0 0 0\n#end 1\n'
printf '\357\273\277Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t11\t12\tThe cat.\tA cat.\n' >"$T/mrpc-train.tsv"
tok mrpc "$T/mrpc-train.tsv" '0\t1\t2 5 6 8 3 9 6 8 3\t0 0 0 0 0 1 1 1 1\n#end 1\n'
printf 'index\t#1 ID\t#2 ID\t#1 String\t#2 String\n3\t11\t12\tcat\tdog\n' >"$T/mrpc-test.tsv"
tok mrpc "$T/mrpc-test.tsv" '3\t-\t2 6 3 10 3\t0 0 0 1 1\n#end 1\n'
S_HEAD='index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2'
printf "$S_HEAD\\tscore\\n9\\tmain\\tf\\t2012\\t1\\tx\\ty\\tA cat.\\tA dog.\\t3.8\\n" >"$T/stsb-dev.tsv"
tok stsb "$T/stsb-dev.tsv" '9\t3.8\t2 9 6 8 3 9 10 8 3\t0 0 0 0 0 1 1 1 1\n#end 1\n'
printf 'id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n42\t1\t2\tthe cat\tthe dog\t1\n' >"$T/qqp-train.tsv"
tok qqp "$T/qqp-train.tsv" '42\t1\t2 5 6 3 5 10 3\t0 0 0 0 1 1 1\n#end 1\n'
printf 'id\tquestion1\tquestion2\n43\tcat\tdog\n' >"$T/qqp-test.tsv"
tok qqp "$T/qqp-test.tsv" '43\t-\t2 6 3 10 3\t0 0 0 1 1\n#end 1\n'
N_HEAD='index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2'
printf "$N_HEAD\\tlabel1\\tgold_label\\n0\\t1\\t1e\\tfiction\\tp\\tp\\tp\\tp\\tThe cat.\\tA dog.\\tneutral\\tneutral\\n" >"$T/mnli-train.tsv"
tok mnli "$T/mnli-train.tsv" '0\t2\t2 5 6 8 3 9 10 8 3\t0 0 0 0 0 1 1 1 1\n#end 1\n'
printf "$N_HEAD\\tlabel1\\tlabel2\\tlabel3\\tlabel4\\tlabel5\\tgold_label\\n1\\t1\\t1c\\tslate\\tp\\tp\\tp\\tp\\tcat\\tdog\\tcontradiction\\tneutral\\tcontradiction\\tcontradiction\\tcontradiction\\tcontradiction\\n" >"$T/mnli-dev.tsv"
tok mnli-mm "$T/mnli-dev.tsv" '1\t0\t2 6 3 10 3\t0 0 0 1 1\n#end 1\n'
printf 'index\tquestion\tsentence\tlabel\n0\tthe cat?\tthe cat sat.\tentailment\n' >"$T/qnli-dev.tsv"
tok qnli "$T/qnli-dev.tsv" '0\t0\t2 5 6 1 3 5 6 7 8 3\t0 0 0 0 0 1 1 1 1 1\n#end 1\n'
printf 'index\tsentence1\tsentence2\tlabel\n0\tcat\tdog\t1\n' >"$T/wnli-train.tsv"
tok wnli "$T/wnli-train.tsv" '0\t1\t2 6 3 10 3\t0 0 0 1 1\n#end 1\n'
printf 'index\tsentence1\tsentence2\n0\tcat\t\n' >"$T/ax.tsv"
tok ax "$T/ax.tsv" '0\t-\t2 6 3 3\t0 0 0 1\n#end 1\n'

# The generic mode: columns by number, labels as numbers or through -t's label set.
printf 'x\t0\tThe cat sat.\tA dog ran.\t1\n' >"$T/any.tsv"
ok "--text-a 3 --text-b 4 --label 5 --id 2 --no-header" \
	sh -c "elsa-tokenize -m '$M' --text-a 3 --text-b 4 --label 5 --id 2 --no-header '$T/any.tsv' >'$T/any.out'"
check "... the ids, no task in the header" "head -1 '$T/any.out' | grep -q ' task=- ' &&
	sed -n 2p '$T/any.out' | grep -qx '0	1	2 5 6 7 8 3 9 10 11 8 3	0 0 0 0 0 0 1 1 1 1 1'"
ok "--text-a 2 --text-b 3 --label 4 -t rte" \
	sh -c "elsa-tokenize -m '$M' -t rte --text-a 2 --text-b 3 --label 4 '$T/rte.tsv' >'$T/gen.out'"
check "... labels through rte's label set, ids by row number" "body '$T/gen.out' | cut -f1,2 | tr '\\n' ' ' | grep -qx '0	0 1	1 #end 2 '"
ok "--text-a 2 alone: single texts" sh -c "elsa-tokenize -m '$M' --text-a 2 '$T/rte.tsv' >'$T/single.out'"
check "... [CLS] text [SEP]" "sed -n 2p '$T/single.out' | grep -qx '0	-	2 5 6 7 8 3	0 0 0 0 0 0'"

# A million lines stream in constant memory: 100 MB of address space is plenty (sanitizer builds
# reserve far more than that up front).
case $B in
*san*) skip "a million lines in 100 MB of address space" "a sanitizer build" ;;
*)
	awk 'BEGIN { print "sentence\tlabel"; for (i = 0; i < 1000000; i++) print "the cat sat " i "\t" i % 2 }' >"$T/big.tsv"
	check "a million lines in 100 MB of address space" \
		"(ulimit -v 100000 && elsa-tokenize -m '$M' -t sst2 '$T/big.tsv' | tail -1 | grep -qx '#end 1000000')"
	rm -f "$T/big.tsv"
	;;
esac

# Usage.
ok "--help" elsa-tokenize --help
check "... documents every option" "for o in --model --task --max-len --text-a --text-b --label --id --no-header --output --version; do
	grep -q -- \"\$o\" '$T/.out' || exit 1; done"
ok "--version" elsa-tokenize --version
fails "no model" "-m MODEL_DIR is required" elsa-tokenize -t rte "$T/rte.tsv"
fails "neither a task nor columns" "-t TASK or --text-a N is required" elsa-tokenize -m "$M" "$T/rte.tsv"
fails "an unknown task" "unknown task 'mnli-matched' \\(tasks: cola" elsa-tokenize -m "$M" -t mnli-matched "$T/rte.tsv"
fails "--text-b without --text-a" "go with --text-a" elsa-tokenize -m "$M" -t rte --text-b 2 "$T/rte.tsv"
fails "a bad --max-len" "--max-len: '-1' is not a whole number" elsa-tokenize -m "$M" -t rte --max-len -1 "$T/rte.tsv"

# Bad input: one line naming the file and the line, exit 1, no output file left.
bad() { # bad WHAT PATTERN FILE [OPTIONS...]: fails with -o, leaving nothing in $T/out
	_what=$1 _pat=$2 _file=$3
	shift 3
	mkdir -p "$T/out"
	fails "$_what" "$_pat" elsa-tokenize -m "$M" -t rte "$@" -o "$T/out/x.tok" "$_file"
	check "... leaves no file" "[ -z \"\$(ls -A '$T/out')\" ]"
}
printf 'index\tsentence1\tsentence2\tlabel\n0\tcat\tdog\tentailment\n1\tca\377t\tdog\tentailment\n' >"$T/utf8.tsv"
bad "invalid UTF-8" "^elsa-tokenize: .*utf8.tsv: line 3: invalid UTF-8 in text a \\(byte 3\\)\$" "$T/utf8.tsv"
printf 'index\tsentence1\tsentence2\tlabel\n0\tcat\tdog\tentailment\n1\tcat dog\n' >"$T/cols.tsv"
bad "too few columns" "cols.tsv: line 3: 2 columns, expected 4" "$T/cols.tsv"
printf 'index\tsentence1\tsentence2\tlabel\n0\tcat\tdog\tmaybe\n' >"$T/label.tsv"
bad "a label outside the task's set" "label.tsv: line 2: label 'maybe' is not one of rte's labels" "$T/label.tsv"
printf 'idx\ts1\ts2\tlabel\n0\tcat\tdog\tentailment\n' >"$T/head.tsv"
bad "a header of another layout" \
	"head.tsv: line 1: not a rte file header; expected columns: index sentence1 sentence2 label \\(train/dev\\) or: index sentence1 sentence2" \
	"$T/head.tsv"
awk 'BEGIN { printf "index"; for (i = 0; i < 70; i++) printf "\tc%d", i; print "" }' >"$T/wide.tsv"
bad "a header of more than 64 columns" "wide.tsv: line 1: more than 64 columns" "$T/wide.tsv" -t mnli
bad "--max-len below the special tokens" "rte.tsv: line 2: max_len 2 leaves no room" "$T/rte.tsv" --max-len 2
printf 'x\t0\tcat\tentailment\n' >"$T/numlabel.tsv"
fails "labels must be numbers without -t" "numlabel.tsv: line 1: label 'entailment' is not a number" \
	elsa-tokenize -m "$M" --text-a 3 --label 4 --no-header "$T/numlabel.tsv"
mkdir "$T/empty"
fails "a model folder without a vocabulary" "empty: no tokenizer.json, vocab.txt \\(BERT\\) nor vocab.json and merges.txt" \
	elsa-tokenize -m "$T/empty" -t rte "$T/rte.tsv"
printf '{}' >"$T/empty/vocab.json"
fails "vocab.json without merges.txt" "empty/merges.txt: missing" elsa-tokenize -m "$T/empty" -t rte "$T/rte.tsv"
fails "no such model folder" "nowhere: No such file or directory" elsa-tokenize -m "$T/nowhere" -t rte "$T/rte.tsv"
fails "no such input" "missing.tsv: No such file or directory" elsa-tokenize -m "$M" -t rte "$T/missing.tsv"

# ../shared: every GLUE file, with the official example counts.
G=$S/glue
if [ -d "$G" ] && [ -d "$S/models/bert-base-uncased" ]; then
	while read -r task file n; do
		elsa-tokenize -m "$S/models/bert-base-uncased" -t "$task" "$G/$file" >"$T/g.out" 2>"$T/g.err"
		check "$task $file: $n examples" "tail -1 '$T/g.out' | grep -qx '#end $n' && [ ! -s '$T/g.err' ]"
	done <<-EOF
		cola CoLA/train.tsv 8551
		cola CoLA/dev.tsv 1043
		cola CoLA/test.tsv 1063
		sst2 SST-2/train.tsv 67349
		sst2 SST-2/dev.tsv 872
		sst2 SST-2/test.tsv 1821
		mrpc MRPC/train.tsv 3668
		mrpc MRPC/dev.tsv 408
		mrpc MRPC/test.tsv 1725
		stsb STS-B/train.tsv 5749
		stsb STS-B/dev.tsv 1500
		stsb STS-B/test.tsv 1379
		qnli QNLI/dev.tsv 5463
		qnli QNLI/test.tsv 5463
		rte RTE/train.tsv 2490
		rte RTE/dev.tsv 277
		rte RTE/test.tsv 3000
		wnli WNLI/train.tsv 635
		wnli WNLI/dev.tsv 71
		wnli WNLI/test.tsv 146
		ax diagnostic/diagnostic.tsv 1104
	EOF
else
	skip "GLUE files" "no ../shared/glue (ELSA_SHARED)"
fi

# ... the same ids from tokenizer.json alone (with config.json and tokenizer_config.json).
if [ -d "$G" ] && [ -d "$S/models/bert-base-uncased" ]; then
	for m in bert-base-uncased bert-base-cased roberta-base modernbert-base; do
		mkdir "$T/$m"
		for f in config.json tokenizer.json tokenizer_config.json; do
			[ -f "$S/models/$m/$f" ] && ln -s "$S/models/$m/$f" "$T/$m/$f"
		done
		elsa-tokenize -m "$S/models/$m" -t rte "$G/RTE/dev.tsv" | sed 1d >"$T/full.ids"
		elsa-tokenize -m "$T/$m" -t rte "$G/RTE/dev.tsv" 2>"$T/alone.err" | sed 1d >"$T/alone.ids"
		check "$m: RTE dev from tokenizer.json alone, the ids of the whole folder" \
			"[ -s '$T/full.ids' ] && cmp -s '$T/full.ids' '$T/alone.ids' && [ ! -s '$T/alone.err' ]"
	done
	# ($T/full.ids: modernbert-base's, the loop's last)
	mkdir "$T/mb-json"
	ln -s "$S/models/modernbert-base/tokenizer.json" "$T/mb-json/tokenizer.json"
	elsa-tokenize -m "$T/mb-json" -t rte "$G/RTE/dev.tsv" 2>"$T/alone.err" | sed 1d >"$T/alone.ids"
	check "modernbert-base: RTE dev from a folder of tokenizer.json only, the ids of the whole folder" \
		"[ -s '$T/full.ids' ] && cmp -s '$T/full.ids' '$T/alone.ids' && [ ! -s '$T/alone.err' ]"
	mkdir "$T/nfkc"
	sed 's/"type": "NFC"/"type": "NFKC"/' "$S/models/modernbert-base/tokenizer.json" >"$T/nfkc/tokenizer.json"
	fails "a normalizer elsa does not implement" \
		"^elsa-tokenize: .*/nfkc/tokenizer.json: normalizer 'NFKC' is not supported with BPE \\(none, or NFC\\)\$" \
		elsa-tokenize -m "$T/nfkc" -t rte "$G/RTE/dev.tsv"
else
	skip "RTE dev from tokenizer.json alone" "no ../shared/glue (ELSA_SHARED)"
fi

# ... and Hugging Face's own ids for them, when its peer is installed.
PEER=$TOP/build/peers/hf-tokenizers
if [ -d "$G" ] && [ -d "$PEER/node_modules/tokenizers" ] && command -v node >/dev/null; then
	for m in bert-base-uncased bert-base-cased roberta-base modernbert-base; do
		node "$PEER/hf-tokenize.js" "$S/models/$m/tokenizer.json" "$G/RTE/dev.tsv" 2 3 --skip-header --max-len 128 \
			--ids "$T/hf.ids" 2>/dev/null
		elsa-tokenize -m "$S/models/$m" -t rte "$G/RTE/dev.tsv" | sed '1d;$d' | cut -f3,4 >"$T/our.ids"
		same "$m: RTE dev ids as Hugging Face tokenizers'" "$T/hf.ids" "$T/our.ids"
	done
	node "$PEER/hf-tokenize.js" "$S/models/modernbert-base/tokenizer.json" "$G/SST-2/dev.tsv" 1 --skip-header \
		--ids "$T/hf.ids" 2>/dev/null
	elsa-tokenize -m "$S/models/modernbert-base" -t sst2 --max-len 0 "$G/SST-2/dev.tsv" | sed '1d;$d' | cut -f3,4 >"$T/our.ids"
	same "modernbert-base: SST-2 dev ids, untruncated, as Hugging Face tokenizers'" "$T/hf.ids" "$T/our.ids"
else
	skip "ids against Hugging Face tokenizers" "its peer is not installed (scripts/deps --bench)"
fi

# A model folder whose config.json says how many tokens it takes: examples are cut there, and
# the user is told (elsa-embed would refuse longer ones).
P=$T/pos12
mkmodel --max-pos 12 "$P" >/dev/null
printf 'sentence\tlabel\n%s\t1\n' "the cat sat on the mat and the dog ran to the house and the cat sat" >"$T/long.tsv"
ok "a 12-position model and the default --max-len 128" elsa-tokenize -m "$P" -t sst2 "$T/long.tsv" -o "$T/long.tok"
check "... cuts at 12 and says so" "grep -q 'note: --max-len 128 is more than the 12 tokens .*pos12 takes: cutting at 12' '$T/.err' &&
	[ \$(sed -n 2p '$T/long.tok' | cut -f3 | wc -w) -eq 12 ] && head -1 '$T/long.tok' | grep -q 'max_len=12'"
ok "... which elsa-embed takes" elsa-embed -m "$P" "$T/long.tok" -o "$T/long.l0"
printf 'a\tnot_entailment\n' >"$T/named.tsv"
fails "a label name without -t says -t is needed" "named.tsv: line 1: label 'not_entailment' is not a number \\(a task's labels need its name: -t TASK\\)" \
	elsa-tokenize -m "$M" --text-a 1 --label 2 --no-header "$T/named.tsv"
fails "--threads abc is named as given" "-j/--threads: 'abc'" elsa-embed -m "$P" --threads abc "$T/long.tok"
mkdir -p "$T/adir"
fails "-o DIR/ says it is a folder" "adir/: a folder: name the file to write" elsa-tokenize -m "$M" -t sst2 "$T/long.tsv" -o "$T/adir/"
fails "-o into a folder that does not exist says which" "nope/x.tok: its folder .*/nope does not exist" \
	elsa-tokenize -m "$M" -t sst2 "$T/long.tsv" -o "$T/nope/x.tok"
done_testing
