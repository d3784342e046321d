#!/usr/bin/env bash
# consumer_test: installs the build into a staging prefix, then builds tests/consumer against it
# twice, as an embedder would (find_package(Ember) with CMAKE_PREFIX_PATH; pkg-config with
# PKG_CONFIG_PATH), and runs both builds. Also checks that the installed headers include
# nothing but each other, the standard library and absl/status (docs/STYLE.md).
#
#   run.sh BUILD_DIR WORK_DIR GENERATOR CXX [LAUNCHER [FLAGS]]
#
# FLAGS go to the consumer's compile and link (-fsanitize=... when the libraries have it).
set -euo pipefail

build=$(realpath "$1")
work=$(realpath -m "$2")
generator=$3
cxx=$4
launcher=${5:-}
flags_extra=${6:-}
src=$(cd "$(dirname "$0")" && pwd)
stage=$work/stage

rm -rf "$work"
mkdir -p "$work"

echo "== cmake --install $build --prefix $stage"
cmake --install "$build" --prefix "$stage" >"$work/install.log"
test -x "$stage/bin/ember" || { echo "FAIL: bin/ember not installed"; exit 1; }
# Only <ember/...> headers, and those include only each other, <...> and absl/status.
if find "$stage/include" -mindepth 1 -maxdepth 1 ! -name ember | grep .; then
  echo "FAIL: headers other than include/ember/ installed"
  exit 1
fi
if grep -n '^#include "' "$stage"/include/ember/*.h | grep -v -E '"(ember|absl/status)/'; then
  echo "FAIL: an installed header includes a non-public header"
  exit 1
fi

echo "== find_package(Ember): configure, build, run"
launcher_arg=()
if [ -n "$launcher" ]; then
  launcher_arg=("-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher")
fi
cmake -S "$src" -B "$work/cmake-build" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$stage" -DCMAKE_CXX_COMPILER="$cxx" "${launcher_arg[@]}" \
  -DCMAKE_CXX_FLAGS="$flags_extra" -DCMAKE_EXE_LINKER_FLAGS="$flags_extra" \
  >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/cmake-build"
"$work/cmake-build/consumer" "$work/data-cmake"

echo "== pkg-config: resolve, build, run"
pc=$(find "$stage" -name ember.pc)
test -n "$pc" || { echo "FAIL: ember.pc not installed"; exit 1; }
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
pkg-config --modversion ember
flags=$(pkg-config --cflags --libs ember)
echo "pkg-config --cflags --libs ember: $flags"
case "$flags" in
  *-lember_storage*) ;;
  *) echo "FAIL: no -lember_storage"; exit 1 ;;
esac
# shellcheck disable=SC2086  # $flags and $flags_extra are lists of flags.
$launcher "$cxx" -std=c++20 -O1 $flags_extra "$src/main.cc" -o "$work/consumer-pkgconfig" $flags
"$work/consumer-pkgconfig" "$work/data-pkgconfig"
echo "consumer_test: PASS"
