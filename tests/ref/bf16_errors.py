#!/usr/bin/env python3
"""How far hidden states computed with bf16 products lie from f32's, layer by layer.

    /usr/bin/python3 tests/ref/bf16_errors.py [--reference MODEL_DIR TOKENS] F32_1.zst BF16_1.zst [F32_2 BF16_2 ...]

Each pair is elsa's stream of one layer with --compute f32 and with --compute bf16. Prints one
line per layer: "layer L  max R  mean R" for elsa's bf16 against elsa's f32 (R relative: the
largest absolute difference over the largest absolute f32 value, and the mean absolute
difference over the mean absolute f32 value). With --reference, PyTorch's reference model
(elsa_ref.py) runs the same examples in f32 and under torch.autocast("cpu", bfloat16), and each
line also gives elsa's bf16 against autocast's, and autocast's own against f32. Needs numpy (and
PyTorch for --reference); used by tests/cli/bf16.sh and to measure the figures of elsa(7)."""
import argparse
import sys

import numpy as np


def read_stream(path):
    import elsa_ref
    return elsa_ref.read_stream(path)


def errors(got, want):
    """(max relative, mean relative) of got against want, two lists of [len, H] arrays."""
    g = np.concatenate([x.reshape(-1) for x in got]).astype(np.float64)
    w = np.concatenate([x.reshape(-1) for x in want]).astype(np.float64)
    d = np.abs(g - w)
    return float(d.max() / np.abs(w).max()), float(d.mean() / np.abs(w).mean())


def reference_states(model_dir, tokens, autocast):
    import torch
    import elsa_ref
    recs = elsa_ref.read_tokens(tokens)
    model = elsa_ref.Model(model_dir)
    if not autocast:
        return elsa_ref.all_layers(model, recs)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        states = elsa_ref.all_layers(model, recs)
    return [[s.astype(np.float32) for s in layer] for layer in states]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", nargs=2, metavar=("MODEL_DIR", "TOKENS"))
    ap.add_argument("streams", nargs="+")
    a = ap.parse_args()
    if len(a.streams) % 2:
        sys.exit("bf16_errors.py: streams come in pairs, f32 then bf16")
    ref32 = refbf = None
    if a.reference:
        ref32 = reference_states(*a.reference, autocast=False)
        refbf = reference_states(*a.reference, autocast=True)
    for f32, bf16 in zip(a.streams[0::2], a.streams[1::2]):
        hf, sf = read_stream(f32)
        hb, sb = read_stream(bf16)
        if hf["layer"] != hb["layer"]:
            sys.exit(f"bf16_errors.py: {f32} holds layer {hf['layer']}, {bf16} layer {hb['layer']}")
        layer = hf["layer"]
        got, want = [r["states"] for r in sb], [r["states"] for r in sf]
        line = "layer %2d  max %.2e  mean %.2e" % ((layer,) + errors(got, want))
        if ref32 is not None:
            line += "  vs autocast: max %.2e  mean %.2e" % errors(got, refbf[layer])
            line += "  autocast vs f32: max %.2e  mean %.2e" % errors(refbf[layer], ref32[layer])
        print(line)


if __name__ == "__main__":
    main()
