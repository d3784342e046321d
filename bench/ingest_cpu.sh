#!/usr/bin/env bash
# Server CPU per million remote-written samples of one or more ember binaries, in turn, ROUNDS
# times (alternating, so a change and its base meet the same machine load). Each run: a fresh
# data directory, `ember serve --self_scrape_interval=0s` on 127.0.0.1, then issue 11's load
# (bench/remote_write_load: TARGETS=76 x 131 series, MINUTES=120 of 15 s scrapes, CONCURRENCY=2);
# the figure is utime + stime of the server's PID over the load. Stopped by PID.
#
#   bench/ingest_cpu.sh BUILD_DIR [EMBER_BIN...]   (default: BUILD_DIR/ember; the load
#                                                    generator is BUILD_DIR/remote_write_load)
#
# Knobs (environment): ROUNDS=3, TARGETS=76, MINUTES=120, CONCURRENCY=2.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=SCRIPTDIR/lib/side_by_side_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/side_by_side_lib.sh"

build_dir_arg "${1:-}"
shift
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$BUILD/ember")
ROUNDS=${ROUNDS:-3}
TARGETS=${TARGETS:-76}
MINUTES=${MINUTES:-120}
CONCURRENCY=${CONCURRENCY:-2}
CLK_TCK=$(getconf CLK_TCK)
require_bins "$BUILD" remote_write_load
require_tools curl jq

PID=""
stop_started() { stop_system; }
bench_tmp ingest-cpu

printf '%-50s %5s %16s %12s %6s\n' binary round "CPU s per M" "samples/s" load
for ((r = 1; r <= ROUNDS; r++)); do
  for bin in "${bins[@]}"; do
    port=$(free_port)
    rm -rf "$TMP/data"
    start_system "$port" "$TMP/serve.log" "$bin" serve --listen_address="127.0.0.1:$port" \
      --data_dir="$TMP/data" --self_scrape_interval=0s
    cpu0=$(proc_cpu_s "$PID")
    "$BUILD/remote_write_load" --port="$port" --targets="$TARGETS" --minutes="$MINUTES" \
      --end_ms="$(date +%s%3N)" --concurrency="$CONCURRENCY" > "$TMP/load.json" 2> "$TMP/load.log"
    cpu1=$(proc_cpu_s "$PID")
    stop_system 2>/dev/null
    samples=$(jq -r '.samples + .warmup_samples' "$TMP/load.json")
    name=$bin
    ((${#name} <= 50)) || name=...${name: -47}
    printf '%-50s %5d %16s %12s %6s\n' "$name" "$r" \
      "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$samples" 'BEGIN { printf "%.2f", (b - a) / n * 1e6 }')" \
      "$(jq -r '.samples_per_s | floor' "$TMP/load.json")" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
