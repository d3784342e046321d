# shellcheck shell=bash
# Shared process management for the bench/*.sh scripts; source it, do not run it:
#   # shellcheck source=SCRIPTDIR/lib/common.sh
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# 127.0.0.1 only. Every loop is bounded in count and time, and processes are stopped only by
# the PIDs the sourcing script started (never by name). The functions read and set these
# globals of the sourcing script: TMP (its temp dir), PID (the system running now, or ""),
# TARGETS_PID and BASE_PORT (scrape_targets), STOP_RC (the last stop_pid's exit status).

# build_dir_arg ARG...: the script's arguments must be one existing directory, the build; BUILD
# becomes its absolute path. Otherwise "usage: SCRIPT BUILD_DIR" and exit 2.
# shellcheck disable=SC2034  # BUILD is read by the sourcing script.
build_dir_arg() {
  if [[ $# -ne 1 || ! -d "$1" ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
  fi
  BUILD=$(cd "$1" && pwd)
}

# require_bins BUILD NAME...: exit 2 unless every BUILD/NAME is executable; the message names
# the ninja targets to build (ember's is ember_bin).
require_bins() {
  local build=$1 name targets=()
  shift
  for name in "$@"; do
    [[ $name == ember ]] && targets+=(ember_bin) || targets+=("$name")
  done
  for name in "$@"; do
    [[ -x "$build/$name" ]] || { echo "$build/$name is missing: build it first (ninja -C $build ${targets[*]})" >&2; exit 2; }
  done
}

# require_prometheus PATH: exit 2 unless PATH (a Prometheus binary) is executable.
require_prometheus() {
  [[ -x "$1" ]] || { echo "$1 not found: apt-get install prometheus" >&2; exit 2; }
}

# require_tools TOOL...: exit 2 unless every TOOL is on PATH (each is also its Debian package).
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install $tool" >&2; exit 2; }
  done
}

# bench_tmp NAME: TMP becomes a fresh temp dir ($TMPDIR or /tmp, NAME.XXXXXX), and the traps are
# set: on exit, the script's stop_started function (when it has one: it stops what the script
# started, by PID) and then rm -rf $TMP; on SIGINT or SIGTERM, exit 130 (which runs the former).
# Set the PID variables stop_started reads before calling this.
bench_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap bench_exit EXIT
  trap 'exit 130' INT TERM
}

# bench_exit: the EXIT trap bench_tmp sets.
bench_exit() {
  if declare -F stop_started >/dev/null; then stop_started; fi
  rm -rf "$TMP"
}

# stop_pid PID: stops a process this script started: SIGTERM, up to 60 s (600 x 0.1 s), then
# SIGKILL; reaps it and prints its exit status to stderr, which is also left in STOP_RC.
# Returns 0; an empty PID is a no-op (STOP_RC=0).
# shellcheck disable=SC2034  # STOP_RC is read by the sourcing script.
stop_pid() {
  local pid=$1 i rc=0
  STOP_RC=0
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  pid $pid still running 60 s after SIGTERM: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  echo "  stopped pid $pid (exit status $rc)" >&2
  STOP_RC=$rc
}

# stop_pids PID...: stop_pid on each non-empty PID, in order.
stop_pids() {
  local p
  for p in "$@"; do [[ -n $p ]] && stop_pid "$p"; done
  return 0
}

# stop_system: stop_pid on the running system ($PID), which is cleared first.
stop_system() {
  local p=$PID
  PID=""
  stop_pid "$p"
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: prints a port nothing listens on (random in 20000-59999; tries 50).
free_port() {
  local i p
  for ((i = 0; i < 50; i++)); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

# free_range N: prints a base port with N free ports from it on (tries 20 random bases in
# 20000-58999).
free_range() {
  local n=$1 i j p ok
  for ((i = 0; i < 20; i++)); do
    p=$((20000 + RANDOM % 39000))
    ok=1
    for ((j = 0; j < n; j++)); do
      port_free $((p + j)) || { ok=0; break; }
    done
    if ((ok)); then echo "$p"; return 0; fi
  done
  echo "no free range of $n ports found" >&2
  return 1
}

# wait_ready PID PORT PATH LOG: up to 120 s (1200 x 0.1 s) for http://127.0.0.1:PORT/PATH to
# answer 2xx; returns 1 (with LOG's tail on stderr) when PID dies or time runs out.
wait_ready() {
  local i
  for ((i = 0; i < 1200; i++)); do
    if curl -sf -o /dev/null "http://127.0.0.1:$2$3"; then return 0; fi
    kill -0 "$1" 2>/dev/null || { echo "process $1 died; log:" >&2; tail -20 "$4" >&2; return 1; }
    sleep 0.1
  done
  echo "not ready after 120 s; log:" >&2
  tail -20 "$4" >&2
  return 1
}

# start_system PORT LOG CMD...: starts CMD in the background (stdout and stderr to LOG), sets
# PID to it and waits (wait_ready) until 127.0.0.1:PORT/-/ready answers.
start_system() {
  local port=$1 log=$2
  shift 2
  "$@" > "$log" 2>&1 &
  PID=$!
  wait_ready "$PID" "$port" /-/ready "$log"
}

# start_prometheus_receiver PROMETHEUS PORT: start_system for Prometheus as a remote-write
# receiver that scrapes nothing, on $TMP/prometheus (config $TMP/prometheus.yml, log
# $TMP/prometheus.log).
start_prometheus_receiver() {
  cat > "$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 15s
scrape_configs: []
YAML
  start_system "$2" "$TMP/prometheus.log" \
    "$1" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prometheus" \
    --web.listen-address="127.0.0.1:$2" --web.enable-remote-write-receiver
}

# start_scrape_targets BUILD N SERIES: BUILD/scrape_targets serving N targets of SERIES series
# on N free ports from BASE_PORT (set here), log $TMP/targets.log; sets TARGETS_PID and waits up
# to 30 s (300 x 0.1 s) for its "ready" line; exits 1 when it dies or is not ready by then.
start_scrape_targets() {
  local i
  BASE_PORT=$(free_range "$2")
  "$1/scrape_targets" --targets="$2" --series="$3" --base_port="$BASE_PORT" \
    > "$TMP/targets.log" 2>&1 &
  TARGETS_PID=$!
  for ((i = 0; i < 300; i++)); do
    grep -q '^ready' "$TMP/targets.log" && break
    kill -0 "$TARGETS_PID" 2>/dev/null || { cat "$TMP/targets.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready' "$TMP/targets.log" || { echo "scrape_targets not ready" >&2; exit 1; }
}

# status_kb PID FIELD: a /proc/PID/status field's number (VmRSS, VmHWM: kB; Threads); prints
# nothing when PID is gone.
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# ms_to_s MS: Unix milliseconds as seconds with 3 decimals.
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
