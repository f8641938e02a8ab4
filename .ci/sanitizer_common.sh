# Shared by sanitize.sh and tsan.sh (sourced, not run): build the extension with a sanitizer into
# a private directory, make `import tapegrad` find that build, run pytest, and judge the reports.
# Expects OUT (the build's directory) and NAME (the prefix of every message) to be set; sets
# SITE, LOGS and PY, and empties SITE and LOGS.
SITE=$OUT/site
LOGS=$OUT/logs
PY=${PYTHON:-python}
rm -rf "$SITE" "$LOGS"
mkdir -p "$SITE" "$LOGS"

# build_instrumented CMAKE_OPTION...: pip-installs this checkout into $SITE with the given -C
# options on top of the common ones. -O1 -g1: line numbers in reports at a fraction of the compile
# time of -O2 -g (pybind11 code is heavy under the sanitizers); no LTO (pybind11 adds it to
# Release builds; instrumented, the link takes minutes); no stripping, so reports are symbolized.
# The CMake build directory ($OUT/cmake) is kept between runs.
build_instrumented() {
  local isolation=--no-build-isolation
  if ! "$PY" -c "import scikit_build_core, pybind11" 2>/dev/null; then
    isolation=  # let pip fetch the build requirements
  fi
  echo "$NAME: building into $SITE"
  "$PY" -m pip install --quiet --no-deps $isolation --target "$SITE" "$@" \
    -Ccmake.define.CMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF \
    -Ccmake.build-type=RelWithDebInfo \
    "-Ccmake.define.CMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -Cinstall.strip=false \
    "-Cbuild-dir=$OUT/cmake" \
    .
}

# use_site: later Python processes import tapegrad from $SITE. An editable install (pip install
# -e) puts an import hook ahead of PYTHONPATH, so a sitecustomize there drops it.
use_site() {
  cat > "$SITE/sitecustomize.py" <<'PYEOF'
import sys
sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__name__.startswith("ScikitBuild")]
PYEOF
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
}

# check_site: fails unless `import tapegrad._core` now finds the build in $SITE.
check_site() {
  local where
  where=$("$PY" -c "import tapegrad._core as c; print(c.__file__)")
  case "$where" in
    "$SITE"/*) echo "$NAME: testing $where (preloaded: ${LD_PRELOAD:-nothing})" ;;
    *) echo "$NAME: imported $where instead of the instrumented build in $SITE" >&2; exit 2 ;;
  esac
}

# run_pytest PYTEST_ARG...: runs pytest, output in $OUT/pytest.log; sets `status`.
# --capture=sys: pytest leaves file descriptors 1 and 2 alone, so a report written just before the
# process halts reaches the log instead of dying in pytest's capture file.
run_pytest() {
  set +e
  "$PY" -m pytest -p no:cacheprovider -q --capture=sys "$@" 2>&1 | tee "$OUT/pytest.log"
  status=${PIPESTATUS[0]}
  set -e
}

# judge PATTERN: exits non-zero if any log under $LOGS or the pytest output matches the extended
# regex PATTERN (a sanitizer report), or if pytest failed; else prints "$NAME: clean".
judge() {
  local pattern=$1 found=0 f
  for f in $(find "$LOGS" -type f | sort) "$OUT/pytest.log"; do
    if grep -qE "$pattern" "$f"; then
      found=1
      echo "==== sanitizer report in $f" >&2
      [ "$f" = "$OUT/pytest.log" ] || cat "$f" >&2
    fi
  done
  if [ "$found" -ne 0 ]; then
    echo "$NAME: FAILED: sanitizer reports above (pytest status $status)" >&2
    exit 1
  fi
  if [ "$status" -ne 0 ]; then
    echo "$NAME: FAILED: pytest status $status under the sanitizer" >&2
    exit "$status"
  fi
  echo "$NAME: clean"
}
