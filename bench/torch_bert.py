#!/usr/bin/env python3
"""The PyTorch side of make bench: BERT in PyTorch 1.13 written the fastest way a careful user
would, on the same weights (the model folder) and the same data (elsa's token and tensor streams).

    torch_bert.py probe                                   sgemm rate at an FFN shape, and which
                                                          libblas.so.3 torch loaded
    torch_bert.py check MODEL TOKENS [--elsa STREAM]      the fused path against the padded one
                                                          (and elsa's last layer) on the first 16
    torch_bert.py encode MODEL TOKENS --path fused|padded --order file|sorted|best
    torch_bert.py train MODEL STATES --steps K            top layers + head from cached states
    torch_bert.py usual MODEL TOKENS --frozen N --epochs E   the usual recipe: embeddings and the
                                                          frozen prefix recomputed every step
    torch_bert.py ref-encode MODEL TOKENS                 the reference model (tests/ref/elsa_ref.py:
    torch_bert.py ref-train MODEL STATES --steps K        ModernBERT's) encoding, and training the
                                                          layers above a cache and the head
    --autocast (encode, train, ref-*): under torch.autocast("cpu", bfloat16): PyTorch's bf16

The paths:
  padded  Hugging Face BertModel's way: batches of 16 padded to their longest, an additive mask,
          erf GELU; dropout 0.1 in training.
  fused   PyTorch 1.13's own inference fast path, nn.TransformerEncoder in eval mode with
          src_key_padding_mask: nested tensors skip the padding (what BetterTransformer uses).
Encoding runs under torch.inference_mode(). The timed regions of encode and train start after the
model is loaded, the inputs are built and one untimed warm-up batch (or step) has run: they
exclude start-up, model load and first-call costs (elsa's in-process figures exclude start-up and
model load, not its first batch). usual has no warm-up: make bench times it by the wall clock.
Weights are read straight into the parameters, one tensor at a time, so that the peak memory is
the model's, not that of a copy of the file.

Prints one line of JSON: tokens (real, not padding), seconds, tokens_per_second, peak_mb
(ru_maxrss), useful_gflop (the work on real tokens; see useful()), threads, blas (the
libblas.so.3 mapped into this process).
"""
import argparse
import json
import math
import os
import resource
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# Useful work ----------------------------------------------------------------------------------

def layer_flops(n, H, I, mlp=2):
    """One encoder layer's forward on one example of n tokens: the six weight GEMMs (Q, K, V, O,
    FFN up and down: 2n(4H^2 + 2HI); ModernBERT's GeGLU has mlp=3: up to 2I, down from I) and
    attention's scores and weighted sum (4n^2 H)."""
    return 2 * n * (4 * H * H + mlp * H * I) + 4 * n * n * H


def head_flops(H, C):
    """The head's forward on one example: pooler (H x H) and classifier (H x C)."""
    return 2 * (H * H + H * C)


def useful(lengths, H, I, forward_layers=0, trained_layers=0, head=0, C=2, mlp=2):
    """GFLOP on real tokens: forward_layers forwards, trained_layers trained (3x a forward), and
    the head trained (head=1) on each example; padding is never counted."""
    f = sum(forward_layers * layer_flops(n, H, I, mlp) + 3 * trained_layers * layer_flops(n, H, I, mlp)
            + 3 * head * head_flops(H, C) for n in lengths)
    return f / 1e9


# Files ----------------------------------------------------------------------------------------

def config(folder):
    """config.json under BERT's key names (DistilBERT's dim, n_layers... renamed; no token types)."""
    with open(f"{folder}/config.json") as f:
        c = json.load(f)
    if c["model_type"] == "distilbert":
        c.update(hidden_size=c["dim"], num_hidden_layers=c["n_layers"], num_attention_heads=c["n_heads"],
                 intermediate_size=c["hidden_dim"], type_vocab_size=0, layer_norm_eps=1e-12)
    c.setdefault("layer_norm_eps", 1e-12)
    return c


# DistilBERT's names for BERT's modules (modeling_distilbert)
DISTIL_NAMES = [("encoder.layer.", "transformer.layer."), ("attention.self.query", "attention.q_lin"),
                ("attention.self.key", "attention.k_lin"), ("attention.self.value", "attention.v_lin"),
                ("attention.output.dense", "attention.out_lin"), ("attention.output.LayerNorm", "sa_layer_norm"),
                ("intermediate.dense", "ffn.lin1"), ("output.dense", "ffn.lin2"),
                ("output.LayerNorm", "output_layer_norm"), ("pooler.dense", "pre_classifier")]


class Weights:
    """A safetensors file read one tensor at a time, F32 straight into its destination."""

    def __init__(self, folder, model_type):
        self.f = open(f"{folder}/model.safetensors", "rb")
        (n,) = struct.unpack("<Q", self.f.read(8))
        self.header = json.loads(self.f.read(n))
        self.base = 8 + n
        self.pre = model_type + "."
        self.distil = model_type == "distilbert"

    def name(self, n):
        """The checkpoint's name of BERT's tensor n."""
        if self.distil:
            for a, b in DISTIL_NAMES:
                n = n.replace(a, b)
        for k in (self.pre + n, n, (self.pre + n).replace(".weight", ".gamma").replace(".bias", ".beta")):
            if k in self.header:
                return k
        return None

    def has(self, n):
        return self.name(n) is not None

    def into(self, n, dst):
        """Reads tensor n into dst (a contiguous float32 tensor or slice of one)."""
        k = self.name(n)
        if k is None:
            sys.exit(f"torch_bert.py: no tensor {n} in the model")
        t = self.header[k]
        b, e = t["data_offsets"]
        assert math.prod(t["shape"]) == dst.numel(), n
        self.f.seek(self.base + b)
        d = dst.detach()
        if t["dtype"] == "F32":
            self.f.readinto(memoryview(d.numpy()).cast("B"))
            return
        raw = self.f.read(e - b)
        a = (np.frombuffer(raw, "<f2").astype(np.float32) if t["dtype"] == "F16" else
             (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32))
        d.copy_(torch.from_numpy(a).view(d.shape))

    def linear(self, mod, n):
        self.into(n + ".weight", mod.weight)
        self.into(n + ".bias", mod.bias)


def read_tokens(path):
    """[(label, tokens, types)] of a token stream (elsa-tokens(5))."""
    out = []
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                _, label, toks, types = line.rstrip("\n").split("\t")
                out.append((math.nan if label == "-" else float(label), list(map(int, toks.split())),
                            list(map(int, types.split()))))
    return out


def stream_records(path):
    """Yields (header, label, tokens, states) of an elsa tensor stream (elsa-stream(5)), one record
    at a time through zstd, states as float32 numpy arrays [len, hidden]."""
    with open(path, "rb") as f:
        compressed = f.read(4) == b"\x28\xb5\x2f\xfd"
    proc = subprocess.Popen(["zstd", "-dcq", path], stdout=subprocess.PIPE) if compressed else None
    f = proc.stdout if proc else open(path, "rb")

    def read(n):
        b = f.read(n)
        if len(b) != n:
            sys.exit(f"torch_bert.py: {path}: truncated stream")
        return b
    try:
        while True:
            head = f.read(64)  # streams concatenate: a header follows each end marker
            if not head:
                return
            magic, _, _, _, _, layer, hidden, dtype, _, _ = struct.unpack_from("<8sIIQQIIHHI", head)
            if magic != b"ELSATENS":
                sys.exit(f"torch_bert.py: {path}: not an elsa tensor stream")
            header = dict(layer=layer, hidden=hidden)
            while True:
                (tag,) = struct.unpack("<I", read(4))
                if tag == 0x45534C45:  # ELSE: the end marker
                    read(12)
                    break
                length, idlen, _, label = struct.unpack("<IIId", read(20))
                read(idlen)
                tokens = np.frombuffer(read(4 * length), "<u4")
                read(4 * length)  # types
                raw = read(length * hidden * (4 if dtype == 0 else 2))
                if dtype == 0:
                    states = np.frombuffer(raw, "<f4")
                elif dtype == 1:
                    states = np.frombuffer(raw, "<f2").astype(np.float32)
                else:
                    states = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
                yield header, label, tokens, states.reshape(length, hidden)
    finally:
        f.close()
        if proc:
            proc.wait()


# Models ---------------------------------------------------------------------------------------

class Embeddings(nn.Module):
    def __init__(self, c, w, p):
        super().__init__()
        H = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c["max_position_embeddings"], H)
        self.typ = nn.Embedding(c["type_vocab_size"], H) if c["type_vocab_size"] else None  # DistilBERT: none
        self.ln = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(p)
        for mod, n in ((self.word, "word_embeddings"), (self.pos, "position_embeddings"), (self.typ, "token_type_embeddings")):
            if mod is not None:
                w.into(f"embeddings.{n}.weight", mod.weight)
        w.linear(self.ln, "embeddings.LayerNorm")

    def forward(self, tok, typ):
        pos = torch.arange(tok.shape[1]).expand_as(tok)
        x = self.word(tok) + self.typ(typ) if self.typ is not None else self.word(tok)
        return self.drop(self.ln(x + self.pos(pos)))


class Layer(nn.Module):
    """Hugging Face's BertLayer (DistilBERT's TransformerBlock: no dropout on the attention
    output): padded, additive mask, post-LayerNorm, erf GELU."""

    def __init__(self, c, p):
        super().__init__()
        H, I, eps = c["hidden_size"], c["intermediate_size"], c["layer_norm_eps"]
        self.A, self.D = c["num_attention_heads"], H // c["num_attention_heads"]
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=eps), nn.LayerNorm(H, eps=eps)
        self.fc1, self.fc2 = nn.Linear(H, I), nn.Linear(I, H)
        self.drop = nn.Dropout(p)
        self.attn_drop = nn.Dropout(0 if c["model_type"] == "distilbert" else p)

    NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "o": "attention.output.dense", "ln1": "attention.output.LayerNorm", "fc1": "intermediate.dense",
             "fc2": "output.dense", "ln2": "output.LayerNorm"}

    def forward(self, x, mask_add):
        B, T, H = x.shape
        heads = lambda t: t.view(B, T, self.A, self.D).transpose(1, 2)
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.D) + mask_add
        ctx = torch.matmul(self.drop(torch.softmax(scores, dim=-1)), v).transpose(1, 2).reshape(B, T, H)
        h1 = self.ln1(self.attn_drop(self.o(ctx)) + x)
        return self.ln2(self.drop(self.fc2(F.gelu(self.fc1(h1)))) + h1)


class Bert(nn.Module):
    """Layers first..last-1 of the model in folder, padded; the embeddings and the classification
    head only when asked for (a run from cached states needs no embeddings)."""

    def __init__(self, folder, first, last, p=0.1, embeddings=True, head=True, outputs=2):
        super().__init__()
        c = config(folder)
        H = c["hidden_size"]
        w = Weights(folder, c["model_type"])
        self.emb = Embeddings(c, w, p) if embeddings else None
        self.layers = nn.ModuleList(Layer(c, p) for _ in range(first, last))
        for i, layer in enumerate(self.layers):
            for attr, n in Layer.NAMES.items():
                w.linear(getattr(layer, attr), f"encoder.layer.{first + i}.{n}")
        if head:  # BERT's pooler (tanh), or DistilBERT's pre_classifier (ReLU)
            self.pool, self.cls, self.drop = nn.Linear(H, H), nn.Linear(H, outputs), nn.Dropout(p)
            self.act = torch.relu if c["model_type"] == "distilbert" else torch.tanh
            if w.has("pooler.dense.weight"):
                w.linear(self.pool, "pooler.dense")

    def encode(self, x, mask):
        mask_add = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_add)
        return x

    def head(self, y):
        return self.cls(self.drop(self.act(self.pool(y[:, 0]))))


class Fused(nn.Module):
    """The embeddings and nn.TransformerEncoder on the same weights, for the fused fast path."""

    def __init__(self, folder, p=0.1):
        super().__init__()
        c = config(folder)
        H, A, I, L = c["hidden_size"], c["num_attention_heads"], c["intermediate_size"], c["num_hidden_layers"]
        w = Weights(folder, c["model_type"])
        self.emb = Embeddings(c, w, p)
        layer = nn.TransformerEncoderLayer(d_model=H, nhead=A, dim_feedforward=I, activation="gelu",
                                           layer_norm_eps=c["layer_norm_eps"], batch_first=True, dropout=p)
        self.encoder = nn.TransformerEncoder(layer, num_layers=L, enable_nested_tensor=True)
        del layer
        for i, lay in enumerate(self.encoder.layers):
            n = f"encoder.layer.{i}."
            qkv_w, qkv_b = lay.self_attn.in_proj_weight, lay.self_attn.in_proj_bias
            for j, part in enumerate(("query", "key", "value")):  # in_proj = cat(Q, K, V)
                w.into(n + f"attention.self.{part}.weight", qkv_w[j * H:(j + 1) * H])
                w.into(n + f"attention.self.{part}.bias", qkv_b[j * H:(j + 1) * H])
            w.linear(lay.self_attn.out_proj, n + "attention.output.dense")
            w.linear(lay.linear1, n + "intermediate.dense")
            w.linear(lay.linear2, n + "output.dense")
            w.linear(lay.norm1, n + "attention.output.LayerNorm")
            w.linear(lay.norm2, n + "output.LayerNorm")

    def forward(self, tok, typ, mask):
        return self.encoder(self.emb(tok, typ), src_key_padding_mask=mask == 0)


def padded(seqs):
    T = max(len(s) for s in seqs)
    out = torch.zeros((len(seqs), T), dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return out, mask


def token_batches(recs, order, size):
    """[(tokens, types, mask)] padded batches of recs taken in order."""
    out = []
    for b in range(0, len(order), size):
        idx = order[b:b + size]
        tok, mask = padded([recs[i][1] for i in idx])
        typ, _ = padded([recs[i][2] for i in idx])
        out.append((tok, typ, mask))
    return out


# Reports --------------------------------------------------------------------------------------

def blas_loaded():
    """The file of the libblas.so.3 mapped into this process (after a matmul)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "/libblas.so" in line}
    return " ".join(sorted(os.path.realpath(p) for p in paths)) or "?"


def blas_core():
    """The kernels the BLAS chose for this CPU: OpenBLAS's core (openblas_get_corename), or
    BLIS's configuration (bli_arch_query_id, which Debian's BLIS libblas.so.3 does not export:
    then only that it is BLIS's own choice), through ctypes; "?" for another library."""
    import ctypes
    path = blas_loaded().split(" ")[0]
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return "?"
    if hasattr(lib, "openblas_get_corename"):
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return "OpenBLAS " + lib.openblas_get_corename().decode()
    if hasattr(lib, "bli_arch_query_id") and hasattr(lib, "bli_arch_string"):
        lib.bli_arch_string.restype = ctypes.c_char_p
        return "BLIS " + lib.bli_arch_string(lib.bli_arch_query_id()).decode()
    return "BLIS, its own detection" if "blis" in path else "?"


def report(**kw):
    if "tokens" in kw:
        kw["tokens_per_second"] = kw["tokens"] / kw["seconds"]
    kw["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kw["threads"] = torch.get_num_threads()
    kw["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "")
    kw["blas"] = blas_loaded()
    print(json.dumps(kw))


# Modes ----------------------------------------------------------------------------------------

def probe(a):
    """sgemm GFLOP/s at BERT-base's FFN-up shape on 2048 tokens through torch.matmul, after a check
    of the product against float64 (the largest error relative to the sum of |x w| terms), and
    the kernels the BLAS chose for this CPU."""
    x, w = torch.randn(2048, 768), torch.randn(768, 3072)
    flop = 2 * 2048 * 768 * 3072
    t0 = time.perf_counter()
    y = torch.matmul(x, w)
    first = time.perf_counter() - t0
    exact = torch.matmul(x.double(), w.double())
    bound = torch.matmul(x.double().abs(), w.double().abs())
    err = ((y.double() - exact).abs() / bound).max().item()
    best = flop / first
    if first < 1:  # a slow library (the reference BLAS) gets one call only
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            torch.matmul(x, w)
            best = max(best, flop / (time.perf_counter() - t0))
    report(gflops=best / 1e9, max_rel_error=err, core=blas_core())


def check(a):
    """The fused path's last layer against the padded reference's (and elsa's) on the first n
    sentences as one batch; the fast path must be taken (nested tensors into every layer)."""
    recs = read_tokens(a.data)[:a.n]
    L = config(a.model)["num_hidden_layers"]
    tok, typ, mask = token_batches(recs, list(range(len(recs))), len(recs))[0]
    real = mask.bool()
    with torch.inference_mode():
        ref = Bert(a.model, 0, L, head=False).eval()
        want = ref.encode(ref.emb(tok, typ), mask)
        del ref
        fused = Fused(a.model).eval()
        nested = []
        hooks = [lay.register_forward_pre_hook(lambda mod, inp: nested.append(inp[0].is_nested))
                 for lay in fused.encoder.layers]
        got = fused(tok, typ, mask)
        for h in hooks:
            h.remove()
    diff = (got[real] - want[real]).abs().max().item()
    out = dict(examples=len(recs), max_abs_diff_fused_padded=diff, nested_layers=sum(nested), layers=L,
               fast_path=len(nested) == L and all(nested))
    if a.elsa:
        elsa = [s for _, (_, _, _, s) in zip(range(len(recs)), stream_records(a.elsa))]
        out["max_abs_diff_fused_elsa"] = max(float(np.abs(got[j, :len(s)].numpy() - s).max()) for j, s in enumerate(elsa))
    report(**out)
    if not out["fast_path"]:
        sys.exit("torch_bert.py: check: the fused fast path was not taken (a layer's input was not a nested tensor)")
    if not diff <= 1e-3:
        sys.exit(f"torch_bert.py: check: the fused path differs from the padded one by {diff:g} (> 1e-3)")


def encode(a):
    """Every layer over the token stream in batches of 16, file order or sorted by length
    (--order best: both, one pass each, and the faster is reported)."""
    recs = read_tokens(a.data)
    c = config(a.model)
    L = c["num_hidden_layers"]
    m = (Fused(a.model) if a.path == "fused" else Bert(a.model, 0, L, head=False)).eval()
    run = (lambda tok, typ, mask: m(tok, typ, mask)) if a.path == "fused" else \
        (lambda tok, typ, mask: m.encode(m.emb(tok, typ), mask))
    orders = {"file": list(range(len(recs))),
              "sorted": sorted(range(len(recs)), key=lambda i: len(recs[i][1]))}
    wanted = ["file", "sorted"] if a.order == "best" else [a.order]
    seconds = {}
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast):
        for name in wanted:
            batches = token_batches(recs, orders[name], a.batch)  # inputs built before the clock
            run(*batches[0])  # warm-up, untimed
            t0 = time.perf_counter()
            for b in batches:
                run(*b)
            seconds[name] = time.perf_counter() - t0
            del batches
    best = min(seconds, key=seconds.get)
    lengths = [len(r[1]) for r in recs]
    report(tokens=sum(lengths), seconds=seconds[best], order=best, path=a.path + (" autocast bf16" if a.autocast else ""),
           **{f"seconds_{k}": v for k, v in seconds.items()},
           useful_gflop=useful(lengths, c["hidden_size"], c["intermediate_size"], forward_layers=L))


def optimizer(m, trained):
    """AdamW as Hugging Face's Trainer sets it up (no decay on biases and LayerNorm), foreach."""
    ps = [(n, p) for n, p in m.named_parameters() if p.requires_grad and n.split(".")[0] in trained]
    decay = [p for n, p in ps if not n.endswith("bias") and ".ln" not in n]
    no_decay = [p for n, p in ps if n.endswith("bias") or ".ln" in n]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=2e-5, foreach=True), [p for _, p in ps]


def step(m, opt, params, x, mask, labels, prefix=None):
    """One optimizer step; prefix(x, mask), if given, runs first under no_grad (frozen layers)."""
    if prefix is not None:
        with torch.no_grad():
            x = prefix(x, mask)
    loss = F.cross_entropy(m.head(m.encode(x, mask)), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def state_batches(path, H, batch, steps):
    """The first `steps` batches of `batch` records of an elsa tensor stream, padded, as
    [(states [B, T, H], mask [B, T], labels [B])], with their examples' lengths and the stream's
    header. The inputs are built before any clock, as a user would with a DataLoader of
    preprocessed tensors: the timed loops do no copying or padding."""
    batches, lengths, rs, header = [], [], [], None

    def pad(rs):
        x = torch.zeros(len(rs), max(len(s) for _, s in rs), H)
        mask = torch.zeros(len(rs), x.shape[1], dtype=torch.long)
        for j, (_, s) in enumerate(rs):
            x[j, :len(s)] = torch.from_numpy(s)
            mask[j, :len(s)] = 1
        batches.append((x, mask, torch.tensor([int(lab) % 2 for lab, _ in rs])))
        lengths.append([len(s) for _, s in rs])
    for header, label, _, states in stream_records(path):
        rs.append((label, states))
        if len(rs) == batch:
            pad(rs)
            rs = []
            if len(batches) == steps:
                break
    if rs:
        pad(rs)
    return batches, lengths, header


def train(a):
    """The top layers and the head from cached states of layer N: the batches elsa-train
    --no-shuffle --max-steps K takes (the first K of 16, in file order), timed after a warm-up
    step on the first batch."""
    c = config(a.model)
    H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    batches, lengths, header = state_batches(a.data, H, a.batch, a.steps)
    N = header["layer"]
    m = Bert(a.model, N, L, embeddings=False).train()
    opt, params = optimizer(m, ("layers", "pool", "cls"))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast):
        step(m, opt, params, *batches[0])  # warm-up, untimed
        t0 = time.perf_counter()
        for s in range(a.steps):
            step(m, opt, params, *batches[s % len(batches)])
        seconds = time.perf_counter() - t0
    timed = [n for s in range(a.steps) for n in lengths[s % len(batches)]]
    report(tokens=sum(timed), seconds=seconds, steps=a.steps, path="padded" + (" autocast bf16" if a.autocast else ""),
           useful_gflop=useful(timed, H, I, trained_layers=L - N, head=1))


def usual(a):
    """The usual recipe: every step embeds and runs the N frozen layers (eval mode: no dropout, as
    elsa's cached states have none; under no_grad) before the trained ones, shuffled each epoch."""
    recs = read_tokens(a.data)
    c = config(a.model)
    H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    full = Bert(a.model, 0, L)
    frozen = full.layers[:a.frozen]
    full.layers = full.layers[a.frozen:]  # full.encode runs the trained layers only
    for p in list(full.emb.parameters()) + list(frozen.parameters()):
        p.requires_grad_(False)
    full.train()
    full.emb.eval()
    frozen.eval()

    def prefix(x, mask):
        x = full.emb(*x)
        mask_add = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in frozen:
            x = layer(x, mask_add)
        return x
    opt, params = optimizer(full, ("layers", "pool", "cls"))
    g = torch.Generator().manual_seed(42)
    epochs = []
    for _ in range(a.epochs):  # the batches are built before the clock, as in train
        perm = torch.randperm(len(recs), generator=g).tolist()
        epochs.append([((tok, typ), mask, torch.tensor([int(recs[i][0]) % 2 for i in perm[b:b + a.batch]]))
                       for b, (tok, typ, mask) in zip(range(0, len(perm), a.batch), token_batches(recs, perm, a.batch))])
    t0 = time.perf_counter()
    for batches in epochs:
        for x, mask, labels in batches:
            step(full, opt, params, x, mask, labels, prefix)
    lengths = [len(r[1]) for r in recs] * a.epochs
    report(tokens=sum(lengths), seconds=time.perf_counter() - t0, path="padded",
           useful_gflop=useful(lengths, H, I, forward_layers=a.frozen, trained_layers=L - a.frozen, head=1))


# The reference model (ModernBERT) ------------------------------------------------------------

def reference():
    """tests/ref/elsa_ref.py, the reference the tests check elsa against: for ModernBERT, written
    from transformers 4's modeling_modernbert (eager attention: rotary embeddings, padding and
    sliding-window masks, GeGLU) in plain PyTorch; PyTorch 1.13 has no fused path for it."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
    import elsa_ref
    return elsa_ref


def ref_encode(a):
    """Every layer of the reference model over the token stream, padded batches of 16 sorted by
    length, under inference_mode, timed after a warm-up batch."""
    R = reference()
    m = R.Model(a.model)
    recs = read_tokens(a.data)
    batches = token_batches(recs, sorted(range(len(recs)), key=lambda i: len(recs[i][1])), a.batch)

    def run(tok, typ, mask):
        x = m.embeddings(tok, typ)
        for i in range(m.L):
            x = m.layer(i, x, mask)
        return x
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast):
        run(*batches[0])
        t0 = time.perf_counter()
        for b in batches:
            run(*b)
        seconds = time.perf_counter() - t0
    lengths = [len(r[1]) for r in recs]
    I = m.cfg["intermediate_size"]
    report(tokens=sum(lengths), seconds=seconds, order="sorted", path="reference, padded" + (" autocast bf16" if a.autocast else ""),
           useful_gflop=useful(lengths, m.H, I, forward_layers=m.L, mlp=3))


def ref_train(a):
    """The reference model's layers above the cache's and its head (final norm, pooling, dense,
    norm, classifier) from cached states: the first K batches of 16 in file order, AdamW
    (foreach) with no decay on biases and norms, clipping at 1.0, timed after a warm-up step."""
    R = reference()
    m = R.Model(a.model)
    batches, lengths, header = state_batches(a.data, m.H, a.batch, a.steps)
    N = header["layer"]
    params = {}
    for i in range(N, m.L):
        for k, v in m.layer_weights(i).items():
            params[m.layer_prefix(i) + k] = v.clone().requires_grad_(True)
    for k in m.head_names():
        params[k] = m.w[k].clone().requires_grad_(True)
    norm = lambda n: n.endswith("norm.weight")
    opt = torch.optim.AdamW([{"params": [p for n, p in params.items() if "bias" not in n and not norm(n)], "weight_decay": 0.01},
                             {"params": [p for n, p in params.items() if "bias" in n or norm(n)], "weight_decay": 0.0}],
                            lr=2e-5, foreach=True)

    def step(x, mask, labels):
        for i in range(N, m.L):
            p = m.layer_prefix(i)
            x = m.layer(i, x, mask, {k[len(p):]: v for k, v in params.items() if k.startswith(p)}, training=True)
        loss = F.cross_entropy(R.head_forward(m, params, x, mask, training=True), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast):
        step(*batches[0])
        t0 = time.perf_counter()
        for b in batches:
            step(*b)
        seconds = time.perf_counter() - t0
    timed = [n for ls in lengths for n in ls]
    report(tokens=sum(timed), seconds=seconds, steps=len(batches), path="reference, padded" + (" autocast bf16" if a.autocast else ""),
           useful_gflop=useful(timed, m.H, m.cfg["intermediate_size"], trained_layers=m.L - N, head=1, mlp=3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["probe", "check", "encode", "train", "usual", "ref-encode", "ref-train"])
    ap.add_argument("model", nargs="?")
    ap.add_argument("data", nargs="?")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--path", choices=["fused", "padded"], default="fused")
    ap.add_argument("--order", choices=["file", "sorted", "best"], default="best")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--frozen", type=int, default=9)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="probe: timed matmuls")
    ap.add_argument("--n", type=int, default=16, help="check: sentences")
    ap.add_argument("--elsa", help="check: elsa's stream of the last layer")
    ap.add_argument("--autocast", action="store_true", help="encode, train: under torch.autocast(cpu, bfloat16)")
    a = ap.parse_args()
    if a.mode not in ("probe",) and (a.model is None or a.data is None):
        ap.error("MODEL and DATA are needed")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors is in prototype stage")
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")  # copied at once
    {"probe": probe, "check": check, "encode": encode, "train": train, "usual": usual, "ref-encode": ref_encode,
     "ref-train": ref_train}[a.mode](a)


if __name__ == "__main__":
    main()
