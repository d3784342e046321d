#!/usr/bin/env bash
# Installs Ember's build and test dependencies from Debian 12's packages, only those missing.
# Runs apt-get through sudo when not root. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librocksdb-dev libabsl-dev libboost-dev libboost-system-dev libgflags-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev libsnappy-dev libzstd-dev liblz4-dev
  libprotobuf-dev protobuf-compiler libyaml-cpp-dev zlib1g-dev
  # libFuzzer and the sanitizer runtimes of scripts/fuzz.sh.
  clang-14 libclang-rt-14-dev
  # scripts/check-format.sh.
  clang-format-14 clang-tidy-14
  # Peers of the integration tests and the side-by-side benchmark; curl for the README.
  prometheus prometheus-alertmanager python3-prometheus-client curl jq
  # The third system of bench/side_by_side.sh (/usr/bin/victoria-metrics, and vmagent).
  victoria-metrics
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# Debian's prometheus and victoria-metrics packages would start their services on install
# (Prometheus on 9090, the port Ember serves on; VictoriaMetrics on 8428). Ember's tests and
# benchmarks start their own instances, so forbid service starts while installing, through a
# policy-rc.d that is removed afterwards.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  added_policy=1
fi
status=0
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
if [ "$added_policy" -eq 1 ]; then
  "${sudo_cmd[@]}" rm -f "$policy"
fi
exit "$status"
