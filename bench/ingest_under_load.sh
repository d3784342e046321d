#!/usr/bin/env bash
# Ingest under query load: does a dashboard's query load starve remote writes? Ember and
# Prometheus 2.42 (Debian's /usr/bin/prometheus) in the same run, on 127.0.0.1 only, one system at
# a time, each on a fresh temp data directory and stopped by its PID (SIGTERM, then SIGKILL after
# 60 s). For each:
#   1. load MINUTES of the ML-serving data set (bench/remote_write_load.cc, as side_by_side.sh
#      does; the same END_MS for both, so both hold the same samples);
#   2. a steady remote-write stream ALONE for DURATION seconds: RATE requests/s, one scrape of one target
#      (131 samples) each, wall-clock timestamps, one connection, one request at a time
#      (remote_write_load --mode=steady);
#   3. the same stream (into other targets' series) while CLIENTS clients loop dashboard range
#      queries over the last RANGE_MINUTES of the data at STEP (bench/query_load.cc); the queries
#      start QUERY_LEAD seconds before the stream and end 2 s after it.
#
#   bench/ingest_under_load.sh BUILD_DIR       (builds nothing: needs BUILD_DIR/ember,
#                                               BUILD_DIR/remote_write_load, BUILD_DIR/query_load)
#
# Knobs (environment): TARGETS=50 (131 series each), MINUTES=120 (at most 120), RATE=20,
# DURATION=30 (seconds of each stream), STEADY_TARGETS=10, CLIENTS=6, RANGE_MINUTES=120, STEP=15, QUERY_LEAD=3,
# SYSTEMS="prometheus ember" (either alone is fine), EMBER_FLAGS="" (extra `ember serve` flags),
# PROMETHEUS=/usr/bin/prometheus.
#
# Prints per system the write latency p50/p99 alone and under load, sent/planned, the queries
# answered, the load average at each phase; then a table with Ember/Prometheus ratios and the
# two targets. Exits 1 when a write or query failed (transport error or non-2xx).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_dir_arg "$@"
TARGETS=${TARGETS:-50}
MINUTES=${MINUTES:-120}
RATE=${RATE:-20}
DURATION=${DURATION:-30}
STEADY_TARGETS=${STEADY_TARGETS:-10}
CLIENTS=${CLIENTS:-6}
RANGE_MINUTES=${RANGE_MINUTES:-120}
STEP=${STEP:-15}
QUERY_LEAD=${QUERY_LEAD:-3}
SYSTEMS=${SYSTEMS:-prometheus ember}
EMBER_FLAGS=${EMBER_FLAGS:-}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

require_bins "$BUILD" ember remote_write_load query_load
if [[ " $SYSTEMS " == *" prometheus "* ]]; then
  require_prometheus "$PROMETHEUS"
fi
require_tools curl jq
((STEADY_TARGETS * 2 <= TARGETS)) || { echo "need STEADY_TARGETS * 2 <= TARGETS" >&2; exit 2; }

PID=""   # The system running now.
QPID=""  # query_load, while it runs.
# stop_started: the exit trap's part (bench_tmp): query_load, then the running system.
stop_started() {
  local q=$QPID
  QPID=""
  stop_pid "$q"
  stop_system
}
bench_tmp ingest-under-load

load1() { cut -d' ' -f1 /proc/loadavg; }

END_MS=$(date +%s%3N)
END_S=$(ms_to_s "$END_MS")
RANGE_START_MS=$((END_MS - RANGE_MINUTES * 60000))
RANGE_START_S=$(ms_to_s "$RANGE_START_MS")
FAILED=0

# bench_system NAME PORT: the three phases; writes $TMP/NAME.* result files.
bench_system() {
  local name=$1 port=$2 rc
  echo "== $name (pid $PID, 127.0.0.1:$port)" >&2
  rc=0
  "$BUILD/remote_write_load" --port="$port" --targets="$TARGETS" --minutes="$MINUTES" \
    --end_ms="$END_MS" --name="$name" > "$TMP/$name.load.json" || rc=$?
  ((rc == 0)) || { echo "$name: loading the data failed (exit $rc)" >&2; FAILED=1; }
  sleep 2
  local steady=("$BUILD/remote_write_load" --mode=steady --port="$port" --minutes="$MINUTES"
                --end_ms="$END_MS" --rate="$RATE" --seconds="$DURATION"
                --steady_targets="$STEADY_TARGETS" --timeout_ms=60000 --name="$name")
  load1 > "$TMP/$name.load_alone"
  echo "  $name: stream alone for $DURATION s (load average $(cat "$TMP/$name.load_alone"))" >&2
  rc=0
  "${steady[@]}" --steady_first_target=0 > "$TMP/$name.alone.json" || rc=$?
  ((rc == 0)) || { echo "$name: the stream alone had failures (exit $rc)" >&2; FAILED=1; }
  load1 > "$TMP/$name.load_before_queries"
  echo "  $name: $CLIENTS query clients, then the stream for $DURATION s" >&2
  "$BUILD/query_load" --port="$port" --clients="$CLIENTS" \
    --seconds=$((QUERY_LEAD + DURATION + 2)) --start="$RANGE_START_S" --end="$END_S" \
    --step="$STEP" --timeout_ms=60000 --name="$name" > "$TMP/$name.queries.json" \
    2> "$TMP/$name.queries.log" &
  QPID=$!
  sleep "$QUERY_LEAD"
  rc=0
  "${steady[@]}" --steady_first_target="$STEADY_TARGETS" > "$TMP/$name.loaded.json" || rc=$?
  ((rc == 0)) || { echo "$name: the stream under load had failures (exit $rc)" >&2; FAILED=1; }
  load1 > "$TMP/$name.load_under"
  rc=0
  wait "$QPID" || rc=$?
  QPID=""
  cat "$TMP/$name.queries.log" >&2
  ((rc == 0)) || { echo "$name: queries failed (exit $rc)" >&2; FAILED=1; }
}

echo "ingest_under_load: $TARGETS targets x 131 series, $MINUTES min of 15 s scrapes ending $END_S;" \
     "stream $RATE req/s x $DURATION s (131 samples each); $CLIENTS query clients over" \
     "$RANGE_MINUTES min at step $STEP s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Prometheus first, as in side_by_side.sh: its head wants the data recent.
if [[ " $SYSTEMS " == *" prometheus "* ]]; then
  PORT=$(free_port)
  start_prometheus_receiver "$PROMETHEUS" "$PORT"
  bench_system prometheus "$PORT"
  stop_system
fi

if [[ " $SYSTEMS " == *" ember "* ]]; then
  PORT=$(free_port)
  # shellcheck disable=SC2086  # EMBER_FLAGS is a list of flags.
  start_system "$PORT" "$TMP/ember.log" \
    "$BUILD/ember" serve --listen_address="127.0.0.1:$PORT" --data_dir="$TMP/ember" \
    --self_scrape_interval=0s $EMBER_FLAGS
  bench_system ember "$PORT"
  stop_system
fi

# ---- The table. ---------------------------------------------------------------------------------
# val NAME FILE KEY: a field of a result file, "-" when the system did not run.
val() { [[ -s "$TMP/$1.$2.json" ]] && jq -r ".$3" "$TMP/$1.$2.json" || echo "-"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
cat1() { [[ -s "$TMP/$1" ]] && cat "$TMP/$1" || echo "-"; }
row() { printf '%-44s %12s %12s %8s\n' "$1" "$2" "$3" "$(div "$2" "$3")"; }
rowt() { printf '%-44s %12s %12s %8s\n' "$1" "$2" "$3" "-"; }

declare -A A50 A99 L50 L99
for s in ember prometheus; do
  A50[$s]=$(val "$s" alone p50_ms)
  A99[$s]=$(val "$s" alone p99_ms)
  L50[$s]=$(val "$s" loaded p50_ms)
  L99[$s]=$(val "$s" loaded p99_ms)
done
echo
echo "ingest under query load: $TARGETS targets x 131 series, $MINUTES min; stream $RATE req/s x" \
     "$DURATION s; $CLIENTS clients, range $RANGE_MINUTES min, step $STEP s; $(nproc) CPUs"
printf '%-44s %12s %12s %8s\n' "" "Ember" "Prometheus" "E/P"
row "write p50 alone, ms" "${A50[ember]}" "${A50[prometheus]}"
row "write p99 alone, ms" "${A99[ember]}" "${A99[prometheus]}"
row "write p50 under query load, ms" "${L50[ember]}" "${L50[prometheus]}"
row "write p99 under query load, ms" "${L99[ember]}" "${L99[prometheus]}"
row "write max under query load, ms" "$(val ember loaded max_ms)" "$(val prometheus loaded max_ms)"
row "p50 under load / alone" "$(div "${L50[ember]}" "${A50[ember]}")" \
    "$(div "${L50[prometheus]}" "${A50[prometheus]}")"
row "p99 under load / alone" "$(div "${L99[ember]}" "${A99[ember]}")" \
    "$(div "${L99[prometheus]}" "${A99[prometheus]}")"
rowt "sent / planned alone" "$(val ember alone sent)/$(val ember alone planned)" \
     "$(val prometheus alone sent)/$(val prometheus alone planned)"
rowt "sent / planned under load" "$(val ember loaded sent)/$(val ember loaded planned)" \
     "$(val prometheus loaded sent)/$(val prometheus loaded planned)"
rowt "acknowledged (2xx) alone / under load" "$(val ember alone acked)/$(val ember loaded acked)" \
     "$(val prometheus alone acked)/$(val prometheus loaded acked)"
row "queries answered (200) per s" "$(val ember queries ok_per_s)" "$(val prometheus queries ok_per_s)"
row "queries answered (200)" "$(val ember queries ok)" "$(val prometheus queries ok)"
row "query latency p50, ms" "$(val ember queries p50_ms)" "$(val prometheus queries p50_ms)"
row "query latency p99, ms" "$(val ember queries p99_ms)" "$(val prometheus queries p99_ms)"
failures() {
  local n e
  n=$(val "$1" queries non_2xx)
  e=$(val "$1" queries errors)
  [[ $n == - || $e == - ]] && echo "-" || echo $((n + e))
}
rowt "query failures (non-200 + errors)" "$(failures ember)" "$(failures prometheus)"
row "data loaded, samples/s" "$(val ember load samples_per_s)" "$(val prometheus load samples_per_s)"
rowt "load average: alone / queries start / end" \
     "$(cat1 ember.load_alone)/$(cat1 ember.load_before_queries)/$(cat1 ember.load_under)" \
     "$(cat1 prometheus.load_alone)/$(cat1 prometheus.load_before_queries)/$(cat1 prometheus.load_under)"
echo
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "n/a"; else if (a + 0 <= b + 0) print "met"; else print "MISSED" }'; }
three_x=$(awk -v a="${A99[ember]}" 'BEGIN { if (a == "-") print "-"; else printf "%.2f", 3 * a }')
echo "target: Ember p99 under load <= 3 x its p99 alone: ${L99[ember]} vs $three_x ms: $(verdict "${L99[ember]}" "$three_x")"
echo "target: Ember p99 under load <= Prometheus's: ${L99[ember]} vs ${L99[prometheus]} ms: $(verdict "${L99[ember]}" "${L99[prometheus]}")"
echo "(percentiles cover the requests sent; when sent < planned, the ones never sent waited longer still)"
exit "$FAILED"
