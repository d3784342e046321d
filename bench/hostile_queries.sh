#!/usr/bin/env bash
# Hostile queries against a per-query memory budget: peak RSS of `ember serve` while clients fire
# queries built to exhaust memory or time (huge and nested subqueries, every series, regex
# selectors over everything, range queries at 1 s steps), and the status codes they get.
# 127.0.0.1 only; Ember on a fresh temp data directory, loaded with the ML-serving data set
# (bench/remote_write_load.cc), stopped by its PID (SIGTERM, then SIGKILL after 60 s). Not CI:
# it takes a few minutes and most of a core or two.
#
#   bench/hostile_queries.sh BUILD_DIR        (builds nothing: needs BUILD_DIR/ember and
#                                              BUILD_DIR/remote_write_load)
#
# Knobs (environment): BUDGET_BYTES=268435456 (the per-query budget), MARGIN_MB=64 (the fixed
# margin over CLIENTS x BUDGET_BYTES that RSS may grow by), BUDGET_FLAG (the flag
# that sets it, e.g. --query_max_memory_bytes; found in `ember --help` when unset, and left off
# when the build has none), TARGETS=100 (131 series each), MINUTES=60 (of data, ending now),
# CLIENTS=2 (concurrent hostile clients), DURATION=120 (seconds of firing), QUERY_TIMEOUT=30s
# (ember serve --query_timeout), EMBER_FLAGS="" (more `ember serve` flags).
#
# Prints the RSS before the queries, the highest VmRSS sampled every 0.2 s (and the queries in
# flight then) and VmHWM during the queries, and the growth over the pre-query RSS against
# CLIENTS x BUDGET_BYTES (each running query may hold up to the budget); then per query the
# status codes it got, its slowest answer and its largest body.
# Exits 1 when Ember died, a query got a 5xx other than 503 (a timeout) or no answer, or the
# growth exceeded CLIENTS x BUDGET_BYTES + MARGIN_MB (when a budget flag was given).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_dir_arg "$@"
BUDGET_BYTES=${BUDGET_BYTES:-268435456}
MARGIN_MB=${MARGIN_MB:-64}
TARGETS=${TARGETS:-100}
MINUTES=${MINUTES:-60}
CLIENTS=${CLIENTS:-2}
DURATION=${DURATION:-120}
QUERY_TIMEOUT=${QUERY_TIMEOUT:-30s}
EMBER_FLAGS=${EMBER_FLAGS:-}

require_bins "$BUILD" ember remote_write_load
require_tools curl jq

# The budget flag: BUDGET_FLAG when set (even empty: no flag), else the first flag of
# `ember --help` whose name has query, max and memory in it.
if [[ -z ${BUDGET_FLAG+set} ]]; then
  BUDGET_FLAG=$("$BUILD/ember" --help 2>&1 |
    grep -oE -- '-{1,2}query[._-]?max[._-]?memory[a-z_.-]*' | head -1 | sed 's/^-*/--/') || true
fi
if [[ -n $BUDGET_FLAG ]]; then
  BUDGET_ARGS=("$BUDGET_FLAG=$BUDGET_BYTES")
else
  BUDGET_ARGS=()
  echo "no per-query memory budget flag in this build (BUDGET_FLAG to name it): peak RSS is" \
       "measured without a budget" >&2
fi

PID=""
CLIENT_PIDS=()
SAMPLER_PID=""
# stop_started: the exit trap's part (bench_tmp): the clients, the sampler, then Ember.
stop_started() {
  stop_pids "${CLIENT_PIDS[@]}" "$SAMPLER_PID"
  CLIENT_PIDS=()
  SAMPLER_PID=""
  stop_system
}
bench_tmp hostile-queries

END_MS=$(date +%s%3N)
END_S=$((END_MS / 1000))
DAY_AGO_S=$((END_S - 86400))
HOUR_AGO_S=$((END_S - MINUTES * 60))

# instant|QUERY at the end of the data, or range|START|END|STEP|QUERY: over all of it at step
# 1 s, or a day at 8 s (Prometheus refuses more than 11,000 points per series).
# shellcheck disable=SC2016  # $1 is label_replace's, not the shell's.
QUERIES=(
  'instant|count_over_time(vector(1)[10y:1ms])'
  'instant|sum_over_time(sum_over_time(model_requests_total[1d:1s])[1d:1s])'
  'instant|max_over_time(rate(model_request_latency_seconds_bucket[5m])[1d:1s])'
  'instant|histogram_quantile(0.99, sum by (le, instance, model, version) (rate(model_request_latency_seconds_bucket[1h:1s])))'
  'instant|quantile_over_time(0.5, {__name__=~".+"}[1d])'
  'instant|topk(1000000, {__name__=~".+"})'
  'instant|count(count_over_time({__name__=~".+"}[1h:1s]))'
  'instant|{__name__=~".*_bucket|.*_total"} * on () group_left () count({__name__=~".+"})'
  'instant|sort_desc(label_replace({__name__=~".+", instance=~"10\\.0\\..*"}, "x", "$1$1$1$1", "instance", "(.*)"))'
  'instant|count by (instance, le, model, version, code) ({__name__=~"model_.+"} offset 30m)'
  "range|$HOUR_AGO_S|$END_S|1|sum by (instance, le) (rate(model_request_latency_seconds_bucket[5m]))"
  "range|$DAY_AGO_S|$END_S|8|count_over_time(model_requests_total[1h:1s])"
  "range|$HOUR_AGO_S|$END_S|1|{__name__=~\".+\"}"
)

PORT=$(free_port)
# shellcheck disable=SC2086  # EMBER_FLAGS is a list of flags.
start_system "$PORT" "$TMP/ember.log" \
  "$BUILD/ember" serve --listen_address="127.0.0.1:$PORT" --data_dir="$TMP/ember" \
  --self_scrape_interval=0s --query_timeout="$QUERY_TIMEOUT" "${BUDGET_ARGS[@]}" $EMBER_FLAGS
echo "ember (pid $PID) on 127.0.0.1:$PORT, budget ${BUDGET_ARGS[*]:-none}, query timeout $QUERY_TIMEOUT;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BUILD/remote_write_load" --port="$PORT" --targets="$TARGETS" --minutes="$MINUTES" \
  --end_ms="$END_MS" --name=ember > "$TMP/load.json"
sleep 2
BASE_RSS=$(status_kb "$PID" VmRSS)
BASE_HWM=$(status_kb "$PID" VmHWM)

# The sampler: VmRSS every 0.2 s, for DURATION + 2 query timeouts at most.
TIMEOUT_S=$(awk -v t="$QUERY_TIMEOUT" 'BEGIN { n = t + 0; if (t ~ /ms$/) n /= 1000; else if (t ~ /m$/) n *= 60; else if (t ~ /h$/) n *= 3600; printf "%d", n + 1 }')
(
  end=$((SECONDS + DURATION + 2 * TIMEOUT_S + 30))
  while ((SECONDS < end)) && kill -0 "$PID" 2>/dev/null; do
    echo "$(date +%s%3N) $(status_kb "$PID" VmRSS)"
    sleep 0.2
  done
) > "$TMP/rss.samples" &
SAMPLER_PID=$!

# client C: fires the queries in turn (client C starts at query C) until DURATION has passed or
# it has sent 1000; one line per answer: index, HTTP status (000: none), seconds, body bytes,
# send time (Unix ms).
client() {
  local c=$1 n=0 i entry kind q start end step code start_ms
  local stop=$((SECONDS + DURATION))
  while ((SECONDS < stop && n < 1000)) && kill -0 "$PID" 2>/dev/null; do
    i=$(((c + n) % ${#QUERIES[@]}))
    entry=${QUERIES[$i]}
    kind=${entry%%|*}
    start_ms=$(date +%s%3N)
    if [[ $kind == instant ]]; then
      q=${entry#*|}
      code=$(curl -sS -G -o /dev/null -w '%{http_code} %{time_total} %{size_download}' --max-time $((TIMEOUT_S + 60)) \
        "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode "query=$q" \
        --data-urlencode "time=$END_S" 2>/dev/null) || true
    else
      IFS='|' read -r _ start end step q <<< "$entry"  # q takes the rest, '|' and all.
      code=$(curl -sS -G -o /dev/null -w '%{http_code} %{time_total} %{size_download}' --max-time $((TIMEOUT_S + 60)) \
        "http://127.0.0.1:$PORT/api/v1/query_range" --data-urlencode "query=$q" \
        --data-urlencode "start=$start" --data-urlencode "end=$end" \
        --data-urlencode "step=$step" 2>/dev/null) || true
    fi
    echo "$i ${code:-000 0 0} $start_ms"
    n=$((n + 1))
  done
}

echo "firing ${#QUERIES[@]} hostile queries from $CLIENTS clients for $DURATION s" >&2
for ((c = 0; c < CLIENTS; c++)); do
  client "$c" > "$TMP/client.$c" &
  CLIENT_PIDS+=($!)
done
for p in "${CLIENT_PIDS[@]}"; do wait "$p" || true; done
CLIENT_PIDS=()
ALIVE=1
kill -0 "$PID" 2>/dev/null || ALIVE=0
PEAK_HWM=$(status_kb "$PID" VmHWM)
END_RSS=$(status_kb "$PID" VmRSS)
stop_pid "$SAMPLER_PID"
SAMPLER_PID=""

# ---- Report. ----------------------------------------------------------------------------------
read -r PEAK_MS PEAK_RSS < <(sort -n -k2 "$TMP/rss.samples" | tail -1)
# The queries in flight at the peak sample.
AT_PEAK=$(cat "$TMP"/client.* | awk -v t="${PEAK_MS:-0}" '$5 <= t && t <= $5 + $3 * 1000 { printf "q%s ", $1 }')
mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.0f", k / 1024 }'; }
budget_mib=$(awk -v b="$BUDGET_BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')
growth_kb=$((${PEAK_RSS:-0} - ${BASE_RSS:-0}))
# The budget counts what the evaluator holds; allocator slack, per-thread arenas, storage
# iterators and the answer being written are the fixed margin on top.
limit_kb=$((CLIENTS * BUDGET_BYTES / 1024 + MARGIN_MB * 1024))
echo
echo "hostile queries: $TARGETS targets x 131 series, $MINUTES min; $CLIENTS clients x $DURATION s;" \
     "budget ${BUDGET_ARGS[*]:-none}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-48s %10s\n' "VmRSS before the queries, MiB" "$(mib "$BASE_RSS")"
printf '%-48s %10s\n' "VmHWM before the queries (load), MiB" "$(mib "$BASE_HWM")"
printf '%-48s %10s   %s\n' "highest VmRSS sampled during the queries, MiB" "$(mib "$PEAK_RSS")" \
  "(in flight: ${AT_PEAK:-none})"
printf '%-48s %10s\n' "VmHWM at the end, MiB" "$(mib "$PEAK_HWM")"
printf '%-48s %10s\n' "VmRSS at the end, MiB" "$(mib "$END_RSS")"
printf '%-48s %10s\n' "growth over the pre-query RSS, MiB" "$(mib "$growth_kb")"
printf '%-48s %10s\n' "clients x budget + margin, MiB" "$((CLIENTS * budget_mib + MARGIN_MB))"
echo
printf '%-4s %-22s %7s %9s %s\n' "q" "status codes (count)" "max s" "max MB" "query"
BAD=0
for i in "${!QUERIES[@]}"; do
  codes=$(cat "$TMP"/client.* | awk -v i="$i" '$1 == i { n[$2]++ } END { for (c in n) printf "%s:%d ", c, n[c] }')
  slowest=$(cat "$TMP"/client.* | awk -v i="$i" '$1 == i && $3 > m { m = $3 } END { printf "%.2f", m }')
  largest=$(cat "$TMP"/client.* | awk -v i="$i" '$1 == i && $4 > m { m = $4 } END { printf "%.1f", m / 1e6 }')
  printf '%-4s %-22s %7s %9s %s\n' "q$i" "${codes:-not run}" "$slowest" "$largest" "${QUERIES[$i]:0:110}"
done
bad=$(cat "$TMP"/client.* | awk '$2 == "000" || ($2 >= 500 && $2 != 503)' | wc -l)
total=$(cat "$TMP"/client.* | wc -l)
echo
echo "$total answers; $bad with no answer or a 5xx other than 503"
if ((ALIVE == 0)); then
  echo "FAIL: ember died; log:"
  tail -20 "$TMP/ember.log"
  BAD=1
fi
((bad == 0)) || BAD=1
if [[ -n $BUDGET_FLAG ]] && ((growth_kb > limit_kb)); then
  echo "FAIL: RSS grew $(mib "$growth_kb") MiB over the pre-query RSS, more than clients x budget + margin"
  BAD=1
fi
exit "$BAD"
