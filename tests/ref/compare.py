#!/usr/bin/env python3
"""Compares elsa's hidden states with the PyTorch reference (elsa_ref.py) on any model folder.

    /usr/bin/python3 tests/ref/compare.py MODEL_DIR TOKENS LAYER0.zst [LAYER1.zst ...]

TOKENS is the token stream elsa embedded; LAYERk is elsa's tensor stream of layer k (its header
says which). Prints the largest absolute difference per layer; exits 1 when one exceeds 1e-5
(or --tol). --batch N: the reference's examples padded into batches of N (4). --cache FILE
keeps the reference's states in FILE (numpy's npz) and reads them from there when FILE exists,
for comparisons of several runs of elsa with one reference."""
import argparse
import os
import sys

import numpy as np

import elsa_ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokens")
    ap.add_argument("streams", nargs="+")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--cache")
    a = ap.parse_args()
    recs = elsa_ref.read_tokens(a.tokens)
    if a.cache and os.path.exists(a.cache):
        saved = np.load(a.cache)
        want = [[saved[f"{layer}/{i}"] for i in range(len(recs))] for layer in range(int(saved["layers"]))]
    else:
        want = elsa_ref.all_layers(elsa_ref.Model(a.model), recs, a.batch)
        if a.cache:
            states = {f"{l}/{i}": s for l, per in enumerate(want) for i, s in enumerate(per)}
            np.savez(a.cache, layers=len(want), **states)
    bad = 0
    for path in a.streams:
        header, got = elsa_ref.read_stream(path)
        layer = header["layer"]
        assert [r["id"] for r in got] == [r["id"] for r in recs], f"{path}: other examples than {a.tokens}"
        worst = max(float(np.max(np.abs(g["states"] - w))) for g, w in zip(got, want[layer]))
        print(f"layer {layer}: max abs difference {worst:.3g}")
        bad |= worst > a.tol
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
