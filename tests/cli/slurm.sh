# elsa-sweep --slurm against a real Slurm: this test starts munged, a controller and one node on
# this machine (loopback, its own ports, key, state and spool folders in $T), submits the built-in
# study, waits for it, checks that its table is the one make -j gives for the same study (the
# runs are bit-identical whatever the thread count), that a rerun submits no run and that
# --status tells each run's state; then stops everything it started. Skipped, saying why, when
# Slurm or munge is not installed (scripts/deps installs them).
. "${ELSA_TOP:-.}/tests/lib.sh"
for p in munged slurmctld slurmd sbatch squeue sinfo; do
	if ! command -v $p >/dev/null && [ ! -x /usr/sbin/$p ]; then
		skip "elsa-sweep --slurm on a real Slurm" "$p is not installed (scripts/deps installs slurmctld, slurmd, munge)"
		done_testing
		exit
	fi
done
PATH=$PATH:/usr/sbin
D=$T/slurm
mkdir -p "$D/state" "$D/spool" "$D/munge"
chmod 700 "$D/munge"
stop() {
	for f in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 1
	rm -rf "$T"
}
trap stop EXIT
trap "exit 1" INT TERM HUP

# munge: a key of our own, its socket in $D
dd if=/dev/urandom of="$D/munge/key" bs=1024 count=1 2>/dev/null
chmod 400 "$D/munge/key"
munged --socket="$D/munge/sock" --key-file="$D/munge/key" --pid-file="$D/munge/munged.pid" \
	--log-file="$D/munge/log" --seed-file="$D/munge/seed" --force 2>"$D/munge/err"
check "munged starts" "[ -S '$D/munge/sock' ]"

port=$((20000 + $$ % 20000))
user=$(id -un)
cat >"$D/slurm.conf" <<EOT
ClusterName=elsatest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$D/munge/sock
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=elsa Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOT
export SLURM_CONF=$D/slurm.conf
slurmctld -i 2>"$D/ctld.err"
slurmd -N localhost 2>"$D/slurmd.err"
i=0
while [ $i -lt 100 ] && ! sinfo -h -o %t 2>/dev/null | grep -q idle; do sleep 0.2; i=$((i + 1)); done
check "a controller and one node are up" "sinfo -h -o %t | grep -q idle"

# The built-in study, submitted
mkdata --seed 3 --train 96 --dev 24 "$T/data" >/dev/null
mkmodel --layers 2 --hidden 16 --heads 2 --intermediate 32 --max-pos 128 --seed 4 "$T/model" >/dev/null
cat >"$T/study.yaml" <<EOT
model: model
data: data
tasks: [sst2, stsb]
frozen: [0, 1, 2]
lr: [1e-3]
seeds: [1, 2]
epochs: 1
batch: 8
max_len: 32
slurm:
  cpus_per_task: 1
EOT
cp "$T/study.yaml" "$T/here.yaml"
ok "--slurm --dry-run prints the sbatch lines" elsa-sweep --slurm --dry-run "$T/study.yaml"
check "... caches, then the array of every run after them, then the report after the runs" \
	"grep -q 'elsa-caches' '$T/.out' && grep -q -- '--array=1,2,3,4,5,6,7,8,9,10,11,12 --requeue --dependency=afterok:\\\$CACHES' '$T/.out' &&
	 grep -q -- 'elsa-report.*--dependency=afterany:\\\$RUNS' '$T/.out' && [ -z \"\$(squeue -h)\" ]"
ok "elsa-sweep --slurm submits the study" elsa-sweep --slurm "$T/study.yaml"
check "... as three jobs" "grep -q 'the caches: job' '$T/.err' && grep -q '12 runs: job array' '$T/.err' && grep -q 'the report: job' '$T/.err'"
i=0
while [ $i -lt 600 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.5; i=$((i + 1)); done
S=$T/study.sweep
check "the jobs end, and the report is written" "[ -z \"\$(squeue -h)\" ] && [ -s '$S/report.md' ]"
check "... every run by its array task, with its log in the sweep folder" \
	"[ \$(ls '$S'/runs/*/*/run.yaml | wc -l) -eq 12 ] && [ \$(ls '$S'/slurm/elsa-runs-*_*.out | wc -l) -eq 12 ]"
ok "the same study with make -j here" elsa-sweep -j 2 "$T/here.yaml"
sed -n '1,/fewest/p' "$S/report.md" >"$T/slurm.table"
sed -n '1,/fewest/p' "$T/here.sweep/report.md" >"$T/here.table"
same "Slurm's table is make's" "$T/slurm.table" "$T/here.table"
check "... which is not empty" "[ \$(wc -l <'$T/slurm.table') -eq 6 ]"

ok "a rerun of --slurm" elsa-sweep --slurm "$T/study.yaml"
check "... submits no run, only the report" "! grep -q 'job array' '$T/.err' && grep -q 'the report: job' '$T/.err'"
i=0
while [ $i -lt 200 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.5; i=$((i + 1)); done
rm -r "$S/runs/stsb/N1-lr0.001-seed2"
ok "--status" elsa-sweep --status "$S"
check "... tells each run's state" "grep -q '^missing  stsb/N1-lr0.001-seed2\$' '$T/.out' && grep -q '^done     sst2/N0-lr0.001-seed1\$' '$T/.out' &&
	grep -q '^12 runs: 11 done, 0 running, 0 failed, 1 missing' '$T/.out'"
ok "--slurm after a run was lost" elsa-sweep --slurm "$T/study.yaml"
check "... submits that run alone" "grep -q '1 run: job array' '$T/.err'"
i=0
while [ $i -lt 300 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.5; i=$((i + 1)); done
check "... which is done again" "[ -s '$S/runs/stsb/N1-lr0.001-seed2/run.yaml' ]"
# Caches in shards: a job for the token streams, an array of one job per shard, the joins.
sed 's/^slurm:$/shards: 2\nslurm:/' "$T/study.yaml" >"$T/sharded.yaml"
ok "a study with its caches in shards, on Slurm" elsa-sweep --slurm --sbatch-args "--nice=0" "$T/sharded.yaml"
check "... submits the token streams, the shards' array, the joins" "grep -q 'the caches: job' '$T/.err'"
i=0
while [ $i -lt 600 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.5; i=$((i + 1)); done
check "... whose shard jobs ran apart" "[ \$(ls '$T'/sharded.sweep/slurm/elsa-shards-*_*.out | wc -l) -eq 2 ] && [ -s '$T/sharded.sweep/cache/sst2/train.L2.2.zst' ]"
sed -n '1,/fewest/p' "$T/sharded.sweep/report.md" >"$T/sharded.table"
same "... and whose table is the same" "$T/sharded.table" "$T/here.table"
fails "--sbatch-args without --slurm" "--sbatch-args goes with --slurm" elsa-sweep --sbatch-args "--qos=x" "$T/study.yaml"
sed 's/cpus_per_task: 1/partiton: x/' "$T/study.yaml" >"$T/bad.yaml"
fails "a misspelt slurm setting" "bad.yaml: line 11: slurm: partiton is not a setting" elsa-sweep --slurm --dry-run "$T/bad.yaml"
done_testing
