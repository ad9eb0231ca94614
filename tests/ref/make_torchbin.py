#!/usr/bin/env python3
"""Writes torch.save archives (what pytorch_model.bin is) for the tests of elsa's zip reader and
restricted unpickler (lib/zip.h, lib/pickle.h), good and hostile, and what torch and Python's
zipfile say the good ones hold, so the tests compare against them and not against elsa.

    /usr/bin/python3 tests/ref/make_torchbin.py OUTDIR      (needs python3-torch)

OUTDIR/tensors.tsv   one line per tensor of each good file: file, name, dtype, storage key,
                     storage elements, storage offset, shape, stride (both comma-separated) and
                     the values in row-major order (space-separated Python float reprs), by torch
OUTDIR/entries.tsv   one line per archive entry of each good file: file, name, size, CRC-32, by
                     Python's zipfile
OUTDIR/refused.tsv   one line per hostile file: file, the words elsa's message must hold (zip:
                     zip_parse refuses it; pickle: pickle_state_dict does; storage: both accept
                     it, but the storage of that key is missing from the archive)

Good files: f32.bin (an OrderedDict with _metadata: f32 tensors of several shapes, an int64
position_ids buffer, a view expanded with stride 0, two views of one storage at different offsets, a
transposed and a sliced view, a scalar, an empty tensor, a Parameter, and a tensor of every other
dtype), f16.bin and bf16.bin (its float tensors converted), p4.bin (f32.bin's dict pickled with
protocol 4: STACK_GLOBAL, MEMOIZE, FRAME, SHORT_BINUNICODE) and wrapped.bin ({"state_dict": it}).
Hostile: pickles that run os.system or eval when Python unpickles them (each would touch
elsa-pickled-marker in the current folder), an unknown opcode, bombs of marks, nesting and stack
(100000 deep each), a call of a storage class, a value that is not a tensor; archives whose
central directory, end records, entry counts, names, offsets or sizes lie, patched from f32.bin;
one whose pickle names a storage the archive lacks.
"""
import collections
import io
import os
import pickle
import pickletools
import struct
import sys
import zipfile

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else sys.exit("usage: make_torchbin.py OUTDIR")
MARKER = "elsa-pickled-marker"


def state_dict():
    g = torch.Generator().manual_seed(5)
    sd = collections.OrderedDict()
    sd["bert.embeddings.word_embeddings.weight"] = torch.randn(7, 4, generator=g)
    sd["bert.embeddings.position_ids"] = torch.arange(6).expand((1, -1))
    sd["expanded"] = torch.arange(3.0).expand(2, 3)
    sd["bert.encoder.layer.0.attention.self.query.weight"] = torch.randn(4, 4, generator=g)
    sd["bert.encoder.layer.0.attention.self.query.bias"] = torch.randn(4, generator=g)
    base = torch.randn(16, generator=g)
    sd["shared.first"] = base[2:8].view(2, 3)
    sd["shared.second"] = base[10:14]
    sd["transposed"] = torch.randn(3, 5, generator=g).t()
    sd["sliced"] = torch.randn(4, 6, generator=g)[:, 1:5:2]
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 3, generator=g))
    sd["f64"] = torch.randn(3, generator=g, dtype=torch.float64)
    sd["i64"] = torch.tensor([2**40, -(2**35), 7])
    sd["i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 2, 3], dtype=torch.int16)
    sd["i8"] = torch.tensor([-1, 2, -3], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    return sd


def converted(sd, dtype):
    out = collections.OrderedDict()
    for k, v in sd.items():
        out[k] = v.detach().to(dtype) if v.dtype == torch.float32 else v
    out._metadata = sd._metadata
    return out


DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def tensor_lines(file, sd):
    """What torch says of each tensor, and its values as Python floats (exact for every dtype here)."""
    if "state_dict" in sd:
        sd = sd["state_dict"]
    lines = []
    for name, t in sd.items():
        t = t.detach()
        s = t.storage()
        key = ""  # set by save_good: the key torch.save gives the storage
        values = " ".join(repr(float(x)) for x in t.reshape(-1).double().tolist())
        lines.append([file, name, DTYPES[t.dtype], key, str(s.size()), str(t.storage_offset()),
                      ",".join(map(str, t.shape)), ",".join(map(str, t.stride())), values])
    return lines


def storage_keys(path):
    """The storage key of each tensor, in order, as the archive's pickle names them."""
    z = zipfile.ZipFile(path)
    pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
    keys = []

    class KeyReader(pickle.Unpickler):
        def persistent_load(self, pid):
            keys.append(pid[2])
            return torch.empty(0)

        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda *a: ("tensor", keys[-1])
            if (module, name) == ("torch._utils", "_rebuild_parameter"):
                return lambda data, *a: data
            return super().find_class(module, name)

    result = KeyReader(io.BytesIO(z.read(pkl))).load()
    if "state_dict" in result:
        result = result["state_dict"]
    return [v[1] for v in result.values()]


def save_good(name, obj, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    lines = tensor_lines(name, obj)
    for line, key in zip(lines, storage_keys(path)):
        line[3] = key
    entries = [[name, i.filename, str(i.file_size), str(i.CRC)] for i in zipfile.ZipFile(path).infolist()]
    return lines, entries


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def first_global(pkl):
    """The first global a pickle names, as "module.name"."""
    strings = []
    for op, arg, _ in pickletools.genops(pkl):
        if op.name == "GLOBAL":
            return arg.replace(" ", ".")
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE"):
            strings.append(arg)
        if op.name == "STACK_GLOBAL":
            return strings[-2] + "." + strings[-1]
    raise ValueError("no global")


def archive_with(name, pkl, entries=()):
    """A torch.save-like archive NAME/data.pkl (and other entries) written by zipfile, stored."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        for n, b in entries:
            z.writestr("archive/" + n, b)
        z.writestr("archive/version", "3\n")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf.getvalue())


def data_pkl(path):
    z = zipfile.ZipFile(path)
    return z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])


def hostile_pickles(refused):
    for name, fn, arg, proto in [("evil-system.bin", os.system, "touch " + MARKER, 2),
                                 ("evil-eval.bin", eval, "__import__('os').system('touch %s')" % MARKER, 2),
                                 ("evil-eval-p4.bin", eval, "__import__('os').system('touch %s')" % MARKER, 4)]:
        path = os.path.join(OUT, name)
        torch.save({"w": Evil(fn, arg)}, path, pickle_protocol=proto)
        refused.append([name, "pickle", "global %s is not allowed" % first_global(data_pkl(path))])
    good = data_pkl(os.path.join(OUT, "f32.bin"))
    cases = [
        ("unknown-opcode.bin", good[:2] + b"\xff" + good[2:], "unknown opcode 0xff at byte 2"),
        ("marks-bomb.bin", b"\x80\x02" + b"(" * 100000 + b".", "more than 64 marks open"),
        ("tuple-bomb.bin", b"\x80\x02)" + b"\x85" * 100000 + b".", "nest deeper than 64"),
        ("list-bomb.bin", b"\x80\x02]q\x00" + b"]h\x00aq\x00" * 100000 + b".", "nest deeper than 64"),
        ("stack-bomb.bin", b"\x80\x02" + b"]" * 100000 + b".", "the stack grows past 65536"),
        ("reduce-storage.bin", b"\x80\x02ctorch\nFloatStorage\nq\x00)R.",
         "opcode 0x52 REDUCE of torch.FloatStorage is not allowed"),
    ]
    for name, pkl, words in cases:
        archive_with(name, pkl)
        refused.append([name, "pickle", words])
    torch.save({"w": torch.zeros(2), "epoch": 3}, os.path.join(OUT, "not-a-tensor.bin"))
    refused.append(["not-a-tensor.bin", "pickle", "epoch is an int, not a tensor"])
    # The pickle of f32.bin, in an archive without the storage of its first tensor.
    z = zipfile.ZipFile(os.path.join(OUT, "f32.bin"))
    first = storage_keys(os.path.join(OUT, "f32.bin"))[0]
    rest = [(n.split("/", 1)[1], z.read(n)) for n in z.namelist()
            if n.split("/", 1)[1] not in ("data.pkl", "version", "data/" + first)]
    archive_with("missing-storage.bin", good, rest)
    refused.append(["missing-storage.bin", "storage", first])


def end_records(b):
    """Offsets of the end record and the ZIP64 end record (torch.save writes both)."""
    eocd = b.rindex(b"PK\x05\x06")
    loc = eocd - 20
    assert b[loc:loc + 4] == b"PK\x06\x07"
    return eocd, struct.unpack_from("<Q", b, loc + 8)[0]


def central(b):
    """Offsets of the central directory's entries, and their names."""
    eocd, _ = end_records(b)
    count, _, off = struct.unpack_from("<HII", b, eocd + 10)
    out = []
    for _ in range(count):
        nlen, xlen, clen = struct.unpack_from("<HHH", b, off + 28)
        out.append((off, b[off + 46:off + 46 + nlen]))
        off += 46 + nlen + xlen + clen
    return out


def patched(b, edits):
    b = bytearray(b)
    for off, fmt, value in edits:
        struct.pack_into(fmt, b, off, value)
    return bytes(b)


def zip_lies(refused):
    b = open(os.path.join(OUT, "f32.bin"), "rb").read()
    eocd, e64 = end_records(b)
    count, cdsize, cdoff = struct.unpack_from("<HII", b, eocd + 10)
    entries = central(b)
    data0 = [off for off, n in entries if n.endswith(b"/data/0")][0]
    data1 = [off for off, n in entries if n.endswith(b"/data/1")][0]
    lho1 = struct.unpack_from("<I", b, data1 + 42)[0]

    def both(field32, fmt32, field64, value):  # a field of the end record and the ZIP64 one
        return [(eocd + field32, fmt32, value), (e64 + field64, "<Q", value)]

    def entries_count(n16, n64):  # the entry counts (of the disk and in all) of both end records
        return both(8, "<H", 24, n16)[:1] + both(10, "<H", 32, n16)[:1] + [(e64 + 24, "<Q", n64), (e64 + 32, "<Q", n64)]

    renamed = bytearray(b)
    for at in (data1 + 46, lho1 + 30):  # data/1 renamed data/0, in the directory and the local header
        at = renamed.index(b"/data/1", at)
        renamed[at:at + 7] = b"/data/0"
    nul = bytearray(b)
    nul[data0 + 46 + 2] = 0
    cases = [
        ("zip-cd-offset.bin", patched(b, both(16, "<I", 48, len(b) + 100)), "overruns the end records"),
        ("zip-cd-truncated.bin", patched(b, both(12, "<I", 40, cdsize - 20)), "truncated"),
        ("zip-count-more.bin", patched(b, entries_count(count + 1, count + 1)),
         "says %d entries, the central directory holds %d" % (count + 1, count)),
        ("zip-count-fewer.bin", patched(b, entries_count(count - 1, count - 1)), "holds more"),
        ("zip-count-huge.bin", patched(b, entries_count(0xFFFF, 2**60)), "cannot fit"),
        ("zip-local-offset.bin", patched(b, [(data0 + 42, "<I", len(b) + 1000)]), "no local header at offset"),
        ("zip-size.bin", patched(b, [(data0 + 20, "<I", 0x7FFFFFFF), (data0 + 24, "<I", 0x7FFFFFFF)]),
         "overrun the central directory"),
        ("zip-nul-name.bin", bytes(nul), "NUL byte"),
        ("zip-duplicate.bin", bytes(renamed), "two entries named"),
        ("zip-cut.bin", b[:-30], "no end of central directory record"),
        ("zip-locator.bin", patched(b, [(eocd - 20 + 8, "<Q", e64 + 8)]), "no ZIP64 end record"),
        ("zip-disagree.bin", patched(b, [(eocd + 12, "<I", cdsize + 1)]), "disagree"),
        ("zip-empty.bin", b"", "too short"),
    ]
    for name, data, words in cases:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        refused.append([name, "zip", words])


def write_tsv(name, rows):
    with open(os.path.join(OUT, name), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = state_dict()
    tensors, entries, refused = [], [], []
    for name, obj, kw in [("f32.bin", sd, {}), ("f16.bin", converted(sd, torch.float16), {}),
                          ("bf16.bin", converted(sd, torch.bfloat16), {}), ("p4.bin", sd, {"pickle_protocol": 4}),
                          ("wrapped.bin", {"state_dict": sd}, {})]:
        t, e = save_good(name, obj, **kw)
        tensors += t
        entries += e
    hostile_pickles(refused)
    zip_lies(refused)
    write_tsv("tensors.tsv", tensors)
    write_tsv("entries.tsv", entries)
    write_tsv("refused.tsv", refused)


main()
