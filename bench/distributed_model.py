"""The cost model of docs/distributed.md, fed with bench/distributed.py's measurements.

    python bench/distributed_model.py [bench/results/distributed.json]

Prints (1) predicted step time and scaling efficiency of the deep step and the digits step at
2 to 256 nodes on 10, 25 and 100 Gb/s links, without and with overlap, and (2) the model against
the all-reduce and step times measured on this machine at 2, 4 and 8 ranks.

The model (one rank per node, the per-node batch fixed: weak scaling):

* all-reduce of s bytes over p nodes, ring: ``T_ar(p, s) = 2(p-1)/p * s / B + 2(p-1) * a``
  (B the link bandwidth, a the latency of one message);
* no overlap: ``step = T_compute + sum over buckets of T_ar(p, bucket)``;
* overlap: bucket k is ready when backward has produced its bytes (backward produces gradient
  bytes at an even rate, last layer first) and the link reduces buckets one after another, in
  order; what remains after backward ends is exposed: ``step = T_compute + exposed``;
* efficiency = T_compute / step.
"""
from __future__ import annotations

import json
import os
import sys
from typing import List, Sequence, Tuple

NODES = (2, 4, 8, 16, 32, 64, 128, 256)
# Link bandwidth in Gb/s and an assumed per-message latency in seconds: MPI over TCP on 10 and
# 25 GbE (tens of microseconds), RDMA-class 100 Gb/s fabrics (a few).
LINKS: Tuple[Tuple[float, float], ...] = ((10.0, 25e-6), (25.0, 15e-6), (100.0, 3e-6))


def allreduce_seconds(p: int, nbytes: float, bandwidth: float, latency: float) -> float:
    """Ring all-reduce: 2(p-1)/p of the bytes cross each link, in 2(p-1) messages."""
    if p == 1:
        return 0.0
    return 2.0 * (p - 1) / p * nbytes / bandwidth + 2.0 * (p - 1) * latency


def exposed_seconds(p: int, buckets: Sequence[int], backward: float, bandwidth: float,
                    latency: float, overlap: bool) -> float:
    """Communication left after backward ends."""
    costs = [allreduce_seconds(p, b, bandwidth, latency) for b in buckets]
    if not overlap:
        return sum(costs)
    total = float(sum(buckets)) or 1.0
    done, produced, link_free = 0.0, 0.0, 0.0
    for b, cost in zip(buckets, costs):
        produced += b
        ready = backward * produced / total
        link_free = max(ready, link_free) + cost
        done = link_free
    return max(0.0, done - backward)


def predict(run: dict, p: int, gbps: float, latency: float, overlap: bool) -> Tuple[float, float]:
    """(step seconds, efficiency) at p nodes for a workload measured at 1 rank (the node)."""
    compute = run["step_seconds"]["compute"]
    backward = compute - run["step_seconds"]["forward"]
    step = compute + exposed_seconds(p, run["bucket_bytes"], backward, gbps * 1e9 / 8, latency, overlap)
    return step, compute / step


def fit_link(sweep: dict) -> Tuple[float, float]:
    """Bandwidth and latency of this machine's ranks from the 2-rank all-reduce times
    (T = s / B + 2 a at p = 2): the smallest buffer gives a, the largest gives B."""
    times = {int(k): v for k, v in sweep["allreduce_seconds"].items()}
    small, large = min(times), max(times)
    latency = times[small] / 2.0
    bandwidth = large / max(times[large] - 2.0 * latency, 1e-12)
    return bandwidth, latency


def main(argv: List[str]) -> int:
    path = argv[0] if argv else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "results", "distributed.json")
    with open(path) as f:
        results = json.load(f)
    node = {r["workload"]: r for r in results["step"] if r["ranks"] == 1}
    for workload, run in node.items():
        per = "step" if workload == "deep" else "step (batch 32 per node)"
        print(f"\n### {workload} {per}: compute {1e3 * run['step_seconds']['compute']:.2f} ms on one node "
              f"(1 rank × {run['threads']} threads), gradients {run['grad_bytes'] / 1e6:.2f} MB in "
              f"{len(run['bucket_bytes'])} buckets\n")
        header = ["nodes"] + [f"{g:g} Gb/s {mode}" for g, _ in LINKS for mode in ("no overlap", "overlap")]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for p in NODES:
            cells = [str(p)]
            for gbps, latency in LINKS:
                for overlap in (False, True):
                    step, eff = predict(run, p, gbps, latency, overlap)
                    cells.append(f"{1e3 * step:.2f} ms ({100 * eff:.0f}%)")
            print("| " + " | ".join(cells) + " |")

    sweeps = {r["ranks"]: r for r in results["allreduce"]}
    if 2 not in sweeps:
        return 0
    bandwidth, latency = fit_link(sweeps[2])
    print(f"\n### This machine: fitted from 2 ranks: B = {bandwidth / 1e9:.2f} GB/s, a = {1e6 * latency:.1f} µs\n")
    sizes = list(sweeps[2]["allreduce_seconds"])
    print("| ranks | " + " | ".join(f"{int(s)} B measured / model" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for p, sweep in sorted(sweeps.items()):
        cells = [f"{1e3 * sweep['allreduce_seconds'][s]:.3f} / {1e3 * allreduce_seconds(p, int(s), bandwidth, latency):.3f} ms"
                 for s in sizes]
        print(f"| {p} | " + " | ".join(cells) + " |")
    print("\n| workload at 2 ranks | measured no overlap | model | measured overlap | model |\n|---|---|---|---|---|")
    for r in results["step"]:
        if r["ranks"] != 2:
            continue
        compute = r["step_seconds"]["compute"]
        backward = compute - r["step_seconds"]["forward"]
        model = [compute + exposed_seconds(2, r["bucket_bytes"], backward, bandwidth, latency, o) for o in (False, True)]
        print(f"| {r['workload']} | {1e3 * r['step_seconds']['no_overlap']:.2f} ms | {1e3 * model[0]:.2f} ms | "
              f"{1e3 * r['step_seconds']['overlap']:.2f} ms | {1e3 * model[1]:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
