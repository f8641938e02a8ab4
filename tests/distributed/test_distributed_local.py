"""tapegrad.distributed without mpiexec: the missing-mpi4py message, data sharding, and a
one-process job (MPI started as a singleton in a subprocess, so this test process keeps its
thread setting and never starts MPI)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tapegrad as tg

TIMEOUT = 120


def run_python(code, env=None):
    import os

    environment = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=TIMEOUT, env=environment)


def test_import_tapegrad_does_not_import_mpi4py():
    done = run_python("""
        import sys
        import tapegrad as tg
        assert tg.distributed.__name__ == "tapegrad.distributed"
        assert "mpi4py" not in sys.modules, "import tapegrad imported mpi4py"
    """)
    assert done.returncode == 0, done.stderr


def test_missing_mpi4py_says_how_to_install():
    done = run_python("""
        import sys
        sys.modules["mpi4py"] = None  # as if it were not installed: importing it raises ImportError
        import tapegrad as tg
        for call in (tg.distributed.init, tg.distributed.rank, tg.distributed.size,
                     lambda: tg.distributed.allreduce(tg.ones((2,))),
                     lambda: tg.distributed.DistributedOptimizer(tg.Adam())):
            try:
                call()
            except ImportError as e:
                assert 'pip install "tapegrad[mpi]"' in str(e), str(e)
            else:
                raise AssertionError("no ImportError")
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("size", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_partition_every_global_batch(size, shuffle):
    x = np.arange(23 * 2, dtype=np.float32).reshape(23, 2)
    y = np.arange(23)
    whole = list(tg.data.batches(x, y, batch_size=5, shuffle=shuffle, seed=3))
    shards = [list(tg.data.batches(x, y, batch_size=5, shuffle=shuffle, seed=3, shard=(r, size)))
              for r in range(size)]
    assert all(len(s) == len(whole) for s in shards)
    for step, (bx, by) in enumerate(whole):
        parts = [shards[r][step] for r in range(size)]
        np.testing.assert_array_equal(np.concatenate([np.asarray(p[0]) for p in parts]), np.asarray(bx))
        np.testing.assert_array_equal(np.concatenate([np.asarray(p[1]) for p in parts]), np.asarray(by))
        lengths = [p[1].shape[0] for p in parts]
        assert max(lengths) - min(lengths) <= 1 and sum(lengths) == by.shape[0]


@pytest.mark.parametrize("shard, error", [
    ((2, 2), ValueError), ((-1, 2), ValueError), ((0, 0), ValueError), ((0, 1, 2), TypeError),
    ((0.0, 2), TypeError), ("0/2", TypeError), ((True, 2), TypeError),
])
def test_bad_shard(shard, error):
    with pytest.raises(error, match="^batches: shard must be"):
        tg.data.batches(np.zeros((4, 1)), batch_size=2, shard=shard)


def test_one_process_job():
    pytest.importorskip("mpi4py")
    done = run_python("""
        import numpy as np
        import tapegrad as tg
        D = tg.distributed
        D.init()
        assert (D.rank(), D.size(), D.local_rank()) == (0, 1, 0)
        assert tg.config.num_threads() == 3  # TAPEGRAD_NUM_THREADS is kept
        x = np.linspace(-1, 1, 7).astype(np.float32)
        np.testing.assert_array_equal(np.asarray(D.allreduce(x)), x)
        np.testing.assert_array_equal(np.asarray(D.allreduce(x, op="sum")), x)

        # One rank: DistributedOptimizer gives the plain optimizer's bits.
        def train(distributed):
            tg.random.set_seed(1)
            model = tg.Sequential([tg.Dense(4, activation="relu"), tg.Dense(2)])
            opt = tg.RMSProp(0.01, momentum=0.5)
            if distributed:
                opt = D.DistributedOptimizer(opt, bucket_bytes=16)
            xs = tg.constant(np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32))
            for _ in range(3):
                opt.minimize(lambda: tg.reduce_sum(model(xs) ** 2))
            return [np.asarray(v) for v in model.variables]
        for a, b in zip(train(False), train(True)):
            np.testing.assert_array_equal(a, b)

        def raises(call, kind, start):
            try:
                call()
            except kind as e:
                assert str(e).startswith(start), str(e)
            else:
                raise AssertionError(f"no {kind.__name__}: {start}")
        v = tg.Variable([1.0])
        raises(lambda: D.allreduce(x, op="max"), ValueError, "allreduce: op must be 'average' or 'sum'")
        raises(lambda: D.allreduce(np.arange(3)), TypeError, "allreduce: expected a float32 or float64")
        raises(lambda: D.allreduce_gradients([(None, v)], op="mean"), ValueError, "allreduce_gradients: op")
        raises(lambda: D.allreduce_gradients([(tg.ones((2,)), v)]), ValueError,
               "allreduce_gradients: the gradient of variable 0 has shape (2,)")
        raises(lambda: D.allreduce_gradients([(tg.constant([1.0], dtype=tg.float64), v)]), TypeError,
               "allreduce_gradients: the gradient of variable 0 is float64 but the variable is float32")
        raises(lambda: D.allreduce_gradients([(None, v)], bucket_bytes=0), ValueError,
               "allreduce_gradients: bucket_bytes must be a positive int")
        raises(lambda: D.broadcast_variables([v], root=1), ValueError, "broadcast_variables: root must be")
        raises(lambda: D.broadcast_variables([x]), TypeError, "broadcast_variables: expected Variables")
        raises(lambda: D.DistributedOptimizer("adam"), TypeError, "DistributedOptimizer: expected a tapegrad")
        raises(lambda: D.DistributedOptimizer(tg.Adam(), op="max"), ValueError, "DistributedOptimizer: op")
        with tg.GradientTape() as tape:
            y = v * 2.0
        raises(lambda: D.DistributedGradientTape(tape).gradient(y, [x]), TypeError,
               "DistributedGradientTape.gradient: sources must be Variables")
        # None on the only rank stays None; apply_gradients then says no gradient was given.
        assert D.allreduce_gradients([(None, v)]) == [(None, v)]
        raises(lambda: D.DistributedOptimizer(tg.Adam()).apply_gradients([(None, v)]), ValueError,
               "No gradients provided for any variable")
        print("ok")
    """, env={"TAPEGRAD_NUM_THREADS": "3"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


def test_one_rank_keeps_the_thread_count():
    # Only a job of several ranks drops to one kernel thread per rank.
    pytest.importorskip("mpi4py")
    done = run_python("""
        import os
        os.environ.pop("TAPEGRAD_NUM_THREADS", None)
        import tapegrad as tg
        tg.config.set_num_threads(2)
        tg.distributed.init()
        print(tg.config.num_threads())
    """)
    assert done.returncode == 0 and done.stdout.strip() == "2", done.stdout + done.stderr


def test_function_and_distributed_do_not_combine():
    # A traced step cannot call MPI: refused before anything starts.
    from tapegrad import demo
    from tapegrad.examples import digits

    with pytest.raises(ValueError, match="^digits.run: function and distributed cannot be combined"):
        digits.run(function=True, distributed=True, out_dir=None, quiet=True)
    with pytest.raises(ValueError, match="^demo.run: function and distributed cannot be combined"):
        demo.run(function=True, distributed=True, out_dir=None, quiet=True)
    done = subprocess.run([sys.executable, "-m", "tapegrad", "digits", "--function", "--distributed"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr, done.stderr
