"""tapegrad.distributed across processes: pytest launches ``mpiexec -n 2`` (one test ``-n 4``)
running mpi_worker.py, with a timeout, and compares what the ranks wrote.

Skipped only when mpiexec or mpi4py is missing; the ``test`` extra installs both (mpich brings
mpiexec into the environment), so CI runs these.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sanitizer_env import under_asan

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_worker.py")
# A job that works ends in seconds; the limit only stops a hang from stalling the suite.
TIMEOUT = 120
# The bound: a failed rank ends the whole job within 30 s, with no hang.
FAULT_TIMEOUT = 30


def _mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
try:
    import mpi4py  # noqa: F401

    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False

pytestmark = pytest.mark.skipif(
    MPIEXEC is None or not HAVE_MPI4PY,
    reason='needs mpiexec and mpi4py (pip install "tapegrad[mpi]")')


def launch(n, args, env=None, timeout=TIMEOUT):
    environment = dict(os.environ, **(env or {}))
    environment.pop("TAPEGRAD_NUM_THREADS", None)
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *args], capture_output=True,
                          text=True, timeout=timeout, env=environment)


def run_scenario(tmp_path, scenario, n=2, env=None, tag=""):
    out = tmp_path / f"{scenario}-n{n}{tag}"
    out.mkdir()
    done = launch(n, [WORKER, scenario, str(out)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    return [dict(np.load(out / f"{scenario}.rank{r}.npz")) for r in range(n)]


def assert_same_bits(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_allreduce_and_broadcast(tmp_path):
    # Each rank checks allreduce (sum and average; float32 and float64; shapes () to (1000,))
    # against the reduction in rank order, bit for bit, and broadcast from two roots.
    ranks = run_scenario(tmp_path, "collectives")
    # rank, size, local rank, kernel threads (one per rank unless told otherwise)
    assert [list(r.pop("rank_size")) for r in ranks] == [[0, 2, 0, 1], [1, 2, 1, 1]]
    assert_same_bits(ranks[0], ranks[1])


def test_four_ranks(tmp_path):
    # Oversubscribed on a 2-core machine: collectives, then every optimizer on shards of 3 or 4
    # rows of each 13-row global batch, against the one-process run.
    ranks = run_scenario(tmp_path, "collectives_and_optimizers", n=4)
    assert [list(r.pop("rank_size")) for r in ranks] == [[k, 4, k, 1] for k in range(4)]
    for other in ranks[1:]:
        assert_same_bits(ranks[0], other)
    _assert_matches_one_process(ranks[0])


def test_buckets_huge_tiny_and_none_gradients(tmp_path):
    ranks = run_scenario(tmp_path, "buckets")
    assert_same_bits(ranks[0], ranks[1])


# Distributed and one-process training differ only in the order of the additions that form each
# gradient (per rank, then across ranks in float64, versus over the whole batch at once): about one
# float32 ulp per gradient element per step, carried forward by the updates. Four steps on weights
# of magnitude <= 1 stay within a few ulps (2e-6 relative, 2e-7 absolute); a wrong shard, scale or
# average is off by far more (a step moves a weight by about the learning rate, 1e-2 to 1e-1).
RTOL, ATOL = 2e-6, 2e-7


def test_distributed_optimizer_with_every_optimizer(tmp_path):
    ranks = run_scenario(tmp_path, "optimizers")
    assert_same_bits(ranks[0], ranks[1])  # every rank holds the same weights, bit for bit
    _assert_matches_one_process(ranks[0])


def _assert_matches_one_process(results):
    keys = [k[: -len("_one_process")] for k in results if k.endswith("_one_process")]
    names = {k.split("_apply_gradients")[0].split("_minimize")[0] for k in keys}
    assert names == {"sgd", "momentum", "nesterov", "adam", "rmsprop", "rmsprop_centered"}
    for key in keys:
        np.testing.assert_allclose(results[key], results[key + "_one_process"], rtol=RTOL, atol=ATOL,
                                   err_msg=key)


def test_runs_repeat_bit_for_bit(tmp_path):
    first = run_scenario(tmp_path, "optimizers", tag="-first")
    second = run_scenario(tmp_path, "optimizers", tag="-second")
    for a, b in zip(first, second):
        assert_same_bits(a, b)


def test_digits_distributed_matches_one_process(tmp_path):
    ranks = run_scenario(tmp_path, "digits")
    assert_same_bits(ranks[0], ranks[1])
    from tapegrad.examples import digits

    history = digits.run(epochs=2, batch_size=32, out_dir=None, quiet=True, subset=300)
    one_process = [np.asarray(v) for v in history["model"].variables]
    # Two epochs of Adam (16 steps): each gradient differs by about an ulp (the additions' order),
    # and Adam's step lr * m / sqrt(v) carries that relative difference into the weights, more
    # where v is tiny; 1e-6 absolute leaves several times the observed drift for 16 steps, while
    # a wrong batch split moves weights by about the learning rate, 1e-3.
    for k, w in enumerate(one_process):
        np.testing.assert_allclose(ranks[0][f"w{k}"], w, rtol=1e-5, atol=1e-6, err_msg=f"variable {k}")


def test_digits_command_line(tmp_path):
    done = launch(2, ["-m", "tapegrad", "digits", "--distributed", "--epochs", "1",
                      "--out", str(tmp_path / "plots")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("epoch   1:") == 1  # rank 0 alone prints
    assert "split across 2 ranks" in done.stdout
    assert sorted(os.listdir(tmp_path / "plots")) == sorted(
        ["loss.png", "accuracy.png", "confusion_matrix.png", "misclassified.png"])


def test_demo_command_line_matches_one_process(tmp_path):
    done = launch(2, ["-m", "tapegrad", "demo", "--distributed", "--steps", "20", "--out", str(tmp_path)])
    assert done.returncode == 0, done.stdout + done.stderr
    single = subprocess.run([sys.executable, "-m", "tapegrad", "demo", "--steps", "20", "--out",
                             str(tmp_path / "one")], capture_output=True, text=True, timeout=TIMEOUT)
    final = [line for line in done.stdout.splitlines() if line.strip().startswith("final:")]
    assert final and final == [line for line in single.stdout.splitlines() if line.strip().startswith("final:")]


def _fault(tmp_path, how, scenario="fault", args=None):
    out = tmp_path / how
    out.mkdir()
    try:
        done = launch(2, args or [WORKER, scenario, str(out)], env={"FAULT": how}, timeout=FAULT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the job hung for {FAULT_TIMEOUT} s after rank 1 failed ({how})")
    return done


def test_a_rank_raising_ends_the_job(tmp_path):
    done = _fault(tmp_path, "raise")
    assert done.returncode != 0
    assert "rank 1 of 2: uncaught ValueError: matmul:" in done.stderr, done.stderr
    assert "(pid" not in done.stderr, done.stderr  # the rank's own report, no sentinel's


# How rank 1's process ends -> what its sentinel prints. MPICH's launcher names a pid, and not
# always rank 1's: its report may show a rank its clean-up killed, with rank 1's signal.
ENDS = {"SIGKILL": "killed by signal 9 (SIGKILL)", "SIGTERM": "killed by signal 15 (SIGTERM)",
        "SIGSEGV": "killed by signal 11 (SIGSEGV)", "os._exit": "exited with status 3"}


@pytest.mark.parametrize("how", sorted(ENDS))
def test_a_rank_whose_process_ends_is_named(tmp_path, how):
    if how == "SIGSEGV" and under_asan():
        pytest.skip("AddressSanitizer catches SIGSEGV itself (reports it and exits with status 1)")
    done = _fault(tmp_path, how)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    named = re.findall(r"tapegrad\.distributed: rank (\d+) of 2 \(pid (\d+) on \S+\): (.*)", output)
    # Rank 1 alone is reported: the launcher's clean-up then kills rank 0, which is no failure.
    assert [(rank, end) for rank, _, end in named] == [("1", ENDS[how])], output


@pytest.mark.parametrize("how", ["sys.exit", "SystemExit"])
def test_a_rank_whose_python_exits_early_is_named(tmp_path, how):
    # Rank 1 exits with status 2 while rank 0 waits for it in an all-reduce: its process waits in
    # MPI_Finalize and never ends, so the launcher sees nothing; rank 0 learns it left.
    done = _fault(tmp_path, how)
    assert done.returncode != 0
    assert re.search(r"rank 0 of 2: rank 1 of 2 left the job \(its Python exited before joining "
                     r"this collective\) while this rank waits for it in allreduce", done.stderr), done.stderr


def test_a_rank_that_finishes_early_stops_no_one(tmp_path):
    # Rank 1 ends normally while rank 0 works on outside collectives for a while.
    done = _fault(tmp_path, "none", scenario="finish_early")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tapegrad.distributed" not in done.stderr, done.stderr
    assert sorted(os.listdir(tmp_path / "none")) == ["finish_early.rank0.npz", "finish_early.rank1.npz"]


# Rank 1 of `python -m tapegrad demo --distributed` exits with status 2 at its third step.
EXIT_AT_THIRD_STEP = """
import sys
import tapegrad as tg
from tapegrad import __main__ as command
calls = []
allreduce_gradients = tg.distributed.allreduce_gradients
def exiting(pairs):
    calls.append(1)
    if tg.distributed.rank() == 1 and len(calls) == 3:
        sys.exit(2)
    return allreduce_gradients(pairs)
tg.distributed.allreduce_gradients = exiting
sys.exit(command.main(sys.argv[1:]))
"""


def test_command_line_when_a_rank_exits_early(tmp_path):
    done = _fault(tmp_path, "demo", args=["-c", EXIT_AT_THIRD_STEP, "demo", "--distributed", "--steps", "20",
                                          "--out", str(tmp_path / "demo")])
    assert done.returncode != 0
    assert re.search(r"rank 0 of 2: rank 1 of 2 left the job .* while this rank waits for it in "
                     r"an all-reduce", done.stderr), done.stderr


def test_a_mismatch_between_ranks_is_named(tmp_path):
    done = _fault(tmp_path, "mismatch")
    assert done.returncode != 0
    # Both ranks detect it; whichever aborts first names the variable and the rank that differs.
    expected = ("DistributedAdam: tensor 0 differs between ranks: rank 1 has 'dense/kernel:0' of "
                "shape (2, 4) and dtype float32 but rank 0 has 'dense/kernel:0' of shape (2, 5)")
    assert re.search(r"rank [01] of 2: uncaught ValueError: " + re.escape(expected), done.stderr), done.stderr
