#!/usr/bin/env bash
# Builds the extension with AddressSanitizer + UndefinedBehaviorSanitizer (CMake option
# TAPEGRAD_SANITIZE) into build/sanitize/ (never touching an installed tapegrad) and runs the test
# suite against that build with the ASan runtime preloaded into the Python process.
#
# Exits non-zero if the build fails, a test fails, or any sanitizer report is written (reports of
# subprocesses that tests start are caught too: they all log into build/sanitize/logs/).
#
# Environment:
#   TAPEGRAD_SANITIZE_DIR   where to build (default: build/sanitize in the repository)
#   extra arguments         are passed to pytest (e.g. .ci/sanitize.sh -k fuzz)
#
# Nothing is skipped for the sanitizers' sake: test_reliability_memory's resident-memory bound skips
# itself under ASan (quarantine and shadow memory make RSS grow by design); its live tensor/tape
# counts are still checked.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${TAPEGRAD_SANITIZE_DIR:-$ROOT/build/sanitize}

NAME=sanitize
. "$ROOT/.ci/sanitizer_common.sh"

build_instrumented -Ccmake.define.TAPEGRAD_SANITIZE=ON

so=$(ls "$SITE"/tapegrad/_core*.so)
# The runtimes the extension links against: preload ASan (it must come first in the process) and
# the C++ runtime (python is not linked against libstdc++, and ASan's __cxa_throw interceptor
# needs it loaded at startup, or the first C++ exception aborts with "real___cxa_throw != 0").
asan_rt=$(ldd "$so" | awk '/libasan|clang_rt\.asan/ {print $3; exit}')
cxx_rt=$(ldd "$so" | awk '/libstdc\+\+|libc\+\+\.so/ {print $3; exit}')
if [ -z "$asan_rt" ] || [ ! -e "$asan_rt" ]; then
  echo "sanitize: $so is not linked against an ASan runtime (was TAPEGRAD_SANITIZE applied?)" >&2
  exit 2
fi

use_site
export LD_PRELOAD="$asan_rt${cxx_rt:+ $cxx_rt}"
# detect_leaks=0: CPython keeps objects alive at exit by design.
# allocator_may_return_null=1: huge requests fail as they would without ASan (MemoryError), instead
# of ASan's "allocation-size-too-big" abort; the tests ask for absurd sizes on purpose.
# max_allocation_size_mb=4096: no single block above 4 GiB (nothing in the suite needs one); the
# fuzzer's own address-space cap is off under ASan, so this keeps a random large-but-possible
# shape from filling a shared machine.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=4096:halt_on_error=1:log_path=$LOGS/asan"
# (UBSan writes its reports to stderr when it runs inside the ASan runtime: see the log below.)
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1"
# Python objects through malloc, so ASan sees them too.
export PYTHONMALLOC=malloc

check_site
run_pytest "$@"

# A report is an error line of a sanitizer (in the log files of any process, or in the output);
# ASan's "failed to allocate" warnings for absurd sizes (allocator_may_return_null) are not.
pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|AddressSanitizer: CHECK failed|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
judge "$pattern"
