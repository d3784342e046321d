#!/usr/bin/env bash
# Ember and Prometheus 2.42 (Debian's /usr/bin/prometheus) side by side, on 127.0.0.1 only:
# the same remote write load (bench/remote_write_load.cc, byte-identical requests), then the
# same dashboard queries at the end of the data. One system at a time, each on a fresh temp
# data directory, each stopped by its PID (SIGTERM, then SIGKILL after 60 s).
#
#   bench/side_by_side.sh BUILD_DIR            (builds nothing: needs BUILD_DIR/ember and
#                                               BUILD_DIR/remote_write_load)
#
# Knobs (environment): TARGETS=200 (131 series each), MINUTES=30 (of 15 s scrapes ending now;
# at most 120: sent in time order, all of it lands in Prometheus's head), CONCURRENCY=4,
# BATCH_SAMPLES=2000, WARMUP=1 (scrape rounds sent before the clock starts), REPS=10 (timed
# runs of each query, after one untimed run), PROMETHEUS=/usr/bin/prometheus.
#
# Prints, per system: ingest rate, RSS (VmRSS, VmHWM) after ingest, bytes on disk, and the
# median latency of each query; then a table with Ember/Prometheus ratios.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_dir_arg "$@"
TARGETS=${TARGETS:-200}
MINUTES=${MINUTES:-30}
CONCURRENCY=${CONCURRENCY:-4}
BATCH_SAMPLES=${BATCH_SAMPLES:-2000}
WARMUP=${WARMUP:-1}
REPS=${REPS:-10}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

require_bins "$BUILD" ember remote_write_load
require_prometheus "$PROMETHEUS"
require_tools curl jq

PID=""  # The one system running now.
# stop_started: the exit trap's part (bench_tmp): the running system.
stop_started() { stop_system; }
bench_tmp side-by-side

END_MS=$(date +%s%3N)
END_S=$(ms_to_s "$END_MS")
START_S=$(ms_to_s $((END_MS - MINUTES * 60000)))

# kind|query: instant and range queries at the end of the data (range: all of it, step 60 s),
# label values, series.
QUERIES=(
  'instant|sum by (model) (rate(model_requests_total[5m]))'
  'instant|histogram_quantile(0.99, sum by (le, model) (rate(model_request_latency_seconds_bucket[5m])))'
  'instant|sum by (model) (rate(model_requests_total{code=~"5.."}[5m])) / sum by (model) (rate(model_requests_total[5m]))'
  'instant|topk(10, sum by (instance) (rate(model_requests_total[5m])))'
  'instant|count by (model, version) (model_info)'
  'instant|quantile(0.95, avg by (instance) (gpu_utilization_ratio))'
  'instant|max_over_time(process_resident_memory_bytes[30m])'
  'range|sum by (model) (rate(model_requests_total[5m]))'
  'range|histogram_quantile(0.99, sum by (le) (rate(model_request_latency_seconds_bucket[5m])))'
  'labels|instance'
  'series|model_info'
)

# run_query PORT KIND QUERY OUT: one request; its answer in OUT, its time (s) on stdout.
run_query() {
  local port=$1 kind=$2 q=$3 out=$4 base="http://127.0.0.1:$1"
  case "$kind" in
    instant) curl -sS -G -o "$out" -w '%{time_total}' "$base/api/v1/query" \
               --data-urlencode "query=$q" --data-urlencode "time=$END_S" ;;
    range) curl -sS -G -o "$out" -w '%{time_total}' "$base/api/v1/query_range" \
             --data-urlencode "query=$q" --data-urlencode "start=$START_S" \
             --data-urlencode "end=$END_S" --data-urlencode "step=60" ;;
    labels) curl -sS -G -o "$out" -w '%{time_total}' "$base/api/v1/label/$q/values" \
              --data-urlencode "start=$START_S" --data-urlencode "end=$END_S" ;;
    series) curl -sS -G -o "$out" -w '%{time_total}' "$base/api/v1/series" \
              --data-urlencode "match[]=$q" --data-urlencode "start=$START_S" \
              --data-urlencode "end=$END_S" ;;
  esac
}

# A canonical form of an answer (values rounded to 6 decimals), to see whether both agree.
canonical() {
  jq -c 'if .status != "success" then {error: .error} else .data |
    if type == "object" and has("result") then
      [.result[] | {m: (.metric | to_entries | sort_by(.key) | from_entries),
                    v: ((.value // .values[-1])[1] | tonumber? // . | if type == "number" then (. * 1e6 | round) / 1e6 else . end),
                    n: (.values // [0] | length)}] | sort_by(.m | tostring)
    elif type == "array" then map(tostring) | sort else . end end' "$1"
}

# bench_system NAME PORT DATA_DIR: load, RSS, disk, queries; writes $TMP/NAME.* result files.
bench_system() {
  local name=$1 port=$2 datadir=$3
  echo "== $name (pid $PID, 127.0.0.1:$port)" >&2
  "$BUILD/remote_write_load" --port="$port" --targets="$TARGETS" --minutes="$MINUTES" \
    --end_ms="$END_MS" --batch_samples="$BATCH_SAMPLES" --concurrency="$CONCURRENCY" \
    --warmup="$WARMUP" --name="$name" > "$TMP/$name.load.json"
  cat "$TMP/$name.load.json" >&2
  sleep 2
  echo "$(status_kb "$PID" VmRSS) $(status_kb "$PID" VmHWM) $(du -sb "$datadir" | cut -f1)" \
    > "$TMP/$name.mem"
  local i r entry kind q times
  : > "$TMP/$name.queries"
  for i in "${!QUERIES[@]}"; do
    entry=${QUERIES[$i]}
    kind=${entry%%|*}
    q=${entry#*|}
    run_query "$port" "$kind" "$q" "$TMP/$name.q$i.json" > /dev/null  # Untimed first run.
    times=()
    for ((r = 0; r < REPS; r++)); do
      times+=("$(run_query "$port" "$kind" "$q" "$TMP/$name.q$i.json")")
    done
    canonical "$TMP/$name.q$i.json" > "$TMP/$name.q$i.canon"
    printf '%s\n' "${times[@]}" | sort -g | awk -v n="$REPS" '{ a[NR] = $1 }
      END { if (n % 2) print a[(n + 1) / 2]; else print (a[n / 2] + a[n / 2 + 1]) / 2 }' \
      >> "$TMP/$name.queries"
  done
  echo "$(status_kb "$PID" VmRSS) $(status_kb "$PID" VmHWM)" > "$TMP/$name.mem_after_queries"
}

echo "side_by_side: $TARGETS targets x 131 series, $MINUTES min of 15 s scrapes ending $END_S," \
     "batches of $BATCH_SAMPLES samples over $CONCURRENCY connections; $REPS runs per query" >&2

# Prometheus first: its head wants the data recent.
PROM_PORT=$(free_port)
start_prometheus_receiver "$PROMETHEUS" "$PROM_PORT"
bench_system prometheus "$PROM_PORT" "$TMP/prometheus"
stop_system

EMBER_PORT=$(free_port)
start_system "$EMBER_PORT" "$TMP/ember.log" \
  "$BUILD/ember" serve --listen_address="127.0.0.1:$EMBER_PORT" --data_dir="$TMP/ember" \
  --self_scrape_interval=0s
bench_system ember "$EMBER_PORT" "$TMP/ember"
stop_system

# The table.
jqv() { jq -r ".$2" "$TMP/$1.load.json"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
read -r e_rss e_hwm e_disk < "$TMP/ember.mem"
read -r p_rss p_hwm p_disk < "$TMP/prometheus.mem"
read -r e_rss2 e_hwm2 < "$TMP/ember.mem_after_queries"
read -r p_rss2 p_hwm2 < "$TMP/prometheus.mem_after_queries"
echo
printf '%-58s %14s %14s %8s\n' "metric" "Ember" "Prometheus" "E/P"
row() { printf '%-58s %14s %14s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
row "series" "$(jqv ember series)" "$(jqv prometheus series)"
row "samples timed (after $WARMUP warmup rounds)" "$(jqv ember samples)" "$(jqv prometheus samples)"
row "ingest samples/s" "$(jqv ember samples_per_s)" "$(jqv prometheus samples_per_s)"
row "ingest seconds" "$(jqv ember seconds)" "$(jqv prometheus seconds)"
row "warmup (series creation) seconds" "$(jqv ember warmup_seconds)" "$(jqv prometheus warmup_seconds)"
row "request p50 ms" "$(jqv ember request_p50_ms)" "$(jqv prometheus request_p50_ms)"
row "request p99 ms" "$(jqv ember request_p99_ms)" "$(jqv prometheus request_p99_ms)"
row "non-2xx + errors" "$(( $(jqv ember non_2xx) + $(jqv ember errors) + $(jqv ember warmup_non_2xx) + $(jqv ember warmup_errors) ))" \
    "$(( $(jqv prometheus non_2xx) + $(jqv prometheus errors) + $(jqv prometheus warmup_non_2xx) + $(jqv prometheus warmup_errors) ))"
row "VmRSS after ingest MiB" "$((e_rss / 1024))" "$((p_rss / 1024))"
row "VmHWM after ingest MiB" "$((e_hwm / 1024))" "$((p_hwm / 1024))"
row "VmRSS after queries MiB" "$((e_rss2 / 1024))" "$((p_rss2 / 1024))"
row "VmHWM after queries MiB" "$((e_hwm2 / 1024))" "$((p_hwm2 / 1024))"
row "data dir MB (before shutdown)" "$((e_disk / 1000000))" "$((p_disk / 1000000))"
mapfile -t e_q < "$TMP/ember.queries"
mapfile -t p_q < "$TMP/prometheus.queries"
e_total=0
p_total=0
for i in "${!QUERIES[@]}"; do
  e_ms=$(awk -v s="${e_q[$i]}" 'BEGIN { printf "%.2f", s * 1000 }')
  p_ms=$(awk -v s="${p_q[$i]}" 'BEGIN { printf "%.2f", s * 1000 }')
  e_total=$(awk -v a="$e_total" -v b="$e_ms" 'BEGIN { printf "%.2f", a + b }')
  p_total=$(awk -v a="$p_total" -v b="$p_ms" 'BEGIN { printf "%.2f", a + b }')
  same=$(cmp -s "$TMP/ember.q$i.canon" "$TMP/prometheus.q$i.canon" && echo same || echo DIFFERS)
  n=$(jq 'length' "$TMP/prometheus.q$i.canon" 2>/dev/null || echo "?")
  label="${QUERIES[$i]}"
  row "q$i ms (${n} results, ${same}): ${label:0:26}" "$e_ms" "$p_ms"
done
row "all queries, sum of medians ms" "$e_total" "$p_total"
echo
for i in "${!QUERIES[@]}"; do echo "q$i: ${QUERIES[$i]}"; done
for i in "${!QUERIES[@]}"; do
  if ! cmp -s "$TMP/ember.q$i.canon" "$TMP/prometheus.q$i.canon"; then
    echo "q$i answers differ:"
    echo "  Ember:      $(head -c 600 "$TMP/ember.q$i.canon")"
    echo "  Prometheus: $(head -c 600 "$TMP/prometheus.q$i.canon")"
  fi
done
