# MNLI's two numberings (--label-order): elsa's and transformers' GLUE processors' (contradiction
# 0, entailment 1, neutral 2) and Hugging Face datasets' (entailment 0, neutral 1, contradiction
# 2), written here by hand as a table of names. Reading datasets-numbered labels (elsa-tokenize),
# scoring datasets-numbered predictions (elsa-evaluate) and writing them (elsa-train --predict).
. "${ELSA_TOP:-.}/tests/lib.sh"
F=$TOP/tests/fixtures/evaluate
# name of class K in each numbering
glue_name() { echo contradiction entailment neutral | cut -d' ' -f$(($1 + 1)); }
datasets_name() { echo entailment neutral contradiction | cut -d' ' -f$(($1 + 1)); }
# to_datasets FILE: a predictions file's column 2, from elsa's numbering to datasets', by name
to_datasets() {
	awk -F'\t' -v OFS='\t' 'BEGIN { split("contradiction entailment neutral", g, " "); split("entailment neutral contradiction", d, " ");
		for (k in d) num[d[k]] = k - 1 } NR > 1 { $2 = num[g[$2 + 1]] } 1' "$1"
}

# Scoring: the fixture's predictions renumbered as datasets numbers them.
elsa-evaluate -t mnli --gold-tsv "$F/mnli.gold.tsv" --pred "$F/mnli.pred.tsv" >"$T/glue.yaml"
to_datasets "$F/mnli.pred.tsv" >"$T/datasets.pred.tsv"
check "the renumbered predictions differ from the originals" "! cmp -s '$F/mnli.pred.tsv' '$T/datasets.pred.tsv'"
elsa-evaluate -t mnli --label-order datasets --gold-tsv "$F/mnli.gold.tsv" --pred "$T/datasets.pred.tsv" >"$T/datasets.yaml"
same "elsa-evaluate --label-order datasets scores datasets-numbered predictions as the originals" "$T/glue.yaml" "$T/datasets.yaml"
elsa-evaluate -t mnli --gold-tsv "$F/mnli.gold.tsv" --pred "$T/datasets.pred.tsv" >"$T/wrong.yaml"
check "... which read in elsa's numbering score otherwise" "! cmp -s '$T/glue.yaml' '$T/wrong.yaml'"
# A gold TSV whose labels are datasets' class numbers (MNLI's dev file, its gold_label renumbered).
awk -F'\t' -v OFS='\t' 'BEGIN { num["entailment"] = 0; num["neutral"] = 1; num["contradiction"] = 2 }
	NR > 1 { $NF = num[$NF] } 1' "$F/mnli.gold.tsv" >"$T/ds.gold.tsv"
check "the renumbered gold file holds numbers" "[ \"\$(sed 1d '$T/ds.gold.tsv' | awk -F'\t' '{ print \$NF }' | sort -u | paste -sd' ' -)\" = '0 1 2' ]"
fails "a gold TSV of MNLI class numbers without --label-order is refused, naming --label-order" \
	"ds.gold.tsv: line 2: label '[012]' is a class number, and mnli's classes are numbered two ways: say which \\(--label-order" \
	elsa-evaluate -t mnli --gold-tsv "$T/ds.gold.tsv" --pred "$T/datasets.pred.tsv"
elsa-evaluate -t mnli --label-order datasets --gold-tsv "$T/ds.gold.tsv" --pred "$T/datasets.pred.tsv" >"$T/ds-gold.yaml"
same "--label-order datasets reads --gold-tsv's class numbers so too: the originals' scores" "$T/glue.yaml" "$T/ds-gold.yaml"
fails "--label-order takes glue or datasets" "label-order: label order 'hf': glue .* or datasets" \
	elsa-evaluate -t mnli --label-order hf --gold-tsv "$F/mnli.gold.tsv" --pred "$F/mnli.pred.tsv"

# Reading: a TSV with datasets' numbers (premise, hypothesis, label), as datasets exports it.
mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 3 "$T/m" >/dev/null
printf 'premise\thypothesis\tlabel\nthe cat\ta dog\t0\nthe dog\ta cat\t1\na cat\tthe dog\t2\n' >"$T/ds.tsv"
elsa-tokenize -m "$T/m" -t mnli --text-a 1 --text-b 2 --label 3 --label-order datasets "$T/ds.tsv" >"$T/ds.tok"
got=$(sed -n '2,4p' "$T/ds.tok" | cut -f2 | while read -r k; do glue_name "$k"; done | paste -sd' ' -)
want=$(for k in 0 1 2; do datasets_name $k; done | paste -sd' ' -)
check "elsa-tokenize --label-order datasets reads datasets' classes ($want; got $got)" "[ '$got' = '$want' ]"
fails "an MNLI class number without --label-order is refused, naming both orders" \
	"ds.tsv: line 2: label '0' is a class number, and mnli's classes are numbered two ways: say which \\(--label-order glue: contradiction 0, entailment 1, neutral 2; datasets: entailment 0, neutral 1, contradiction 2\\)" \
	elsa-tokenize -m "$T/m" -t mnli --text-a 1 --text-b 2 --label 3 "$T/ds.tsv"
elsa-tokenize -m "$T/m" -t mnli --text-a 1 --text-b 2 --label 3 --label-order glue "$T/ds.tsv" >"$T/glue.tok"
check "... and --label-order glue reads them as elsa numbers them" "[ \"\$(sed -n '2,4p' '$T/glue.tok' | cut -f2 | paste -sd' ' -)\" = '0 1 2' ]"
printf 'sentence1\tsentence2\tlabel\nthe cat\ta dog\t1\n' >"$T/rte.tsv"
ok "a two-class task's numbers need no order (both agree)" elsa-tokenize -m "$T/m" -t rte --text-a 1 --text-b 2 --label 3 "$T/rte.tsv"

# Writing: a run's predictions and scores, in datasets' numbering.
elsa-embed -m "$T/m" "$T/ds.tok" | elsa-encode -m "$T/m" --to 1 >"$T/l1"
elsa-train -m "$T/m" -t mnli --train "$T/l1" --dev "$T/l1" -o "$T/run" --max-steps 2 2>/dev/null
elsa-train --predict "$T/run" -m "$T/m" --scores "$T/l1" >"$T/p.glue"
elsa-train --predict "$T/run" -m "$T/m" --scores --label-order datasets "$T/l1" >"$T/p.ds"
check "--predict --label-order datasets numbers each prediction as datasets does" \
	"[ \"\$(to_datasets '$T/p.glue' | cut -f1-3)\" = \"\$(cut -f1-3 '$T/p.ds')\" ]"
check "... the same class names" "[ \"\$(cut -f3 '$T/p.glue')\" = \"\$(cut -f3 '$T/p.ds')\" ]"
check "... and its logit and probability columns in datasets' order" \
	"head -1 '$T/p.ds' | grep -q 'logit_entailment	logit_neutral	logit_contradiction	prob_entailment	prob_neutral	prob_contradiction\$' &&
	 [ \"\$(cut -f4 '$T/p.ds')\" = \"\$(cut -f5 '$T/p.glue')\" ]"
elsa-evaluate -t mnli --gold "$T/ds.tok" --pred "$T/p.glue" >"$T/e.glue"
elsa-evaluate -t mnli --label-order datasets --gold "$T/ds.tok" --pred "$T/p.ds" >"$T/e.ds"
same "... which elsa-evaluate --label-order datasets scores as the run's own" "$T/e.glue" "$T/e.ds"

# AX, GLUE's diagnostic set, is predicted with the MNLI model (the same classes) but is not MNLI's data.
printf 'index\tsentence1\tsentence2\n0\tthe cat\ta dog\n1\ta dog\tthe cat\n' >"$T/ax.tsv"
elsa-tokenize -m "$T/m" -t ax "$T/ax.tsv" >"$T/ax.tok"
elsa-embed -m "$T/m" "$T/ax.tok" | elsa-encode -m "$T/m" --to 1 >"$T/ax.l1"
ok "an MNLI run predicts an AX stream" elsa-train --predict "$T/run" -m "$T/m" -o "$T/ax.pred" "$T/ax.l1"
check "... every example" "[ \$(wc -l <'$T/ax.pred') = 3 ]"
fails "... but AX's labels are no MNLI gold" "ax.tok: the stream was tokenized for task ax, not mnli" \
	elsa-evaluate -t mnli --gold "$T/ax.tok" --pred "$T/ax.pred"
fails "an RTE run does not take a QNLI stream" "tokenized for task qnli, not rte" \
	sh -c "elsa-tokenize -m '$T/m' -t qnli --text-a 1 --text-b 2 --label 3 '$T/rte.tsv' | elsa-embed -m '$T/m' |
		elsa-train -m '$T/m' -t rte --train - -o '$T/bad'"
done_testing
