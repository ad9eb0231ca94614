#!/usr/bin/python3
"""Writes elsa-evaluate's test fixtures and their expected metrics, computed independently.

    /usr/bin/python3 tests/ref/metrics_fixtures.py     (from the repository's top folder)

Needs numpy, scikit-learn and scipy (Debian: python3-sklearn python3-scipy; scripts/deps --ref).
Writes into tests/fixtures/evaluate/:
  TASK.gold.tsv   made-up gold labels in the layout of the task's GLUE dev file (no ax: it has none)
  TASK.gold.tok   the same examples as a token stream (elsa-tokens(5)) with made-up token ids
  TASK.pred.tsv   predictions (elsa-predictions(5)), mostly right, in a shuffled order
  CASE.gold.tok, CASE.pred.tsv   edge cases (constant predictions, constant gold, one example, ...)
  expected.tsv    case, task, gold file, predictions file, metric, value (repr of a float: it reads
                  back exactly; "null" where the reference gives NaN or refuses the input)
  ranks.tsv       value and its average rank (scipy.stats.rankdata)
  quantiles.tsv   numpy.percentile (linear) of the values of ranks.tsv at a few probabilities
  multiclass.tsv  gold and predicted classes of three classes; its first line "# mcc VALUE" is
                  sklearn's multiclass matthews_corrcoef
The metrics are those of Hugging Face's glue_compute_metrics: sklearn's accuracy_score, f1_score
(binary, class 1), matthews_corrcoef; scipy's pearsonr and spearmanr; acc_and_f1 and corr are
the means of the two. The outputs are deterministic (fixed seeds): rerunning rewrites the same files.
"""
import math
import os
import warnings

import numpy as np
from scipy.stats import pearsonr, rankdata, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "evaluate")

LABELS = {
    "cola": ["0", "1"], "sst2": ["0", "1"], "mrpc": ["0", "1"], "qqp": ["0", "1"], "wnli": ["0", "1"],
    "mnli": ["contradiction", "entailment", "neutral"], "mnli-mm": ["contradiction", "entailment", "neutral"],
    "ax": ["contradiction", "entailment", "neutral"],
    "qnli": ["entailment", "not_entailment"], "rte": ["entailment", "not_entailment"],
    "stsb": None,
}
PRIMARY = {"cola": "mcc", "ax": "mcc", "stsb": "corr", "mrpc": "acc_and_f1", "qqp": "acc_and_f1"}
MNLI_HEAD = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
             "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label")


def text(rng, i, side):
    words = ["the", "cat", "sat", "on", "a", "mat", "while", "rain", "fell", "quietly", "and", "birds", "sang"]
    return " ".join(rng.choice(words, size=int(rng.integers(3, 9)))) + f" ({side}{i})"


def real(x):
    """A float as written to the fixtures and to expected.tsv: shortest text that reads back exactly."""
    return "null" if x is None or math.isnan(x) else repr(float(x))


def tsv_line(task, i, id_, label, rng):
    """One line of a labelled GLUE dev file of task, example i (id_ is the id column's text)."""
    a, b = text(rng, i, "a"), text(rng, i, "b")
    if task == "cola":
        return f"gj04\t{label}\t{'' if label == '1' else '*'}\t{a}"
    if task == "sst2":
        return f"{a}\t{label}"
    if task == "mrpc":
        return f"{label}\t{1000 + i}\t{2000 + i}\t{a}\t{b}"
    if task == "stsb":
        return f"{id_}\tmain-captions\tMSRvid\t2012test\t{i:04d}\tnone\tnone\t{a}\t{b}\t{label}"
    if task == "qqp":
        return f"{id_}\t{3 * i + 1}\t{3 * i + 2}\t{a}?\t{b}?\t{label}"
    if task in ("mnli", "mnli-mm"):
        genre = "fiction" if task == "mnli" else "letters"
        parse = "( ( x ) )"
        return "\t".join([id_, str(5000 + i), f"{5000 + i}e", genre, parse, parse, parse, parse, a, b,
                          label, label, label, label, label, label])
    return f"{id_}\t{a}\t{b}\t{label}"  # qnli, rte, wnli


def tsv_header(task):
    return {
        "cola": None, "sst2": "sentence\tlabel",
        "mrpc": "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String",
        "stsb": "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
        "qqp": "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
        "mnli": MNLI_HEAD, "mnli-mm": MNLI_HEAD,
        "qnli": "index\tquestion\tsentence\tlabel",
        "rte": "index\tsentence1\tsentence2\tlabel", "wnli": "index\tsentence1\tsentence2\tlabel",
    }[task]


def label_text(task, y):
    return real(y) if LABELS[task] is None else LABELS[task][int(y)]


def write(path, lines):
    with open(os.path.join(OUT, path), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))


def write_gold_tokens(path, task, ids, gold, rng):
    lines = [f"#elsa-tokens 1 task={task} tokenizer=0123456789abcdef max_len=128"]
    for id_, y in zip(ids, gold):
        n = int(rng.integers(3, 12))
        toks = [101] + [int(t) for t in rng.integers(1000, 30000, size=n - 2)] + [102]
        lab = real(y) if LABELS[task] is None else str(int(y))
        lines.append(f"{id_}\t{lab}\t{' '.join(map(str, toks))}\t{' '.join('0' * n)}")
    lines.append(f"#end {len(ids)}")
    write(path, lines)


def write_pred(path, task, ids, pred, order):
    lines = ["id\tprediction"]
    for k in order:
        lines.append(f"{ids[k]}\t{real(pred[k]) if LABELS[task] is None else int(pred[k])}")
    write(path, lines)


def reference(task, gold, pred):
    """The metrics as (name, value) pairs, value None where the reference gives NaN or refuses."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if LABELS[task] is None:
            def corr(fn):
                try:
                    v = float(fn(pred, gold)[0])
                except ValueError:  # pearsonr: fewer than 2 examples
                    return None
                return None if math.isnan(v) else v
            p, s = corr(pearsonr), corr(spearmanr)
            return [("pearson", p), ("spearmanr", s), ("corr", None if p is None or s is None else (p + s) / 2)]
        gold, pred = gold.astype(int), pred.astype(int)
        acc = float(accuracy_score(gold, pred))
        if task in ("cola", "ax"):  # ax: GLUE's R3, the 3-class Matthews correlation
            return [("mcc", float(matthews_corrcoef(gold, pred)))]
        if task in ("mrpc", "qqp"):
            f1 = float(f1_score(gold, pred, zero_division=0))
            return [("acc", acc), ("f1", f1), ("acc_and_f1", (acc + f1) / 2)]
        return [("acc", acc)]


SIZES = {"cola": 120, "sst2": 100, "mrpc": 90, "stsb": 150, "qqp": 110, "mnli": 130, "mnli-mm": 125,
         "qnli": 95, "rte": 277, "wnli": 71, "ax": 60}


def task_data(task, rng):
    n = SIZES[task]
    if task in ("cola", "sst2", "mrpc"):
        ids = [str(i) for i in range(n)]  # files without an id column: the data row number
    elif task == "qqp":
        ids = [str(int(x)) for x in rng.choice(400000, size=n, replace=False)]
    else:
        ids = [str(i) for i in range(n)]
    if LABELS[task] is None:
        gold = np.round(rng.uniform(0, 5, size=n) * 5) / 5  # STS-B style: many ties
        pred = np.clip(gold + rng.normal(0, 0.9, size=n), -0.5, 5.5)
        pred[::7] = np.round(pred[::7], 1)  # ties among predictions too
        return ids, gold, pred
    k = len(LABELS[task])
    gold = rng.integers(0, k, size=n)
    right = rng.uniform(size=n) < 0.75
    pred = np.where(right, gold, rng.integers(0, k, size=n))
    return ids, gold, pred


EDGE = [
    # case, task, gold, pred
    ("cola-constant-pred", "cola", [0, 1, 1, 0, 1, 1, 0, 1], [1] * 8),
    ("cola-constant-gold", "cola", [1] * 6, [1, 0, 1, 1, 0, 1]),
    ("cola-single", "cola", [1], [1]),
    ("cola-inverse", "cola", [0, 1, 0, 1, 1], [1, 0, 1, 0, 0]),
    ("mrpc-no-positive-pred", "mrpc", [1, 0, 1, 1, 0, 1, 0], [0] * 7),
    ("qqp-no-positives", "qqp", [0] * 5, [0] * 5),
    ("qqp-single", "qqp", [1], [1]),
    ("sst2-single", "sst2", [0], [1]),
    ("rte-all-wrong", "rte", [0, 1, 1, 0], [1, 0, 0, 1]),
    ("mnli-single", "mnli", [2], [2]),
    ("stsb-constant-pred", "stsb", [0.5, 2.0, 3.25, 4.8, 1.0], [2.5] * 5),
    ("stsb-constant-gold", "stsb", [3.0] * 4, [1.5, 2.75, 0.25, 4.0]),
    ("stsb-single", "stsb", [3.2], [2.9]),
    ("stsb-two", "stsb", [1.0, 4.0], [3.5, 0.5]),
    ("stsb-ties", "stsb", [1, 1, 2, 2, 2, 3, 4, 4, 5, 0], [0.5, 0.5, 0.5, 2, 3, 3, 3, 4.5, 4.5, 1]),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = ["case\ttask\tgold\tpred\tmetric\tvalue"]

    def expect(case, task, gold_file, pred_file, gold, pred):
        for name, value in reference(task, gold, pred):
            rows.append(f"{case}\t{task}\t{gold_file}\t{pred_file}\t{name}\t{real(value)}")

    for seed, task in enumerate(sorted(SIZES)):
        rng = np.random.default_rng(1000 + seed)
        ids, gold, pred = task_data(task, rng)
        if task != "ax":
            lines = [tsv_header(task)] if tsv_header(task) else []
            lines += [tsv_line(task, i, ids[i], label_text(task, gold[i]), rng) for i in range(len(ids))]
            write(f"{task}.gold.tsv", lines)
            expect(task, task, f"{task}.gold.tsv", f"{task}.pred.tsv", gold, pred)
        write_gold_tokens(f"{task}.gold.tok", task, ids, gold, rng)
        write_pred(f"{task}.pred.tsv", task, ids, pred, rng.permutation(len(ids)))
        expect(f"{task}-tokens", task, f"{task}.gold.tok", f"{task}.pred.tsv", gold, pred)

    rng = np.random.default_rng(7)
    for case, task, gold, pred in EDGE:
        ids = [f"e{i}" for i in range(len(gold))]
        write_gold_tokens(f"{case}.gold.tok", task, ids, gold, rng)
        write_pred(f"{case}.pred.tsv", task, ids, pred, range(len(ids)))
        expect(case, task, f"{case}.gold.tok", f"{case}.pred.tsv", gold, pred)
    write("expected.tsv", rows)

    values = np.concatenate([np.round(rng.normal(2, 1.5, size=40), 1), [2.0] * 5, [-0.0, 0.0]])
    ranks = rankdata(values, method="average")
    write("ranks.tsv", [f"{real(v)}\t{real(r)}" for v, r in zip(values, ranks)])
    probs = [0, 0.025, 0.1, 0.5, 0.77, 0.975, 1]
    write("quantiles.tsv", [f"{real(p)}\t{real(np.percentile(values, 100 * p))}" for p in probs])

    gold = rng.integers(0, 3, size=50)
    pred = np.where(rng.uniform(size=50) < 0.6, gold, rng.integers(0, 3, size=50))
    write("multiclass.tsv", [f"# mcc {real(matthews_corrcoef(gold, pred))}"] + [f"{g}\t{p}" for g, p in zip(gold, pred)])


if __name__ == "__main__":
    main()
