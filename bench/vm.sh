#!/usr/bin/env bash
# VM isolation (issue 16) beside namespace isolation, on one fresh Arca daemon:
#   - start-to-exit latency of `docker run --rm [--isolation vm] busybox true`
#     (median of N runs, around the docker CLI);
#   - the VM's boot phases, from the shim's boot.json of each VM run: QEMU
#     spawned -> agent's HELLO (inside: kernel start -> agent, modules,
#     channel), HELLO -> READY (the container's root and network set up),
#     READY -> the process started;
#   - memory per running container: host RSS of QEMU + its shim for a VM
#     container, of the shim + the container's process for a namespace one,
#     and the VM's cgroup usage (what docker stats shows).
# The accelerator is the daemon's choice (vm.accelerator auto: KVM where a
# guest boots under it, TCG otherwise), printed with the figures, so the
# same script gives the KVM figures on a host where KVM works.
# Usage: bench/vm.sh [-n RUNS] [--vm-runs N] [--build DIR]
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS=5 VM_RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    -n) RUNS=$2; shift 2 ;;
    --vm-runs) VM_RUNS=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
ARCA_DOCKER_TIMEOUT=600
ARCA_START_TIMEOUT=20
command -v qemu-system-x86_64 >/dev/null || { echo "bench: qemu-system-x86_64 not installed (scripts/setup.sh)" >&2; exit 1; }

# Private (anonymous) part: the RSS less the files mapped, which VMs share
# through the page cache (QEMU keeps the guest kernel image mapped).
anon_kb() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# sum_kb READER PID...: READER's KiB (rss_kb, anon_kb) summed over the PIDs.
sum_kb() {
  local reader=$1 t=0 p v
  shift
  for p in "$@"; do
    v=$("$reader" "$p")
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# The shim of container ID: the arca-shim whose command line names it.
shim_pid() { find_pid arca-shim "--id $1 "; }

# time_runs N ARGS...: median ms of `docker run --rm ARGS busybox true`.
time_runs() {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do
    time_ms docker run --rm "$@" busybox true || { echo "bench: docker run $* failed" >&2; return 1; }
  done | median
}

arca_bench_start || exit 1

# The first VM start probes the accelerator (a boot under KVM with a
# timeout): keep it out of the figures.
docker run --rm --isolation vm busybox true >/dev/null || { echo "bench: the first VM run failed" >&2; exit 1; }
accel=$(docker info -f '{{json .SecurityOptions}}' | sed -n 's/.*name=vm,accelerator=\([a-z]*\).*/\1/p')
docker run --rm busybox true >/dev/null

ns_ms=$(time_runs "$RUNS")
vm_ms=$(time_runs "$VM_RUNS" --isolation vm)

# Boot phases: VM runs kept until their boot.json is read.
phases=$ARCA_T/phases
for ((i = 0; i < VM_RUNS; i++)); do
  id=$(docker run -d --isolation vm busybox true) || exit 1
  docker wait "$id" >/dev/null
  cat "$ARCA_T/exec/containers/$id/boot.json" >>"$phases" && echo >>"$phases"
  docker rm "$id" >/dev/null
done
phase() { # median of a boot.json field (ms)
  python3 -c '
import json, sys
key = sys.argv[1]
for line in open(sys.argv[2]):
    if not line.strip(): continue
    j = json.loads(line)
    g = j.get("guest_ns_since_boot", {})
    v = j.get(key) if key in j else g.get(key, 0) / 1e6
    print(int(round(v)))' "$1" "$phases" | median
}

# Memory: one long-running container of each kind, a few seconds after start.
vm=$(docker run -d --isolation vm busybox sleep 3600) || exit 1
ns=$(docker run -d busybox sleep 3600) || exit 1
sleep 3
qemu=$(docker inspect -f '{{.State.Pid}}' "$vm")
vm_shim=$(shim_pid "$vm")
ns_pid=$(docker inspect -f '{{.State.Pid}}' "$ns")
ns_shim=$(shim_pid "$ns")
vm_rss=$(sum_kb rss_kb "$qemu" "$vm_shim")
ns_rss=$(sum_kb rss_kb "$ns_pid" "$ns_shim")
vm_anon=$(sum_kb anon_kb "$qemu" "$vm_shim")
ns_anon=$(sum_kb anon_kb "$ns_pid" "$ns_shim")
vm_stats=$(docker stats --no-stream --format '{{.MemUsage}}' "$vm" | cut -d/ -f1)
ns_stats=$(docker stats --no-stream --format '{{.MemUsage}}' "$ns" | cut -d/ -f1)
docker rm -f "$vm" "$ns" >/dev/null

printf '\nVM isolation beside namespaces (%s, accelerator %s, %d CPUs)\n\n' "$(date -u +%F)" "${accel:-?}" "$(nproc)"
printf '| figure | namespaces | VM |\n|---|---|---|\n'
printf '| `docker run --rm busybox true`, median ms | %s (n=%d) | %s (n=%d) |\n' "$ns_ms" "$RUNS" "$vm_ms" "$VM_RUNS"
printf '| host RSS of the container: shim + process / shim + QEMU, KiB | %s | %s |\n' "$ns_rss" "$vm_rss"
printf '| of which anonymous (not shared through the page cache), KiB | %s | %s |\n' "$ns_anon" "$vm_anon"
printf '| docker stats memory (the container'"'"'s cgroup) | %s | %s |\n' "$ns_stats" "$vm_stats"
printf '\nGuest boot phases (median ms of %d runs)\n\n' "$VM_RUNS"
printf '| phase | ms |\n|---|---|\n'
printf '| QEMU spawned -> agent HELLO | %s |\n' "$(phase spawn_to_hello_ms)"
printf '| in the guest: kernel start -> agent (PID 1) | %s |\n' "$(phase agent)"
printf '| in the guest: kernel start -> modules loaded | %s |\n' "$(phase modules)"
printf '| in the guest: kernel start -> channel open | %s |\n' "$(phase channel)"
printf '| HELLO -> READY (root, mounts, network, cgroup) | %s |\n' "$(phase hello_to_ready_ms)"
printf '| READY -> the process runs | %s |\n' "$(phase ready_to_started_ms)"
