#!/usr/bin/env bash
# Builds the extension with ThreadSanitizer into build/tsan/ (never touching an installed tapegrad)
# and runs the tests that drive the thread pool hardest: the threading tests (pool growth and
# shrinkage, concurrent matmuls from Python threads, every parallel split at tiny sizes with the
# thresholds at 0, which runs the shared-packing barriers) and every GEMM path.
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
SITE=$OUT/site
LOGS=$OUT/logs
PY=${PYTHON:-python}

rm -rf "$SITE" "$LOGS"
mkdir -p "$SITE" "$LOGS"

isolation=--no-build-isolation
if ! "$PY" -c "import scikit_build_core, pybind11" 2>/dev/null; then
  isolation=  # let pip fetch the build requirements
fi
echo "tsan: building into $SITE"
"$PY" -m pip install --quiet --no-deps $isolation --target "$SITE" \
  "-Ccmake.define.CMAKE_CXX_FLAGS=-fsanitize=thread" \
  -Ccmake.define.CMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -Ccmake.define.CMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF \
  -Ccmake.build-type=RelWithDebInfo \
  "-Ccmake.define.CMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -Cinstall.strip=false \
  "-Cbuild-dir=$OUT/cmake" \
  .

so=$(ls "$SITE"/tapegrad/_core*.so)
tsan_rt=$(ldd "$so" | awk '/libtsan/ {print $3; exit}')
cxx_rt=$(ldd "$so" | awk '/libstdc\+\+|libc\+\+\.so/ {print $3; exit}')
if [ -z "$tsan_rt" ] || [ ! -e "$tsan_rt" ]; then
  echo "tsan: $so is not linked against the ThreadSanitizer runtime" >&2
  exit 2
fi

# An editable install puts an import hook ahead of PYTHONPATH: drop it (as sanitize.sh does).
cat > "$SITE/sitecustomize.py" <<'EOF'
import sys
sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__name__.startswith("ScikitBuild")]
EOF

export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export LD_PRELOAD="$tsan_rt${cxx_rt:+ $cxx_rt}"
export TSAN_OPTIONS="log_path=$LOGS/tsan:suppressions=$ROOT/.ci/tsan.supp"
export OPENBLAS_NUM_THREADS=1
export PYTHONMALLOC=malloc

where=$("$PY" -c "import tapegrad._core as c; print(c.__file__)")
case "$where" in
  "$SITE"/*) ;;
  *) echo "tsan: imported $where instead of the ThreadSanitizer build in $SITE" >&2; exit 2 ;;
esac
echo "tsan: testing $where"

set +e
"$PY" -m pytest -p no:cacheprovider -q --capture=sys \
  tests/test_reliability_threads.py tests/test_ops_grad.py \
  -k "not forked_child and (test_reliability_threads or matmul_kernel_paths)" "$@" 2>&1 \
  | tee "$OUT/pytest.log"
status=${PIPESTATUS[0]}
set -e

found=0
for f in $(find "$LOGS" -type f | sort) "$OUT/pytest.log"; do
  if grep -q "WARNING: ThreadSanitizer" "$f"; then
    found=1
    echo "==== ThreadSanitizer report in $f" >&2
    [ "$f" = "$OUT/pytest.log" ] || cat "$f" >&2
  fi
done
if [ "$found" -ne 0 ]; then
  echo "tsan: FAILED: ThreadSanitizer reports above (pytest status $status)" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "tsan: FAILED: pytest status $status under ThreadSanitizer" >&2
  exit "$status"
fi
echo "tsan: clean"
