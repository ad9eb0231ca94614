#!/usr/bin/env python3
"""Writes the numerical fixtures of elsa's tests from the PyTorch reference (elsa_ref.py).

    /usr/bin/python3 tests/ref/make_fixtures.py [BUILD_DIR [NAME...]]   (needs python3-torch; make first)
    /usr/bin/python3 tests/ref/make_fixtures.py BUILD_DIR --out DIR --case NAME --args "MKMODEL ARGS" \
        --outputs C [--first N] [--steps N] [--batch N] [--lengths 512,200,...] [--model DIR] [--random-states]

NAME: only those fixtures (a model of MODELS, a case of TRAIN_CASES); default all. With --out, one
training case of the settings given into DIR/NAME, of the model --args makes (or the folder
--model, which they made), from the reference's states at layer --first (or with --random-states
N(0, 1) states, which training takes as well): cli/families makes ModernBERT-base's so, at its
real shapes, and runs unit/finetune on it with ELSA_TRAIN_FIXTURES=DIR.

tests/fixtures/encoder/<model>/: mkmodel.args (how the test rebuilds the model), tokens.tsv,
layer<l>.elsa (the reference's hidden states at every layer, uncompressed f32 tensor streams).
tests/fixtures/train/<case>/: mkmodel.args, states.elsa (layer-1 states and labels; layer 0 and
the tokens for the cases that train the embeddings), setup (the
training settings), grads.safetensors (every gradient after the first step) and losses (the loss
of each of 20 steps of AdamW with warmup, decay and clipping), dropout off, batches in order.
The models are made by BUILD_DIR/mkmodel with fixed seeds, so the tests rebuild the same weights.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elsa_ref  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build")
ONLY = set(a for a in sys.argv[2:] if not a.startswith("--")) if "--out" not in sys.argv else set()
OUT = os.path.join(TOP, "tests", "fixtures")

# ModernBERT's models: windows of 8 and 16 tokens (so that the examples of up to 128 tokens see
# a part of them in the local layers), weights wide enough (--std) that each layer changes its
# input, and a wrong window or rotary base changes the states far past the tolerance.
MODELS = {
    "bert": "--type bert --layers 3 --hidden 32 --heads 4 --max-pos 128 --seed 11",
    "roberta": "--type roberta --layers 3 --hidden 32 --heads 4 --max-pos 130 --seed 12",
    "distilbert": "--type distilbert --layers 3 --hidden 32 --heads 4 --max-pos 128 --seed 13",
    "electra": "--type electra --layers 3 --hidden 32 --heads 4 --embedding-size 16 --max-pos 128 --seed 14",
    "modernbert": "--type modernbert --layers 4 --hidden 32 --heads 2 --window 8 --global-every 2 --std 0.1 --seed 15",
    "modernbert-bias": "--type modernbert --layers 3 --hidden 32 --heads 4 --window 16 --global-every 3 --bias "
                       "--rope-global 20000 --rope-local 5000 --std 0.1 --seed 16",
}
SEEDS = {"bert": 1, "roberta": 2, "distilbert": 3, "electra": 4, "modernbert": 5, "modernbert-bias": 6}
LENGTHS = [1, 2, 3, 7, 16, 31, 64, 128]


def make_model(args, folder):
    subprocess.run([os.path.join(BUILD, "mkmodel")] + args.split() + [folder], check=True)
    return elsa_ref.Model(folder)


def encoder_records(model, rng, lengths=LENGTHS):
    """Singles and pairs of every length; RoBERTa also gets a literal pad token mid-sequence."""
    vocab = model.cfg["vocab_size"]
    records = []
    for i, n in enumerate(lengths):
        tokens = rng.integers(5, vocab, n).tolist()
        pair = i % 2 == 1 and n >= 3
        types = [0] * n
        if pair and model.type not in ("roberta", "modernbert"):  # DistilBERT's are read and ignored
            types = [0] * (n // 2) + [1] * (n - n // 2)
        if model.type == "roberta" and n == 31:
            tokens[10] = model.pad
        records.append(dict(id=f"len{n}", label=float(i % 2), tokens=tokens, types=types))
    return records


def encoder_fixtures(name, args, tmp):
    model = make_model(args, os.path.join(tmp, name))
    rng = np.random.default_rng(SEEDS[name])
    records = encoder_records(model, rng)
    out = os.path.join(OUT, "encoder", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(out, "mkmodel.args"), "w") as f:
        f.write(args + "\n")
    elsa_ref.write_tokens(os.path.join(out, "tokens.tsv"), records, task="rte", max_len=128)
    states = elsa_ref.all_layers(model, records)
    for layer, per_example in enumerate(states):
        recs = [dict(r, states=s) for r, s in zip(records, per_example)]
        header = dict(model=0, layer=layer, hidden=model.H, task="rte", max_len=128)
        elsa_ref.write_stream(os.path.join(out, f"layer{layer}.elsa"), header, recs)


TRAIN_CASES = {  # name: (mkmodel arguments, outputs); "-emb": the embeddings train too, from layer 0
    "bert-cls": ("--type bert --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 2 --seed 21", 2),
    "roberta-cls": ("--type roberta --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 130 --labels 3 --seed 22", 3),
    "bert-reg": ("--type bert --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 1 --seed 23", 1),
    "roberta-reg": ("--type roberta --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 130 --labels 1 --seed 24", 1),
    "bert-emb": ("--type bert --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 2 --seed 25", 2),
    "roberta-emb": ("--type roberta --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 130 --labels 1 --seed 26", 1),
    "distilbert-cls": ("--type distilbert --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 2 --seed 27", 2),
    "distilbert-reg": ("--type distilbert --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 1 --seed 28", 1),
    "distilbert-emb": ("--type distilbert --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 3 --seed 29", 3),
    "electra-cls": ("--type electra --layers 3 --hidden 16 --heads 2 --intermediate 32 --embedding-size 8 --max-pos 128 --labels 3 --seed 30", 3),
    "electra-reg": ("--type electra --layers 3 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --labels 1 --seed 31", 1),
    "electra-emb": ("--type electra --layers 2 --hidden 16 --heads 2 --intermediate 32 --embedding-size 8 --max-pos 128 --labels 2 --seed 32", 2),
    # ModernBERT: the top layer local (every 3) or global (every 2), at the first token alone
    # (cls) or at every token (mean), with and without biases; the embeddings and layer 0 (no
    # attention norm) trained too
    "modernbert-cls": ("--type modernbert --layers 3 --hidden 16 --heads 2 --intermediate 24 --window 8 --pooling cls --std 0.1 --labels 2 --seed 33", 2),
    "modernbert-mean": ("--type modernbert --layers 3 --hidden 16 --heads 2 --intermediate 24 --window 8 --global-every 2 --pooling mean --std 0.1 --labels 3 --seed 34", 3),
    "modernbert-cls-reg": ("--type modernbert --layers 3 --hidden 16 --heads 2 --intermediate 24 --window 8 --pooling cls --bias --std 0.1 --labels 1 --seed 35", 1),
    "modernbert-mean-reg": ("--type modernbert --layers 3 --hidden 16 --heads 2 --intermediate 24 --window 8 --pooling mean --bias --std 0.1 --labels 1 --seed 36", 1),
    "modernbert-emb": ("--type modernbert --layers 2 --hidden 16 --heads 2 --intermediate 24 --window 8 --global-every 2 --pooling mean --bias --std 0.1 --labels 2 --seed 37", 2),
}
TRAIN_SETUP = dict(first=1, lr=1e-3, warmup=0.1, weight_decay=0.01, steps=20, batch=4)


def train_fixtures(name, args, outputs, tmp, root=os.path.join(OUT, "train"), setup=TRAIN_SETUP, lengths=LENGTHS,
                   folder=None, random_states=False):
    model = elsa_ref.Model(folder) if folder else make_model(args, os.path.join(tmp, name))
    rng = np.random.default_rng(sum(map(ord, name)))
    records = encoder_records(model, rng, lengths)
    for r in records:
        r["label"] = float(rng.integers(0, outputs)) if outputs > 1 else float(np.round(rng.uniform(0, 5), 2))
    embeddings = name.endswith("-emb")
    first = 0 if embeddings else setup["first"]
    if random_states:
        states = [rng.standard_normal((len(r["tokens"]), model.H)).astype(np.float32) for r in records]
    else:
        states = elsa_ref.all_layers(model, records)[first]
    for r, s in zip(records, states):
        r["states"] = s
    out = os.path.join(root, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(out, "mkmodel.args"), "w") as f:
        f.write(args + "\n")
    with open(os.path.join(out, "setup"), "w") as f:
        f.write("".join(f"{k} {v}\n" for k, v in dict(setup, first=first, outputs=outputs,
                                                      embeddings=int(embeddings)).items()))
    task = "stsb" if outputs == 1 else "mnli" if outputs == 3 else "rte"
    elsa_ref.write_stream(os.path.join(out, "states.elsa"), dict(model=0, layer=first, hidden=model.H, task=task), records)
    _, grads, losses = elsa_ref.train_reference(model, records, first, outputs, setup["lr"], setup["warmup"],
                                                setup["weight_decay"], setup["steps"], setup["batch"], embeddings)
    elsa_ref.write_safetensors(os.path.join(out, "grads.safetensors"), grads)
    with open(os.path.join(out, "losses"), "w") as f:
        f.write("".join(f"{x!r}\n" for x in losses))


def one_case():
    """The training case the command line describes (--out)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--out", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--args", required=True)
    ap.add_argument("--outputs", type=int, required=True)
    ap.add_argument("--first", type=int, default=TRAIN_SETUP["first"])
    ap.add_argument("--steps", type=int, default=TRAIN_SETUP["steps"])
    ap.add_argument("--batch", type=int, default=TRAIN_SETUP["batch"])
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    ap.add_argument("--model")
    ap.add_argument("--random-states", action="store_true")
    a = ap.parse_args()
    setup = dict(TRAIN_SETUP, first=a.first, steps=a.steps, batch=a.batch)
    with tempfile.TemporaryDirectory() as tmp:
        train_fixtures(a.case, a.args, a.outputs, tmp, a.out, setup, [int(n) for n in a.lengths.split(",")], a.model,
                       a.random_states)


def main():
    if "--out" in sys.argv:
        one_case()
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in MODELS.items():
            if not ONLY or name in ONLY:
                encoder_fixtures(name, args, tmp)
        for name, (args, outputs) in TRAIN_CASES.items():
            if not ONLY or name in ONLY:
                train_fixtures(name, args, outputs, tmp)


if __name__ == "__main__":
    main()
