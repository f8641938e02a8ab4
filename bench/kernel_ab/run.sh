#!/usr/bin/env bash
# Times the float GEMM of two source trees of the kernels in one process (see README.md).
#
#   bench/kernel_ab/run.sh SRC_A SRC_B [SHAPE...]
#
# SRC_A, SRC_B: copies of cpp/ (the same one twice to compare overrides). SHAPE: N (square) or
# MxNxK[:ta:tb]. Environment: KERNEL_AB_ISA=avx512 (default avx2); KERNEL_AB_OVERRIDE_A/_B, a
# directory laid out like cpp/ whose headers replace that side's; KERNEL_AB_DEFS_A/_B, extra
# compiler flags for one side; TAPEGRAD_NUM_THREADS (default 1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
src_a=$(cd "$1" && pwd); src_b=$(cd "$2" && pwd); shift 2
lib=$root/build/bench/libtapegrad_engine.a
[ -f "$lib" ] || { echo "kernel_ab: build $lib first (see README.md)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-O3 -DNDEBUG -fPIC -std=c++17 -mavx2 -mfma"
if [ "${KERNEL_AB_ISA:-avx2}" = avx512 ]; then
  flags="$flags -mavx512f -mavx512bw -mavx512dq -mavx512vl -mprefer-vector-width=512 -DTG_AB_AVX512"
fi
inc_a=${KERNEL_AB_OVERRIDE_A:+-I$(cd "$KERNEL_AB_OVERRIDE_A" && pwd)}
inc_b=${KERNEL_AB_OVERRIDE_B:+-I$(cd "$KERNEL_AB_OVERRIDE_B" && pwd)}
g++ $flags ${KERNEL_AB_DEFS_A:-} $inc_a -I"$src_a" -DTG_VARIANT=va -c "$here/variant_table.cpp" -o "$out/va.o"
g++ $flags ${KERNEL_AB_DEFS_B:-} $inc_b -I"$src_b" -DTG_VARIANT=vb -c "$here/variant_table.cpp" -o "$out/vb.o"
g++ -O2 -std=c++17 -I"$root/cpp" "$here/kernel_ab.cpp" "$out/va.o" "$out/vb.o" "$lib" -lpthread -o "$out/kernel_ab"
[ $# -gt 0 ] || set -- 256 1024 2048 256x1024x1024
"$out/kernel_ab" "$@"
