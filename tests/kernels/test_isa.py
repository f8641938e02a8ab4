"""Every kernel set this CPU can run gives the same (checked) results: the op and kernel tests
under TAPEGRAD_ISA=..."""

import os
import subprocess
import sys

import pytest

import tapegrad as tg

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tests that exercise kernels: every op's forward and gradient checks, the GEMM paths, the
# reductions and the losses' fused gradients (not the kernel thread tests: thread counts are not
# ISA-specific).
OP_SUITE = [os.path.join(TESTS, "ops", "test_op_gradients.py"), os.path.join(TESTS, "kernels", "test_gemm.py"),
            os.path.join(TESTS, "kernels", "test_reductions.py"), os.path.join(TESTS, "ops", "test_losses.py")]


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_op_suite_under_isa(isa):
    if tg.config.isa() == isa:
        pytest.skip(f"{isa} is the default here: the main run covers it")
    env = dict(os.environ, TAPEGRAD_ISA=isa)
    probe = subprocess.run([sys.executable, "-c", "import tapegrad as tg; print(tg.config.isa())"],
                           capture_output=True, text=True, env=env, timeout=120)
    if probe.returncode != 0 and "cannot run" in probe.stderr:
        pytest.skip(f"this CPU cannot run {isa}")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == isa
    # Rank limits are shape logic, not kernels: they are covered (once) by the main run.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-k", "not high_rank", *OP_SUITE],
                          capture_output=True, text=True, env=env, timeout=600, cwd=os.path.dirname(TESTS))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_unknown_isa_is_rejected():
    env = dict(os.environ, TAPEGRAD_ISA="no_such_isa")
    proc = subprocess.run([sys.executable, "-c", "import tapegrad"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode != 0
    assert "TAPEGRAD_ISA" in proc.stderr and "Segmentation" not in proc.stderr
