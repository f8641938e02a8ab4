"""Run under ``mpiexec -n P python mpi_worker.py SCENARIO OUT_DIR``: one scenario of the
tapegrad.distributed tests. Each rank checks what it can alone (results against a reference it
computes itself) and writes what must be compared across ranks or runs to
``OUT_DIR/SCENARIO.rank<R>.npz``; test_mpi.py compares the files."""
from __future__ import annotations

import os
import sys

import numpy as np

import tapegrad as tg

D = tg.distributed


def rows_of_every_rank(p, shape, dtype, seed):
    """The values every rank contributes, known to every rank: row r is rank r's."""
    rng = np.random.default_rng(seed)
    # Magnitudes spread over decades, so the summation order shows in the low bits.
    return [(rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(dtype)
            for _ in range(p)]


def reference_reduction(rows, average):
    """Rank 0 + rank 1 + ... in float64, one division, one rounding: the documented order."""
    acc = np.zeros(rows[0].shape, np.float64)
    for row in rows:
        acc = acc + row.astype(np.float64)
    if average:
        acc = acc / len(rows)
    return acc.astype(rows[0].dtype)


def collectives(out):
    r, p = D.rank(), D.size()
    results = {}
    for dtype in (np.float32, np.float64):
        for shape in [(), (7,), (3, 5), (1000,)]:
            rows = rows_of_every_rank(p, shape, dtype, seed=len(shape) * 10 + (dtype == np.float64))
            for op in ("sum", "average"):
                got = D.allreduce(tg.constant(rows[r]), op=op)
                assert got.dtype == dtype and got.shape == shape, (got.dtype, got.shape)
                want = reference_reduction(rows, op == "average")
                np.testing.assert_array_equal(np.asarray(got), want)
                results[f"allreduce_{op}_{np.dtype(dtype).name}_{len(shape)}"] = np.asarray(got)
    # A Variable and a numpy array are accepted too.
    v = tg.Variable(np.full((2, 2), r + 1.0))
    np.testing.assert_array_equal(np.asarray(D.allreduce(v, op="sum")), np.full((2, 2), p * (p + 1) / 2))
    np.testing.assert_array_equal(np.asarray(D.allreduce(np.ones(3, np.float32))), np.ones(3))

    # broadcast: every rank ends with the root's values, from root 0 and from the last rank.
    for root in (0, p - 1):
        variables = [tg.Variable(np.full((3, 4), 10.0 * r + k, np.float32), name=f"w{k}")
                     for k in range(3)] + [tg.Variable(np.float64(r), name="s")]
        D.broadcast_variables(variables, root=root)
        for k, var in enumerate(variables[:3]):
            np.testing.assert_array_equal(np.asarray(var), np.full((3, 4), 10.0 * root + k))
            assert var.dtype == np.float32
        assert float(variables[3]) == root
    results["rank_size"] = np.array([r, p, D.local_rank(), tg.config.num_threads()])
    return results


def buckets(out):
    r, p = D.rank(), D.size()
    shapes = [(300, 7), (), (1,), *[(3,)] * 40, (2, 2), (5,)]
    variables = [tg.Variable(np.zeros(s, np.float32 if k % 3 else np.float64), name=f"v{k}")
                 for k, s in enumerate(shapes)]
    everyone = [np.random.default_rng(100 + q) for q in range(p)]
    results = {}
    for bucket_bytes in (64, 1000, 1 << 22):  # one huge gradient over the cap; many tiny buckets; one bucket
        grads_of_rank = [[g.standard_normal(s).astype(v.dtype) for s, v in zip(shapes, variables)]
                         for g in everyone]
        # None: variable 1 on every rank; variable 2 on rank 0 only; the last on the last rank only.
        for q in range(p):
            grads_of_rank[q][1] = None
        grads_of_rank[0][2] = None
        grads_of_rank[p - 1][-1] = None
        mine = grads_of_rank[r]
        pairs = D.allreduce_gradients(list(zip([None if g is None else tg.constant(g) for g in mine],
                                               variables)), bucket_bytes=bucket_bytes)
        assert [v for _, v in pairs] == variables
        for k, (g, v) in enumerate(pairs):
            if k == 1:
                assert g is None
                continue
            rows = [np.zeros(shapes[k], v.dtype) if grads_of_rank[q][k] is None else grads_of_rank[q][k]
                    for q in range(p)]
            want = reference_reduction(rows, average=True)
            assert g is not None and g.dtype == v.dtype and g.shape == shapes[k], (k, g)
            np.testing.assert_array_equal(np.asarray(g), want)
            results[f"b{bucket_bytes}_{k}"] = np.asarray(g)

    # Streaming (reduction overlapped with backward) gives the bits of the blocking form.
    tg.random.set_seed(5)
    model = tg.Sequential([tg.Dense(16, activation="relu"), tg.Dense(8, activation="tanh"), tg.Dense(3)])
    x = tg.constant(np.random.default_rng(r).standard_normal((4, 6)).astype(np.float32))
    loss_fn = lambda: tg.reduce_sum(model(x) ** 2)  # noqa: E731
    loss_fn()
    variables = model.trainable_variables
    from tapegrad.distributed import _buckets

    events = []
    original_put, original_start = _buckets.GradientReducer.put, _buckets.Reduction.start

    def logged_put(self, i, grad):
        events.append(("put", i))
        original_put(self, i, grad)

    def logged_start(self):
        events.append(("start", None))
        original_start(self)

    for bucket_bytes in (64, 1 << 22):
        with tg.GradientTape() as tape:
            loss = loss_fn()
        events.clear()
        _buckets.GradientReducer.put, _buckets.Reduction.start = logged_put, logged_start
        try:
            streamed = D.DistributedGradientTape(tape, bucket_bytes=bucket_bytes).gradient(loss, variables)
        finally:
            _buckets.GradientReducer.put, _buckets.Reduction.start = original_put, original_start
        kinds = [kind for kind, _ in events]
        # Gradients arrive last layer first; with small buckets the first collective starts
        # while backward still has gradients to hand in; one big bucket starts after the last.
        assert [i for kind, i in events if kind == "put"] == [5, 4, 3, 2, 1, 0], events
        if bucket_bytes == 64:
            assert kinds.index("start") < len(kinds) - 1 - kinds[::-1].index("put"), kinds
        else:
            assert kinds == ["put"] * 6 + ["start"], kinds
        with tg.GradientTape() as tape:
            loss = loss_fn()
        plain = D.allreduce_gradients(zip(tape.gradient(loss, variables), variables), bucket_bytes=bucket_bytes)
        for s, (g, _) in zip(streamed, plain):
            np.testing.assert_array_equal(np.asarray(s), np.asarray(g))
        results.update({f"stream{bucket_bytes}_{k}": np.asarray(s) for k, s in enumerate(streamed)})

    # Many steps of many small buckets: when a bucket's all-gather starts relative to the next
    # bucket's all-to-all varies from rank to rank and step to step; results must not.
    with tg.GradientTape() as tape:
        loss = loss_fn()
    first = [np.asarray(g) for g in D.DistributedGradientTape(tape, bucket_bytes=64).gradient(loss, variables)]
    for _ in range(30):
        with tg.GradientTape() as tape:
            loss = loss_fn()
        again = D.DistributedGradientTape(tape, bucket_bytes=64).gradient(loss, variables)
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, np.asarray(b))
    return results


OPTIMIZERS = {
    "sgd": lambda: tg.GradientDescent(0.1),
    "momentum": lambda: tg.Momentum(0.05, momentum=0.9),
    "nesterov": lambda: tg.Momentum(0.05, momentum=0.9, use_nesterov=True),
    "adam": lambda: tg.Adam(0.01),
    "rmsprop": lambda: tg.RMSProp(0.01),
    "rmsprop_centered": lambda: tg.RMSProp(0.01, momentum=0.5, centered=True),
}
STEPS = 4
GLOBAL_BATCH = 13  # not a multiple of 2, 4 or 8: shards of unequal sizes


def _model(seed):
    tg.random.set_seed(seed)
    return tg.Sequential([tg.Dense(12, activation="relu"), tg.Dense(5)])


def _data():
    rng = np.random.default_rng(7)
    return (rng.standard_normal((GLOBAL_BATCH * STEPS, 9)).astype(np.float32),
            rng.integers(0, 5, GLOBAL_BATCH * STEPS))


def _share_loss(model, x, y, rows, ranks):
    xent = tg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x))
    return tg.reduce_sum(xent) * (ranks / rows)


def optimizers(out):
    """Every optimizer through DistributedOptimizer, by apply_gradients and by minimize, on shards
    of the same global batches as a one-process run of the plain optimizer in this process."""
    r, p = D.rank(), D.size()
    xs, ys = _data()
    results = {}
    for name, make in OPTIMIZERS.items():
        for how in ("apply_gradients", "minimize"):
            model = _model(seed=r)  # different on every rank until the broadcast
            model(tg.constant(xs[:1]))
            D.broadcast_variables(model.variables)
            start = [np.array(v.numpy()) for v in model.variables]
            opt = D.DistributedOptimizer(make())
            assert isinstance(opt, type(make())) and opt.iterations == 0
            batches = tg.data.batches(xs, ys, batch_size=GLOBAL_BATCH, shuffle=False, shard=(r, p))
            for x, y in batches:
                rows = GLOBAL_BATCH
                loss_fn = lambda: _share_loss(model, x, y, rows, p)  # noqa: E731
                if how == "minimize":
                    opt.minimize(loss_fn, var_list=model.trainable_variables if name != "sgd" else None)
                else:
                    with tg.GradientTape() as tape:
                        loss = loss_fn()
                    variables = model.trainable_variables
                    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            assert opt.iterations == STEPS

            # The one-process run on the same global batches, from the same start.
            reference = _model(seed=0)
            reference(tg.constant(xs[:1]))
            for v, s in zip(reference.variables, start):
                v.assign(s)
            plain = make()
            for x, y in tg.data.batches(xs, ys, batch_size=GLOBAL_BATCH, shuffle=False):
                with tg.GradientTape() as tape:
                    loss = tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=reference(x)))
                variables = reference.trainable_variables
                plain.apply_gradients(zip(tape.gradient(loss, variables), variables))
            for k, (v, w) in enumerate(zip(model.variables, reference.variables)):
                results[f"{name}_{how}_{k}"] = np.asarray(v)
                results[f"{name}_{how}_{k}_one_process"] = np.asarray(w)
    return results


def collectives_and_optimizers(out):
    return {**collectives(out), **optimizers(out)}


def digits(out):
    from tapegrad.examples import digits as example

    history = example.run(epochs=2, batch_size=32, optimizer=os.environ.get("DIGITS_OPTIMIZER", "adam"),
                          out_dir=None, quiet=True, subset=300, distributed=True)
    return {f"w{k}": np.asarray(v) for k, v in enumerate(history["model"].variables)}


def fault(out):
    """One rank fails while the others wait in a collective."""
    how = os.environ["FAULT"]
    x = tg.ones((2,))
    D.allreduce(x)  # every rank is up and has joined a collective
    if D.rank() == 1:
        import signal

        if how == "raise":
            tg.matmul(tg.ones((2, 3)), tg.ones((2, 3)))  # bad input on this rank only
        elif how in ("SIGKILL", "SIGTERM", "SIGSEGV"):
            os.kill(os.getpid(), getattr(signal, how))
        elif how == "os._exit":
            os._exit(3)
        elif how == "sys.exit":
            sys.exit(2)
        elif how == "SystemExit":
            raise SystemExit(2)
        elif how == "mismatch":
            tg.random.set_seed(0)
            model = tg.Sequential([tg.Dense(4), tg.Dense(3)])  # rank 0 has Dense(5)
            model(x[None])
            D.DistributedOptimizer(tg.Adam()).minimize(lambda: tg.reduce_sum(model(x[None])))
    if how == "mismatch":
        tg.random.set_seed(0)
        model = tg.Sequential([tg.Dense(5), tg.Dense(3)])
        model(x[None])
        D.DistributedOptimizer(tg.Adam()).minimize(lambda: tg.reduce_sum(model(x[None])))
    for _ in range(1000):
        D.allreduce(x)
    return {}


def finish_early(out):
    """Rank 1 ends normally while rank 0 still works outside collectives (say, writing a
    checkpoint): no rank may take that for a failure."""
    D.allreduce(tg.ones((2,)))
    if D.rank() == 0:
        import time

        time.sleep(float(os.environ.get("WORK_SECONDS", "3")))
    return {"rank": np.array(D.rank())}


def main():
    scenario, out = sys.argv[1], sys.argv[2]
    D.init()
    results = globals()[scenario](out)
    np.savez(os.path.join(out, f"{scenario}.rank{D.rank()}.npz"), **results)


if __name__ == "__main__":
    main()
