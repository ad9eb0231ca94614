"""convert_model: writes a safetensors model folder again in the other layouts Hugging Face uses,
with PyTorch's own torch.save, for elsa's tests of model folders (tests/cli/layouts.sh).

    convert_model.py SRC OUT

SRC holds config.json and model.safetensors (f32). OUT gets one folder per layout, each with
SRC's config.json:
    bin/           pytorch_model.bin, as a BertForSequenceClassification / RobertaFor... state
                   dict holds it (what the checkpoint of a pretraining run carries too: the
                   position_ids buffer, masked-LM and next-sentence heads tied to the word
                   embeddings), one tensor stored transposed (a non-contiguous view) and the
                   LayerNorm tensors as views into one shared storage
    bin-f16/       the same in float16, and st-f16/ its model.safetensors twin
    bin-bf16/      the same in bfloat16, and st-bf16/ its twin
    st-sharded/    model.safetensors.index.json and three shards
    bin-sharded/   pytorch_model.bin.index.json and three shards
    missing/       pytorch_model.bin without two of the encoder's tensors
"""
import collections
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elsa_ref import read_safetensors, write_safetensors  # noqa: E402

def checkpoint(w, cfg):
    """The state dict of a real checkpoint: elsa's tensors and those it must ignore."""
    prefix = cfg["model_type"] + "."
    sd = collections.OrderedDict()
    for k, v in w.items():
        sd[k if k.startswith(prefix) or k.startswith("classifier") else prefix + k] = v
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    word = sd[prefix + "embeddings.word_embeddings.weight"]
    sd[prefix + "embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"]).expand((1, -1))
    if cfg["model_type"] == "bert":
        sd["cls.predictions.bias"] = torch.zeros(V)
        sd["cls.predictions.transform.dense.weight"] = torch.eye(H)
        sd["cls.predictions.decoder.weight"] = word  # tied: the same storage
        sd["cls.seq_relationship.weight"] = torch.zeros(2, H)
    else:
        sd["lm_head.dense.weight"] = torch.eye(H)
        sd["lm_head.decoder.weight"] = word
        sd["lm_head.bias"] = torch.zeros(V)
    return sd


def with_views(sd, cfg):
    """One weight stored transposed, the first layer's LayerNorm vectors as views of one storage."""
    prefix = cfg["model_type"] + "."
    q = prefix + "encoder.layer.0.attention.self.query.weight"
    sd[q] = sd[q].t().contiguous().t()
    assert not sd[q].is_contiguous()
    names = [prefix + "encoder.layer.0.attention.output.LayerNorm." + n for n in ("weight", "bias")]
    both = torch.cat([sd[n] for n in names])
    H = cfg["hidden_size"]
    sd[names[0]], sd[names[1]] = both[:H], both[H:]
    return sd


def folder(out, name, src):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(src, "config.json"), d)
    return d


def shards(sd, n):
    keys = list(sd)
    size = (len(keys) + n - 1) // n
    return [collections.OrderedDict((k, sd[k]) for k in keys[i:i + size]) for i in range(0, len(keys), size)]


def write_sharded(d, sd, torch_format):
    parts = shards(sd, 3)
    base, ext = ("pytorch_model", "bin") if torch_format else ("model", "safetensors")
    weight_map = {}
    for i, part in enumerate(parts):
        file = f"{base}-{i + 1:05d}-of-{len(parts):05d}.{ext}"
        if torch_format:
            torch.save(part, os.path.join(d, file))
        else:
            write_safetensors(os.path.join(d, file), part)
        weight_map.update({k: file for k in part})
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in sd.values())}, "weight_map": weight_map}
    with open(os.path.join(d, f"{base}.{ext}.index.json"), "w") as f:
        json.dump(index, f, indent=2)


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(src, "model.safetensors"))
    sd = checkpoint(w, cfg)
    torch.save(with_views(collections.OrderedDict(sd), cfg), os.path.join(folder(out, "bin", src), "pytorch_model.bin"))
    for dtype, name in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        low = collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items())
        torch.save(low, os.path.join(folder(out, "bin-" + name, src), "pytorch_model.bin"))
        write_safetensors(os.path.join(folder(out, "st-" + name, src), "model.safetensors"), low)
    write_sharded(folder(out, "st-sharded", src), sd, False)
    write_sharded(folder(out, "bin-sharded", src), sd, True)
    prefix = cfg["model_type"] + "."
    gone = [prefix + "encoder.layer.1.output.dense.weight", prefix + "encoder.layer.0.intermediate.dense.bias"]
    torch.save(collections.OrderedDict((k, v) for k, v in sd.items() if k not in gone),
               os.path.join(folder(out, "missing", src), "pytorch_model.bin"))


if __name__ == "__main__":
    main()
