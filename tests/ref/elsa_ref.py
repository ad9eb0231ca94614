"""elsa_ref: an independent PyTorch reference for elsa's numerics, and readers/writers of elsa's
file formats written from their man pages (elsa-stream(5), elsa-tokens(5)).

The model is written the way Hugging Face's BertModel / RobertaModel compute it: examples padded
to the longest in the batch with an additive -10000 mask on padded keys, post-LayerNorm layers,
exact (erf) GELU, LayerNorm eps from config.json. elsa computes each example at its own length,
so agreement also checks that elsa needs no mask. ModernBERT is written from transformers 4.x's
modeling_modernbert (its eager attention: rotary embeddings, the padding mask and the sliding
window as additive masks of the dtype's minimum).
"""
import json
import math
import struct
import subprocess

import numpy as np
import torch
import torch.nn.functional as F

# Formats -------------------------------------------------------------------------------------

def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file (F32, F16, BF16)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        raw = data[base + b:base + e]
        if t["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif t["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        out[name] = torch.from_numpy(a.reshape(t["shape"]).copy())
    return out


STREAM_MAGIC = b"ELSATENS"
DTYPES = {0: ("<f4", 4), 1: ("<f2", 2), 2: ("bf16", 2)}


def read_stream(path):
    """(header dict, [records]) from an elsa tensor stream, compressed or not."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=True).stdout
    pos, header, records = 0, None, []
    while pos < len(data):
        magic, version, size, model, tok, layer, hidden, dtype, compute, max_len = struct.unpack_from(
            "<8sIIQQIIHHI", data, pos)
        assert magic == STREAM_MAGIC and version == 1 and size == 64, "not an elsa stream"
        task = data[pos + 48:pos + 64].rstrip(b"\0").decode()
        h = dict(model=model, tokenizer=tok, layer=layer, hidden=hidden, dtype=dtype, compute=compute, max_len=max_len,
                 task=task)
        assert header is None or header == h, "concatenated streams differ"
        header = h
        pos += 64
        count = 0
        while True:
            (tag,) = struct.unpack_from("<I", data, pos)
            if tag == 0x45534C45:  # "ELSE"
                (n,) = struct.unpack_from("<Q", data, pos + 8)
                assert n == count, "end marker count"
                pos += 16
                break
            assert tag == 0x52534C45, "record tag"
            _, length, idlen, flags, label = struct.unpack_from("<IIIId", data, pos)
            pos += 24
            rid = data[pos:pos + idlen].decode()
            pos += idlen
            tokens = np.frombuffer(data, "<u4", length, pos)
            pos += 4 * length
            types = np.frombuffer(data, "<u4", length, pos)
            pos += 4 * length
            code, size = DTYPES[dtype]
            n = length * hidden
            if code == "bf16":
                states = (np.frombuffer(data, "<u2", n, pos).astype(np.uint32) << 16).view(np.float32)
            else:
                states = np.frombuffer(data, code, n, pos).astype(np.float32)
            pos += n * size
            records.append(dict(id=rid, label=label, tokens=tokens.copy(), types=types.copy(),
                                states=states.reshape(length, hidden).copy()))
            count += 1
    return header, records


def write_stream(path, header, records):
    """Writes an uncompressed f32 elsa tensor stream."""
    out = [struct.pack("<8sIIQQIIHHI", STREAM_MAGIC, 1, 64, header["model"], header.get("tokenizer", 0),
                       header["layer"], header["hidden"], 0, header.get("compute", 0), header.get("max_len", 0))
           + header.get("task", "").encode().ljust(16, b"\0")]
    for r in records:
        rid = r["id"].encode()
        n = len(r["tokens"])
        out.append(struct.pack("<IIIId", 0x52534C45, n, len(rid), 0, r["label"]) + rid
                   + np.asarray(r["tokens"], "<u4").tobytes() + np.asarray(r["types"], "<u4").tobytes()
                   + np.asarray(r["states"], "<f4").tobytes())
    out.append(struct.pack("<IIQ", 0x45534C45, 0, len(records)))
    with open(path, "wb") as f:
        f.write(b"".join(out))


def read_tokens(path):
    """[records] of a token stream (elsa-tokens(5)): id, label (NaN for "-"), tokens, types."""
    recs = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            rid, label, toks, types = line.rstrip("\n").split("\t")
            recs.append(dict(id=rid, label=math.nan if label == "-" else float(label),
                             tokens=list(map(int, toks.split())), types=list(map(int, types.split()))))
    return recs


def write_tokens(path, records, task="-", max_len=0):
    """Writes a token stream (elsa-tokens(5)) with a header and an end line."""
    with open(path, "w") as f:
        f.write(f"#elsa-tokens 1 task={task} tokenizer=0000000000000000 max_len={max_len}\n")
        for r in records:
            x = r["label"]
            lab = "-" if math.isnan(x) else str(int(x)) if x == int(x) else repr(float(x))
            f.write(f"{r['id']}\t{lab}\t{' '.join(map(str, r['tokens']))}\t{' '.join(map(str, r['types']))}\n")
        f.write(f"#end {len(records)}\n")


# The model ------------------------------------------------------------------------------------

class Model:
    """A BERT-family encoder as Hugging Face's modules compute it, from a model folder: BertModel,
    RobertaModel, DistilBertModel (modeling_distilbert: no token types, q_lin/k_lin/v_lin/out_lin,
    no dropout after out_lin), ElectraModel (BERT's layers, embeddings of embedding_size projected
    to hidden_size by embeddings_project when they differ). Tensors are named here as each
    class names them, without the model's prefix."""

    def __init__(self, folder):
        with open(f"{folder}/config.json") as f:
            self.cfg = json.load(f)
        w = read_safetensors(f"{folder}/model.safetensors")
        self.type = self.cfg["model_type"]
        self.prefix = "model." if self.type == "modernbert" else self.type + "."  # base_model_prefix
        self.w = {}
        for k, v in w.items():
            k = k[len(self.prefix):] if k.startswith(self.prefix) else k
            k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            self.w[k] = v
        c = self.cfg
        if self.type == "distilbert":
            self.H, self.A, self.L = c["dim"], c["n_heads"], c["n_layers"]
            self.eps = 1e-12
        else:
            self.H, self.A, self.L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
            self.eps = c.get("layer_norm_eps", 1e-12)
        self.E = c.get("embedding_size", self.H) if self.type == "electra" else self.H
        self.pad = c.get("pad_token_id", 0)
        if self.type == "modernbert":  # ModernBertConfig's keys and defaults
            self.eps = c.get("norm_eps", 1e-5)
            self.window = c.get("local_attention", 128)
            self.every = c.get("global_attn_every_n_layers", 3)
            self.theta = c.get("global_rope_theta", 160000.0)
            local = c.get("local_rope_theta", 10000.0)
            self.local_theta = self.theta if local is None else local
            self.pooling = c.get("classifier_pooling", "cls")
            self.rates = {k: c.get(k, 0.0) for k in ("embedding_dropout", "attention_dropout", "mlp_dropout",
                                                      "classifier_dropout")}

    def layer_prefix(self, i):
        if self.type == "modernbert":
            return f"layers.{i}."
        return f"transformer.layer.{i}." if self.type == "distilbert" else f"encoder.layer.{i}."

    def embeddings(self, tokens, types, w=None):
        """Hidden states at layer 0 for a padded batch: tokens, types [B, T] (long); w: the
        embeddings' weights (to train them), named as in self.w."""
        w = w if w is not None else self.w
        if self.type == "modernbert":  # ModernBertEmbeddings: drop(norm(tok_embeddings(input_ids)))
            x = w["embeddings.tok_embeddings.weight"][tokens]
            return F.layer_norm(x, (self.H,), w["embeddings.norm.weight"], w.get("embeddings.norm.bias"), self.eps)
        if self.type == "roberta":
            mask = (tokens != self.pad).long()
            pos = torch.cumsum(mask, dim=1) * mask + self.pad
        else:
            pos = torch.arange(tokens.shape[1]).expand_as(tokens)
        x = w["embeddings.word_embeddings.weight"][tokens]
        if self.type != "distilbert":  # DistilBERT has no token types
            x = x + w["embeddings.token_type_embeddings.weight"][types]
        x = x + w["embeddings.position_embeddings.weight"][pos]
        x = F.layer_norm(x, (self.E,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        if self.type == "electra" and self.E != self.H:
            x = F.linear(x, w["embeddings_project.weight"], w["embeddings_project.bias"])
        return x

    def layer_weights(self, i):
        """Layer i's tensors, named without the layer's prefix."""
        p = self.layer_prefix(i)
        return {k[len(p):]: v for k, v in self.w.items() if k.startswith(p)}

    def layer(self, i, x, mask, w=None, dropout=0.0, training=False):
        """Encoder layer i on x [B, T, H]; mask [B, T] is 1 for real tokens; w: its weights (to train them)."""
        w = w if w is not None else self.layer_weights(i)
        if self.type == "distilbert":
            return self.distil_layer(w, x, mask, dropout, training)
        if self.type == "modernbert":
            return self.modern_layer(i, w, x, mask, training)
        B, T, H = x.shape
        D = H // self.A
        lin = lambda t, name: F.linear(t, w[name + ".weight"], w[name + ".bias"])
        heads = lambda t: t.view(B, T, self.A, D).transpose(1, 2)
        q, k, v = heads(lin(x, "attention.self.query")), heads(lin(x, "attention.self.key")), heads(lin(x, "attention.self.value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)
        scores = scores + (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0
        probs = F.dropout(torch.softmax(scores, dim=-1), dropout, training)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H)
        a = F.dropout(lin(ctx, "attention.output.dense"), dropout, training)
        h1 = F.layer_norm(a + x, (H,), w["attention.output.LayerNorm.weight"], w["attention.output.LayerNorm.bias"], self.eps)
        f = F.gelu(lin(h1, "intermediate.dense"))
        o = F.dropout(lin(f, "output.dense"), dropout, training)
        return F.layer_norm(o + h1, (H,), w["output.LayerNorm.weight"], w["output.LayerNorm.bias"], self.eps)

    def distil_layer(self, w, x, mask, dropout, training):
        """DistilBERT's TransformerBlock: MultiHeadSelfAttention (q scaled before the product,
        masked with the dtype's minimum), sa_layer_norm, FFN (lin1, gelu, lin2, dropout),
        output_layer_norm."""
        B, T, H = x.shape
        D = H // self.A
        lin = lambda t, name: F.linear(t, w[name + ".weight"], w[name + ".bias"])
        heads = lambda t: t.view(B, T, self.A, D).transpose(1, 2)
        q = heads(lin(x, "attention.q_lin")) / math.sqrt(D)
        k, v = heads(lin(x, "attention.k_lin")), heads(lin(x, "attention.v_lin"))
        scores = torch.matmul(q, k.transpose(2, 3))
        scores = scores.masked_fill((mask == 0)[:, None, None, :], torch.finfo(scores.dtype).min)
        probs = F.dropout(torch.softmax(scores, dim=-1), dropout, training)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H)
        sa = F.layer_norm(lin(ctx, "attention.out_lin") + x, (H,), w["sa_layer_norm.weight"], w["sa_layer_norm.bias"], self.eps)
        f = F.dropout(lin(F.gelu(lin(sa, "ffn.lin1")), "ffn.lin2"), dropout, training)
        return F.layer_norm(f + sa, (H,), w["output_layer_norm.weight"], w["output_layer_norm.bias"], self.eps)

    def rotary(self, T, D, theta):
        """cos and sin [1, 1, T, D] of positions 0..T-1, as ModernBertRotaryEmbedding computes them
        (the default rope type) and apply_rotary_pos_emb broadcasts them."""
        inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
        pos = torch.arange(T)[None]
        freqs = (inv_freq[None, :, None].float().expand(1, -1, 1) @ pos[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]

    def modern_layer(self, i, w, x, mask, training):
        """ModernBertEncoderLayer i (eager attention): attn_norm (none in layer 0), Wqkv, rotary
        embeddings, the padding mask (or in a local layer the sliding window's), softmax, Wo,
        residual; mlp_norm, Wi, GeGLU, Wo, residual. Dropout at the config's rates."""
        B, T, H = x.shape
        D = H // self.A
        r = self.rates
        lin = lambda t, name: F.linear(t, w[name + ".weight"], w.get(name + ".bias"))
        norm = lambda t, name: F.layer_norm(t, (H,), w[name + ".weight"], w.get(name + ".bias"), self.eps)
        h = x if i == 0 else norm(x, "attn_norm")
        q, k, v = lin(h, "attn.Wqkv").view(B, T, 3, self.A, D).transpose(3, 1).unbind(dim=2)
        local = i % self.every != 0
        cos, sin = self.rotary(T, D, self.local_theta if local else self.theta)
        rot = lambda t: torch.cat((-t[..., D // 2:], t[..., :D // 2]), dim=-1)  # rotate_half
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        scores = torch.matmul(q, k.transpose(2, 3)) * D ** -0.5
        inverted = 1.0 - mask[:, None, None, :].expand(B, 1, T, T).to(x.dtype)  # _prepare_4d_attention_mask
        amask = inverted.masked_fill(inverted.to(torch.bool), torch.finfo(x.dtype).min)
        if local:  # ModernBertModel._update_attention_mask's sliding_window_mask
            rows = torch.arange(T).unsqueeze(0)
            window = (torch.abs(rows - rows.T) <= self.window // 2)[None, None]
            amask = amask.masked_fill(window.logical_not(), torch.finfo(x.dtype).min)
        probs = F.dropout(torch.softmax(scores + amask, dim=-1, dtype=torch.float32), r["attention_dropout"], training)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H)
        x = x + F.dropout(lin(ctx, "attn.Wo"), r["attention_dropout"], training)
        inp, gate = lin(norm(x, "mlp_norm"), "mlp.Wi").chunk(2, dim=-1)
        return x + lin(F.dropout(F.gelu(inp) * gate, r["mlp_dropout"], training), "mlp.Wo")

    def head_names(self):
        """The classification head's tensors, as named in self.w (ModernBERT's: with its final norm,
        which the body holds, and any bias the config gives it)."""
        if self.type == "modernbert":
            names = ["final_norm.weight", "final_norm.bias", "head.dense.weight", "head.dense.bias",
                     "head.norm.weight", "head.norm.bias", "classifier.weight", "classifier.bias"]
            return [k for k in names if k in self.w]
        return {"bert": ["pooler.dense.weight", "pooler.dense.bias", "classifier.weight", "classifier.bias"],
                "distilbert": ["pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"],
                }.get(self.type, ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                                  "classifier.out_proj.bias"])

    def full_name(self, k):
        """The checkpoint's name of tensor k of self.w."""
        bare = ("classifier", "pre_classifier") + (("head.", "decoder.") if self.type == "modernbert" else ())
        return k if k.startswith(bare) else self.prefix + k


def pad_batch(seqs, value=0):
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), value, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.as_tensor(np.asarray(s, dtype=np.int64))
        mask[i, :len(s)] = 1
    return out, mask


def all_layers(model, records, batch=4):
    """[layer][example] -> numpy [len, H] states at every layer 0..L, batches padded."""
    out = [[None] * len(records) for _ in range(model.L + 1)]
    with torch.no_grad():
        for b0 in range(0, len(records), batch):
            rs = records[b0:b0 + batch]
            tok, mask = pad_batch([r["tokens"] for r in rs], model.pad)
            typ, _ = pad_batch([r["types"] for r in rs])
            x = model.embeddings(tok, typ)
            for layer in range(model.L + 1):
                if layer:
                    x = model.layer(layer - 1, x, mask)
                for j, r in enumerate(rs):
                    out[layer][b0 + j] = x[j, :len(r["tokens"])].numpy().copy()
    return out


ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def write_safetensors(path, tensors):
    """Writes {name: array or tensor} as a safetensors file: numpy arrays as F32, torch tensors
    in their own dtype (F32, F16, BF16, I64)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        if isinstance(a, torch.Tensor):
            t = a.contiguous()
            dtype, b = ST_DTYPES[t.dtype], (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        else:
            dtype, b = "F32", np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(np.shape(a)), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def head_forward(model, w, y, mask=None, dropout=0.0, training=False, head_dropout=None):
    """Hugging Face's classification head on the top layer's states y [B, T, H] (mask [B, T]: 1
    for real tokens, None: all of them); head_dropout: the head's own rate when the config gives
    one (DistilBERT's seq_classif_dropout)."""
    hp = dropout if head_dropout is None else head_dropout
    if model.type == "modernbert":  # ModernBertForSequenceClassification
        return modern_head(model, w, y, torch.ones(y.shape[:2], dtype=torch.long) if mask is None else mask, training)
    cls = y[:, 0]
    if model.type == "bert":  # BertPooler, dropout, classifier
        pooled = torch.tanh(F.linear(cls, w["pooler.dense.weight"], w["pooler.dense.bias"]))
        return F.linear(F.dropout(pooled, hp, training), w["classifier.weight"], w["classifier.bias"])
    if model.type == "distilbert":  # pre_classifier, ReLU, dropout, classifier
        x = torch.relu(F.linear(cls, w["pre_classifier.weight"], w["pre_classifier.bias"]))
        return F.linear(F.dropout(x, hp, training), w["classifier.weight"], w["classifier.bias"])
    act = torch.tanh if model.type == "roberta" else F.gelu  # RobertaClassificationHead, ElectraClassificationHead
    x = F.dropout(cls, hp, training)
    x = act(F.linear(x, w["classifier.dense.weight"], w["classifier.dense.bias"]))
    return F.linear(F.dropout(x, hp, training), w["classifier.out_proj.weight"], w["classifier.out_proj.bias"])


def modern_head(model, w, y, mask, training):
    """ModernBertModel's final_norm, the pooling (cls, or the mean over the real tokens), then
    ModernBertPredictionHead (dense, classifier_activation, norm), dropout, classifier."""
    H, eps = model.H, model.eps
    y = F.layer_norm(y, (H,), w["final_norm.weight"], w.get("final_norm.bias"), eps)
    if model.pooling == "cls":
        pooled = y[:, 0]
    else:
        pooled = (y * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
    act = {"gelu": F.gelu, "tanh": torch.tanh, "relu": torch.relu}[model.cfg.get("classifier_activation", "gelu")]
    h = act(F.linear(pooled, w["head.dense.weight"], w.get("head.dense.bias")))
    h = F.layer_norm(h, (H,), w["head.norm.weight"], w.get("head.norm.bias"), eps)
    h = F.dropout(h, model.rates["classifier_dropout"], training)
    return F.linear(h, w["classifier.weight"], w["classifier.bias"])


def linear_schedule(warmup, total):
    """transformers.get_linear_schedule_with_warmup's factor."""
    return lambda step: step / max(1, warmup) if step < warmup else max(0.0, (total - step) / max(1, total - warmup))


def train_reference(model, records, first, outputs, lr, warmup_ratio, weight_decay, steps, batch, embeddings=False):
    """Trains layers first..L-1 and the head from the records' states (layer `first`), dropout
    off, batches in order, as Hugging Face's Trainer: AdamW, linear schedule, clipping at 1.0.
    With embeddings (first 0), the embeddings train too, computed from the records' tokens.
    Returns (the first step's loss, its gradients by full name, every step's loss)."""
    params = {}
    if embeddings:
        for k, v in model.w.items():
            if k.startswith("embeddings"):  # embeddings. and ELECTRA's embeddings_project.
                params[model.full_name(k)] = v.clone().requires_grad_(True)
    for i in range(first, model.L):
        for k, v in model.layer_weights(i).items():
            params[model.full_name(model.layer_prefix(i) + k)] = v.clone().requires_grad_(True)
    for k in model.head_names():
        params[model.full_name(k)] = model.w[k].clone().requires_grad_(True)
    local = lambda n: n[len(model.prefix):] if n.startswith(model.prefix) else n
    # Hugging Face's Trainer: no decay on biases and LayerNorm weights (embeddings do decay)
    norm = lambda n: ("LayerNorm" in n or "layer_norm" in n  # DistilBERT's sa_layer_norm, output_layer_norm
                      or n.endswith("norm.weight"))  # ModernBERT's attn_norm, mlp_norm, final_norm, head.norm
    decay = [p for n, p in params.items() if "bias" not in n and not norm(n)]
    no_decay = [p for n, p in params.items() if "bias" in n or norm(n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    warmup = math.ceil(warmup_ratio * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(warmup, steps))
    losses, first_grads = [], None
    per_epoch = math.ceil(len(records) / batch)
    for step in range(steps):
        at = step % per_epoch
        rs = records[at * batch:(at + 1) * batch]
        T = max(len(r["tokens"]) for r in rs)
        x = torch.zeros(len(rs), T, model.H)
        mask = torch.zeros(len(rs), T, dtype=torch.long)
        for j, r in enumerate(rs):
            x[j, :len(r["tokens"])] = torch.from_numpy(r["states"])
            mask[j, :len(r["tokens"])] = 1
        if embeddings:
            tok, _ = pad_batch([r["tokens"] for r in rs], model.pad)
            typ, _ = pad_batch([r["types"] for r in rs])
            ew = {local(k): v for k, v in params.items() if local(k).startswith("embeddings")}
            x = model.embeddings(tok, typ, ew)
        for i in range(first, model.L):
            p = model.layer_prefix(i)
            w = {local(k)[len(p):]: v for k, v in params.items() if local(k).startswith(p)}
            x = model.layer(i, x, mask, w)
        hw = {local(k): v for k, v in params.items()}
        logits = head_forward(model, hw, x, mask)
        labels = torch.tensor([r["label"] for r in rs])
        if outputs == 1:
            loss = F.mse_loss(logits.squeeze(-1), labels.float())
        else:
            loss = F.cross_entropy(logits, labels.long())
        opt.zero_grad()
        loss.backward()
        if step == 0:
            first_grads = {n: p.grad.detach().numpy().copy() for n, p in params.items()}
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss))
    return losses[0], first_grads, losses
