"""Run tapegrad side by side with numpy, PyTorch, JAX (eager and jit) and TensorFlow.

tapegrad runs eagerly ("tapegrad") and, for the training steps, under tg.function
("tapegrad_function", checked bit for bit against eager: the run fails if they differ); PyTorch
eagerly and, for the training steps, under torch.compile ("torch_compile", "n/a" where it cannot
compile here).

Every framework runs in its own worker process (bench/workloads/worker.py); the workers are
started once and then asked, in interleaved rounds, to time each workload, so slow drifts of a
shared machine spread over all frameworks instead of landing on one. Peers that are not
installed are skipped with a note; numpy is always there.

  python bench/compare.py --quick                  # the short run (a few minutes on 2 cores)
  python bench/compare.py                          # more rounds and samples
  python bench/compare.py --only seed_1k,tiny_add --frameworks tapegrad,numpy,jax_jit
  python bench/compare.py --quick --only memory    # square, reduce_mean, reduce_sum over 10^7 floats
  python bench/compare.py --quick --only seed,deep,mlp_digits   # the tg.function section's steps
  python bench/compare.py --quick --only seed --function-passes fold,cse,dce   # without fusion
  python bench/compare.py --quick --only seed,deep,mlp_digits --function-pass-sets "none;fold;fold,cse,dce"
  python bench/compare.py --list                   # workload and framework names

Writes compare.json, compare.md and compare.png into --out (default bench/results/) and prints
the Markdown table. Timings are figures to compare, never pass/fail tests.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from workloads import report, runtime, spec  # noqa: E402

WORKER = os.path.join(HERE, "workloads", "worker.py")
READY_TIMEOUT_S = 300.0   # importing a framework (and TF) on a busy 2-core machine
REQUEST_TIMEOUT_S = 900.0  # one workload's warm-up + calibration + samples, scalar SGEMM 2048 included

# (rounds, samples per round, min ms per sample, warm-up ms) for the two modes.
QUICK = (3, 2, 20.0, 30.0)
FULL = (5, 4, 25.0, 60.0)


class WorkerProcess:
    """One framework's worker: a subprocess speaking JSON lines over its stdin/stdout."""

    def __init__(self, framework: str, threads: int, log_path: str,
                 function_passes: Optional[str] = None) -> None:
        self.framework = framework
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, WORKER, "--framework", framework, "--threads", str(threads), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
            env=runtime.worker_env(framework, threads, function_passes=function_passes),
        )
        # A reader thread turns the blocking pipe into a queue, so every wait can time out.
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.info: Dict[str, Any] = {}

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)  # EOF: the worker exited

    def _receive(self, timeout: float) -> Dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.close(kill=True)
            raise RuntimeError(f"no answer within {timeout:.0f} s (killed; log: {self.log_path})")
        if line is None:
            raise RuntimeError(f"worker exited with code {self.proc.wait()}: {self._log_tail()}")
        return json.loads(line)

    def _log_tail(self, n: int = 3) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                lines = [l.strip() for l in f if l.strip()]
            return " | ".join(lines[-n:]) or f"(empty log {self.log_path})"
        except OSError:
            return self.log_path

    def wait_ready(self) -> Dict[str, Any]:
        """The worker's greeting: {"ready": True, "info": ...} or {"ready": False, "error": ...}."""
        msg = self._receive(READY_TIMEOUT_S)
        self.info = msg.get("info", {})
        return msg

    def request(self, req: Dict[str, Any]) -> Dict[str, Any]:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._receive(REQUEST_TIMEOUT_S)

    def close(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            try:
                if not kill:
                    self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                    self.proc.stdin.flush()
                    self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--quick", action="store_true",
                   help=f"short run: {QUICK[0]} rounds x {QUICK[1]} samples")
    p.add_argument("--only", help="comma-separated workloads or groups "
                                  f"({', '.join(spec.GROUPS)}); default: all")
    p.add_argument("--frameworks", help="comma-separated, default: all installed "
                                        f"({', '.join(spec.FRAMEWORKS)})")
    p.add_argument("--threads", type=int, default=1,
                   help="threads per framework (default 1: on a shared machine thread teams of 2+ "
                        "collapse when another process holds a core; use 2 for the "
                        "multi-threaded figures)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (overrides --quick's)")
    p.add_argument("--samples", type=int, help="samples per round per cell (overrides --quick's)")
    p.add_argument("--min-sample-ms", type=float, help="shortest sample, in ms")
    p.add_argument("--function-passes", metavar="LIST",
                   help="the passes tg.function runs in the tapegrad_function column, comma-separated "
                        f"from {', '.join(runtime.FUNCTION_PASSES)}, or 'none' (default: all); one run per "
                        "set shows what each pass gains")
    p.add_argument("--function-pass-sets", metavar="SETS",
                   help="extra tg.function columns, each running only some passes, in the same rounds: "
                        "pass sets separated by ';', e.g. 'none;fold;fold,cse,dce' (the report's "
                        "'what each pass gains' table)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG")
    p.add_argument("--list", action="store_true", help="list workloads and frameworks, then exit")
    args = p.parse_args(argv)
    rounds, samples, min_ms, warm_ms = QUICK if args.quick else FULL
    args.rounds = args.rounds or rounds
    args.samples = args.samples or samples
    args.min_sample_ms = args.min_sample_ms or min_ms
    args.warmup_ms = warm_ms
    if args.rounds < 1 or args.samples < 1 or args.threads < 1:
        p.error("--rounds, --samples and --threads must be >= 1")
    pass_sets = [args.function_passes] if args.function_passes is not None else []
    args.pass_sets = [s.strip() for s in (args.function_pass_sets or "").split(";") if s.strip()]
    for passes in pass_sets + args.pass_sets:
        unknown = [x for x in passes.split(",") if x not in runtime.FUNCTION_PASSES] if passes != "none" else []
        if unknown:
            p.error(f"unknown tg.function pass(es) {', '.join(unknown)} in {passes!r}; known: "
                    f"{', '.join(runtime.FUNCTION_PASSES)}, or 'none'")
    return args


def choose_frameworks(arg: Optional[str]) -> tuple:
    """(frameworks to run, {framework: why skipped}); tapegrad and numpy always come first."""
    wanted = [f.strip() for f in arg.split(",") if f.strip()] if arg else list(spec.FRAMEWORKS)
    unknown = [f for f in wanted if f not in spec.FRAMEWORKS]
    if unknown:
        raise SystemExit(f"unknown framework(s) {', '.join(unknown)}; known: {', '.join(spec.FRAMEWORKS)}")
    run, skipped = [], {}
    for fw in spec.FRAMEWORKS:  # canonical order
        if fw not in wanted:
            continue
        module = spec.FRAMEWORKS[fw][1]
        if importlib.util.find_spec(module) is None:
            skipped[fw] = f"`{module}` is not installed"
        else:
            run.append(fw)
    return run, skipped


def progress(t0: float, text: str) -> None:
    elapsed = int(time.perf_counter() - t0)
    print(f"[{elapsed // 60:2d}:{elapsed % 60:02d}] {text}", flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.list:
        for w in spec.WORKLOADS:
            print(f"{w.name:<20} {w.title}")
        print("groups:", ", ".join(f"{g} ({len(v)})" for g, v in spec.GROUPS.items()))
        print("frameworks:", ", ".join(spec.FRAMEWORKS))
        return 0
    try:
        workloads = spec.resolve_workloads(args.only.split(",") if args.only else None)
    except ValueError as e:
        raise SystemExit(str(e))
    frameworks, skipped = choose_frameworks(args.frameworks)
    if "tapegrad_function" in frameworks:
        frameworks += [spec.pass_set_column(passes) for passes in args.pass_sets]
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)

    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    if load_start > 0.5:
        progress(t0, f"note: load average {load_start:.1f} before starting: other processes are "
                     "running, expect noisy figures")
    progress(t0, f"{len(workloads)} workloads x {len(frameworks)} frameworks "
                 f"({', '.join(frameworks)}), {args.rounds} rounds x {args.samples} samples, "
                 f"{args.threads} threads")
    for fw, why in skipped.items():
        progress(t0, f"skipping {fw}: {why}")
    workers: Dict[str, WorkerProcess] = {}
    for fw in frameworks:  # start all at once: imports overlap
        workers[fw] = WorkerProcess(fw, args.threads, os.path.join(args.out, "logs", f"{fw}.log"),
                                    function_passes=args.function_passes)
    infos: Dict[str, Any] = {}
    for fw in list(workers):
        try:
            msg = workers[fw].wait_ready()
        except RuntimeError as e:
            msg = {"ready": False, "error": str(e)}
        if msg.get("ready"):
            infos[fw] = msg["info"]
            progress(t0, f"{fw} ready ({msg['info'].get('version', '?')}, "
                         f"import {msg['info'].get('import_s', 0):.1f} s)")
        else:
            skipped[fw] = f"failed to start: {msg.get('error')}"
            progress(t0, f"skipping {fw}: {skipped[fw]}")
            workers.pop(fw).close(kill=True)

    samples: Dict[str, Dict[str, Dict[str, Any]]] = {w.name: {} for w in workloads}
    try:
        for r in range(args.rounds):
            for i, w in enumerate(workloads):
                # Rotate who goes first, so no framework always runs right after the same one.
                alive = [fw for fw in frameworks if fw in workers]
                k = (r + i) % max(1, len(alive))
                shown = []
                for fw in alive[k:] + alive[:k]:
                    if not spec.runs(fw, w):
                        continue
                    cell = samples[w.name].setdefault(fw, {"us": []})
                    if cell.get("error") or cell.get("na"):
                        continue  # a workload that failed once is not retried
                    req = {"workload": w.name, "samples": args.samples, "number": cell.get("number", 0),
                           "min_sample_ms": args.min_sample_ms, "warmup_ms": args.warmup_ms}
                    try:
                        res = workers[fw].request(req)
                    except RuntimeError as e:
                        res = {"ok": False, "error": str(e)}
                        skipped[fw] = f"worker died during {w.name}: {e}"
                        workers.pop(fw).close(kill=True)
                    if res.get("na"):
                        cell["na"] = res["na"]
                        shown.append(f"{fw} n/a")
                        continue
                    if not res.get("ok"):
                        cell["error"] = res.get("error", "unknown error")
                        shown.append(f"{fw} ERROR")
                        progress(t0, f"{fw} {w.name}: {cell['error']}")
                        continue
                    cell["us"] += res["us"]
                    cell.setdefault("cpu_per_wall", []).append(res.get("cpu_per_wall"))
                    cell["number"], cell["check"] = res["number"], res["check"]
                    for key, count in res.get("counters", {}).items():
                        cell[key] = cell.get(key, 0) + count
                    if "build_s" in res:
                        cell["build_s"] = res["build_s"]
                    if "info" in res:
                        cell["info"] = res["info"]
                    shown.append(f"{fw} {report.fmt_time(statistics.median(res['us']))}")
                order = {fw: j for j, fw in enumerate(frameworks)}
                shown.sort(key=lambda s: order.get(s.split()[0], 0))
                progress(t0, f"round {r + 1}/{args.rounds}  {w.name:<17} " + " · ".join(shown))
    except KeyboardInterrupt:
        progress(t0, "interrupted: reporting what was measured so far")
    finally:
        for wp in workers.values():
            wp.close()

    run = {
        "meta": {
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": runtime.machine(),
            "threads": args.threads,
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg()[0],
            "rounds": args.rounds,
            "samples": args.samples,
            "min_sample_ms": args.min_sample_ms,
            "warmup_ms": args.warmup_ms,
            "quick": args.quick,
            "removed_env": runtime.removed_overrides(),
            "frameworks": infos,
            "skipped": skipped,
            "elapsed_s": round(time.perf_counter() - t0, 1),
            "argv": sys.argv[1:] if argv is None else argv,
        },
        "workloads": [{"name": w.name, "title": w.title, "kind": w.kind, "dims": list(w.dims),
                       "flops": w.flops} for w in workloads],
        "samples": samples,
    }
    report.summarize(run)
    md = report.markdown(run)
    paths = {"json": os.path.join(args.out, "compare.json"), "md": os.path.join(args.out, "compare.md")}
    report.write_json(run, paths["json"])
    with open(paths["md"], "w", encoding="utf-8") as f:
        f.write(md)
    if not args.no_chart:
        png = os.path.join(args.out, "compare.png")
        why_not = report.write_chart(run, png)
        if why_not:
            progress(t0, f"no chart: {why_not}")
        else:
            paths["png"] = png
    print()
    print(md)
    progress(t0, "wrote " + ", ".join(paths.values()))
    differ = report.function_bit_failures(run)
    if differ:
        for line in differ:
            print(f"FAILED: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
