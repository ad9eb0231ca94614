#!/usr/bin/env python3
"""Writes the numerical fixtures of elsa's tests from the PyTorch reference (elsa_ref.py).

    /usr/bin/python3 tests/ref/make_fixtures.py [BUILD_DIR]     (needs python3-torch; make first)

tests/fixtures/encoder/<model>/: mkmodel.args (how the test rebuilds the model), tokens.tsv,
layer<l>.elsa (the reference's hidden states at every layer, uncompressed f32 tensor streams).
The models are made by BUILD_DIR/mkmodel with fixed seeds, so the tests rebuild the same weights.
"""
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
OUT = os.path.join(TOP, "tests", "fixtures")

MODELS = {
    "bert": "--type bert --layers 3 --hidden 32 --heads 4 --max-pos 128 --seed 11",
    "roberta": "--type roberta --layers 3 --hidden 32 --heads 4 --max-pos 130 --seed 12",
}
LENGTHS = [1, 2, 3, 7, 16, 31, 64, 128]


def make_model(args, folder):
    subprocess.run([os.path.join(BUILD, "mkmodel")] + args.split() + [folder], check=True)
    return elsa_ref.Model(folder)


def encoder_records(model, rng):
    """Singles and pairs of every length; RoBERTa also gets a literal pad token mid-sequence."""
    vocab = model.cfg["vocab_size"]
    records = []
    for i, n in enumerate(LENGTHS):
        tokens = rng.integers(5, vocab, n).tolist()
        pair = i % 2 == 1 and n >= 3
        types = [0] * n
        if pair and model.type == "bert":
            types = [0] * (n // 2) + [1] * (n - n // 2)
        if model.type == "roberta" and n == 31:
            tokens[10] = model.pad
        records.append(dict(id=f"len{n}", label=float(i % 2), tokens=tokens, types=types))
    return records


def encoder_fixtures(name, args, tmp):
    model = make_model(args, os.path.join(tmp, name))
    rng = np.random.default_rng(1 if name == "bert" else 2)
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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in MODELS.items():
            encoder_fixtures(name, args, tmp)


if __name__ == "__main__":
    main()
