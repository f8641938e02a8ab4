"""Mutation run: plant each bug of mutants.py in turn and check that the tests catch it.

    python tests/mutation/run.py [--full] [--only ID[,ID...]] [--work DIR] [--jobs N]

The source tree is copied to a scratch directory (the checkout is never modified), built once
with CMake + Ninja, and for each mutant: the change is planted, the engine is rebuilt
incrementally (Python mutants need no build), the mutant's tests run against that build
(``--full``: the whole suite), and the change is taken back. A mutant is caught when pytest fails.
The score is caught / planted; every mutant must be caught (exit status 1 otherwise).

pytest does not collect this folder (its files are not named test_*).
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from mutants import MUTANTS  # noqa: E402


def _copy_sources(work: str) -> str:
    src = os.path.join(work, "src")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for rel in files:
        dst = os.path.join(src, rel)
        if not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst) or open(os.path.join(ROOT, rel), "rb").read() != open(dst, "rb").read():
            shutil.copy2(os.path.join(ROOT, rel), dst)
    return src


def _build(src: str, build: str, jobs: int) -> None:
    if not os.path.exists(os.path.join(build, "build.ninja")):
        pybind11_dir = subprocess.run([sys.executable, "-m", "pybind11", "--cmakedir"], check=True,
                                      capture_output=True, text=True).stdout.strip()
        subprocess.run(["cmake", "-G", "Ninja", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                        f"-Dpybind11_DIR={pybind11_dir}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build, "-j", str(jobs), "_core"], check=True, stdout=subprocess.DEVNULL)


def _package(src: str, build: str, pkg: str) -> None:
    """pkg/tapegrad: the (possibly mutated) Python sources and the freshly built engine."""
    target = os.path.join(pkg, "tapegrad")
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.copytree(os.path.join(src, "python", "tapegrad"), target)
    for so in glob.glob(os.path.join(build, "_core*.so")):
        shutil.copy2(so, target)


def _plant(src: str, mutant) -> str:
    path = os.path.join(src, mutant.file)
    text = open(path).read()
    count = text.count(mutant.old)
    if count != 1:
        raise SystemExit(f"mutant {mutant.id}: the text to replace occurs {count} times in {mutant.file}")
    open(path, "w").write(text.replace(mutant.old, mutant.new))
    return text


def _tests_fail(src: str, pkg: str, args) -> bool:
    env = dict(os.environ, PYTHONPATH=pkg + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args]
    try:
        result = subprocess.run(cmd, cwd=src, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=1800)
    except subprocess.TimeoutExpired:
        return True  # a hang is caught too
    return result.returncode != 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="run the whole suite for every mutant")
    parser.add_argument("--only", default="", help="comma-separated mutant ids")
    parser.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "tapegrad-mutation"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or m.id in args.only.split(",")]
    src = _copy_sources(args.work)
    build, pkg = os.path.join(args.work, "build"), os.path.join(args.work, "pkg")
    _build(src, build, args.jobs)
    _package(src, build, pkg)
    # The unmutated tree must pass the tests the mutants use, or a "catch" means nothing.
    for tests in dict.fromkeys(("tests",) if args.full else m.tests for m in chosen):
        if _tests_fail(src, pkg, tests):
            print(f"the unmutated tree fails {' '.join(tests)}; fix that first")
            return 2
    caught = []
    for m in chosen:
        start = time.time()
        original = _plant(src, m)
        try:
            if not m.file.startswith("python/"):
                _build(src, build, args.jobs)
            _package(src, build, pkg)
            hit = _tests_fail(src, pkg, ("tests",) if args.full else m.tests)
            verdict = "caught" if hit else "MISSED"
        except subprocess.CalledProcessError:
            hit, verdict = False, "NO BUILD"  # a mutant must compile to count; fix its text
        finally:
            open(os.path.join(src, m.file), "w").write(original)
        caught.append(hit)
        print(f"{verdict:8s} {m.family:15s} {m.id}  ({time.time() - start:.0f} s)", flush=True)
    if any(not m.file.startswith("python/") for m in chosen):
        _build(src, build, args.jobs)  # leave the scratch build unmutated
    _package(src, build, pkg)
    score = sum(caught)
    print(f"score: {score}/{len(chosen)} mutants caught ({100.0 * score / max(1, len(chosen)):.0f}%)")
    return 0 if score == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
