#!/usr/bin/env bash
# Install the build to a temporary prefix, then build and run examples/hello from outside the
# tree twice: with `cc ... $(pkg-config --cflags --libs libmsb)` and as a fresh CMake project
# using find_package(msb REQUIRED).
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libmsb.so' | head -n 1)")
export PKG_CONFIG_PATH="$libdir/pkgconfig"
export LD_LIBRARY_PATH="$libdir"

echo "== pkg-config"
mkdir "$tmp/pc"
cp "$src/examples/hello/hello.c" "$tmp/pc/"
# shellcheck disable=SC2046
cc -Wall -Werror -o "$tmp/pc/hello" "$tmp/pc/hello.c" $(pkg-config --cflags --libs libmsb)
"$tmp/pc/hello" | tee "$tmp/pc/out"
grep -q "libmsb" "$tmp/pc/out"

echo "== cmake find_package(msb)"
mkdir "$tmp/cm"
cp "$src/examples/hello/hello.c" "$tmp/cm/"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(hello_consumer C)
find_package(msb REQUIRED)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE msb::msb)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
"$tmp/cm/build/hello" | tee "$tmp/cm/out"
grep -q "libmsb" "$tmp/cm/out"

echo "== pkg-config --static"
pkg-config --static --libs libmsb >/dev/null
echo "install test passed"
