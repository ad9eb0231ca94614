#!/usr/bin/env python3
"""Checks a folder written by elsa-export as transformers would load it, with the PyTorch
reference (elsa_ref.py) run as a whole sequence-classification model.

    /usr/bin/python3 tests/ref/check_export.py EXPORTED TASK TOKENS SCORES [--tol 1e-5]

EXPORTED: elsa-export's folder; TASK: the run's task; TOKENS: the token stream of a dev set;
SCORES: elsa-train --predict --scores's predictions of it (for STS-B the plain predictions, whose
value is the model's output). Checks:
  - config.json: architectures, num_labels, id2label and label2id (each other's inverse, in
    elsa's class order with the datasets names), problem_type, finetuning_task;
  - model.safetensors: exactly the keys of transformers' BertForSequenceClassification /
    RobertaForSequenceClassification / ... / ModernBertForSequenceClassification state dict for
    that config (written out below from the classes' modules, transformers 4.x: position_ids and
    token_type_ids are non-persistent buffers, as is ModernBERT's rotary inv_freq, so not in the
    state dict), each of the shape the class gives it;
  - the logits of the reference model on TOKENS against elsa's, within the tolerance.
Prints what it finds; exits 1 on any failure."""
import argparse
import json
import math
import sys

import numpy as np
import torch

import elsa_ref

LABELS = {  # elsa's class order (elsa-predictions(5)) with the names of the datasets library
    "cola": ["unacceptable", "acceptable"], "sst2": ["negative", "positive"],
    "mrpc": ["not_equivalent", "equivalent"], "qqp": ["not_duplicate", "duplicate"],
    "mnli": ["contradiction", "entailment", "neutral"], "qnli": ["entailment", "not_entailment"],
    "rte": ["entailment", "not_entailment"], "wnli": ["not_entailment", "entailment"], "stsb": ["LABEL_0"],
}

LAYER = [  # BertLayer / RobertaLayer / ElectraLayer: (module path, weight shape)
    ("attention.self.query", "HH"), ("attention.self.key", "HH"), ("attention.self.value", "HH"),
    ("attention.output.dense", "HH"), ("attention.output.LayerNorm", "H"),
    ("intermediate.dense", "IH"), ("output.dense", "HI"), ("output.LayerNorm", "H"),
]
DISTIL_LAYER = [  # DistilBERT's TransformerBlock
    ("attention.q_lin", "HH"), ("attention.k_lin", "HH"), ("attention.v_lin", "HH"), ("attention.out_lin", "HH"),
    ("sa_layer_norm", "H"), ("ffn.lin1", "IH"), ("ffn.lin2", "HI"), ("output_layer_norm", "H"),
]
ARCH = {"bert": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification",
        "distilbert": "DistilBertForSequenceClassification", "electra": "ElectraForSequenceClassification",
        "modernbert": "ModernBertForSequenceClassification"}


def modernbert_keys(cfg, C):
    """{name: shape} of ModernBertForSequenceClassification's state dict: model (ModernBertModel:
    embeddings, layers, final_norm), head (ModernBertPredictionHead), classifier. Its nn.Linear
    and nn.LayerNorm modules have a bias when the config's attention_bias, mlp_bias, norm_bias
    or classifier_bias says so; layer 0's attn_norm is nn.Identity."""
    H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    flag = lambda k: cfg.get(k, False)
    keys = {}

    def module(name, shape, bias):
        keys[name + ".weight"] = shape
        if bias:
            keys[name + ".bias"] = shape[:1]

    module("model.embeddings.tok_embeddings", (cfg["vocab_size"], H), False)
    module("model.embeddings.norm", (H,), flag("norm_bias"))
    for i in range(L):
        p = f"model.layers.{i}."
        if i:
            module(p + "attn_norm", (H,), flag("norm_bias"))
        module(p + "attn.Wqkv", (3 * H, H), flag("attention_bias"))
        module(p + "attn.Wo", (H, H), flag("attention_bias"))
        module(p + "mlp_norm", (H,), flag("norm_bias"))
        module(p + "mlp.Wi", (2 * I, H), flag("mlp_bias"))
        module(p + "mlp.Wo", (H, I), flag("mlp_bias"))
    module("model.final_norm", (H,), flag("norm_bias"))
    module("head.dense", (H, H), flag("classifier_bias"))
    module("head.norm", (H,), flag("norm_bias"))
    module("classifier", (C, H), True)
    return keys


def expected_keys(cfg, C):
    """{name: shape} of the class's state dict."""
    t = cfg["model_type"]
    if t == "modernbert":
        return modernbert_keys(cfg, C)
    distil = t == "distilbert"
    H = cfg["dim"] if distil else cfg["hidden_size"]
    I = cfg["hidden_dim"] if distil else cfg["intermediate_size"]
    L = cfg["n_layers"] if distil else cfg["num_hidden_layers"]
    E = cfg.get("embedding_size", H) if t == "electra" else H
    dims = {"H": H, "I": I}
    keys = {
        f"{t}.embeddings.word_embeddings.weight": (cfg["vocab_size"], E),
        f"{t}.embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], E),
        f"{t}.embeddings.LayerNorm.weight": (E,), f"{t}.embeddings.LayerNorm.bias": (E,),
    }
    if not distil:  # DistilBERT's embeddings have no token types
        keys[f"{t}.embeddings.token_type_embeddings.weight"] = (cfg["type_vocab_size"], E)
    if E != H:  # ElectraModel.embeddings_project
        keys.update({"electra.embeddings_project.weight": (H, E), "electra.embeddings_project.bias": (H,)})
    for i in range(L):
        for mod, shape in DISTIL_LAYER if distil else LAYER:
            name = f"{t}.{'transformer' if distil else 'encoder'}.layer.{i}.{mod}"
            if len(shape) == 1:
                keys[name + ".weight"] = (H,)
            else:
                keys[name + ".weight"] = (dims[shape[0]], dims[shape[1]])
            keys[name + ".bias"] = (dims[shape[0]],)
    if t == "bert":  # BertPooler; BertForSequenceClassification.classifier
        keys.update({"bert.pooler.dense.weight": (H, H), "bert.pooler.dense.bias": (H,),
                     "classifier.weight": (C, H), "classifier.bias": (C,)})
    elif distil:  # DistilBertForSequenceClassification: pre_classifier, classifier
        keys.update({"pre_classifier.weight": (H, H), "pre_classifier.bias": (H,),
                     "classifier.weight": (C, H), "classifier.bias": (C,)})
    else:  # RobertaClassificationHead, ElectraClassificationHead (no pooler)
        keys.update({"classifier.dense.weight": (H, H), "classifier.dense.bias": (H,),
                     "classifier.out_proj.weight": (C, H), "classifier.out_proj.bias": (C,)})
    return keys


def check_config(cfg, task, fail):
    names = LABELS[task]
    arch = ARCH[cfg["model_type"]]
    if cfg.get("architectures") != [arch]:
        fail(f"architectures {cfg.get('architectures')}, expected [{arch}]")
    if cfg.get("num_labels") != len(names):
        fail(f"num_labels {cfg.get('num_labels')}, expected {len(names)}")
    if cfg.get("id2label") != {str(i): n for i, n in enumerate(names)}:
        fail(f"id2label {cfg.get('id2label')}")
    if cfg.get("label2id") != {n: i for i, n in enumerate(names)}:
        fail(f"label2id {cfg.get('label2id')}")
    want = "regression" if task == "stsb" else "single_label_classification"
    if cfg.get("problem_type") != want:
        fail(f"problem_type {cfg.get('problem_type')}, expected {want}")
    if cfg.get("finetuning_task") != task:
        fail(f"finetuning_task {cfg.get('finetuning_task')}, expected {task}")


def read_scores(path, task):
    """{id: logits} from a predictions file written with --scores (STS-B: the prediction)."""
    out = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        logit_cols = [i for i, h in enumerate(header) if h.startswith("logit_")]
        for line in f:
            v = line.rstrip("\n").split("\t")
            out[v[0]] = [float(v[1])] if task == "stsb" else [float(v[i]) for i in logit_cols]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("task")
    ap.add_argument("tokens")
    ap.add_argument("scores")
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    failures = []
    fail = failures.append
    with open(f"{a.folder}/config.json") as f:
        cfg = json.load(f)
    check_config(cfg, a.task, fail)
    C = len(LABELS[a.task])
    tensors = elsa_ref.read_safetensors(f"{a.folder}/model.safetensors")
    want = expected_keys(cfg, C)
    missing, unexpected = sorted(set(want) - set(tensors)), sorted(set(tensors) - set(want))
    if missing or unexpected:
        fail(f"missing keys {missing[:5]}, unexpected keys {unexpected[:5]}")
    for k in set(want) & set(tensors):
        if tuple(tensors[k].shape) != want[k]:
            fail(f"{k}: shape {tuple(tensors[k].shape)}, expected {want[k]}")
    print(f"{len(tensors)} tensors, the keys and shapes of {cfg['architectures'][0]}")

    model = elsa_ref.Model(a.folder)
    recs = elsa_ref.read_tokens(a.tokens)
    top = elsa_ref.all_layers(model, recs)[model.L]
    got = read_scores(a.scores, a.task)
    worst = 0.0
    with torch.no_grad():
        for r, y in zip(recs, top):
            logits = elsa_ref.head_forward(model, model.w, torch.from_numpy(y)[None])[0].numpy()
            if r["id"] not in got:
                fail(f"example {r['id']}: not in {a.scores}")
                continue
            worst = max(worst, float(np.max(np.abs(logits - np.asarray(got[r["id"]])))))
    print(f"{len(recs)} examples: largest logit difference {worst:.3g}")
    if not math.isfinite(worst) or worst > a.tol:
        fail(f"logits differ by {worst:.3g} (tolerance {a.tol:g})")
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
