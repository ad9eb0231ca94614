#!/usr/bin/env python3
"""Compares elsa's hidden states with the PyTorch reference (elsa_ref.py) on any model folder.

    /usr/bin/python3 tests/ref/compare.py MODEL_DIR TOKENS LAYER0.zst [LAYER1.zst ...]

TOKENS is the token stream elsa embedded; LAYERk is elsa's tensor stream of layer k (its header
says which). Prints the largest absolute difference per layer; exits 1 when one exceeds 1e-5
(or --tol)."""
import argparse
import sys

import numpy as np

import elsa_ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokens")
    ap.add_argument("streams", nargs="+")
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    model = elsa_ref.Model(a.model)
    recs = elsa_ref.read_tokens(a.tokens)
    want = elsa_ref.all_layers(model, recs)
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
