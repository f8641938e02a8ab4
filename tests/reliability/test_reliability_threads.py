"""Threads: separate models trained at once give exactly the serial results, and a long matmul
does not stop other Python threads.

* Tapes are per thread, the allocator is shared: several threads each train their own model
  (Dense layers, implicit gradients, a persistent tape, nested tapes for a second derivative,
  GradientDescent) while the interpreter is made to switch threads every few microseconds, and each
  thread's losses and final variables must be bitwise equal to the same model trained alone.
* Large matmuls and chunked kernels started from several Python threads at once give bitwise the
  serial results, and the kernel pool works in a forked child.
* While one thread is inside a large matmul another Python thread makes progress, i.e. the engine
  releases the GIL around long kernels. The check is logical, not timed: the switch interval is set
  far above the matmul's duration, so the other thread can only run during the matmul if the matmul
  released the GIL (a control call that holds the GIL must show no progress).
"""

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

import tapegrad as tg


def _init(rng):
    def init(shape, dtype):
        return (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(dtype)
    return init


def _train(seed, steps, dtype, wide=False):
    """Trains one model from ``seed``; returns (losses, second derivatives, final variable values).

    ``wide``: matmuls big enough that the engine releases the GIL inside them, so other threads
    record on their tapes while this one's kernels run."""
    rng = np.random.default_rng(seed)
    n, d, h = (96, 64, 256) if wide else (24, 6, 12)
    x = tg.constant(rng.standard_normal((n, d)), dtype=dtype)
    y = tg.constant(rng.standard_normal((n, 2)), dtype=dtype)
    l1 = tg.Dense(h, kernel_initializer=_init(rng), bias_initializer=_init(rng), name=f"thr{seed}_a")
    l2 = tg.Dense(2, kernel_initializer=_init(rng), name=f"thr{seed}_b")
    opt = tg.GradientDescent(0.01)

    def loss_fn(inputs, labels):
        return tg.reduce_mean(tg.square(l2(tg.square(l1(inputs)) * 0.1) - labels))

    value_and_grads = tg.implicit_value_and_gradients(loss_fn)
    losses, second = [], []
    for step in range(steps):
        loss, grads_and_vars = value_and_grads(x, y)
        opt.apply_gradients(grads_and_vars)
        losses.append(float(loss))
        variables = l1.variables + l2.variables
        with tg.GradientTape(persistent=True) as tape:
            tape.watch(x)
            loss2 = loss_fn(x, y)
        grads = tape.gradient(loss2, variables)
        gx = tape.gradient(loss2, x)
        opt.apply_gradients(zip(grads, variables))
        losses.append(float(tg.reduce_sum(gx)))
        if step % 5 == 0:
            w = l2.kernel.read_value()
            with tg.GradientTape() as outer:
                outer.watch(w)
                with tg.GradientTape() as inner:
                    inner.watch(w)
                    z = tg.reduce_sum(w * w * w)
                dz = inner.gradient(z, w)
            second.append(np.array(outer.gradient(dz, w).numpy(), copy=True))
    final = [np.array(v.numpy(), copy=True) for v in l1.variables + l2.variables]
    return losses, second, final


def _assert_same(got, expected, what):
    g_losses, g_second, g_final = got
    e_losses, e_second, e_final = expected
    assert np.all(np.isfinite(e_losses)), f"{what}: the model diverged; the comparison would be weak"
    assert np.array(g_losses).tobytes() == np.array(e_losses).tobytes(), f"{what}: losses differ from the serial run"
    for a, b in zip(g_second + g_final, e_second + e_final):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes(), f"{what}: values differ from the serial run"


def _run_threads(fns):
    results, errors = [None] * len(fns), []
    barrier = threading.Barrier(len(fns))

    def worker(i):
        try:
            barrier.wait()
            results[i] = fns[i]()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0][1]
    return results


@pytest.fixture
def fast_switching():
    """Make the interpreter switch threads every few microseconds: mid-op, mid-tape, mid-update."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(5e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


MODELS = [(11, np.float32, False), (12, np.float64, False), (13, np.float32, True), (14, np.float64, True)]
STEPS = 60


def test_threads_training_separate_models_match_serial(fast_switching):
    serial = [_train(seed, STEPS, dt, wide) for seed, dt, wide in MODELS]
    threaded = _run_threads([lambda s=seed, d=dt, w=wide: _train(s, STEPS, d, w) for seed, dt, wide in MODELS])
    for (seed, dt, _), got, expected in zip(MODELS, threaded, serial):
        _assert_same(got, expected, f"model seed={seed} {np.dtype(dt)}")
    # and once more, threaded against threaded, with every thread on the same seed
    same = _run_threads([lambda: _train(11, STEPS // 2, np.float32)] * 3)
    for got in same[1:]:
        _assert_same(got, same[0], "identical models in three threads")


def test_tape_in_one_thread_does_not_see_another_threads_ops(fast_switching):
    """A tape records only its own thread's operations, even on a shared watched tensor."""
    x = tg.constant(np.linspace(-1, 1, 6).reshape(2, 3))
    n = 4

    def work(i):
        out = []
        for _ in range(30):
            with tg.GradientTape() as tape:
                tape.watch(x)
                y = tg.reduce_sum(x * float(i + 1)) + tg.reduce_sum(tg.square(x)) * 0.0
            out.append(np.array(tape.gradient(y, x).numpy(), copy=True))
        return out

    results = _run_threads([lambda i=i: work(i) for i in range(n)])
    for i, grads in enumerate(results):
        for g in grads:
            np.testing.assert_array_equal(g, np.full((2, 3), float(i + 1)))


def test_concurrent_large_matmuls_match_serial():
    rng = np.random.default_rng(3)
    mats = [(rng.standard_normal((192, 160)).astype(np.float32), rng.standard_normal((160, 176)).astype(np.float32))
            for _ in range(4)]
    mats.append((rng.standard_normal((130, 70)), rng.standard_normal((70, 90))))  # float64
    serial = [np.array(tg.matmul(a, b).numpy(), copy=True) for a, b in mats]
    if hasattr(tg.config, "set_num_threads"):  # the kernel thread count never changes a result
        old = tg.config.num_threads()
        try:
            tg.config.set_num_threads(1)
            single = [np.array(tg.matmul(a, b).numpy(), copy=True) for a, b in mats]
        finally:
            tg.config.set_num_threads(old)
        for g, s in zip(single, serial):
            assert g.tobytes() == s.tobytes(), "matmul with 1 kernel thread differs from the default"
    for _ in range(3):
        got = _run_threads([lambda a=a, b=b: np.array(tg.matmul(a, b).numpy(), copy=True) for a, b in mats])
        for g, s in zip(got, serial):
            assert g.tobytes() == s.tobytes()
    for (a, b), s in zip(mats, serial):
        tol = 1e-4 if a.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(s, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol)


def test_concurrent_chunked_kernels_match_serial():
    """Python threads that start chunked jobs (elementwise ops, full sums, GEMV, the few-columns
    GEMM) at once, on a pool of 3: each job's chunks are claimed by its own threads only, and
    every result is the serial one."""
    from tapegrad import _core
    rng = np.random.default_rng(5)
    vec = rng.standard_normal(300_001).astype(np.float32)
    tall, col = rng.standard_normal((9000, 64)).astype(np.float32), rng.standard_normal((64, 1)).astype(np.float32)
    wide, few = rng.standard_normal((200, 300)).astype(np.float32), rng.standard_normal((300, 7)).astype(np.float32)
    vec = tg.constant(vec)
    jobs = [lambda: np.asarray(tg.square(vec)).tobytes(), lambda: np.asarray(vec + vec).tobytes(),
            lambda: np.asarray(tg.reduce_sum(vec)).tobytes(),
            lambda: np.asarray(tg.matmul(tall, col)).tobytes(),
            lambda: np.asarray(tg.matmul(wide, few)).tobytes()] * 2
    saved, old = _core._parallel_thresholds(), tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = [job() for job in jobs]
        _core._set_parallel_thresholds(0, 0, 0, 0)
        tg.config.set_num_threads(3)
        for _ in range(3):
            assert _run_threads(jobs) == want
    finally:
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"],
                                       saved["gemv_madds"], saved["elementwise"])
        tg.config.set_num_threads(old)


def _wait_child(pid, timeout_s):
    """The child's exit status; kills it (and fails) if it hangs, e.g. waiting on dead workers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"forked child still running after {timeout_s} s")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parallel_kernels_work_in_a_forked_child():
    """The pool's workers do not survive fork(); the child must build its own, not wait on them."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((256, 256)).astype(np.float32)
    want = tg.matmul(a, a).numpy().tobytes()  # the parent's pool has run a job
    old = tg.config.num_threads()
    tg.config.set_num_threads(2)
    try:
        pid = os.fork()
        if pid == 0:  # child: exit status 0 only when the parallel product is right
            ok = False
            try:
                ok = tg.matmul(a, a).numpy().tobytes() == want
            finally:
                os._exit(0 if ok else 1)
        status = _wait_child(pid, timeout_s=120)
    finally:
        tg.config.set_num_threads(old)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"


# Matrix sizes for the GIL test: large enough that the matmul runs for many milliseconds.
GIL_N = 768


def test_matmul_releases_the_gil():
    """While one thread multiplies large matrices, another Python thread makes progress."""
    rng = np.random.default_rng(0)
    a = tg.constant(rng.standard_normal((GIL_N, GIL_N)), dtype=tg.float32)
    b = tg.constant(rng.standard_normal((GIL_N, GIL_N)), dtype=tg.float32)
    tg.matmul(a, b)  # warm up: packing buffers, thread pool, page faults

    counter = [0]
    stop = threading.Event()

    def spinner():
        while not stop.is_set():
            counter[0] += 1
            os.sched_yield()  # releases and retakes the GIL: the matmul thread can get it back

    old = sys.getswitchinterval()
    # Far longer than the matmul takes: the interpreter never forces a switch while the main
    # thread holds the GIL, so the spinner can only run if the matmul releases it.
    sys.setswitchinterval(30.0)
    th = threading.Thread(target=spinner, daemon=True)
    progressed = []
    try:
        th.start()
        while counter[0] == 0:
            stop.wait(0.001)  # blocks, so the spinner gets the GIL and starts counting
        # Control: a long C call that holds the GIL (builtin sum over a range) lets nobody run.
        # This shows the method detects a held GIL; it must see zero progress.
        before = counter[0]
        sum(range(3_000_000))
        held = counter[0] - before
        for _ in range(3):
            before = counter[0]
            c = tg.matmul(a, b)
            progressed.append(counter[0] - before)
    finally:
        stop.set()
        sys.setswitchinterval(old)
        th.join()
    assert held == 0, f"the control call let another thread run ({held}): the check would prove nothing"
    ref = a.numpy().astype(np.float64) @ b.numpy().astype(np.float64)
    np.testing.assert_allclose(c.numpy(), ref, rtol=1e-3, atol=1e-3)
    assert max(progressed) > 0, (
        f"no other Python thread ran during {len(progressed)} matmuls of {GIL_N}x{GIL_N}: "
        f"progress counts {progressed}; the GIL is held during the kernel")
