"""Data-parallel benchmark: the deep step and the digits epoch at 1 rank x 2 threads and at
2 ranks x 1 thread, the all-reduce time per step with and without overlap, and the fraction of
it hidden behind backward; plus pure all-reduce times at 2, 4 and 8 ranks for the cost model in
docs/distributed.md.

    python bench/distributed.py                 # everything, about two minutes on 2 cores
    python bench/distributed.py --quick         # fewer steps
    python bench/distributed.py --ranks 2,4,8   # which rank counts the all-reduce sweep runs
    python bench/distributed.py --repeat 3      # on a shared machine: keep each configuration's
                                                # least disturbed job of 3

The driver launches ``mpiexec -n P python bench/distributed.py --worker ...`` for each
configuration; rank 0 of each job prints one JSON line, which the driver collects into a
Markdown table and ``bench/results/distributed.json``. Nothing here is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DEEP_BATCH, DEEP_WIDTH = 256, 1024
DIGITS_BATCH = 32


# ------------------------------------------------------------------------------------------------
# Worker side (inside mpiexec)
# ------------------------------------------------------------------------------------------------

def _deep(tg, rank, ranks):
    """The deep workload (bench/workloads/data.deep): this rank's rows of the 256-row batch."""
    from workloads import data

    d = data.deep(DEEP_BATCH, DEEP_WIDTH)
    lo, hi = DEEP_BATCH * rank // ranks, DEEP_BATCH * (rank + 1) // ranks
    x, y = tg.constant(d["x"][lo:hi]), tg.constant(d["y"][lo:hi])
    layers = [tg.Dense(DEEP_WIDTH), tg.Dense(DEEP_WIDTH)]
    h = x
    for layer, k, b in zip(layers, ("w1", "w2"), ("b1", "b2")):
        h = layer(h)
        layer.kernel.assign(d[k])
        layer.bias.assign(d[b])

    def loss_fn():
        # The global batch's mean squared error, this rank's share (see docs/distributed.md).
        diff = layers[1](layers[0](x)) - y
        return tg.reduce_sum(tg.square(diff)) * (ranks / (DEEP_BATCH * DEEP_WIDTH))

    return loss_fn, [v for layer in layers for v in layer.trainable_variables], tg.GradientDescent(0.1)


def _digits(tg, rank, ranks):
    """The digits MLP on all 1797 digits in global batches of 32, Adam: one epoch of steps."""
    from tapegrad.examples import digits

    x_train, y_train, _, _ = digits.load_data()
    tg.random.set_seed(0)
    model = tg.Sequential([tg.Dense(128, activation="relu"), tg.Dense(128, activation="relu"), tg.Dense(10)])
    model(tg.constant(x_train[:1]))
    batches = list(tg.data.batches(x_train, y_train, batch_size=DIGITS_BATCH, seed=0, shard=(rank, ranks)))
    n = len(x_train)
    state = {"step": 0}

    def loss_fn():
        step = state["step"] % len(batches)
        state["step"] += 1
        x, y = batches[step]
        rows = min(DIGITS_BATCH, n - step * DIGITS_BATCH)
        xent = tg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x))
        return tg.reduce_sum(xent) * (ranks / rows)

    return loss_fn, model.trainable_variables, tg.Adam(0.001), len(batches)


def worker_step(args) -> Dict[str, Any]:
    import tapegrad as tg

    D = tg.distributed
    D.init(num_threads=args.threads)
    comm = D._runtime.comm()
    rank, ranks = D.rank(), D.size()
    if args.workload == "deep":
        loss_fn, variables, opt = _deep(tg, rank, ranks)
        steps_per_epoch = None
    else:
        loss_fn, variables, opt, steps_per_epoch = _digits(tg, rank, ranks)
    grad_bytes = sum(int(np.prod(v.shape)) * 4 for v in variables)

    def compute_only():
        with tg.GradientTape() as tape:
            loss = loss_fn()
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))

    comm_times: List[float] = []

    def no_overlap():
        with tg.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, variables)
        t0 = time.perf_counter()
        reduced = D.allreduce_gradients(zip(grads, variables))
        comm_times.append(time.perf_counter() - t0)
        opt.apply_gradients(reduced)

    exposed: List[float] = []

    def overlap():
        with tg.GradientTape() as tape:
            loss = loss_fn()
        dtape = D.DistributedGradientTape(tape)
        before = dtape.communication_seconds
        grads = dtape.gradient(loss, variables)
        exposed.append(dtape.communication_seconds - before)
        opt.apply_gradients(zip(grads, variables))

    def forward_only():
        with tg.GradientTape():
            loss_fn()

    variants = {"forward": forward_only, "compute": compute_only, "no_overlap": no_overlap,
                "overlap": overlap}
    samples: Dict[str, List[float]] = {k: [] for k in variants}
    steps = args.steps if steps_per_epoch is None else steps_per_epoch
    for rnd in range(args.rounds):
        for name, fn in variants.items():
            if ranks == 1 and name not in ("compute", "forward"):
                continue
            fn()  # warm-up (and the layout check on the first call)
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            elapsed = (time.perf_counter() - t0) / steps
            # The slowest rank sets the pace.
            samples[name].append(comm.allreduce(elapsed, op=D._runtime.mpi().MAX))
    per_step = {k: statistics.median(v) for k, v in samples.items() if v}
    from tapegrad.distributed._buckets import Layout

    layout = Layout(variables, D.DEFAULT_BUCKET_BYTES, D._runtime.reduction_comms(), True)
    result = {"workload": args.workload, "ranks": ranks, "threads": tg.config.num_threads(),
              "grad_bytes": grad_bytes, "step_seconds": per_step,
              # in the order they are reduced (the order backward finishes them)
              "bucket_bytes": [b.size * b.dtype.itemsize for b in layout.buckets]}
    if steps_per_epoch is not None:
        result["steps_per_epoch"] = steps_per_epoch
        result["epoch_seconds"] = {k: v * steps_per_epoch for k, v in per_step.items()}
    if comm_times:
        result["comm_seconds_no_overlap"] = statistics.median(comm_times)
        result["comm_seconds_exposed_with_overlap"] = statistics.median(exposed)
        result["fraction_hidden"] = 1.0 - result["comm_seconds_exposed_with_overlap"] / result["comm_seconds_no_overlap"]
    return result


def worker_allreduce(args) -> Dict[str, Any]:
    """All-reduce of float32 buffers of several sizes, started and waited for at once, with the
    workspace kept from call to call as a bucket keeps it: the cost model's measured side."""
    import tapegrad as tg
    from tapegrad.distributed._reduce import Reduction

    D = tg.distributed
    D.init()
    comm = D._runtime.comm()
    out = {}
    for nbytes in (4, 64 << 10, 1 << 20, 8 << 20):
        reduction = Reduction(D._runtime.reduction_comms(), max(1, nbytes // 4), np.float32, True)
        reduction.buffer[...] = 1.0

        def allreduce():
            reduction.start()
            reduction.wait()

        allreduce()
        times = []
        for _ in range(args.rounds):
            comm.Barrier()
            t0 = time.perf_counter()
            reps = 20 if nbytes <= (1 << 20) else 5
            for _ in range(reps):
                allreduce()
            times.append(comm.allreduce((time.perf_counter() - t0) / reps, op=D._runtime.mpi().MAX))
        out[str(nbytes)] = statistics.median(times)
    return {"ranks": D.size(), "allreduce_seconds": out}


# ------------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------------

def _mpiexec() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")
    if not found:
        sys.exit('bench/distributed.py: mpiexec not found; pip install "tapegrad[mpi]"')
    return found


def _launch(ranks: int, worker_args: List[str]) -> Dict[str, Any]:
    env = dict(os.environ)
    env.pop("TAPEGRAD_NUM_THREADS", None)
    done = subprocess.run([_mpiexec(), "-n", str(ranks), sys.executable, os.path.abspath(__file__),
                           *worker_args], capture_output=True, text=True, timeout=1800, env=env)
    if done.returncode != 0:
        sys.exit(f"bench/distributed.py: job failed ({ranks} ranks, {worker_args}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ms(x: float) -> str:
    return f"{1e3 * x:.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ranks", default="2,4,8", help="rank counts for the all-reduce sweep")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", choices=("step", "allreduce"))
    parser.add_argument("--workload", choices=("deep", "digits"))
    parser.add_argument("--threads", type=int)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1,
                        help="jobs per configuration; the least disturbed one is kept")
    args = parser.parse_args(argv)

    if args.worker:
        result = worker_step(args) if args.worker == "step" else worker_allreduce(args)
        import tapegrad as tg

        if tg.distributed.rank() == 0:
            print(json.dumps(result))
        return 0

    rounds = ["--rounds", "3" if args.quick else "5"]
    steps = ["--steps", "4" if args.quick else "10"]
    results: Dict[str, Any] = {"machine": platform.processor() or platform.machine(), "step": [], "allreduce": []}
    # On a shared machine other jobs slow some runs down; each configuration runs --repeat times
    # and keeps its least disturbed job whole (the fastest compute), so the figures of one step
    # row always come from one job.
    for workload in ("deep", "digits"):
        for ranks, threads in ((1, 2), (2, 1)):
            jobs = [_launch(ranks, ["--worker", "step", "--workload", workload, "--threads", str(threads),
                                    *steps, *rounds]) for _ in range(args.repeat)]
            r = min(jobs, key=lambda j: j["step_seconds"]["compute"])
            results["step"].append(r)
            print(json.dumps(r), flush=True)
    for ranks in [int(p) for p in args.ranks.split(",")]:
        jobs = [_launch(ranks, ["--worker", "allreduce", *rounds]) for _ in range(args.repeat)]
        # Each size is a measurement of its own: the fastest of the jobs, size by size.
        r = {"ranks": ranks, "allreduce_seconds": {
            size: min(j["allreduce_seconds"][size] for j in jobs) for size in jobs[0]["allreduce_seconds"]}}
        results["allreduce"].append(r)
        print(json.dumps(r), flush=True)

    lines = ["| workload | ranks × threads | step, compute only (ms) | step, no overlap (ms) | step, overlap (ms) | all-reduce (ms) | exposed with overlap (ms) | hidden |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results["step"]:
        s = r["step_seconds"]
        unit = "epoch" if r["workload"] == "digits" else "step"
        scale = r.get("steps_per_epoch", 1)
        row = [f"{r['workload']} ({unit})", f"{r['ranks']} × {r['threads']}", _ms(s["compute"] * scale)]
        if "no_overlap" in s:
            row += [_ms(s["no_overlap"] * scale), _ms(s["overlap"] * scale),
                    _ms(r["comm_seconds_no_overlap"]), _ms(r["comm_seconds_exposed_with_overlap"]),
                    f"{100 * r['fraction_hidden']:.0f}%"]
        else:
            row += ["—"] * 5
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "| ranks | " + " | ".join(f"{int(b) >> 10} KiB" if int(b) >= 1024 else f"{b} B"
                                            for b in results["allreduce"][0]["allreduce_seconds"]) + " |",
              "|---|" + "---|" * len(results["allreduce"][0]["allreduce_seconds"])]
    for r in results["allreduce"]:
        lines.append(f"| {r['ranks']} | " + " | ".join(f"{1e3 * t:.3f} ms" for t in r["allreduce_seconds"].values()) + " |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "distributed.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "distributed.md"), "w") as f:
        f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
