# Model folders in every layout Hugging Face writes: pytorch_model.bin (torch.save's zip and
# pickle), sharded safetensors and sharded .bin, f16 and bf16 checkpoints, checkpoints carrying
# tensors elsa does not use. Each folder is written by PyTorch itself (tests/ref/convert_model.py)
# from a safetensors model, and must give hidden states equal to its safetensors twin, bit for bit.
# Then folders that lie: one line naming the file and what is wrong, exit 1, nothing written, and
# a pickle that asks to run code runs none.
. "${ELSA_TOP:-.}/tests/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
F=$TOP/tests/fixtures/encoder
"$PY" -c 'import torch' 2>/dev/null || skip_all "model folders written by torch.save" "no PyTorch for $PY (scripts/deps installs python3-torch)"

# states MODEL NAME: layer 0 and layer L of the fixture's tokens, as text (exact values).
states() {
	elsa-embed -m "$1" "$F/$type/tokens.tsv" >"$T/$2.l0" && elsa-encode -m "$1" --to "$L" "$T/$2.l0" >"$T/$2.lL" &&
		elsa-view --values "$T/$2.lL" >"$T/$2.txt"
}

for type in bert roberta; do
	M=$T/$type
	mkmodel $(cat "$F/$type/mkmodel.args") "$M" >/dev/null
	L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' "$M/config.json")
	ok "$type: torch.save writes the layouts" "$PY" "$TOP/tests/ref/convert_model.py" "$M" "$T/$type.out"
	states "$M" "$type.ref"
	for d in bin bin-sharded st-sharded; do
		ok "$type: $d is read" states "$T/$type.out/$d" "$type.$d"
		same "$type: $d gives the states of model.safetensors" "$T/$type.ref.txt" "$T/$type.$d.txt"
	done
	for d in f16 bf16; do
		ok "$type: a $d pytorch_model.bin is read" states "$T/$type.out/bin-$d" "$type.bin-$d"
		states "$T/$type.out/st-$d" "$type.st-$d"
		same "$type: ... and gives the states of its $d model.safetensors twin" "$T/$type.st-$d.txt" "$T/$type.bin-$d.txt"
		check "$type: ... which are not those of f32" "! cmp -s '$T/$type.ref.txt' '$T/$type.bin-$d.txt'"
	done
	elsa-embed -m "$T/$type.out/missing" "$F/$type/tokens.tsv" >"$T/$type.missing.l0"
	fails "$type: missing tensors are named, all of them" \
		"missing/pytorch_model.bin: no tensors $type.encoder.layer.0.intermediate.dense.bias, $type.encoder.layer.1.output.dense.weight$" \
		elsa-encode -m "$T/$type.out/missing" --to "$L" "$T/$type.missing.l0" -o "$T/bad"
done
check "nothing was written for the refused folder" "[ ! -e '$T/bad' ]"

# Fingerprints: the same tensors in another layout are another file, so another model to a cache.
fp() { elsa-embed -m "$1" "$F/bert/tokens.tsv" | elsa-view -H | grep '^model'; }
check "each layout has its own fingerprint" "[ \"\$(fp '$T/bert')\" != \"\$(fp '$T/bert.out/bin')\" ]"
fails "... so a cache of model.safetensors is refused with pytorch_model.bin, the message saying why and what to do" \
	"bert.ref.l0: made by another model \\(fingerprint [0-9a-f]{16}, .*bert.out/bin's is [0-9a-f]{16}; the fingerprint covers config.json and the weight files as stored, so the same weights in another layout or dtype are another model\\): make the stream with .*bert.out/bin \\(elsa-embed -m .*bert.out/bin\\), or give the model folder that made it" \
	elsa-encode -m "$T/bert.out/bin" --to 1 "$T/bert.ref.l0"

# Bad folders, made from the good ones.
B=$T/bert.out
bad() { rm -rf "$T/b"; cp -r "$B/$1" "$T/b"; }
embed_bad() { elsa-embed -m "$T/b" "$F/bert/tokens.tsv" -o "$T/b.l0"; }

bad st-sharded
rm "$T/b/model-00002-of-00003.safetensors"
fails "a shard the index names is missing" "model.safetensors.index.json: .*model-00002-of-00003.safetensors: No such file" embed_bad
bad st-sharded
sed -i 's#"model-00001-of-00003.safetensors"#"../bert/model.safetensors"#' "$T/b/model.safetensors.index.json"
fails "an index naming a file outside the folder" "weight_map: .*'../bert/model.safetensors' is not a file of the folder" embed_bad
bad st-sharded
sed -i '0,/"model-00001-of-00003.safetensors"/s##"model-00003-of-00003.safetensors"#' "$T/b/model.safetensors.index.json"
fails "an index that puts a tensor in the wrong shard" "weight_map puts .* in model-00003-of-00003.safetensors, which does not hold it" embed_bad
bad st-sharded
printf '{"weight_map": []}' >"$T/b/model.safetensors.index.json"
fails "an index without a weight_map object" "model.safetensors.index.json: no weight_map object" embed_bad
bad bin
"$PY" - "$T/b/pytorch_model.bin" <<'EOF'
import sys, zipfile
src = sys.argv[1]
with zipfile.ZipFile(src) as z:
    items = [(i, z.read(i)) for i in z.infolist()]
with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
    for i, data in items:
        z.writestr(i.filename, data)
EOF
fails "a .bin whose entries were compressed again" "pytorch_model.bin: .*data.pkl is compressed \\(method 8\\)" embed_bad
bad bin
"$PY" -c 'import sys, torch; sd = torch.load(sys.argv[1]); torch.save(sd, sys.argv[1], _use_new_zipfile_serialization=False)' "$T/b/pytorch_model.bin"
fails "PyTorch's legacy (pre-1.6) format is named" "pytorch_model.bin: PyTorch's legacy format" embed_bad
bad bin
head -c 100000 "$B/bin/pytorch_model.bin" >"$T/b/pytorch_model.bin"
fails "a truncated .bin" "pytorch_model.bin: zip: " embed_bad
check "no output was left by any refusal" "[ ! -e '$T/b.l0' ]"

# A pickle that asks to run code: refused by name, and the code did not run. The control shows
# that Python's own unpickler would have run it.
bad bin
"$PY" - "$T/b/pytorch_model.bin" "$T/ran" <<'EOF'
import os, sys, zipfile
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
import pickle
src = sys.argv[1]
with zipfile.ZipFile(src) as z:
    items = [(i, z.read(i)) for i in z.infolist()]
with zipfile.ZipFile(src, "w", zipfile.ZIP_STORED) as z:
    for i, data in items:
        z.writestr(i, pickle.dumps({"x": Evil()}, protocol=2) if i.filename.endswith("/data.pkl") else data)
EOF
fails "a pickle calling os.system is refused by name" "pytorch_model.bin: pickle: global (posix|os)\\.system is not allowed" embed_bad
check "... and ran nothing" "[ ! -e '$T/ran' ]"
"$PY" -c 'import pickle, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
pickle.loads(z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0]))' "$T/b/pytorch_model.bin" 2>/dev/null
check "... which Python's pickle would have run (the control)" "[ -e '$T/ran' ]"
done_testing
