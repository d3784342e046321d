#!/usr/bin/env bash
# The cost of scraping: Ember (`ember serve --config_file`) and Prometheus 2.42 (Debian's
# /usr/bin/prometheus) scraping the same fake targets (bench/scrape_targets.cc), on 127.0.0.1
# only. One system at a time, each on a fresh temp data directory with the same generated
# config (one job, every target, scrape_interval 15s, no self-scrape, no rules), each stopped
# by its PID (SIGTERM, then SIGKILL after 60 s).
#
#   bench/scrape_overhead.sh BUILD_DIR     (builds nothing: needs BUILD_DIR/ember and
#                                           BUILD_DIR/scrape_targets)
#
# Knobs (environment): TARGETS=100, SERIES=1000 (per target), DURATION=120 (seconds measured),
# WARMUP=30 (seconds after start before measuring), PROMETHEUS=/usr/bin/prometheus.
#
# Prints, per system: CPU seconds (utime + stime from /proc/PID/stat) over the measured window
# and as cores (CPU seconds / window), VmRSS and VmHWM at the end of the window, samples per
# scrape round (sum(scrape_samples_scraped)), targets up (count(up)), samples ingested over the
# window (sum(sum_over_time(scrape_samples_scraped[window]))) and CPU microseconds per sample;
# then Ember/Prometheus ratios.
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1" ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
TARGETS=${TARGETS:-100}
SERIES=${SERIES:-1000}
DURATION=${DURATION:-120}
WARMUP=${WARMUP:-30}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

for bin in "$BUILD/ember" "$BUILD/scrape_targets"; do
  [[ -x "$bin" ]] || { echo "$bin is missing: build it first (ninja -C $BUILD ember_bin scrape_targets)" >&2; exit 2; }
done
[[ -x "$PROMETHEUS" ]] || { echo "$PROMETHEUS not found: apt-get install prometheus" >&2; exit 2; }
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install $tool" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scrape-overhead.XXXXXX")
PID=""          # The system running now.
TARGETS_PID=""  # scrape_targets.
CLK_TCK=$(getconf CLK_TCK)

# stop_pid PID: SIGTERM, up to 60 s, then SIGKILL; reaps it.
stop_pid() {
  local pid=$1 i rc=0
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
}

cleanup() {
  local p=$PID t=$TARGETS_PID
  PID=""
  TARGETS_PID=""
  stop_pid "$p"
  stop_pid "$t"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on (random in 20000-59999; tries 50).
free_port() {
  local i p
  for ((i = 0; i < 50; i++)); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

# A base port with TARGETS free ports after it (tries 20 random bases in 20000-59000).
free_range() {
  local i j p ok
  for ((i = 0; i < 20; i++)); do
    p=$((20000 + RANDOM % 39000))
    ok=1
    for ((j = 0; j < TARGETS; j++)); do
      port_free $((p + j)) || { ok=0; break; }
    done
    if ((ok)); then echo "$p"; return 0; fi
  done
  echo "no free range of $TARGETS ports found" >&2
  return 1
}

# wait_ready PID PORT PATH LOG: up to 120 s for 200.
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

# cpu_ticks PID: utime + stime (fields 14 and 15; parsed after the command's closing paren).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# query PORT EXPR: the scalar value of an instant query's single result ("" when empty).
query() {
  curl -sS -G "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
    jq -r '.data.result[0].value[1] // ""'
}

# ---- Fake targets and the config both systems load. -----------------------------------------
BASE_PORT=$(free_range)
"$BUILD/scrape_targets" --targets="$TARGETS" --series="$SERIES" --base_port="$BASE_PORT" \
  >"$TMP/targets.log" 2>&1 &
TARGETS_PID=$!
for ((i = 0; i < 300; i++)); do
  grep -q '^ready' "$TMP/targets.log" && break
  kill -0 "$TARGETS_PID" 2>/dev/null || { cat "$TMP/targets.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$TMP/targets.log" || { echo "scrape_targets not ready" >&2; exit 1; }
echo "scrape_targets (pid $TARGETS_PID): $TARGETS targets x $SERIES series on 127.0.0.1:$BASE_PORT.." >&2

{
  echo "global:"
  echo "  scrape_interval: 15s"
  echo "  scrape_timeout: 10s"
  echo "  evaluation_interval: 15s"
  echo "scrape_configs:"
  echo "  - job_name: fake"
  echo "    static_configs:"
  echo "      - targets:"
  for ((j = 0; j < TARGETS; j++)); do echo "          - 127.0.0.1:$((BASE_PORT + j))"; done
} >"$TMP/scrape.yml"

declare -A CPU CORES RSS HWM ROUND UP INGESTED
# measure NAME PORT: warm-up, then the measured window, then the figures.
measure() {
  local name=$1 port=$2 t0 t1 c0 c1 window
  sleep "$WARMUP"
  c0=$(cpu_ticks "$PID")
  t0=$(date +%s%N)
  sleep "$DURATION"
  c1=$(cpu_ticks "$PID")
  t1=$(date +%s%N)
  RSS[$name]=$(status_kb "$PID" VmRSS)
  HWM[$name]=$(status_kb "$PID" VmHWM)
  window=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  CPU[$name]=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d / hz }')
  CORES[$name]=$(awk -v c="${CPU[$name]}" -v w="$window" 'BEGIN { printf "%.4f", c / w }')
  ROUND[$name]=$(query "$port" 'sum(scrape_samples_scraped)')
  UP[$name]=$(query "$port" 'count(up == 1)')
  INGESTED[$name]=$(query "$port" "sum(sum_over_time(scrape_samples_scraped[${DURATION}s]))")
  printf '  %s: window %s s, CPU %s s (%s cores), VmRSS %s kB, VmHWM %s kB, samples/round %s, up %s, samples in window %s\n' \
    "$name" "$window" "${CPU[$name]}" "${CORES[$name]}" "${RSS[$name]}" "${HWM[$name]}" \
    "${ROUND[$name]}" "${UP[$name]}" "${INGESTED[$name]}" >&2
}

# ---- Prometheus. ------------------------------------------------------------------------------
PORT=$(free_port)
mkdir -p "$TMP/prom"
"$PROMETHEUS" --config.file="$TMP/scrape.yml" --storage.tsdb.path="$TMP/prom" \
  --web.listen-address="127.0.0.1:$PORT" >"$TMP/prom.log" 2>&1 &
PID=$!
wait_ready "$PID" "$PORT" /-/ready "$TMP/prom.log"
echo "prometheus (pid $PID) on 127.0.0.1:$PORT: warm-up ${WARMUP} s, measuring ${DURATION} s" >&2
measure prometheus "$PORT"
p=$PID; PID=""; stop_pid "$p"

# ---- Ember. -----------------------------------------------------------------------------------
PORT=$(free_port)
mkdir -p "$TMP/ember"
"$BUILD/ember" serve --config_file="$TMP/scrape.yml" --data_dir="$TMP/ember" \
  --listen_address="127.0.0.1:$PORT" --self_scrape_interval=0s >"$TMP/ember.log" 2>&1 &
PID=$!
wait_ready "$PID" "$PORT" /-/ready "$TMP/ember.log"
echo "ember (pid $PID) on 127.0.0.1:$PORT: warm-up ${WARMUP} s, measuring ${DURATION} s" >&2
measure ember "$PORT"
p=$PID; PID=""; stop_pid "$p"

# ---- Report. ----------------------------------------------------------------------------------
echo
echo "scrape overhead: $TARGETS targets x $SERIES series, scrape_interval 15s, window ${DURATION} s after ${WARMUP} s warm-up"
printf '%-22s %14s %14s %10s\n' "" "prometheus" "ember" "ember/prom"
row() {
  local label=$1 a=$2 b=$3
  printf '%-22s %14s %14s %10s\n' "$label" "$a" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 > 0) printf "%.2f", b / a; else print "-" }')"
}
row "CPU seconds" "${CPU[prometheus]}" "${CPU[ember]}"
row "cores" "${CORES[prometheus]}" "${CORES[ember]}"
row "VmRSS kB" "${RSS[prometheus]}" "${RSS[ember]}"
row "VmHWM kB" "${HWM[prometheus]}" "${HWM[ember]}"
row "samples/round" "${ROUND[prometheus]}" "${ROUND[ember]}"
row "targets up" "${UP[prometheus]}" "${UP[ember]}"
row "samples in window" "${INGESTED[prometheus]}" "${INGESTED[ember]}"
us_per_sample() { awk -v c="$1" -v n="$2" 'BEGIN { if (n + 0 > 0) printf "%.3f", c * 1e6 / n; else print "-" }'; }
row "CPU us/sample" "$(us_per_sample "${CPU[prometheus]}" "${INGESTED[prometheus]}")" \
  "$(us_per_sample "${CPU[ember]}" "${INGESTED[ember]}")"
