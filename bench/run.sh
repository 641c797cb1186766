#!/usr/bin/env bash
# Arca's benchmarks (issue 15's figures), optionally side by side with a
# reference dockerd.
#
# Usage: bench/run.sh [--with-dockerd] [-n RUNS] [--rss-runs N] [--parallel N]
#                     [--scale "10 100 1000"] [--scale-ref-max N]
#                     [--log-mb MB] [--only LIST]
#                     [--build DIR]
#
# Both daemons run at the same time, each in a network namespace of its own
# with its default bridge, loaded with the same busybox fixture; timed
# figures alternate between them run by run (arca, dockerd, arca, ...) so
# the machine's noise falls on both alike.  Sections (--only, comma list):
#   run       docker run --rm busybox true: default bridge, --network none,
#             a user network; median and p99 of RUNS (default 30) each; and
#             the CLI's floor (the same command against bench/cli_floor.py)
#   exec      docker exec c true (median of RUNS), and the CLI's floor
#   startstop docker start of a created container, docker stop -t 0
#   mem       daemon RSS and PSS idle after N runs (--rss-runs, default 200; Arca is
#             restarted first, with the image in store), after
#             one 20 MB request (docker import, spooled to disk) and 5 s
#             later, after a 20 MB create body (held in memory) and its
#             removal and 5 s later; shim RSS/PSS
#   parallel  N parallel docker run --rm (--parallel, default 64), median of
#             3, and the daemon's RSS 5 s after them
#   logs      docker logs of a json-file log of MB MiB (--log-mb, default
#             1024) and logs -f of a container writing as fast as it can
#   scale     for each N of --scale: N containers (a third running, a third
#             exited, a third created): docker ps -a, the daemon's answer to
#             it alone (curl) and the CLI's floor (docker ps -a against
#             bench/cli_floor.py serving the same body), docker run --rm
#             (median of 10; what a runtime call costs as mounts grow), daemon RSS, and the
#             daemon's start-up after a kill -9 and after a clean stop, until
#             docker ps lists every running one again (re-adopted; dockerd
#             with --live-restore), and its RSS after that; dockerd only up
#             to --scale-ref-max containers
# Everything started here is stopped by PID; the temp dir is removed on exit.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=30 RSS_RUNS=200 PAR=64 SCALE="10 100 1000" SCALE_REF_MAX=1000000 LOG_MB=1024 WITH_DOCKERD=0
ONLY="run,exec,startstop,mem,parallel,logs,scale"
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) RUNS=$2; shift 2 ;;
    --rss-runs) RSS_RUNS=$2; shift 2 ;;
    --parallel) PAR=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --scale-ref-max) SCALE_REF_MAX=$2; shift 2 ;;
    --log-mb) LOG_MB=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
want() { [[ ",$ONLY," == *",$1,"* ]]; }

DAEMONS=(arca)
[ "$WITH_DOCKERD" = 0 ] || DAEMONS=(arca ref)
declare -A R     # R[daemon:figure] = value
FIGS=()          # figure keys in print order
declare -A LABEL UNIT TARGET
fig() { FIGS+=("$1"); LABEL[$1]=$2; UNIT[$1]=$3; TARGET[$1]=${4:-}; }
say() { echo "bench: $*" >&2; }

# ---- daemons ------------------------------------------------------------

# Arca in a network namespace of its own too (lib.sh's arca_bench_netns).
start_daemons() {
  arca_bench_netns || return 1
  arca_bench_start --log-level info || return 1
  if [ "$WITH_DOCKERD" = 1 ]; then
    ref_start --live-restore || return 1
  fi
}
daemon_pid() { if [ "$1" = arca ]; then arca_pid; else echo "$REF_PID"; fi; }
# daemon_rss D: the daemon's RSS in KiB; for dockerd, dockerd + containerd.
daemon_rss() {
  local pid
  pid=$(daemon_pid "$1")
  if [ "$1" = arca ]; then rss_kb "$pid"; return; fi
  echo $(( $(rss_kb "$pid" || echo 0) + $(rss_kb "$(ref_containerd_pid)" 2>/dev/null || echo 0) ))
}
# daemon_pss D: the same as PSS (shared pages divided among their users).
daemon_pss() {
  local pid
  pid=$(daemon_pid "$1")
  if [ "$1" = arca ]; then pss_kb "$pid"; return; fi
  echo $(( $(pss_kb "$pid" || echo 0) + $(pss_kb "$(ref_containerd_pid)" 2>/dev/null || echo 0) ))
}
# sock_of D: the daemon's API socket.
sock_of() { if [ "$1" = arca ]; then echo "$ARCA_T/arca.sock"; else echo "$B/ref/ref.sock"; fi; }
shim_name() { if [ "$1" = arca ]; then echo arca-shim; else echo containerd-shim-runc-v2; fi; }
scope_of() { if [ "$1" = arca ]; then echo "$B/arca"; else echo "$B/ref"; fi; }
rm_all() { local ids; ids=$(on "$1" docker ps -aq); [ -z "$ids" ] || on "$1" docker rm -f $ids >/dev/null 2>&1; }

# interleaved NAME N CMD...: CMD N times against each daemon, alternating;
# wall times (ms) in $B/NAME.<daemon>.
interleaved() {
  local name=$1 n=$2 i d
  shift 2
  for d in "${DAEMONS[@]}"; do : >"$B/$name.$d"; done
  for ((i = 0; i < n; i++)); do
    for d in "${DAEMONS[@]}"; do
      time_ms on "$d" "$@" >>"$B/$name.$d" || say "$name: $d run $i failed"
    done
  done
}
stats() { # stats NAME KEY: median and p99 of $B/NAME.<d> into R
  local d
  for d in "${DAEMONS[@]}"; do
    R[$d:$2]=$(median <"$B/$1.$d")
    R[$d:$2.p99]=$(p99 <"$B/$1.$d")
  done
}

# ---- sections -----------------------------------------------------------

sec_run() {
  local d
  fig run "docker run --rm busybox true, median" ms "<= 40 ms, <= 0.15"
  fig run.p99 "  p99" ms "<= 2x median"
  fig run_none "  --network none, median" ms "<= 40 ms, <= 0.15"
  fig run_none.p99 "  --network none, p99" ms "<= 2x median"
  fig run_user "  user network, median" ms "<= 40 ms, <= 0.15"
  fig run_user.p99 "  user network, p99" ms "<= 2x median"
  fig run_floor "  CLI floor: same command, trivial server" ms ""
  for d in "${DAEMONS[@]}"; do
    on "$d" docker network create benchnet >/dev/null || say "$d: network create failed"
    on "$d" docker run --rm busybox true >/dev/null # warm-up
  done
  say "run --rm x $RUNS (default bridge)"
  interleaved run "$RUNS" docker run --rm busybox true
  say "run --rm x $RUNS (--network none)"
  interleaved run_none "$RUNS" docker run --rm --network none busybox true
  say "run --rm x $RUNS (user network)"
  interleaved run_user "$RUNS" docker run --rm --network benchnet busybox true
  say "run --rm x $RUNS against the CLI floor (bench/cli_floor.py)"
  floor_start
  interleaved run_floor "$RUNS" floor_on docker run --rm busybox true
  floor_stop
  stats run run; stats run_none run_none; stats run_user run_user; stats run_floor run_floor
  for d in "${DAEMONS[@]}"; do on "$d" docker network rm benchnet >/dev/null; done
}

sec_exec() {
  local d
  fig exec "docker exec c true, median" ms "<= 0.3"
  fig exec_floor "  CLI floor: same command, trivial server" ms ""
  for d in "${DAEMONS[@]}"; do on "$d" docker run -d --name bench-exec busybox sleep 3600 >/dev/null; done
  say "exec x $RUNS"
  interleaved exec "$RUNS" docker exec bench-exec true
  say "exec x $RUNS against the CLI floor (bench/cli_floor.py)"
  floor_start
  interleaved exec_floor "$RUNS" floor_on docker exec bench-exec true
  floor_stop
  stats exec exec; stats exec_floor exec_floor
  for d in "${DAEMONS[@]}"; do on "$d" docker rm -f bench-exec >/dev/null; done
}

# start_stop: times one start then one stop -t 0 of its own created container.
sec_startstop() {
  local d i
  fig start "docker start (created container), median" ms "<= 0.3"
  fig stop "docker stop -t 0, median" ms "<= 0.3"
  for d in "${DAEMONS[@]}"; do
    for ((i = 0; i < RUNS; i++)); do on "$d" docker create --name "bench-ss-$i" busybox sleep 3600 >/dev/null; done
    : >"$B/start.$d"; : >"$B/stop.$d"
  done
  say "start / stop -t 0 x $RUNS"
  for ((i = 0; i < RUNS; i++)); do
    for d in "${DAEMONS[@]}"; do time_ms on "$d" docker start "bench-ss-$i" >>"$B/start.$d" || say "$d: start $i failed"; done
    for d in "${DAEMONS[@]}"; do time_ms on "$d" docker stop -t 0 "bench-ss-$i" >>"$B/stop.$d" || say "$d: stop $i failed"; done
  done
  stats start start; stats stop stop
  for d in "${DAEMONS[@]}"; do rm_all "$d"; done
}

# A 20 MB request: docker import of a 20 MiB tarball (one random file).
make_import_tar() {
  mkdir -p "$B/imp"
  head -c $((20 * 1024 * 1024)) /dev/urandom >"$B/imp/blob"
  tar -C "$B/imp" -cf "$B/import.tar" blob
}

sec_mem() {
  local d i pid spid id
  fig rss_idle "daemon RSS idle after $RSS_RUNS runs" MiB "<= 8 MiB"
  fig pss_idle "daemon PSS idle after $RSS_RUNS runs" MiB "<= 8 MiB"
  fig rss_20mb "daemon RSS right after a 20 MB request" MiB ""
  fig rss_20mb_5s "  5 s later" MiB "back to idle"
  fig rss_body "daemon RSS right after a 20 MB create body + rm" MiB ""
  fig rss_body_5s "  5 s later" MiB "back to idle"
  fig shim_rss "shim RSS, one container" MiB "<= 1 MiB"
  fig shim_pss "shim PSS, one container" MiB "<= 1 MiB"
  # Arca loads the tar library, the registry client and the DNS message
  # library at their first use (docs/design.md): the daemon that loaded the
  # busybox fixture at start-up is restarted, so that the idle figure is a
  # daemon's that started with its images in store and ran containers; the
  # import below then shows what loading the tar library adds.
  local done_runs=$(( $(cat "$B"/run*.arca 2>/dev/null | wc -l) ))
  if [ "${DAEMONS[0]}" = arca ]; then
    arca_restart --log-level info || { say "arca did not restart"; return 1; }
    done_runs=0
  fi
  say "$RSS_RUNS runs for the idle RSS (counting those above)"
  for ((i = done_runs; i < RSS_RUNS; i++)); do
    for d in "${DAEMONS[@]}"; do on "$d" docker run --rm busybox true >/dev/null; done
  done
  sleep 3
  for d in "${DAEMONS[@]}"; do
    R[$d:rss_idle]=$(kb_to_mib "$(daemon_rss "$d")")
    R[$d:pss_idle]=$(kb_to_mib "$(daemon_pss "$d")")
  done
  [ "${DAEMONS[0]}" = arca ] && say "arca idle: $(bench/memprobe.sh "$(arca_pid)" --by-file | tail -1)"
  make_import_tar
  for d in "${DAEMONS[@]}"; do
    on "$d" docker import "$B/import.tar" bench-import:20mb >/dev/null || say "$d: import failed"
    R[$d:rss_20mb]=$(kb_to_mib "$(daemon_rss "$d")")
  done
  sleep 5
  for d in "${DAEMONS[@]}"; do
    R[$d:rss_20mb_5s]=$(kb_to_mib "$(daemon_rss "$d")")
    on "$d" docker rmi bench-import:20mb >/dev/null
  done
  # A 20 MB body held in memory: a create with 700,000 Env entries (import
  # and load bodies are spooled to disk by both daemons), then its removal.
  /usr/bin/python3 -c "
import json
env = ['VAR%07d=xxxxxxxxxxx' % i for i in range(700000)]
print(json.dumps({'Image': 'busybox', 'Env': env, 'Cmd': ['true']}))" >"$B/big.json"
  for d in "${DAEMONS[@]}"; do
    id=$(curl -s --unix-socket "$(sock_of "$d")" -H 'Content-Type: application/json' \
      --data-binary @"$B/big.json" http://localhost/v1.41/containers/create | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
    [ -n "$id" ] || say "$d: the 20 MB create failed"
    [ -z "$id" ] || on "$d" docker rm -f "$id" >/dev/null
    R[$d:rss_body]=$(kb_to_mib "$(daemon_rss "$d")")
  done
  sleep 5
  for d in "${DAEMONS[@]}"; do R[$d:rss_body_5s]=$(kb_to_mib "$(daemon_rss "$d")"); done
  [ "${DAEMONS[0]}" = arca ] && say "arca after import: $(bench/memprobe.sh "$(arca_pid)" --by-file | tail -1)"
  for d in "${DAEMONS[@]}"; do
    id=$(on "$d" docker run -d busybox sleep 3600)
    sleep 2
    spid=$(find_pid "$(shim_name "$d")" "$id" || find_pid "$(shim_name "$d")" "${id:0:12}" ||
      find_pid "$(shim_name "$d")" "$(scope_of "$d")" || true)
    if [ -n "$spid" ]; then
      R[$d:shim_rss]=$(kb_to_mib "$(rss_kb "$spid")")
      R[$d:shim_pss]=$(kb_to_mib "$(pss_kb "$spid")")
    else
      say "$d: no shim process found"
    fi
    on "$d" docker rm -f "$id" >/dev/null
  done
}

sec_parallel() {
  local d i t0 t1
  fig par "$PAR parallel docker run --rm, median of 3" ms "<= 0.4"
  fig rss_par "daemon RSS 5 s after those $PAR clients" MiB "back to idle"
  say "$PAR parallel run --rm x 3 rounds"
  for d in "${DAEMONS[@]}"; do : >"$B/par.$d"; done
  for _ in 1 2 3; do
    for d in "${DAEMONS[@]}"; do
      local pids=()
      t0=$(now_us)
      for ((i = 0; i < PAR; i++)); do
        on "$d" docker run --rm busybox true >/dev/null 2>&1 &
        pids+=($!)
      done
      wait "${pids[@]}" # not a bare wait: the daemons are our children too
      t1=$(now_us)
      awk -v d=$((t1 - t0)) 'BEGIN { printf "%.0f\n", d / 1000 }' >>"$B/par.$d"
    done
  done
  for d in "${DAEMONS[@]}"; do R[$d:par]=$(median <"$B/par.$d"); done
  sleep 5
  for d in "${DAEMONS[@]}"; do R[$d:rss_par]=$(kb_to_mib "$(daemon_rss "$d")"); done
  [ "${DAEMONS[0]}" = arca ] && say "arca after $PAR parallel clients: $(bench/memprobe.sh "$(arca_pid)")"
}

sec_logs() {
  local d id t0 t1 bytes=$((LOG_MB * 1024 * 1024))
  # 99 bytes of text and a newline per line, as fast as busybox can.
  local writer="yes 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' | head -c $bytes"
  fig logs "docker logs, $LOG_MB MiB json-file log" "MiB/s" ">= 2x"
  fig logs_f "docker logs -f, container writing $LOG_MB MiB" "MiB/s" ">= 2x"
  for d in "${DAEMONS[@]}"; do
    say "$d: logs -f of a container writing $LOG_MB MiB"
    id=$(on "$d" docker create busybox sh -c "$writer")
    t0=$(now_us)
    on "$d" docker start "$id" >/dev/null
    on "$d" docker logs -f "$id" >/dev/null 2>&1
    t1=$(now_us)
    R[$d:logs_f]=$(awk -v b=$bytes -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", b / 1048576 / (d / 1e6) }')
    on "$d" docker wait "$id" >/dev/null
    say "$d: docker logs of that ${LOG_MB} MiB log"
    t0=$(now_us)
    on "$d" docker logs "$id" >/dev/null 2>&1
    t1=$(now_us)
    R[$d:logs]=$(awk -v b=$bytes -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", b / 1048576 / (d / 1e6) }')
    on "$d" docker rm -f "$id" >/dev/null
  done
}

# running_listed D: how many containers GET /containers/json (docker ps)
# lists, -1 while the daemon does not answer.
running_listed() {
  local out
  out=$(curl -s --max-time 5 --unix-socket "$(sock_of "$1")" http://localhost/v1.41/containers/json 2>/dev/null) &&
    [ "${out:0:1}" = "[" ] || { echo -1; return; }
  grep -o '"Id":' <<<"$out" | wc -l
}

# restart_daemon D SIG WANT: stop the daemon with SIG (TERM: a clean stop;
# KILL: a crash), start it again; RESTART_MS = the ms from the start until
# `docker ps` lists WANT running containers (its running ones re-adopted).
# Both leave containers running (Arca always; dockerd with --live-restore).
# Not in a $(...) subshell: the daemons are this shell's children (reaped
# here, or dockerd takes its zombie for a daemon still running) and
# REF_PID must change here.
restart_daemon() {
  local d=$1 sig=$2 want=$3 t0 t1 i pid cpid=""
  pid=$(daemon_pid "$d")
  [ "$d" = ref ] && cpid=$(ref_containerd_pid)
  kill "-$sig" "$pid"
  wait_pid_gone "$pid" 60
  wait "$pid" 2>/dev/null # ours: reaped here, not reported as "Killed"
  # dockerd's containerd dies with it (Pdeathsig) and stays a zombie until
  # init reaps it; dockerd would take it for a containerd still running
  # and wait for its socket until it gives up
  for ((i = 0; i < 200; i++)); do
    [ -n "$cpid" ] && [ "$(awk '{ print $3 }' "/proc/$cpid/stat" 2>/dev/null)" = Z ] || break
    sleep 0.05
  done
  if [ "$d" = arca ]; then
    rm -f "$ARCA_T/daemon.pid"
    t0=$(now_us)
    # as arca_start, without its 100 ms /_ping polling
    "$ARCA_BIN" daemon start --socket-path "$ARCA_T/arca.sock" --data-root "$ARCA_T/data" \
      --exec-root "$ARCA_T/exec" --config "$ARCA_T/config.json" --log-level info \
      </dev/null >>"$ARCA_T/daemon.log" 2>&1 3>&- &
    echo $! >"$ARCA_T/daemon.pid"
  else
    local cpid R_=$B/ref
    # A containerd on its way out (a clean stop ends it) must be gone,
    # zombie included, for the reason above; the shims stay.
    if cpid=$(ref_containerd_pid); then
      kill -TERM "$cpid" 2>/dev/null
      for ((i = 0; i < 600; i++)); do [ -e "/proc/$cpid" ] || break; sleep 0.05; done
    fi
    t0=$(now_us)
    nsenter --net="/run/netns/$REF_NS" \
      dockerd --host "$REF_HOST" --data-root "$R_/data" --exec-root "$R_/exec" \
      --pidfile "$R_/ref.pid" --containerd-namespace arca-bench \
      --containerd-plugins-namespace arca-bench-plugins --live-restore \
      </dev/null >>"$R_/dockerd.log" 2>&1 3>&- &
    REF_PID=$!
  fi
  pid=$(daemon_pid "$d")
  for ((i = 0; i < 6000; i++)); do
    [ "$(running_listed "$d")" -ge "$want" ] && break
    pid_alive "$pid" || { say "$d: the daemon exited during its start-up"; break; }
    sleep 0.02
  done
  t1=$(now_us)
  RESTART_MS=-
  [ "$(running_listed "$d")" -ge "$want" ] || { say "$d: $want running not listed after restart"; return; }
  RESTART_MS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.0f\n", d / 1000 }')
}

# grow D FROM TO: containers sc-FROM .. sc-(TO-1) on D, four at a time
# (set-up, not timed): i % 3 == 0 running (sleep 3600), 1 exited, 2 created.
grow() {
  local d=$1 from=$2 to=$3 i
  for ((i = from; i < to; i++)); do
    case $((i % 3)) in
      0) echo "run -d --name sc-$i busybox sleep 3600" ;;
      1) echo "run -d --name sc-$i busybox true" ;;
      2) echo "create --name sc-$i busybox true" ;;
    esac
  done | on "$d" xargs -P 4 -L 1 docker >/dev/null 2>"$B/grow.$d.err" ||
    say "$d: some containers of $from..$to failed: $(head -c 300 "$B/grow.$d.err")"
}

# api_times NAME N: GET /containers/json?all=1 N times against each
# daemon, alternating; curl's own time_total (connect to last byte, without
# curl's start-up) in ms in $B/NAME.<daemon>.  API 1.41, the newest
# dockerd 20.10 speaks.
api_times() {
  local name=$1 n=$2 i d
  for d in "${DAEMONS[@]}"; do : >"$B/$name.$d"; done
  for ((i = 0; i < n; i++)); do
    for d in "${DAEMONS[@]}"; do
      curl -sf -o /dev/null -w '%{time_total}\n' --max-time 30 --unix-socket "$(sock_of "$d")" \
        'http://localhost/v1.41/containers/json?all=1' | awk '{ printf "%.2f\n", $1 * 1000 }' >>"$B/$name.$d" ||
        say "$name: $d run $i failed"
    done
  done
}
# The docker CLI's floor: bench/cli_floor.py answers the CLI's requests
# at once, as a daemon whose work took no time would, so the CLI timed
# against it is the CLI alone.  floor_start [BODY]: one server per daemon,
# serving BODY_CMD's output (run against that daemon) as the list of
# `docker ps -a`; floor_on CMD...: CMD against the current daemon's server.
FLOOR_PIDS=()
floor_start() {
  local d i
  for d in "${DAEMONS[@]}"; do
    if [ -n "${1:-}" ]; then on "$d" "$1" >"$B/floor.$d.json"; else echo '[]' >"$B/floor.$d.json"; fi
    python3 "$repo/bench/cli_floor.py" "$B/floor.$d.sock" "$B/floor.$d.json" 1.41 </dev/null 3>&- &
    FLOOR_PIDS+=($!)
    for ((i = 0; i < 100; i++)); do [ -S "$B/floor.$d.sock" ] && break; sleep 0.05; done
  done
}
list_api_body() {
  curl -sf --max-time 30 --unix-socket "${DOCKER_HOST#unix://}" 'http://localhost/v1.41/containers/json?all=1'
}
floor_on() { DOCKER_HOST="unix://$B/floor.$(floor_of_host).sock" "$@"; }
floor_of_host() { if [ "$DOCKER_HOST" = "$ARCA_HOST" ]; then echo arca; else echo ref; fi; }
floor_stop() {
  local p
  for p in "${FLOOR_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  FLOOR_PIDS=()
  rm -f "$B"/floor.*.sock
}
bench_on_exit floor_stop

sec_scale() {
  local n d running prev=0 ds
  for n in $SCALE; do
    running=$(( (n + 2) / 3 ))
    fig "ps_$n" "docker ps -a, $n containers" ms "$([ "$n" -ge 1000 ] && echo "<= 60 ms")"
    fig "api_ps_$n" "- the daemon's answer alone (curl)" ms ""
    fig "floor_ps_$n" "- CLI floor: same body, trivial server" ms ""
    fig "run_$n" "docker run --rm busybox true, $n containers" ms ""
    fig "rss_$n" "daemon RSS, $n containers ($running running)" MiB "$([ "$n" -ge 1000 ] && echo "<= 25 MiB")"
    fig "kill9_$n" "start-up after kill -9, $running re-adopted" ms "$([ "$running" -ge 300 ] && echo "<= 2 s (500 running)")"
    fig "term_$n" "start-up after a clean stop, $running running" ms ""
    fig "rss_re_$n" "daemon RSS after those restarts" MiB ""
  done
  for n in $SCALE; do
    ds=()
    for d in "${DAEMONS[@]}"; do
      [ "$d" = ref ] && [ "$n" -gt "$SCALE_REF_MAX" ] && continue
      ds+=("$d")
    done
    running=$(( (n + 2) / 3 ))
    for d in "${ds[@]}"; do
      say "scale: $d growing to $n containers"
      grow "$d" "$prev" "$n"
    done
    prev=$n
    sleep 3
    DAEMONS_ALL=("${DAEMONS[@]}")
    DAEMONS=("${ds[@]}")
    interleaved "ps_$n" 10 docker ps -a
    interleaved "run_$n" 10 docker run --rm busybox true
    api_times "api_ps_$n" 20
    floor_start list_api_body
    interleaved "floor_ps_$n" 10 floor_on docker ps -a
    floor_stop
    DAEMONS=("${DAEMONS_ALL[@]}")
    for d in "${ds[@]}"; do
      R[$d:ps_$n]=$(median <"$B/ps_$n.$d")
      R[$d:api_ps_$n]=$(median <"$B/api_ps_$n.$d")
      R[$d:floor_ps_$n]=$(median <"$B/floor_ps_$n.$d")
      R[$d:run_$n]=$(median <"$B/run_$n.$d")
      R[$d:rss_$n]=$(kb_to_mib "$(daemon_rss "$d")")
      [ "$d" = arca ] && say "arca: $(bench/memprobe.sh "$(arca_pid)")"
      say "$d: kill -9 and start with $n containers"
      restart_daemon "$d" KILL "$running"
      R[$d:kill9_$n]=$RESTART_MS
      sleep 2
      say "$d: clean stop and start with $n containers"
      restart_daemon "$d" TERM "$running"
      R[$d:term_$n]=$RESTART_MS
      sleep 3
      R[$d:rss_re_$n]=$(kb_to_mib "$(daemon_rss "$d")")
    done
  done
  for d in "${DAEMONS[@]}"; do rm_all "$d"; done
}

# ---- main ---------------------------------------------------------------

start_daemons || { say "daemons did not start"; exit 1; }
for s in run exec startstop mem parallel logs scale; do
  if want "$s"; then "sec_$s" || say "section $s failed"; fi
done

commit=$(git -C "$repo" rev-parse --short HEAD)
echo
echo "Arca benchmark ($(date -u '+%F %H:%M') UTC, commit $commit, $ARCA_BIN_REAL, $(nproc) CPUs, $RUNS runs; dockerd $(dockerd --version 2>/dev/null | awk '{ print $3 }' | tr -d ,) + containerd, --live-restore)"
if [ "$WITH_DOCKERD" = 1 ]; then
  printf '| %-46s | %9s | %9s | %6s | %-22s |\n' figure arca dockerd ratio target
  printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "-----------" "-----------" "--------" "------------------------"
else
  printf '| %-46s | %9s | %-22s |\n' figure arca target
fi
for f in "${FIGS[@]}"; do
  a=${R[arca:$f]:--}
  if [ "$WITH_DOCKERD" = 1 ]; then
    b=${R[ref:$f]:--}
    printf '| %-46s | %9s | %9s | %6s | %-22s |\n' "${LABEL[$f]} (${UNIT[$f]})" "$a" "$b" "$(ratio "$a" "$b")" "${TARGET[$f]}"
  else
    printf '| %-46s | %9s | %-22s |\n' "${LABEL[$f]} (${UNIT[$f]})" "$a" "${TARGET[$f]}"
  fi
done
echo "(ratio = arca / dockerd: below 1 is faster or smaller for time and memory; for MiB/s above 1 is faster)"
exit 0
