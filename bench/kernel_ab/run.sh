#!/usr/bin/env bash
# Compares the float GEMM of two source trees of the kernels in one process (kernel_ab.cpp).
#
#   bench/kernel_ab/run.sh SRC_A SRC_B [SHAPE...]
#
# SRC_A, SRC_B: copies of cpp/ (e.g. `cp -r cpp /tmp/b` and edit /tmp/b). Both are compiled with
# the same flags. Needs the native bench's engine library (bench/README.md, native/):
#   cmake -S . -B build/bench -DTAPEGRAD_BUILD_BENCH=ON ... && cmake --build build/bench
# Check the harness first with two identical copies: the medians should be 1.00 +- 0.02.
# Both copies need this tree's kernels/kernels.h: kernel_ab.cpp reads their tables with its
# layout (a copy taken before a table entry was added crashes).
# KERNEL_AB_ISA=avx512 compares the avx512 kernels instead of the avx2 ones. KERNEL_AB_DEFS_A and
# KERNEL_AB_DEFS_B add compiler flags to one side (e.g. "-DTG_AVX512_MR=8"), so one copy of
# cpp/ given twice can compare the kernels' compile-time parameters.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
src_a=$(cd "$1" && pwd); src_b=$(cd "$2" && pwd); shift 2
lib=$root/build/bench/libtapegrad_engine.a
[ -f "$lib" ] || { echo "kernel_ab: build $lib first (see bench/README.md)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-O3 -DNDEBUG -fPIC -std=c++17 -mavx2 -mfma"
if [ "${KERNEL_AB_ISA:-avx2}" = avx512 ]; then
  flags="$flags -mavx512f -mavx512bw -mavx512dq -mavx512vl -mprefer-vector-width=512 -DTG_AB_AVX512"
fi
g++ $flags ${KERNEL_AB_DEFS_A:-} -I"$src_a" -DTG_VARIANT=va -c "$here/variant_table.cpp" -o "$out/va.o"
g++ $flags ${KERNEL_AB_DEFS_B:-} -I"$src_b" -DTG_VARIANT=vb -c "$here/variant_table.cpp" -o "$out/vb.o"
g++ -O2 -std=c++17 -I"$root/cpp" "$here/kernel_ab.cpp" "$out/va.o" "$out/vb.o" "$lib" -lpthread -o "$out/kernel_ab"
[ $# -gt 0 ] || set -- 256 1024 2048 256x1024x1024
"$out/kernel_ab" "$@"
