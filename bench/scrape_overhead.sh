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
# WARMUP=30 (seconds after start before measuring), PROMETHEUS=/usr/bin/prometheus,
# BASELINE_EMBER (unset: skipped): another ember binary, e.g. a build from before a change,
# measured the same way after BUILD_DIR/ember, as "baseline" (then a baseline/prom column and
# an ember/baseline column).
#
# Prints, per system: CPU seconds (utime + stime from /proc/PID/stat) over the measured window
# and as cores (CPU seconds / window), VmRSS and VmHWM at the end of the window, samples per
# scrape round (sum(scrape_samples_scraped)), targets up (count(up)), samples ingested over the
# window (sum(sum_over_time(scrape_samples_scraped[window]))) and CPU microseconds per sample;
# then Ember/Prometheus ratios.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_dir_arg "$@"
TARGETS=${TARGETS:-100}
SERIES=${SERIES:-1000}
DURATION=${DURATION:-120}
WARMUP=${WARMUP:-30}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
BASELINE_EMBER=${BASELINE_EMBER:-}

require_bins "$BUILD" ember scrape_targets
require_prometheus "$PROMETHEUS"
if [[ -n $BASELINE_EMBER && ! -x $BASELINE_EMBER ]]; then
  echo "BASELINE_EMBER=$BASELINE_EMBER is not an executable" >&2
  exit 1
fi
require_tools curl jq

PID=""          # The system running now.
TARGETS_PID=""  # scrape_targets.
CLK_TCK=$(getconf CLK_TCK)
# stop_started: the exit trap's part (bench_tmp): the system, then scrape_targets.
stop_started() {
  local t=$TARGETS_PID
  TARGETS_PID=""
  stop_system
  stop_pid "$t"
}
bench_tmp scrape-overhead

# cpu_ticks PID: utime + stime (fields 14 and 15; parsed after the command's closing paren).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# query PORT EXPR: the scalar value of an instant query's single result ("" when empty).
query() {
  curl -sS -G "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
    jq -r '.data.result[0].value[1] // ""'
}

# ---- Fake targets and the config both systems load. -----------------------------------------
start_scrape_targets "$BUILD" "$TARGETS" "$SERIES"
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
start_system "$PORT" "$TMP/prom.log" \
  "$PROMETHEUS" --config.file="$TMP/scrape.yml" --storage.tsdb.path="$TMP/prom" \
  --web.listen-address="127.0.0.1:$PORT"
echo "prometheus (pid $PID) on 127.0.0.1:$PORT: warm-up ${WARMUP} s, measuring ${DURATION} s" >&2
measure prometheus "$PORT"
stop_system

# ---- Ember, then the baseline ember when given. ------------------------------------------------
# measure_ember NAME BINARY: one Ember run on a fresh data directory.
measure_ember() {
  PORT=$(free_port)
  mkdir -p "$TMP/$1"
  start_system "$PORT" "$TMP/$1.log" \
    "$2" serve --config_file="$TMP/scrape.yml" --data_dir="$TMP/$1" \
    --listen_address="127.0.0.1:$PORT" --self_scrape_interval=0s
  echo "$1 (pid $PID) on 127.0.0.1:$PORT: warm-up ${WARMUP} s, measuring ${DURATION} s" >&2
  measure "$1" "$PORT"
  stop_system
}
measure_ember ember "$BUILD/ember"
[[ -n $BASELINE_EMBER ]] && measure_ember baseline "$BASELINE_EMBER"

# ---- Report. ----------------------------------------------------------------------------------
echo
echo "scrape overhead: $TARGETS targets x $SERIES series, scrape_interval 15s, window ${DURATION} s after ${WARMUP} s warm-up"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0) printf "%.2f", b / a; else print "-" }'; }
if [[ -n $BASELINE_EMBER ]]; then
  printf '%-22s %14s %14s %14s %10s %13s %14s\n' "" "prometheus" "ember" "baseline" "ember/prom" \
    "baseline/prom" "ember/baseline"
else
  printf '%-22s %14s %14s %10s\n' "" "prometheus" "ember" "ember/prom"
fi
row() {
  local label=$1 a=$2 b=$3 c=${4:-}
  if [[ -n $BASELINE_EMBER ]]; then
    printf '%-22s %14s %14s %14s %10s %13s %14s\n' "$label" "$a" "$b" "$c" "$(ratio "$a" "$b")" \
      "$(ratio "$a" "$c")" "$(ratio "$c" "$b")"
  else
    printf '%-22s %14s %14s %10s\n' "$label" "$a" "$b" "$(ratio "$a" "$b")"
  fi
}
row "CPU seconds" "${CPU[prometheus]}" "${CPU[ember]}" "${CPU[baseline]:-}"
row "cores" "${CORES[prometheus]}" "${CORES[ember]}" "${CORES[baseline]:-}"
row "VmRSS kB" "${RSS[prometheus]}" "${RSS[ember]}" "${RSS[baseline]:-}"
row "VmHWM kB" "${HWM[prometheus]}" "${HWM[ember]}" "${HWM[baseline]:-}"
row "samples/round" "${ROUND[prometheus]}" "${ROUND[ember]}" "${ROUND[baseline]:-}"
row "targets up" "${UP[prometheus]}" "${UP[ember]}" "${UP[baseline]:-}"
row "samples in window" "${INGESTED[prometheus]}" "${INGESTED[ember]}" "${INGESTED[baseline]:-}"
us_per_sample() { awk -v c="$1" -v n="$2" 'BEGIN { if (n + 0 > 0) printf "%.3f", c * 1e6 / n; else print "-" }'; }
row "CPU us/sample" "$(us_per_sample "${CPU[prometheus]}" "${INGESTED[prometheus]}")" \
  "$(us_per_sample "${CPU[ember]}" "${INGESTED[ember]}")" \
  "$([[ -n $BASELINE_EMBER ]] && us_per_sample "${CPU[baseline]}" "${INGESTED[baseline]}")"
