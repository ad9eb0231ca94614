# Threads that share a machine (issue 22): the default thread count is the CPUs the process may
# use (its affinity mask, its cgroup's CPU quota), in the tools and in elsa-sweep's jobs; a tool
# computing on several threads waits passively (it runs itself again with
# OMP_WAIT_POLICY=passive, before reading its input), unless the user chose a wait policy.
. "${ELSA_TOP:-.}/tests/lib.sh"
E=$TOP/tests/fixtures/evaluate
unset ELSA_THREADS

mkmodel --hidden 32 --heads 2 --layers 2 --max-pos 128 "$T/m" >/dev/null
elsa-tokenize -m "$T/m" -t stsb "$E/stsb.gold.tsv" | elsa-embed -m "$T/m" -j 1 >"$T/l0"
cpus=$(nproc)
threads_of() { sed -n 's/^threads: //p' "$1"; }

elsa-encode -m "$T/m" --to 1 --stats "$T/all" "$T/l0" >/dev/null
check "no -j, no ELSA_THREADS: as many threads as usable CPUs ($cpus)" "[ \"\$(threads_of '$T/all')\" = $cpus ]"
if command -v taskset >/dev/null && [ "$cpus" -gt 1 ]; then
	taskset -c 0 elsa-encode -m "$T/m" --to 1 --stats "$T/one" "$T/l0" >/dev/null
	check "taskset -c 0: one thread" "[ \"\$(threads_of '$T/one')\" = 1 ]"
	taskset -c 0 elsa-train -m "$T/m" -t stsb --train "$T/l0" -o "$T/run" --max-steps 2 --batch 8 2>/dev/null
	check "taskset -c 0 elsa-train: run.yaml records threads: 1" "grep -q '^  threads: 1$' '$T/run/run.yaml'"
	printf 'model: %s\ntasks: [stsb]\nfrozen: [1]\nlr: [1e-4]\nseeds: [1]\nepochs: 1\n' "$T/m" >"$T/study.yaml"
	mkdir -p "$T/glue/STS-B" && cp "$E/stsb.gold.tsv" "$T/glue/STS-B/train.tsv" && cp "$E/stsb.gold.tsv" "$T/glue/STS-B/dev.tsv"
	echo "data: $T/glue" >>"$T/study.yaml"
	(cd "$T" && taskset -c 0 elsa-sweep -q --dry-run -o "$T/sw" "$T/study.yaml" >/dev/null 2>"$T/err")
	check "taskset -c 0 elsa-sweep: its jobs get one thread" "grep -q '^export ELSA_THREADS = 1$' '$T/sw/Makefile'"
else
	skip "taskset: one thread" "no taskset, or one CPU"
	skip "taskset elsa-train" "no taskset, or one CPU"
	skip "taskset elsa-sweep" "no taskset, or one CPU"
fi

# A cgroup (v1 or v2) allowing half a CPU's time: one thread. Needs a cgroup this test may make.
cg=
for d in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup; do
	[ -w "$d" ] && [ -e "$d/cgroup.procs" ] || continue
	cg=$d/elsa-test-$$
	mkdir "$cg" 2>/dev/null || { cg=; continue; }
	if [ -e "$cg/cpu.cfs_quota_us" ]; then echo 50000 >"$cg/cpu.cfs_quota_us"; else echo "50000 100000" >"$cg/cpu.max"; fi 2>/dev/null || { rmdir "$cg"; cg=; continue; }
	break
done
if [ -n "$cg" ] && [ "$cpus" -gt 1 ]; then
	sh -c "echo \$\$ >'$cg/cgroup.procs' && exec elsa-encode -m '$T/m' --to 1 --stats '$T/quota' '$T/l0'" >/dev/null
	check "a cgroup quota of half a CPU: one thread" "[ \"\$(threads_of '$T/quota')\" = 1 ]"
	rmdir "$cg"
else
	skip "a cgroup quota of half a CPU" "no writable cgroup CPU controller here, or one CPU"
fi

# The wait policy, read from a tool blocked on its input (a fifo): /proc/PID/environ.
# policy_of ARGS...: the OMP_WAIT_POLICY elsa-encode ARGS runs under ("" for none).
policy_of() {
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	exec 3<>"$T/fifo"
	"$@" elsa-encode -m "$T/m" --to 1 "$T/fifo" >"$T/out" 2>"$T/err" 3>&- &
	_pid=$! _i=0
	while [ $_i -lt 100 ] && [ "$(cut -d' ' -f3 "/proc/$_pid/stat" 2>/dev/null)" != S ]; do sleep 0.05; _i=$((_i + 1)); done
	sleep 0.2
	tr '\0' '\n' <"/proc/$_pid/environ" | sed -n 's/^OMP_WAIT_POLICY=//p'
	tr '\0' ' ' <"/proc/$_pid/cmdline" >"$T/cmdline"
	cat "$T/l0" >&3
	exec 3>&-
	wait $_pid
}
if [ "$cpus" -gt 1 ] && [ -r /proc/self/environ ]; then
	got=$(policy_of env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT)
	check "two threads, no policy set: the tool waits passively (was '$got')" "[ '$got' = passive ]"
	check "... with its arguments as given" "[ \"\$(cat '$T/cmdline')\" = 'elsa-encode -m $T/m --to 1 $T/fifo ' ] || grep -q 'elsa-encode -m $T/m --to 1 $T/fifo ' '$T/cmdline'"
	elsa-encode -m "$T/m" --to 1 "$T/l0" >"$T/direct"
	same "... and the stream it writes is the same" "$T/out" "$T/direct"
	got=$(policy_of env OMP_WAIT_POLICY=active)
	check "OMP_WAIT_POLICY=active set by the user stands (was '$got')" "[ '$got' = active ]"
	got=$(policy_of env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000)
	check "GOMP_SPINCOUNT set by the user: no policy added (was '$got')" "[ -z '$got' ]"
	got=$(policy_of env -u OMP_WAIT_POLICY ELSA_THREADS=1)
	check "one thread: nothing to wait for, run once as it is (was '$got')" "[ -z '$got' ]"
else
	skip "the wait policy" "one CPU, or no /proc"
fi
done_testing
