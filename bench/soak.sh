#!/usr/bin/env bash
# Soak: `ember serve` under every kind of traffic at once for MINUTES, watching for leaks and
# errors. 127.0.0.1 only; a fresh temp data directory; every process this script starts is
# stopped by its PID (SIGTERM, then SIGKILL after 60 s). Not CI.
#   - scraping: Ember scrapes SCRAPE_TARGETS fake targets (bench/scrape_targets.cc) of
#     SCRAPE_SERIES series every SCRAPE_INTERVAL, and itself every 15 s;
#   - remote write: 30 min of the ML-serving data set loaded first (remote_write_load), then a
#     steady stream of RATE requests/s (remote_write_load --mode=steady, 131 samples each);
#   - queries: QUERY_CLIENTS dashboard clients (bench/query_load.cc), each a range query over the
#     last 30 min at 15 s, then a QUERY_PAUSE_MS pause, over both data sets;
#   - bad input every BAD_EVERY s: malformed remote writes and query parameters, each of which
#     must get a 4xx.
# Every SAMPLE_EVERY s it prints VmRSS, VmHWM, threads (/proc/PID/status) and open fds
# (/proc/PID/fd).
#
#   bench/soak.sh BUILD_DIR [MINUTES=30]      (builds nothing: needs BUILD_DIR/ember,
#                                              remote_write_load, query_load, scrape_targets)
#
# Knobs (environment): SAMPLE_EVERY=30, SCRAPE_TARGETS=5, SCRAPE_SERIES=500, SCRAPE_INTERVAL=5s,
# RATE=5, QUERY_CLIENTS=2, QUERY_PAUSE_MS=1000, BAD_EVERY=10, GROWTH=1.2, EMBER_FLAGS="".
#
# Growth rule: the samples after the warm-up (the first sixth of the run, at least one sample)
# are cut in thirds; for VmRSS, threads and fds, the last third's maximum must be at most
# GROWTH x the first third's maximum (plus 2 for the two counts, so that one more connection
# is not a leak). With fewer than 3 samples after the warm-up the rule is not applied.
# Exits 1 when anything grew past the rule, Ember died or did not exit 0 on SIGTERM, a write or
# query failed, a bad input got anything but a 4xx, or a scrape target was down at the end.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if [[ $# -lt 1 || $# -gt 2 || ! -d "$1" ]]; then
  echo "usage: $0 BUILD_DIR [MINUTES=30]" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
MINUTES=${2:-30}
SAMPLE_EVERY=${SAMPLE_EVERY:-30}
SCRAPE_TARGETS=${SCRAPE_TARGETS:-5}
SCRAPE_SERIES=${SCRAPE_SERIES:-500}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-5s}
RATE=${RATE:-5}
QUERY_CLIENTS=${QUERY_CLIENTS:-2}
QUERY_PAUSE_MS=${QUERY_PAUSE_MS:-1000}
BAD_EVERY=${BAD_EVERY:-10}
GROWTH=${GROWTH:-1.2}
EMBER_FLAGS=${EMBER_FLAGS:-}
if [[ ! $MINUTES =~ ^[0-9]+$ ]] || ((MINUTES == 0)); then
  echo "MINUTES must be a positive integer" >&2
  exit 2
fi
RUN_S=$((MINUTES * 60))

require_bins "$BUILD" ember remote_write_load query_load scrape_targets
require_tools curl jq

PID=""          # ember serve.
TARGETS_PID=""  # scrape_targets.
LOAD_PIDS=()    # The steady stream, the query clients, the bad-input loop.
# stop_started: the exit trap's part (bench_tmp): the load, Ember, then scrape_targets.
stop_started() {
  stop_pids "${LOAD_PIDS[@]}" "$PID" "$TARGETS_PID"
  LOAD_PIDS=()
  PID=""
  TARGETS_PID=""
}
bench_tmp soak

# ---- Targets, config, Ember, the data set. -------------------------------------------------------
start_scrape_targets "$BUILD" "$SCRAPE_TARGETS" "$SCRAPE_SERIES"
{
  echo "global:"
  echo "  scrape_interval: $SCRAPE_INTERVAL"
  echo "  scrape_timeout: $SCRAPE_INTERVAL"
  echo "scrape_configs:"
  echo "  - job_name: fake"
  echo "    static_configs:"
  echo "      - targets:"
  for ((j = 0; j < SCRAPE_TARGETS; j++)); do echo "          - 127.0.0.1:$((BASE_PORT + j))"; done
} > "$TMP/scrape.yml"

PORT=$(free_port)
# shellcheck disable=SC2086  # EMBER_FLAGS is a list of flags.
start_system "$PORT" "$TMP/ember.log" \
  "$BUILD/ember" serve --listen_address="127.0.0.1:$PORT" --data_dir="$TMP/ember" \
  --config_file="$TMP/scrape.yml" $EMBER_FLAGS
END_MS=$(date +%s%3N)
"$BUILD/remote_write_load" --port="$PORT" --targets=20 --minutes=30 --end_ms="$END_MS" \
  --name=ember > "$TMP/load.json"
echo "soak: ember (pid $PID) on 127.0.0.1:$PORT for $MINUTES min; $SCRAPE_TARGETS targets x" \
     "$SCRAPE_SERIES series every $SCRAPE_INTERVAL; $RATE writes/s; $QUERY_CLIENTS query clients;" \
     "bad input every $BAD_EVERY s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---- The load. -----------------------------------------------------------------------------------
"$BUILD/remote_write_load" --mode=steady --port="$PORT" --minutes=30 --end_ms="$END_MS" \
  --rate="$RATE" --seconds="$RUN_S" --steady_targets=10 --timeout_ms=30000 --name=ember \
  > "$TMP/steady.json" 2> "$TMP/steady.log" &
LOAD_PIDS+=($!)

cat > "$TMP/queries.txt" <<'EOF'
# The ML-serving data set's panels (remote write) ...
histogram_quantile(0.99, sum by (le) (rate(model_request_latency_seconds_bucket[5m])))
sum without (instance, code) (rate(model_requests_total[5m]))
sum by (model) (rate(model_requests_total{code=~"5.."}[5m])) / sum by (model) (rate(model_requests_total[5m]))
topk(5, sum by (instance) (rate(model_requests_total[5m])))
# ... and the scraped targets'.
histogram_quantile(0.9, sum by (le) (rate(fake_latency_seconds_bucket[1m])))
sum by (code) (rate(fake_requests_total[1m]))
up
EOF
"$BUILD/query_load" --port="$PORT" --clients="$QUERY_CLIENTS" --seconds="$RUN_S" \
  --range_s=1800 --step=15 --pause_ms="$QUERY_PAUSE_MS" --queries_file="$TMP/queries.txt" \
  --timeout_ms=150000 --name=ember > "$TMP/queries.json" 2> "$TMP/queries.log" &
LOAD_PIDS+=($!)

# Bad input: "expected-code-class label curl-args..."; each must get a 4xx. The snappy bodies are
# hand-made blocks (length varint, literal tag, bytes): valid snappy, invalid protobuf.
bad_round() {
  local base="http://127.0.0.1:$PORT" rw=(-H 'Content-Encoding: snappy'
    -H 'Content-Type: application/x-protobuf' -H 'X-Prometheus-Remote-Write-Version: 0.1.0')
  bad "write: not snappy" -X POST "${rw[@]}" --data-binary 'this is not snappy' "$base/api/v1/write"
  bad "write: snappy of bad protobuf" -X POST "${rw[@]}" \
    --data-binary @<(printf '\x03\x08\xff\xff\xff') "$base/api/v1/write"
  bad "write: truncated snappy" -X POST "${rw[@]}" \
    --data-binary @<(printf '\x40\x08\xff') "$base/api/v1/write"
  bad "write: bad encoding" -X POST -H 'Content-Encoding: br' \
    -H 'Content-Type: application/x-protobuf' --data-binary 'x' "$base/api/v1/write"
  bad "query: syntax" -G "$base/api/v1/query" --data-urlencode 'query=sum(rate(up[5m])'
  bad "query: bad time" -G "$base/api/v1/query" --data-urlencode 'query=up' \
    --data-urlencode 'time=yesterday'
  bad "range: no step" -G "$base/api/v1/query_range" --data-urlencode 'query=up' \
    --data-urlencode 'start=1' --data-urlencode 'end=2'
  bad "range: end before start" -G "$base/api/v1/query_range" --data-urlencode 'query=up' \
    --data-urlencode 'start=200' --data-urlencode 'end=100' --data-urlencode 'step=15'
  bad "range: too many points" -G "$base/api/v1/query_range" --data-urlencode 'query=up' \
    --data-urlencode 'start=0' --data-urlencode 'end=1000000000' --data-urlencode 'step=1'
  bad "range: step 0" -G "$base/api/v1/query_range" --data-urlencode 'query=up' \
    --data-urlencode 'start=1' --data-urlencode 'end=2' --data-urlencode 'step=0'
  bad "series: no match[]" -G "$base/api/v1/series"
  bad "labels: bad start" -G "$base/api/v1/labels" --data-urlencode 'start=abc'
}
# bad LABEL CURL-ARGS...: one request; prints "code label".
bad() {
  local label=$1 code
  shift
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$@" 2>/dev/null) || true
  echo "${code:-000} $label"
}
(
  stop=$((SECONDS + RUN_S))
  n=0
  while ((SECONDS < stop && n < RUN_S / BAD_EVERY + 1)); do
    bad_round
    n=$((n + 1))
    sleep "$BAD_EVERY"
  done
) > "$TMP/bad.txt" 2>&1 &
LOAD_PIDS+=($!)

# ---- Sampling. -----------------------------------------------------------------------------------
printf '%8s %10s %10s %8s %6s %8s\n' "t s" "VmRSS MiB" "VmHWM MiB" "threads" "fds" "load1" >&2
: > "$TMP/samples"
START=$SECONDS
ALIVE=1
for ((k = 1; k <= RUN_S / SAMPLE_EVERY + 1; k++)); do
  next=$((START + k * SAMPLE_EVERY))
  ((next > START + RUN_S)) && next=$((START + RUN_S))
  while ((SECONDS < next)); do sleep 1; done
  if ! kill -0 "$PID" 2>/dev/null; then ALIVE=0; break; fi
  rss=$(status_kb "$PID" VmRSS)
  hwm=$(status_kb "$PID" VmHWM)
  threads=$(status_kb "$PID" Threads)
  fds=$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  t=$((SECONDS - START))
  echo "$t $rss $threads $fds" >> "$TMP/samples"
  printf '%8s %10s %10s %8s %6s %8s\n' "$t" "$((rss / 1024))" "$((hwm / 1024))" "$threads" \
    "$fds" "$(cut -d' ' -f1 /proc/loadavg)" >&2
  ((t >= RUN_S)) && break
done

# ---- Wind down and judge. -----------------------------------------------------------------------
FAIL=0
UP=$(curl -sS -G "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode 'query=sum(up{job="fake"})' \
  --max-time 60 | jq -r '.data.result[0].value[1] // "0"' 2>/dev/null) || UP="?"
STEADY_RC=0
QUERY_RC=0
for idx in "${!LOAD_PIDS[@]}"; do
  rc=0
  wait "${LOAD_PIDS[$idx]}" || rc=$?
  case $idx in 0) STEADY_RC=$rc ;; 1) QUERY_RC=$rc ;; esac
done
LOAD_PIDS=()
EMBER_RC=0
if ((ALIVE)); then
  stop_system
  EMBER_RC=$STOP_RC
fi

echo
echo "soak: $MINUTES min, $(wc -l < "$TMP/samples") samples every $SAMPLE_EVERY s;" \
     "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$TMP/steady.log"
head -12 "$TMP/queries.log"
echo "scrape targets up at the end: $UP of $SCRAPE_TARGETS"
bad_total=$(wc -l < "$TMP/bad.txt")
bad_wrong=$(awk '$1 !~ /^4/' "$TMP/bad.txt" | wc -l)
echo "bad inputs: $bad_total sent, $bad_wrong got anything but a 4xx"
awk '$1 !~ /^4/' "$TMP/bad.txt" | sort | uniq -c | head -20
awk '{ c = $1; $1 = ""; n[c " " $0]++ } END { for (k in n) printf "  %5d x %s\n", n[k], k }' \
  "$TMP/bad.txt" | sort -k3 >&2

# Growth: column COL (2 RSS, 3 threads, 4 fds) of the samples after the warm-up, in thirds.
WARMUP_S=$((RUN_S / 6))
growth() {
  awk -v col="$1" -v warm="$WARMUP_S" -v f="$GROWTH" -v slack="$2" -v name="$3" '
    $1 > warm { v[++n] = $col }
    END {
      if (n < 3) { printf "%-8s not judged: %d samples after the %d s warm-up\n", name, n, warm; exit 0 }
      third = int(n / 3); a = 0; b = 0
      for (i = 1; i <= third; i++) if (v[i] > a) a = v[i]
      for (i = n - third + 1; i <= n; i++) if (v[i] > b) b = v[i]
      ok = (b <= f * a + slack)
      printf "%-8s first third max %s, last third max %s (limit %.0f): %s\n", name, a, b, f * a + slack, ok ? "ok" : "GREW"
      exit ok ? 0 : 1
    }' "$TMP/samples"
}
growth 2 0 "VmRSS kB" || FAIL=1
growth 3 2 "threads" || FAIL=1
growth 4 2 "fds" || FAIL=1

((ALIVE)) || { echo "FAIL: ember died; log:"; tail -20 "$TMP/ember.log"; FAIL=1; }
((EMBER_RC == 0)) || { echo "FAIL: ember exited $EMBER_RC on SIGTERM"; FAIL=1; }
((STEADY_RC == 0)) || { echo "FAIL: the remote-write stream had failures (exit $STEADY_RC)"; FAIL=1; }
((QUERY_RC == 0)) || { echo "FAIL: queries failed (exit $QUERY_RC)"; FAIL=1; }
((bad_wrong == 0)) || { echo "FAIL: $bad_wrong bad inputs got something other than a 4xx"; FAIL=1; }
[[ $UP == "$SCRAPE_TARGETS" ]] || { echo "FAIL: $UP of $SCRAPE_TARGETS scrape targets up"; FAIL=1; }
if ((FAIL == 0)); then echo "soak: PASS"; else echo "soak: FAIL"; fi
exit "$FAIL"
