#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, then builds a separate
# project against it with find_package(Tern) and with pkg-config, and runs both.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d /tmp/tern-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$src/consumer" -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libtern.so' | head -n1)")
LD_LIBRARY_PATH="$libdir" "$prefix/consumer-build/consumer"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
c++ -std=c++17 "$src/consumer/main.cpp" -o "$prefix/consumer-pc" $(pkg-config --cflags --libs tern)
LD_LIBRARY_PATH="$libdir" "$prefix/consumer-pc"
