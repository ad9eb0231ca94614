"""elsa_ref: an independent PyTorch reference for elsa's numerics, and readers/writers of elsa's
file formats written from their man pages (elsa-stream(5), elsa-tokens(5)).

The model is written the way Hugging Face's BertModel / RobertaModel compute it: examples padded
to the longest in the batch with an additive -10000 mask on padded keys, post-LayerNorm layers,
exact (erf) GELU, LayerNorm eps from config.json. elsa computes each example at its own length,
so agreement also checks that elsa needs no mask.
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
        magic, version, size, model, tok, layer, hidden, dtype, max_len = struct.unpack_from("<8sIIQQIIII", data, pos)
        assert magic == STREAM_MAGIC and version == 1 and size == 64, "not an elsa stream"
        task = data[pos + 48:pos + 64].rstrip(b"\0").decode()
        h = dict(model=model, tokenizer=tok, layer=layer, hidden=hidden, dtype=dtype, max_len=max_len, task=task)
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
    out = [struct.pack("<8sIIQQIIII", STREAM_MAGIC, 1, 64, header["model"], header.get("tokenizer", 0),
                       header["layer"], header["hidden"], 0, header.get("max_len", 0))
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
    def __init__(self, folder):
        with open(f"{folder}/config.json") as f:
            self.cfg = json.load(f)
        w = read_safetensors(f"{folder}/model.safetensors")
        self.type = self.cfg["model_type"]
        prefix = self.type + "."
        self.w = {}
        for k, v in w.items():
            k = k[len(prefix):] if k.startswith(prefix) else k
            k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            self.w[k] = v
        self.H = self.cfg["hidden_size"]
        self.A = self.cfg["num_attention_heads"]
        self.L = self.cfg["num_hidden_layers"]
        self.eps = self.cfg.get("layer_norm_eps", 1e-12)
        self.pad = self.cfg.get("pad_token_id", 0)

    def embeddings(self, tokens, types):
        """Hidden states at layer 0 for a padded batch: tokens, types [B, T] (long)."""
        w = self.w
        if self.type == "roberta":
            mask = (tokens != self.pad).long()
            pos = torch.cumsum(mask, dim=1) * mask + self.pad
        else:
            pos = torch.arange(tokens.shape[1]).expand_as(tokens)
        x = w["embeddings.word_embeddings.weight"][tokens] + w["embeddings.token_type_embeddings.weight"][types]
        x = x + w["embeddings.position_embeddings.weight"][pos]
        return F.layer_norm(x, (self.H,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)

    def layer(self, i, x, mask, dropout=0.0, training=False):
        """Encoder layer i on x [B, T, H]; mask [B, T] is 1 for real tokens."""
        w = {k[len(f"encoder.layer.{i}."):]: v for k, v in self.w.items() if k.startswith(f"encoder.layer.{i}.")}
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
