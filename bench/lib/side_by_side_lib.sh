# shellcheck shell=bash
# The measuring half of bench/side_by_side.sh; source it after lib/common.sh, do not run it.
# It reads the sourcing script's globals BUILD, TMP, PID (the server under test), TARGETS,
# MINUTES, END_MS, START_S, END_S, BATCH_SAMPLES, CONCURRENCY, WARMUP, REPS, SETTLE_SECONDS,
# QUERIES (array of PromQL expressions) and ENDPOINTS (array of "kind|argument"), and writes its
# results for system NAME under $TMP/res/NAME/:
#   load.json      remote_write_load's JSON line
#   stats          "key value" lines (cpu_ingest, hwm_ingest, rss_ingest, disk_ingest, ...)
#   times          "kind index seconds" lines, the median of REPS timed runs
#   KIND.INDEX     the last answer, canonical (canonical below)

CLK_TCK=$(getconf CLK_TCK)
QUERY_KINDS=(instant range15 range60)

# proc_cpu_s PID: the process's user + system CPU time in seconds (/proc/PID/stat fields 14 and
# 15; the command name in field 2 may hold spaces, so fields are counted after its ")").
proc_cpu_s() {
  awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# du_bytes DIR: bytes the directory takes on disk (du -sb).
du_bytes() { du -sb "$1" | cut -f1; }

# now_ms: the wall clock in Unix milliseconds.
now_ms() { date +%s%3N; }

# request PORT KIND ARG OUT: one HTTP request; its answer in OUT, its time (s) on stdout.
# KIND: instant, range15, range60 (ARG the query), names (label names), values (ARG a label
# name), series (ARG a selector). All cover the whole data: START_S to END_S.
request() {
  local base="http://127.0.0.1:$1" kind=$2 arg=$3 out=$4
  local c=(curl -sS -G -o "$out" -w '%{time_total}')
  case "$kind" in
    instant) "${c[@]}" "$base/api/v1/query" --data-urlencode "query=$arg" \
               --data-urlencode "time=$END_S" ;;
    range*) "${c[@]}" "$base/api/v1/query_range" --data-urlencode "query=$arg" \
              --data-urlencode "start=$START_S" --data-urlencode "end=$END_S" \
              --data-urlencode "step=${kind#range}" ;;
    names) "${c[@]}" "$base/api/v1/labels" --data-urlencode "start=$START_S" \
             --data-urlencode "end=$END_S" ;;
    values) "${c[@]}" "$base/api/v1/label/$arg/values" --data-urlencode "start=$START_S" \
              --data-urlencode "end=$END_S" ;;
    series) "${c[@]}" "$base/api/v1/series" --data-urlencode "match[]=$arg" \
              --data-urlencode "start=$START_S" --data-urlencode "end=$END_S" ;;
  esac
}

# median: the median of the numbers on stdin, one a line.
median() {
  sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2];
                                      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# canonical FILE: an answer in a form two systems' answers can be compared in: series sorted by
# labels, each with its (last) value to 9 significant digits and its number of points; label
# names and values sorted.
canonical() {
  jq -c 'def num: if type == "string" and (test("^[-+]?(Inf|NaN)$") | not) then tonumber
                  else . end
              | if type != "number" or . == 0 then .
                else ((if . < 0 then -. else . end) | log10 | floor - 8) as $e
                     | ((. / pow(10; $e)) | round) * pow(10; $e) end;
    if .status != "success" then {error: .error} else .data |
    if type == "object" and has("result") then
      if (.result | type) != "array" then .result else
      [.result[] | {m: (.metric | to_entries | sort_by(.key) | from_entries),
                    v: ((.value // .values[-1])[1] | num), n: (.values // [0] | length)}]
      | sort_by(.m | tostring) end
    elif type == "array" then map(tostring) | sort else . end end' "$1"
}

# time_request PORT KIND INDEX ARG DIR: one untimed run, then REPS timed ones; appends
# "KIND INDEX median_seconds" to DIR/times and the canonical answer to DIR/KIND.INDEX.
time_request() {
  local port=$1 kind=$2 i=$3 arg=$4 dir=$5 r
  request "$port" "$kind" "$arg" "$dir/answer.json" > /dev/null
  for ((r = 0; r < REPS; r++)); do
    request "$port" "$kind" "$arg" "$dir/answer.json"
    echo
  done | median | sed "s/^/$kind $i /" >> "$dir/times"
  canonical "$dir/answer.json" > "$dir/$kind.$i" 2>/dev/null || echo "(not JSON)" > "$dir/$kind.$i"
}

# stat_line DIR KEY VALUE: records one figure.
stat_line() { echo "$2 $3" >> "$1/stats"; }

# bench_system NAME PORT DATA_DIR: the whole measurement of the running server $PID: ingest
# (CPU, memory, disk), the query list and the label endpoints (memory, CPU), the disk after the
# settle period. The caller stops the server and records the disk after the stop.
bench_system() {
  local name=$1 port=$2 datadir=$3 dir="$TMP/res/$1" cpu0 cpu1 ingest_end i kind e wait_ms
  mkdir -p "$dir"
  echo "== $name (pid $PID, 127.0.0.1:$port)" >&2
  cpu0=$(proc_cpu_s "$PID")
  "$BUILD/remote_write_load" --port="$port" --targets="$TARGETS" --minutes="$MINUTES" \
    --end_ms="$END_MS" --batch_samples="$BATCH_SAMPLES" --concurrency="$CONCURRENCY" \
    --warmup="$WARMUP" --name="$name" > "$dir/load.json"
  cpu1=$(proc_cpu_s "$PID")
  ingest_end=$(now_ms)
  cat "$dir/load.json" >&2
  stat_line "$dir" cpu_ingest "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')"
  stat_line "$dir" hwm_ingest "$(status_kb "$PID" VmHWM)"
  # VictoriaMetrics buffers new rows for a second or two before they are searchable.
  if [[ $name == vm ]]; then curl -sS -o /dev/null "http://127.0.0.1:$port/internal/force_flush"; fi
  sleep 2
  stat_line "$dir" rss_ingest "$(status_kb "$PID" VmRSS)"
  stat_line "$dir" disk_ingest "$(du_bytes "$datadir")"

  cpu0=$(proc_cpu_s "$PID")
  : > "$dir/times"
  for i in "${!QUERIES[@]}"; do
    for kind in "${QUERY_KINDS[@]}"; do
      time_request "$port" "$kind" "$i" "${QUERIES[$i]}" "$dir"
    done
  done
  for i in "${!ENDPOINTS[@]}"; do
    e=${ENDPOINTS[$i]}
    time_request "$port" "${e%%|*}" "$i" "${e#*|}" "$dir"
  done
  stat_line "$dir" cpu_queries "$(awk -v a="$cpu0" -v b="$(proc_cpu_s "$PID")" 'BEGIN { print b - a }')"
  stat_line "$dir" hwm_queries "$(status_kb "$PID" VmHWM)"
  stat_line "$dir" rss_queries "$(status_kb "$PID" VmRSS)"

  # The live server's data directory SETTLE_SECONDS after ingest (at most an hour), or at once
  # when the queries took longer.
  wait_ms=$((SETTLE_SECONDS * 1000 - ($(now_ms) - ingest_end)))
  if ((wait_ms > 0)); then sleep "$(ms_to_s $((wait_ms < 3600000 ? wait_ms : 3600000)))"; fi
  stat_line "$dir" disk_settled "$(du_bytes "$datadir")"
  stat_line "$dir" settled_after_s $((($(now_ms) - ingest_end) / 1000))
}
