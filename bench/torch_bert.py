#!/usr/bin/env python3
"""The PyTorch side of make bench: BERT written with torch.nn modules the way Hugging Face writes
BertModel (padded batches of 16 with an additive mask, erf GELU, dropout 0.1 in training), on the
same weights (the model folder) and the same data (elsa's token and tensor streams).

    torch_bert.py encode MODEL TOKENS                     forward, no_grad, every layer
    torch_bert.py train MODEL STATES --steps K            top layers + head from cached states
    torch_bert.py usual MODEL TOKENS --frozen N --epochs E   the usual recipe: embeddings and
                                                          the frozen prefix recomputed every step
Prints one line of JSON: tokens (real, not padding), seconds, tokens_per_second, peak_mb.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import elsa_ref  # noqa: E402  (safetensors and stream readers)


class Layer(nn.Module):
    def __init__(self, H, A, I, eps, p):
        super().__init__()
        self.A, self.D = A, H // A
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=eps), nn.LayerNorm(H, eps=eps)
        self.fc1, self.fc2 = nn.Linear(H, I), nn.Linear(I, H)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask_add):
        B, T, H = x.shape
        heads = lambda t: t.view(B, T, self.A, self.D).transpose(1, 2)
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.D) + mask_add
        ctx = torch.matmul(self.drop(torch.softmax(scores, dim=-1)), v).transpose(1, 2).reshape(B, T, H)
        h1 = self.ln1(self.drop(self.o(ctx)) + x)
        return self.ln2(self.drop(self.fc2(F.gelu(self.fc1(h1)))) + h1)


class Bert(nn.Module):
    def __init__(self, folder, first, last, p=0.1, outputs=2):
        super().__init__()
        with open(f"{folder}/config.json") as f:
            c = json.load(f)
        H, A, I, eps = c["hidden_size"], c["num_attention_heads"], c["intermediate_size"], c.get("layer_norm_eps", 1e-12)
        self.first = first
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c["max_position_embeddings"], H)
        self.typ = nn.Embedding(c["type_vocab_size"], H)
        self.ln = nn.LayerNorm(H, eps=eps)
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(H, A, I, eps, p) for _ in range(first, last))
        self.pool, self.cls = nn.Linear(H, H), nn.Linear(H, outputs)
        w = elsa_ref.read_safetensors(f"{folder}/model.safetensors")
        pre = c["model_type"] + "."
        get = lambda n: w.get(pre + n, w.get(n))
        with torch.no_grad():
            for mod, n in ((self.word, "word_embeddings"), (self.pos, "position_embeddings"), (self.typ, "token_type_embeddings")):
                mod.weight.copy_(get(f"embeddings.{n}.weight"))
            self.ln.weight.copy_(get("embeddings.LayerNorm.weight"))
            self.ln.bias.copy_(get("embeddings.LayerNorm.bias"))
            names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                     "o": "attention.output.dense", "ln1": "attention.output.LayerNorm", "fc1": "intermediate.dense",
                     "fc2": "output.dense", "ln2": "output.LayerNorm"}
            for i, layer in enumerate(self.layers):
                for attr, n in names.items():
                    getattr(layer, attr).weight.copy_(get(f"encoder.layer.{first + i}.{n}.weight"))
                    getattr(layer, attr).bias.copy_(get(f"encoder.layer.{first + i}.{n}.bias"))
            if get("pooler.dense.weight") is not None:
                self.pool.weight.copy_(get("pooler.dense.weight"))
                self.pool.bias.copy_(get("pooler.dense.bias"))

    def embed(self, tok, typ):
        pos = torch.arange(tok.shape[1]).expand_as(tok)
        return self.drop(self.ln(self.word(tok) + self.typ(typ) + self.pos(pos)))

    def encode(self, x, mask, upto=None):
        mask_add = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers[:upto]:
            x = layer(x, mask_add)
        return x

    def head(self, y):
        return self.cls(self.drop(torch.tanh(self.pool(y[:, 0]))))


def padded(seqs, value=0):
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), value, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return out, mask


def batches(n, size):
    return [range(b, min(b + size, n)) for b in range(0, n, size)]


def report(tokens, seconds):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(tokens=tokens, seconds=seconds, tokens_per_second=tokens / seconds, peak_mb=peak)))


def encode(a):
    recs = elsa_ref.read_tokens(a.data)
    with open(f"{a.model}/config.json") as f:
        L = json.load(f)["num_hidden_layers"]
    m = Bert(a.model, 0, L).eval()
    t0, tokens = time.perf_counter(), 0
    with torch.no_grad():
        for b in batches(len(recs), a.batch):
            tok, mask = padded([recs[i]["tokens"] for i in b])
            typ, _ = padded([recs[i]["types"] for i in b])
            m.encode(m.embed(tok, typ), mask)
            tokens += int(mask.sum())
    report(tokens, time.perf_counter() - t0)


def train_steps(m, opt, batch_inputs, labels):
    """One training step; batch_inputs() gives (x, mask) with x at the first trained layer."""
    x, mask = batch_inputs()
    loss = F.cross_entropy(m.head(m.encode(x, mask)), labels)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in m.parameters() if p.requires_grad], 1.0)
    opt.step()
    return int(mask.sum())


def trainable(m):
    for name, p in m.named_parameters():
        p.requires_grad_(name.startswith(("pool", "cls")) or (name.startswith("layers.") and int(name.split(".")[1]) >= m.trained_from))
    return torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=2e-5, weight_decay=0.01)


def train(a):
    """Top layers and the head from cached states (a tensor stream of layer N)."""
    header, recs = elsa_ref.read_stream(a.data)
    with open(f"{a.model}/config.json") as f:
        L = json.load(f)["num_hidden_layers"]
    N = header["layer"]
    m = Bert(a.model, N, L).train()
    m.trained_from = 0
    opt = trainable(m)
    order = batches(len(recs), a.batch)
    tokens, t0 = 0, None
    for step in range(a.steps + a.warmup):
        if step == a.warmup:
            t0, tokens = time.perf_counter(), 0
        b = order[step % len(order)]

        def inputs():
            T = max(len(recs[i]["tokens"]) for i in b)
            x = torch.zeros(len(b), T, header["hidden"])
            mask = torch.zeros(len(b), T, dtype=torch.long)
            for j, i in enumerate(b):
                n = len(recs[i]["tokens"])
                x[j, :n] = torch.from_numpy(recs[i]["states"])
                mask[j, :n] = 1
            return x, mask
        tokens += train_steps(m, opt, inputs, torch.tensor([int(recs[i]["label"]) % 2 for i in b]))
    report(tokens, time.perf_counter() - t0)


def usual(a):
    """The usual recipe: every step embeds and runs the frozen layers (train mode, no grad for
    their weights) before the trained ones."""
    recs = elsa_ref.read_tokens(a.data)
    with open(f"{a.model}/config.json") as f:
        L = json.load(f)["num_hidden_layers"]
    m = Bert(a.model, 0, L).train()
    m.trained_from = a.frozen
    opt = trainable(m)
    g = torch.Generator().manual_seed(42)
    t0, tokens = time.perf_counter(), 0
    for _ in range(a.epochs):
        perm = torch.randperm(len(recs), generator=g).tolist()
        for b in batches(len(recs), a.batch):
            idx = [perm[i] for i in b]

            def inputs():
                tok, mask = padded([recs[i]["tokens"] for i in idx])
                typ, _ = padded([recs[i]["types"] for i in idx])
                return m.embed(tok, typ), mask
            tokens += train_steps(m, opt, inputs, torch.tensor([int(recs[i]["label"]) % 2 for i in idx]))
    report(tokens, time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["encode", "train", "usual"])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--frozen", type=int, default=9)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    {"encode": encode, "train": train, "usual": usual}[a.mode](a)


if __name__ == "__main__":
    main()
