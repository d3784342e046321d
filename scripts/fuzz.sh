#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang-14, ASan + UBSan) and runs each, one after the
# other, for SECONDS_PER_TARGET seconds on a copy of its seed corpus fuzz/corpus/<name>/, so the
# repository is never written to. Exits non-zero if any target crashed, leaked, hung or ran out
# of memory, after printing the input that did it. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]     defaults: 20, build-fuzz
#   scripts/fuzz.sh 0                                    replay: run every seed once, no fuzzing
#                                                        (what CI does: the same answer each run)
#   FUZZ_TARGETS="promql chunk" scripts/fuzz.sh 600      some targets only
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
build_dir="${2:-build-fuzz}"

# Longest input per target: room for the seeds and for what each format does with length
# (nesting, many series), small enough that each execution stays fast.
declare -A max_len=(
  [remote_write_v1]=8192 [remote_write_v1_proto]=8192
  [remote_write_v2]=8192 [remote_write_v2_proto]=8192
  [text_format]=4096 [influx]=4096 [promql]=2048 [params]=1024
  [config]=4096 [rule_file]=4096 [chunk]=4096 [head_log]=4096
)
targets=(${FUZZ_TARGETS:-remote_write_v1 remote_write_v1_proto remote_write_v2
         remote_write_v2_proto text_format influx promql params config rule_file chunk head_log})

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz.sh: clang++-14 not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_FUZZ=ON \
  -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_BENCHMARKS=OFF -DCMAKE_CXX_COMPILER=clang++-14 \
  "${launcher[@]}"
# Two jobs at most: the Spirit X3 grammar needs ~2 GB of memory per compiler.
cmake --build "$build_dir" -j2 --target ember_fuzzers

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Crash inputs and logs outlive the run, for the regression test (docs/fuzzing.md).
artifacts="$(realpath "$build_dir")/fuzz-artifacts"
mkdir -p "$artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
summary=()
TIMEFORMAT='%U %S'

for t in "${targets[@]}"; do
  if [ -z "${max_len[$t]:-}" ]; then
    echo "fuzz.sh: unknown target $t" >&2
    exit 2
  fi
  cp -r "fuzz/corpus/$t" "$work/$t"
  mkdir -p "$artifacts/$t"
  log="$artifacts/$t.log"
  if [ "$seconds" = 0 ]; then
    echo "=== $t: replaying $(ls "$work/$t" | wc -l) seeds ==="
    budget=(-runs=0)
  else
    echo "=== $t: ${seconds}s ==="
    budget=(-max_total_time="$seconds")
  fi
  status=0
  # -timeout: one input taking this long is a hang. Without -jobs/-workers libFuzzer fuzzes in
  # this one process (CI shares its cores), and writes no fuzz-N.log into the working directory.
  # `time` reports the fuzzer's CPU seconds (user + sys), what docs/fuzzing.md tabulates.
  { time "$build_dir/fuzz/${t}_fuzzer" "${budget[@]}" -rss_limit_mb=2048 \
      -max_len="${max_len[$t]}" -timeout=25 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t/" "$work/$t" >"$log" 2>&1; } 2>"$work/$t.time" ||
    status=$?
  cpu="$(awk '{printf "%.0f", $1 + $2}' "$work/$t.time")"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  summary+=("$(printf '%-22s cpu %5ss %12s runs  exit %s' "$t" "$cpu" "${runs:-?}" "$status")")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    grep -E "^==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written to|ALARM|out-of-memory" \
      "$log" | head -20 || true
    tail -40 "$log"
    echo "fuzz.sh: $t FAILED; log $log; input(s):"
    sed -n 's/.*Test unit written to //p' "$log"
  fi
  rm -rf "${work:?}/$t"
done

if [ "$seconds" = 0 ]; then
  echo "=== fuzz summary (seeds replayed) ==="
else
  echo "=== fuzz summary (${seconds}s per target) ==="
fi
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs under $artifacts)" >&2
  exit 1
fi
