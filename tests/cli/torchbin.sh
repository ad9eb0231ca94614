# PyTorch's pytorch_model.bin read without running it: tests/ref/make_torchbin.py writes torch.save
# archives, good and hostile, with what torch and Python's zipfile say they hold, into a scratch
# folder; unit/pickle (lib/zip.h, lib/pickle.h) reads them all and compares. The hostile pickles
# touch a marker file in the current folder when Python unpickles them: none may appear when elsa
# reads them, and one does when Python's pickle.loads reads each (the control, without which this
# test could not fail). Skipped without PyTorch.
. "${ELSA_TOP:-.}/tests/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import torch' 2>/dev/null || skip_all "torch.save archives against PyTorch" "no PyTorch for $PY (scripts/deps --ref)"
marker=elsa-pickled-marker
ok "make_torchbin.py writes the archives" "$PY" "$TOP/tests/ref/make_torchbin.py" "$T/fx"
mkdir "$T/run"
(cd "$T/run" && "$B/tests/pickle" "$T/fx") >"$T/unit.out" 2>&1
rc=$?
grep -v '^ok \|^1\.\.' "$T/unit.out" | sed 's/^/# /'
check "unit/pickle on them: $(grep -c '^ok ' "$T/unit.out") passed, $(grep -c '^not ok ' "$T/unit.out") failed" \
	"[ $rc = 0 ] && grep -q '^ok .* torch_refused\$' '$T/unit.out'"
check "elsa read the hostile pickles and touched no $marker" "[ ! -e '$T/run/$marker' ] && [ ! -e '$T/fx/$marker' ]"
for f in evil-system evil-eval evil-eval-p4; do
	mkdir "$T/$f"
	(cd "$T/$f" && "$PY" -c 'import pickle, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
pickle.loads(z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0]))' "$T/fx/$f.bin") >/dev/null 2>&1
	check "control: Python's pickle.loads of $f.bin touches $marker" "[ -e '$T/$f/$marker' ]"
done
done_testing
