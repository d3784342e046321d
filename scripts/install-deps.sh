#!/usr/bin/env bash
# Installs Ember's build and test dependencies from Debian 12's packages, only those missing.
# Runs apt-get through sudo when not root. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librocksdb-dev libabsl-dev libboost-dev libboost-system-dev libgflags-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev libsnappy-dev libzstd-dev liblz4-dev
  libprotobuf-dev protobuf-compiler libyaml-cpp-dev
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
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
