#!/usr/bin/env bash
# Footprint of `ember serve` (docs/edge.md, docs/performance.md "Issue 11: footprint"): idle RSS
# with the self-scrape on, then CPU, rate and peak RSS under a remote-write load.
#
#   bench/footprint.sh BUILD_DIR          # BUILD_DIR/ember and BUILD_DIR/remote_write_load
#
# Knobs (environment): EMBER=path of the `ember` to measure (default BUILD_DIR/ember; e.g. the
# EMBER_STATIC build's), EMBER_FLAGS (e.g. --storage.low-memory), IDLE_S=60 (idle seconds before
# the idle figure; the self-scrape runs every 15 s), TARGETS=76 (131 series each), MINUTES=120,
# CONCURRENCY=2, BATCH_SAMPLES=2000; TARGETS=0 skips the load.
# Prints one line of figures: idle VmRSS, RssAnon, RssFile (kB), threads; under load the rate,
# the server's CPU seconds (utime + stime from /proc/PID/stat) per million samples, VmHWM.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
build_dir_arg "$@"
EMBER=${EMBER:-$BUILD/ember}
IDLE_S=${IDLE_S:-60}
TARGETS=${TARGETS:-76}
MINUTES=${MINUTES:-120}
CONCURRENCY=${CONCURRENCY:-2}
BATCH_SAMPLES=${BATCH_SAMPLES:-2000}
read -r -a FLAGS <<< "${EMBER_FLAGS:-}"
[[ -x "$EMBER" ]] || { echo "$EMBER is missing: build it first" >&2; exit 2; }
((TARGETS == 0)) || require_bins "$BUILD" remote_write_load
require_tools curl jq

PID=""
stop_started() { stop_system; }
bench_tmp ember-footprint

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

port=$(free_port)
start_system "$port" "$TMP/ember.log" "$EMBER" serve --data_dir="$TMP/data" \
  --listen_address="127.0.0.1:$port" "${FLAGS[@]}"
sleep "$IDLE_S"
idle="idle_rss_kb=$(status_kb "$PID" VmRSS) anon_kb=$(status_kb "$PID" RssAnon)"
idle+=" file_kb=$(status_kb "$PID" RssFile) threads=$(status_kb "$PID" Threads)"
echo "$idle" >&2
if ((TARGETS > 0)); then
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks "$PID")
  "$BUILD/remote_write_load" --port="$port" --targets="$TARGETS" --minutes="$MINUTES" \
    --batch_samples="$BATCH_SAMPLES" --concurrency="$CONCURRENCY" --name=ember \
    > "$TMP/load.json"
  after=$(cpu_ticks "$PID")
  cat "$TMP/load.json" >&2
  # The CPU covers the warm-up rounds too.
  samples=$(jq '.samples + .warmup_samples' "$TMP/load.json")
  rate=$(jq '.samples_per_s' "$TMP/load.json")
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$samples" \
    'BEGIN { printf "%.2f", t / hz / (n / 1e6) }')
  idle+=" samples=$samples samples_per_s=$rate cpu_s_per_m=$cpu"
  idle+=" load_rss_kb=$(status_kb "$PID" VmRSS) hwm_kb=$(status_kb "$PID" VmHWM)"
fi
echo "$idle"
