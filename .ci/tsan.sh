#!/usr/bin/env bash
# Builds the extension with ThreadSanitizer into build/tsan/ (never touching an installed tapegrad)
# and runs the tests that drive the thread pool hardest: the threading tests (pool growth and
# shrinkage, concurrent matmuls from Python threads, every parallel split at tiny sizes with the
# thresholds at 0, which runs the dynamic GEMM schedule with its waits), every GEMM path, that
# schedule on 2, 3 and 5 threads, and tg.function's fused loops on 2 threads and one function
# called from several threads.
#
# Exits non-zero if the build fails, a test fails, or ThreadSanitizer reports anything.
#
# Left out, and why:
#   - the fork test: ThreadSanitizer cannot run a child that starts threads after a
#     multi-threaded fork (it stops the child by design);
#   - numpy's OpenBLAS threads (OPENBLAS_NUM_THREADS=1): OpenBLAS is not instrumented, so its own
#     synchronisation is invisible and numpy's reference products would be reported as races.
# tsan.supp holds the one report that is not ours (glibc freeing a finished thread's TLS).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${TAPEGRAD_TSAN_DIR:-$ROOT/build/tsan}

NAME=tsan
. "$ROOT/.ci/sanitizer_common.sh"

build_instrumented "-Ccmake.define.CMAKE_CXX_FLAGS=-fsanitize=thread" \
  -Ccmake.define.CMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread

so=$(ls "$SITE"/tapegrad/_core*.so)
tsan_rt=$(ldd "$so" | awk '/libtsan/ {print $3; exit}')
cxx_rt=$(ldd "$so" | awk '/libstdc\+\+|libc\+\+\.so/ {print $3; exit}')
if [ -z "$tsan_rt" ] || [ ! -e "$tsan_rt" ]; then
  echo "tsan: $so is not linked against the ThreadSanitizer runtime" >&2
  exit 2
fi

use_site
export LD_PRELOAD="$tsan_rt${cxx_rt:+ $cxx_rt}"
export TSAN_OPTIONS="log_path=$LOGS/tsan:suppressions=$ROOT/.ci/tsan.supp"
export OPENBLAS_NUM_THREADS=1
export PYTHONMALLOC=malloc

check_site
run_pytest tests/reliability/test_reliability_threads.py tests/kernels/test_kernel_threads.py \
  tests/kernels/test_gemm.py tests/test_function.py \
  -k "not forked_child and (test_reliability_threads or test_kernel_threads or matmul_kernel_paths or dynamic_schedule or one_function_from_several_threads or (fused and 2))" \
  "$@"
judge "WARNING: ThreadSanitizer"
