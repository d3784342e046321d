#!/usr/bin/env bash
# Ember, Prometheus 2.42 and VictoriaMetrics 1.79 (Debian's /usr/bin/prometheus and
# /usr/bin/victoria-metrics) side by side, on 127.0.0.1 only: the same remote write load
# (bench/remote_write_load.cc, byte-identical requests), then the same dashboard queries and
# label endpoints over the data. One system at a time, each on a fresh temp data directory, each
# stopped by its PID (SIGTERM, then SIGKILL after 60 s).
#
#   bench/side_by_side.sh BUILD_DIR            (builds nothing: needs BUILD_DIR/ember and
#                                               BUILD_DIR/remote_write_load)
#
# Knobs (environment); the defaults are issue 11's data set: 2 h of the ML-serving data, 76
# targets x 131 series = 9,956 series, 4.78 M samples (4.77 M timed), 2 connections.
#   SYSTEMS="prometheus vm ember"  which systems run, in this order (Prometheus first: its head
#                       wants the data recent)
#   TARGETS=76 (131 series each), MINUTES=120 (of 15 s scrapes ending now; at most 120: sent in
#   time order, all of it lands in Prometheus's head), CONCURRENCY=2, BATCH_SAMPLES=2000,
#   WARMUP=1 (scrape rounds sent before the clock starts: they create the series)
#   QUERY_FILE=bench/queries/model_serving.txt  one PromQL expression a line, # comments; each
#                       runs as an instant query at the end of the data and as range queries
#                       over all of it at steps 15 s and 60 s. QUERY_FILE= (empty) runs only the
#                       label endpoints (e.g. TARGETS=764 MINUTES=2 QUERY_FILE=: 100k series).
#   REPS=5              timed runs of each request, after one untimed run; the median counts
#   SETTLE_SECONDS=0    the live data directory is measured this long after ingest ends (or
#                       right after the queries, when they take longer)
#   PROMETHEUS=/usr/bin/prometheus  VICTORIA_METRICS=/usr/bin/victoria-metrics
#
# Prints markdown tables on stdout (progress on stderr): per system, ingest rate, server CPU per
# million samples, memory, data directory bytes per sample (after ingest, live, after a clean
# stop), sums of the query medians, and per request the medians with the ratios Ember/Prometheus
# and Ember/VictoriaMetrics. Ember's answers must equal Prometheus's (9 significant digits);
# VictoriaMetrics answers MetricsQL, so only its time is compared.
set -euo pipefail
LIB="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$LIB/common.sh"
# shellcheck source=SCRIPTDIR/lib/side_by_side_lib.sh
source "$LIB/side_by_side_lib.sh"
# shellcheck source=SCRIPTDIR/lib/side_by_side_report.sh
source "$LIB/side_by_side_report.sh"

build_dir_arg "$@"
SYSTEMS=${SYSTEMS:-prometheus vm ember}
TARGETS=${TARGETS:-76}
MINUTES=${MINUTES:-120}
CONCURRENCY=${CONCURRENCY:-2}
BATCH_SAMPLES=${BATCH_SAMPLES:-2000}
WARMUP=${WARMUP:-1}
REPS=${REPS:-5}
SETTLE_SECONDS=${SETTLE_SECONDS:-0}
QUERY_FILE=${QUERY_FILE-$(dirname "${BASH_SOURCE[0]}")/queries/model_serving.txt}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
VICTORIA_METRICS=${VICTORIA_METRICS:-/usr/bin/victoria-metrics}

for s in $SYSTEMS; do
  case "$s" in
    ember) require_bins "$BUILD" ember ;;
    prometheus) require_prometheus "$PROMETHEUS" ;;
    vm) [[ -x "$VICTORIA_METRICS" ]] ||
          { echo "$VICTORIA_METRICS not found: apt-get install victoria-metrics" >&2; exit 2; } ;;
    *) echo "SYSTEMS: ember, prometheus or vm, not $s" >&2; exit 2 ;;
  esac
done
require_bins "$BUILD" remote_write_load
require_tools curl jq getconf
[[ $REPS =~ ^[1-9][0-9]*$ && $SETTLE_SECONDS =~ ^[0-9]+$ ]] ||
  { echo "REPS must be a positive integer, SETTLE_SECONDS a whole number" >&2; exit 2; }

QUERIES=()
if [[ -n $QUERY_FILE ]]; then
  [[ -r $QUERY_FILE ]] || { echo "QUERY_FILE $QUERY_FILE not readable" >&2; exit 2; }
  mapfile -t QUERIES < <(grep -vE '^[[:space:]]*(#|$)' "$QUERY_FILE")
fi
# kind|argument: label names, label values of a name, series of a selector.
ENDPOINTS=(
  'names|'
  'values|__name__'
  'values|instance'
  'values|model'
  'values|le'
  'series|model_info'
  'series|up'
  'series|model_requests_total{code="500"}'
)

PID=""  # The one system running now.
# stop_started: the exit trap's part (bench_tmp): the running system.
stop_started() { stop_system; }
bench_tmp side-by-side

END_MS=$(now_ms)
END_S=$(ms_to_s "$END_MS")
START_S=$(ms_to_s $((END_MS - MINUTES * 60000)))

# start_victoria_metrics PORT: start_system for VictoriaMetrics on $TMP/vm (log $TMP/vm.log):
# no response cache and no latency offset, so every repeat is evaluated and the newest samples
# are visible; nothing is dropped for age (retention 100 years).
start_victoria_metrics() {
  start_system "$1" "$TMP/vm.log" \
    "$VICTORIA_METRICS" -httpListenAddr="127.0.0.1:$1" -storageDataPath="$TMP/vm" \
    -retentionPeriod=100y -search.disableCache -search.latencyOffset=0s
}

echo "side_by_side: $SYSTEMS; $TARGETS targets x 131 series, $MINUTES min of 15 s scrapes" \
     "ending $END_S, batches of $BATCH_SAMPLES samples over $CONCURRENCY connections;" \
     "${#QUERIES[@]} queries x 3 and ${#ENDPOINTS[@]} endpoints, $REPS runs each;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for s in $SYSTEMS; do
  port=$(free_port)
  case "$s" in
    prometheus) start_prometheus_receiver "$PROMETHEUS" "$port" ;;
    vm) start_victoria_metrics "$port" ;;
    ember) start_system "$port" "$TMP/ember.log" \
             "$BUILD/ember" serve --listen_address="127.0.0.1:$port" --data_dir="$TMP/ember" \
             --self_scrape_interval=0s ;;
  esac
  bench_system "$s" "$port" "$TMP/$s"
  stop_system
  stat_line "$TMP/res/$s" stop_rc "$STOP_RC"
  stat_line "$TMP/res/$s" disk_stopped "$(du_bytes "$TMP/$s")"
  # VictoriaMetrics saves its caches into the data directory when it stops.
  stat_line "$TMP/res/$s" disk_stopped_nocache \
    $(($(du_bytes "$TMP/$s") - $([[ -d $TMP/$s/cache ]] && du_bytes "$TMP/$s/cache" || echo 0)))
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
report
