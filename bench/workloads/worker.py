"""One framework in one process: builds workloads on demand and times them.

Run by ``bench/compare.py``, one process per framework, so no framework's imports, threads or
allocator state touch another's. Two modes:

  serve (what compare.py uses): prints {"ready": ...} once, then reads one JSON request per line
    on stdin, e.g. {"workload": "seed_1k", "samples": 3, "number": 0}, and answers each with one
    JSON line: {"ok": true, "us": [...], "number": n, "check": c, ...}.
  one shot (for debugging):
    python bench/workloads/worker.py --framework numpy --workload seed_1k [--samples 5]

Built workloads are kept, so later rounds time the same objects without rebuilding them.
Anything the frameworks print goes to stderr; stdout carries only the JSON protocol.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any, Dict, Optional, TextIO

if __package__ in (None, ""):
    # Run as a script: import this directory as the package "workloads" (its parent on the path,
    # not the directory itself, so no module here can shadow a framework's own imports).
    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0]) == _here:
        sys.path.pop(0)
    sys.path.insert(0, os.path.dirname(_here))
    __package__ = "workloads"

from workloads import runtime, spec, timing  # noqa: E402


class Worker:
    """Holds one framework's module and the workloads built with it."""

    def __init__(self, framework: str, threads: int) -> None:
        module_name, _, _ = spec.framework_spec(framework)
        pinned = runtime.pin_to_cpus(threads)  # before the import: pools size themselves there
        t0 = time.perf_counter()
        self.framework = framework
        self.module = importlib.import_module(f"workloads.{module_name}")
        info = self.module.init(threads)
        info["import_s"] = round(time.perf_counter() - t0, 3)
        info["blas"] = runtime.blas_info()
        info["pid"] = os.getpid()
        info["cpus"] = pinned if pinned is not None else "all"
        info["env"] = {k: os.environ.get(k) for k in
                       runtime.THREAD_VARS + runtime.OPENBLAS_OVERRIDES + ("XLA_FLAGS",)
                       if os.environ.get(k) is not None}
        self.info = info
        self.built: Dict[str, Any] = {}

    def run(self, req: Dict[str, Any]) -> Dict[str, Any]:
        """Times one workload as ``req`` asks; builds it first if this is its first request."""
        name = req["workload"]
        out: Dict[str, Any] = {"workload": name}
        if name not in self.built:
            t0 = time.perf_counter()
            bench = self.module.build(spec.BY_NAME[name], self.framework)
            loop = timing.compile_loop(bench.stmt, bench.ns, bench.finish)
            self.built[name] = (bench, loop)
            out["build_s"] = round(time.perf_counter() - t0, 3)
            if bench.info:
                out["info"] = bench.info
        bench, loop = self.built[name]
        counters = getattr(self.module, "counters", None)  # optional: event counts per request
        before = counters() if counters else {}
        timing.warm_up(loop, int(req.get("warmup_ms", 50) * 1e6))
        number = int(req.get("number") or 0)
        if number <= 0:
            number = timing.calibrate(loop, int(req.get("min_sample_ms", 20) * 1e6))
        us, cpu_per_wall = timing.sample(loop, number, int(req.get("samples", 3)))
        out.update(ok=True, number=number, check=bench.check, stmt=bench.stmt, us=us,
                   cpu_per_wall=round(cpu_per_wall, 3))
        if counters:
            out["counters"] = {k: v - before.get(k, 0) for k, v in counters().items()}
        return out


def _send(stream: TextIO, msg: Dict[str, Any]) -> None:
    stream.write(json.dumps(msg, allow_nan=True) + "\n")
    stream.flush()


def _error(e: BaseException) -> Dict[str, Any]:
    return {"ok": False, "error": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc(limit=6)}


def serve(framework: str, threads: int) -> int:
    """The request loop compare.py talks to."""
    # The protocol keeps the real stdout; fd 1 becomes stderr so library prints cannot corrupt it.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        worker = Worker(framework, threads)
    except Exception as e:  # noqa: BLE001 - a missing or broken framework is reported, not fatal
        _send(proto, {"ready": False, **_error(e)})
        return 1
    _send(proto, {"ready": True, "info": worker.info})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("cmd") == "quit":
            break
        try:
            _send(proto, worker.run(req))
        except timing.NotAvailable as e:
            _send(proto, {"workload": req.get("workload"), "ok": False, "na": str(e)})
        except Exception as e:  # noqa: BLE001 - one failing workload must not end the run
            _send(proto, {"workload": req.get("workload"), **_error(e)})
    return 0


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--framework", required=True,
                   help=f"one of {', '.join(spec.FRAMEWORKS)}, or tapegrad_function@PASSES")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--serve", action="store_true", help="JSON-lines request loop on stdin")
    p.add_argument("--workload", choices=sorted(spec.BY_NAME), help="one-shot: time this workload")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--min-sample-ms", type=float, default=20.0)
    args = p.parse_args(argv)
    if args.serve:
        return serve(args.framework, args.threads)
    if not args.workload:
        p.error("give --workload (one shot) or --serve")
    worker = Worker(args.framework, args.threads)
    result = worker.run({"workload": args.workload, "samples": args.samples,
                         "min_sample_ms": args.min_sample_ms})
    print(json.dumps({"info": worker.info, **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
