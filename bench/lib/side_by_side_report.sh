# shellcheck shell=bash
# The tables of bench/side_by_side.sh (markdown, on stdout), from the result files
# lib/side_by_side_lib.sh leaves under $TMP/res/NAME/ for NAME in ember, prometheus and vm; a
# system that did not run shows "-". Reads the globals TMP, QUERIES, ENDPOINTS and QUERY_KINDS.

# load_field NAME FIELD: a field of NAME's remote_write_load JSON line, or "-".
load_field() {
  if [[ -f "$TMP/res/$1/load.json" ]]; then jq -r ".$2" "$TMP/res/$1/load.json"; else echo -; fi
}

# figure NAME KEY: one of NAME's recorded figures, or "-".
figure() {
  local v
  v=$(awk -v k="$2" '$1 == k { print $2 }' "$TMP/res/$1/stats" 2>/dev/null || true)
  echo "${v:--}"
}

# calc EXPR A B: awk's EXPR of a and b with 2 decimals (FMT overrides), or "-" when either is
# "-", empty or not one number.
calc() {
  if [[ $2 == - || $3 == - || -z $2 || -z $3 || "$2$3" == *' '* ]]; then echo -; return; fi
  awk -v a="$2" -v b="$3" -v f="${FMT:-%.2f}" "BEGIN { printf f, ($1) }"
}

# ratio A B: A / B with 2 decimals, or "-" (also when B is 0).
ratio() {
  if [[ $(calc 'b > 0' "$1" "$2") == 1.00 ]]; then calc 'a / b' "$1" "$2"; else echo -; fi
}

# row LABEL E P V: one table row, with E/P and E/V (none when NORATIO is set).
row() {
  local ep=- ev=-
  [[ -n ${NORATIO:-} ]] || { ep=$(ratio "$2" "$3"); ev=$(ratio "$2" "$4"); }
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$ep" "$ev"
}

# per_system FN ARG...: row of FN NAME ARG... for ember, prometheus and vm (label: $ROW).
per_system() {
  local fn=$1
  shift
  row "$ROW" "$($fn ember "$@")" "$($fn prometheus "$@")" "$($fn vm "$@")"
}

# Figures derived per system.
total_samples() {
  local w s
  w=$(load_field "$1" warmup_samples)
  s=$(load_field "$1" samples)
  FMT=%d calc 'a + b' "$w" "$s"
}
cpu_per_m() { calc 'a / b * 1e6' "$(figure "$1" cpu_ingest)" "$(total_samples "$1")"; }
mib() { FMT=%.0f calc 'a / b' "$(figure "$1" "$2")" 1024; }
bytes_per_sample() { calc 'a / b' "$(figure "$1" "$2")" "$(total_samples "$1")"; }
# kind_ms NAME KIND [INDEX]: one median (ms), or the sum over the indexes of KIND.
kind_ms() {
  [[ -f "$TMP/res/$1/times" ]] || { echo -; return; }
  awk -v k="$2" -v i="${3:-}" '$1 == k && (i == "" || $2 == i) { s += $3 } END { printf "%.1f", s * 1000 }' \
    "$TMP/res/$1/times"
}
queries_ms() {
  local k t=0
  for k in "${QUERY_KINDS[@]}"; do t=$(FMT=%.1f calc 'a + b' "$t" "$(kind_ms "$1" "$k")"); done
  echo "$t"
}
endpoints_ms() {
  local k t=0
  for k in names values series; do t=$(FMT=%.1f calc 'a + b' "$t" "$(kind_ms "$1" "$k")"); done
  echo "$t"
}

# same KIND INDEX: whether Ember's answer equals Prometheus's ("-" unless both ran).
same() {
  [[ -f "$TMP/res/ember/$1.$2" && -f "$TMP/res/prometheus/$1.$2" ]] || { echo -; return; }
  if cmp -s "$TMP/res/ember/$1.$2" "$TMP/res/prometheus/$1.$2"; then echo same; else echo DIFFERS; fi
}

report() {
  local i kind e ep n
  echo
  echo "| figure | Ember | Prometheus | VictoriaMetrics | E/P | E/V |"
  echo "| --- | --- | --- | --- | --- | --- |"
  ROW="series" per_system load_field series
  ROW="samples sent (warm-up + timed)" per_system total_samples
  ROW="ingest, samples/s (timed part)" per_system load_field samples_per_s
  ROW="series creation (warm-up round), s" per_system load_field warmup_seconds
  ROW="request p50 / p99 ms" per_system p50_p99
  ROW="server CPU s per million samples" per_system cpu_per_m
  ROW="peak RSS during ingest (VmHWM), MiB" per_system mib hwm_ingest
  ROW="RSS 2 s after ingest (VmRSS), MiB" per_system mib rss_ingest
  ROW="peak RSS after the query list (VmHWM), MiB" per_system mib hwm_queries
  ROW="RSS after the query list (VmRSS), MiB" per_system mib rss_queries
  ROW="data dir B/sample, 2 s after ingest" per_system bytes_per_sample disk_ingest
  ROW="data dir B/sample, live, after the queries (and SETTLE_SECONDS)" \
    per_system bytes_per_sample disk_settled
  ROW="data dir B/sample, after a clean stop" per_system bytes_per_sample disk_stopped
  ROW="the same without VictoriaMetrics's saved caches (cache/)" \
    per_system bytes_per_sample disk_stopped_nocache
  NORATIO=1 ROW="exit status after SIGTERM" per_system figure stop_rc
  if ((${#QUERIES[@]})); then
    for kind in "${QUERY_KINDS[@]}"; do
      ROW="${#QUERIES[@]} queries, $kind, sum of medians ms" per_system kind_ms "$kind"
    done
    ROW="${#QUERIES[@]} queries x 3, sum of medians ms" per_system queries_ms
  fi
  ROW="label names + values + series, sum of medians ms" per_system endpoints_ms
  ROW="server CPU s, query list + endpoints" per_system figure cpu_queries
  NORATIO=1 ROW="seconds from end of ingest to the live figure" per_system figure settled_after_s

  echo
  echo "| # | kind | Ember ms | Prometheus ms | VM ms | E/P | E/V | Ember = Prometheus |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  local slower=()
  for i in "${!QUERIES[@]}"; do
    for kind in "${QUERY_KINDS[@]}"; do
      e=$(kind_ms ember "$kind" "$i")
      ep=$(ratio "$e" "$(kind_ms prometheus "$kind" "$i")")
      [[ $ep != - ]] && awk -v r="$ep" 'BEGIN { exit !(r > 1) }' && slower+=("q$i $kind ($ep)")
      echo "| q$i | $kind | $e | $(kind_ms prometheus "$kind" "$i") | $(kind_ms vm "$kind" "$i") | $ep |" \
           "$(ratio "$e" "$(kind_ms vm "$kind" "$i")") | $(same "$kind" "$i") |"
    done
  done
  for i in "${!ENDPOINTS[@]}"; do
    kind=${ENDPOINTS[$i]%%|*}
    e=$(kind_ms ember "$kind" "$i")
    n=$(jq 'length' "$TMP/res/prometheus/$kind.$i" 2>/dev/null || echo "?")
    echo "| e$i | $kind ${ENDPOINTS[$i]#*|} ($n) | $e | $(kind_ms prometheus "$kind" "$i") |" \
         "$(kind_ms vm "$kind" "$i") | $(ratio "$e" "$(kind_ms prometheus "$kind" "$i")") |" \
         "$(ratio "$e" "$(kind_ms vm "$kind" "$i")") | $(same "$kind" "$i") |"
  done
  echo
  if ((${#QUERIES[@]})); then
    echo "Ember slower than Prometheus (E/P > 1): ${#slower[@]} of $((${#QUERIES[@]} * 3))${slower[*]:+: ${slower[*]}}"
    echo
  fi
  for i in "${!QUERIES[@]}"; do echo "q$i: ${QUERIES[$i]}"; done
  for i in "${!QUERIES[@]}"; do
    for kind in "${QUERY_KINDS[@]}"; do
      [[ $(same "$kind" "$i") == DIFFERS ]] || continue
      echo "q$i $kind answers differ:"
      show_difference "$TMP/res/ember/$kind.$i" "$TMP/res/prometheus/$kind.$i"
    done
  done
}

# show_difference EMBER PROMETHEUS: two canonical answers that differ: the first 3 series each
# has that the other has not (when both are lists), or the first 600 characters of each.
show_difference() {
  if jq -e -n --slurpfile e "$1" --slurpfile p "$2" \
       '($e[0] | type) == "array" and ($p[0] | type) == "array"' > /dev/null 2>&1; then
    echo "  $(jq 'length' "$1") series from Ember, $(jq 'length' "$2") from Prometheus"
    echo "  only Ember's:      $(jq -c -n --slurpfile e "$1" --slurpfile p "$2" '($e[0] - $p[0])[:3]')"
    echo "  only Prometheus's: $(jq -c -n --slurpfile e "$1" --slurpfile p "$2" '($p[0] - $e[0])[:3]')"
  else
    echo "  Ember:      $(head -c 600 "$1")"
    echo "  Prometheus: $(head -c 600 "$2")"
  fi
}

# p50_p99 NAME: remote-write request latency, p50 / p99 ms.
p50_p99() {
  [[ -f "$TMP/res/$1/load.json" ]] || { echo -; return; }
  echo "$(load_field "$1" request_p50_ms) / $(load_field "$1" request_p99_ms)"
}
