"""Summaries of a finished run: statistics, ratios, targets, and the JSON / Markdown / PNG files.

The input is the dict ``compare.py`` assembles: ``meta``, ``workloads`` and
``samples[workload][framework]`` (per-iteration µs of every sample, the check value, or an error).
"""
from __future__ import annotations

import json
import math
import os
import statistics
from typing import Any, Dict, List, NamedTuple, Optional

from .spec import (BY_NAME, FLOOR_BYTES, FLOOR_READ_WORKLOAD, FLOOR_WORKLOAD, FRAMEWORKS, GROUPS,
                   REFERENCE, VECTOR_MATH_OPS, base_framework, column_passes, framework_spec, runs)

# The two tapegrad columns: the eager one is "tapegrad" in the ratio and target tables; the
# function column has a section of its own.
EAGER, FUNCTION = "tapegrad", "tapegrad_function"
# A target's peer that is not a framework: the seed step's memory floor (spec.FLOOR_BYTES read
# once at the bandwidth of tapegrad's reduce_sum in the same run).
MEMORY_FLOOR = "memory_floor"
# Peers the function column is compared with in its section, in this order.
FUNCTION_PEERS = ("tapegrad", "jax_jit", "torch_compile", "torch", "jax")
# The error message prefix of a bit check that failed (fw_tapegrad.FunctionBitsDiffer).
BITS_DIFFER = "FunctionBitsDiffer"

# Relative difference from numpy's check value above which a result is flagged: float32 sums in
# another order stay far below it; a wrong gradient moves the 3-step loss by ~0.5% or more.
CHECK_RTOL = 1e-3


class Target(NamedTuple):
    """The subject's time / the peer's time must be at most ``max_ratio``.

    goal: what the target is for, named in the report (e.g. "per-op call overhead").
    throughput: when the target is stated as throughput (GFLOP/s, GB/s), tapegrad's throughput
    must be at least this multiple of the peer's; then max_ratio = 1 / throughput.
    subject: the tapegrad column judged: "tapegrad" (eager) or "tapegrad_function".
    """

    workload: str
    peer: str
    max_ratio: float
    goal: str
    throughput: Optional[float] = None
    subject: str = EAGER

    def text(self) -> str:
        if self.throughput is None:
            return f"≤ {self.max_ratio:g}× ({self.goal})"
        return f"throughput ≥ {self.throughput:g}×, time ≤ {self.max_ratio:.3g}× ({self.goal})"


def _throughput(workload: str, peer: str, at_least: float, goal: str) -> Target:
    return Target(workload, peer, 1.0 / at_least, goal, at_least)


# The speed goals (docs/performance.md explains each). The large SGEMM goal holds for 1 thread
# and for 2 (compare.py --threads 1 and --threads 2); the others are judged at 1 thread.
TARGETS: List[Target] = [
    Target("tiny_add", "numpy", 1.0, "per-op call overhead"),
    Target("seed_1k", "jax_jit", 0.5, "small training step"),
    Target("seed_1k", "torch", 0.1, "small training step"),
    Target("seed_1m", "torch", 0.5, "memory-bound training step"),
    Target("seed_1m", "jax_jit", 1.0, "memory-bound training step"),
    Target("deep", "jax_jit", 0.9, "GEMM-bound training step"),
    Target("jacobian_256", "torch", 1.0, "jacobian of a small network"),
    Target("mlp_digits", "torch", 0.5, "training a small classifier"),
    Target("mlp_digits", "jax_jit", 1.0, "training a small classifier"),
    Target("sparse_xent", "torch", 0.5, "fused softmax cross-entropy"),
    _throughput("square_10m", "numpy", 0.9, "memory bandwidth"),
    _throughput("reduce_mean_10m", "numpy", 0.9, "memory bandwidth"),
    # float32 exp, log, tanh: at least as fast as numpy (AVX-512 kernels), faster than PyTorch.
    *[Target(f"{op}_10m", peer, 1.0, "vector math") for op in VECTOR_MATH_OPS for peer in ("numpy", "torch")],
    # Square SGEMM from 256 at numpy's GFLOP/s or more, the skinny shapes at 1.5x or more.
    *[_throughput(name, "numpy", 1.0, "large SGEMM") for name in GROUPS["sgemm_square"]
      if BY_NAME[name].dims[0] >= 256],
    *[_throughput(name, "numpy", 1.5, "skinny SGEMM") for name in GROUPS["sgemm_skinny"]],
    # tg.function (issue 19): the compiled step against the peers' compiled steps.
    Target("seed_1k", "jax_jit", 0.1, "small step, compiled", subject=FUNCTION),
    Target("seed_1k", "tapegrad", 0.5, "small step, compiled vs eager", subject=FUNCTION),
    Target("seed_1m", MEMORY_FLOOR, 1.5, "one pass over x and y", subject=FUNCTION),
    Target("mlp_digits", "jax_jit", 0.5, "small classifier, compiled", subject=FUNCTION),
    Target("deep", "jax_jit", 0.8, "GEMM-bound step, compiled", subject=FUNCTION),
]


def label(fw: str) -> str:
    if fw == MEMORY_FLOOR:
        return "memory floor"
    return framework_spec(fw)[2]


def memory_floor(stats: Dict[str, Dict[str, Any]]) -> Optional[Dict[str, float]]:
    """The seed step's memory floor: FLOOR_BYTES at the read bandwidth of tapegrad's reduce_sum
    over 10^7 floats in this run (from its median and from its best sample); None if not timed."""
    s = stats.get(FLOOR_READ_WORKLOAD, {}).get(EAGER, {})
    if not s.get("gbs_median"):
        return None
    return {"bytes": FLOOR_BYTES, "read_gbs_median": s["gbs_median"], "read_gbs_best": s["gbs_best"],
            "median_us": FLOOR_BYTES / (s["gbs_median"] * 1e3),
            "min_us": FLOOR_BYTES / (s["gbs_best"] * 1e3)}


def _peer_time(stats: Dict[str, Any], floor: Optional[Dict[str, float]], workload: str, peer: str,
               key: str) -> Optional[float]:
    if peer == MEMORY_FLOOR:
        return floor.get(key) if floor and workload == FLOOR_WORKLOAD else None
    return stats.get(workload, {}).get(peer, {}).get(key)


def function_bit_failures(run: Dict[str, Any]) -> List[str]:
    """The workloads whose tg.function step (any pass set) did not give eager's bits (the run must
    fail)."""
    return [f"{w}: {cell['error']}" for w, row in run["samples"].items()
            for fw, cell in row.items() if base_framework(fw) == FUNCTION and BITS_DIFFER in str(cell.get("error", ""))]


def summarize(run: Dict[str, Any]) -> Dict[str, Any]:
    """Adds ``stats[workload][framework]`` (median, min, GFLOP/s or GB/s, check verdict) and
    ``ratios[workload][peer]`` (tapegrad median / peer median) to ``run`` and returns it."""
    stats: Dict[str, Dict[str, Any]] = {}
    ratios: Dict[str, Dict[str, float]] = {}
    for wname, per_fw in run["samples"].items():
        w = BY_NAME[wname]
        ref = per_fw.get(REFERENCE, {}).get("check")
        row: Dict[str, Any] = {}
        for fw, r in per_fw.items():
            us = r.get("us") or []
            s: Dict[str, Any] = {"n_samples": len(us), "number": r.get("number")}
            if r.get("error"):
                s["error"] = r["error"]
            if r.get("na"):
                s["na"] = r["na"]
            if r.get("info"):
                s["info"] = r["info"]
            if us:
                s["median_us"] = statistics.median(us)
                s["min_us"] = min(us)
                if w.flops:
                    s["gflops_median"] = w.flops / s["median_us"] / 1e3
                    s["gflops_best"] = w.flops / s["min_us"] / 1e3
                if w.bytes:
                    s["gbs_median"] = w.bytes / s["median_us"] / 1e3
                    s["gbs_best"] = w.bytes / s["min_us"] / 1e3
            cpw = [c for c in r.get("cpu_per_wall", []) if c is not None]
            if cpw:
                s["cpu_per_wall"] = statistics.median(cpw)
            if r.get("thread_stalls"):
                s["thread_stalls"] = r["thread_stalls"]
            check = r.get("check")
            s["check"] = check
            if check is not None and ref is not None and fw != REFERENCE:
                rel = abs(check - ref) / max(abs(ref), 1e-30)
                s["check_rel_diff"] = rel
                s["check_ok"] = bool(rel <= CHECK_RTOL)
            row[fw] = s
        stats[wname] = row
        tg = row.get(EAGER, {}).get("median_us")
        if tg:
            ratios[wname] = {fw: tg / s["median_us"] for fw, s in row.items()
                             if fw not in (EAGER, FUNCTION) and column_passes(fw) is None and s.get("median_us")}
    floor = memory_floor(stats)
    function_ratios: Dict[str, Dict[str, float]] = {}
    for wname, row in stats.items():
        fn = row.get(FUNCTION, {}).get("median_us")
        if fn:
            peers = {fw: fn / row[fw]["median_us"] for fw in FUNCTION_PEERS if row.get(fw, {}).get("median_us")}
            floor_us = _peer_time(stats, floor, wname, MEMORY_FLOOR, "median_us")
            if floor_us:
                peers[MEMORY_FLOOR] = fn / floor_us
            function_ratios[wname] = peers
    run["stats"], run["ratios"], run["function_ratios"], run["memory_floor"] = stats, ratios, function_ratios, floor
    shares = [s["cpu_per_wall"] for row in stats.values() for s in row.values() if "cpu_per_wall" in s]
    run["cpu_share_median"] = statistics.median(shares) if shares else None

    def ratio(t: Target, key: str) -> Optional[float]:
        a = stats.get(t.workload, {}).get(t.subject, {}).get(key)
        b = _peer_time(stats, floor, t.workload, t.peer, key)
        return a / b if a and b else None

    run["targets"] = []
    for t in TARGETS:
        if t.workload not in stats:
            continue
        measured = ratio(t, "median_us")
        run["targets"].append(
            {"workload": t.workload, "subject": t.subject, "peer": t.peer, "max_ratio": t.max_ratio,
             "goal": t.goal, "min_throughput_ratio": t.throughput, "text": t.text(),
             "ratio": measured, "ratio_of_minima": ratio(t, "min_us"),
             "met": None if measured is None else measured <= t.max_ratio})
    return run


def fmt_time(us: Optional[float]) -> str:
    """3 significant digits in µs, ms or s."""
    if us is None or not math.isfinite(us):
        return "–"
    for unit, scale in (("s", 1e6), ("ms", 1e3)):
        if us >= scale * 0.9995:  # 999.6 µs shows as 1 ms, not "1e+03 µs"
            return f"{_sig(us / scale)} {unit}"
    return f"{_sig(us)} µs"


def _sig(x: float) -> str:
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def _frameworks(run: Dict[str, Any]) -> List[str]:
    return [fw for fw in FRAMEWORKS if fw in run["meta"]["frameworks"]]


def _threads_line(run: Dict[str, Any]) -> str:
    """Each framework's version, threads, ISA and the BLAS it brings along."""
    infos = run["meta"]["frameworks"]
    # Every worker imports numpy (for the data), so numpy's OpenBLAS is loaded everywhere: show it
    # only for numpy itself, and for the others only the libraries they bring.
    numpy_libs = {b.get("filepath") for b in infos.get(REFERENCE, {}).get("blas", [])}
    parts = []
    for fw, info in infos.items():
        t = info.get("threads")
        blas = [b for b in info.get("blas", [])
                if b.get("internal_api") in ("openblas", "mkl", "blis", "openmp")
                and (fw == REFERENCE or b.get("filepath") not in numpy_libs)]
        bits = []
        if t is not None:
            bits.append(f"{t} thread{'s' if t != 1 else ''}")
        if isinstance(info.get("cpus"), list):
            bits.append("CPU " + ",".join(str(c) for c in info["cpus"]) + " (affinity mask)")
        if info.get("isa"):
            bits.append(f"ISA {info['isa']}")
        if info.get("blas_info"):
            bits.append(info["blas_info"])
        for b in blas:
            arch = f", kernel {b['architecture']}" if b.get("architecture") else ""
            name = " ".join(x for x in (b["internal_api"], b.get("version")) if x)
            n = b.get("num_threads")
            bits.append(f"{name}{arch}, {n} thread{'s' if n != 1 else ''}")
        parts.append(f"{label(fw)} {info.get('version', '')}" + (f" ({'; '.join(bits)})" if bits else ""))
    return "; ".join(parts)


def markdown(run: Dict[str, Any]) -> str:
    """The run as Markdown: machine, time table, ratio table, GB/s and GFLOP/s tables, targets,
    notes."""
    meta, stats, ratios = run["meta"], run["stats"], run["ratios"]
    fws = _frameworks(run)
    peers = [fw for fw in fws if fw not in (EAGER, FUNCTION)]
    m = meta["machine"]
    lines = [
        f"### tapegrad vs peers ({meta['date']}{', quick run' if meta.get('quick') else ''})",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['system']}, Python {m['python']}. "
        f"Load average {meta.get('loadavg_start', 0):.1f} at start, "
        f"{meta.get('loadavg_end', 0):.1f} at end (the machine is shared)"
        + (f"; CPU time / wall time while sampling, median over cells: {run['cpu_share_median']:.2f} "
           f"(1.0 = a core to itself at 1 thread)" if run.get("cpu_share_median") else "") + ". "
        f"Threads per framework: {meta['threads']}. {meta['rounds']} interleaved rounds × "
        f"{meta['samples']} samples, each sample ≥ {meta['min_sample_ms']:g} ms of back-to-back "
        f"iterations.",
        "",
        f"Frameworks: {_threads_line(run)}.",
        "",
        "**Time per iteration**: median over all samples (min in parentheses).",
        "",
        "| workload | " + " | ".join(label(fw) for fw in fws) + " |",
        "|---|" + "---:|" * len(fws),
    ]
    for w in run["workloads"]:
        cells = []
        for fw in fws:
            s = stats.get(w["name"], {}).get(fw, {})
            if s.get("median_us") is None:
                cells.append("error" if s.get("error") else "n/a" if s.get("na") else "–")
                continue
            flag = " ⚠" if s.get("check_ok") is False else ""
            cells.append(f"{fmt_time(s['median_us'])} ({fmt_time(s['min_us'])}){flag}")
        lines.append(f"| {w['title']} | " + " | ".join(cells) + " |")
    if peers and "tapegrad" in fws:
        lines += ["", "**tapegrad / peer** (ratio of medians; below 1 means tapegrad is faster).", "",
                  "| workload | " + " | ".join(label(fw) for fw in peers) + " |",
                  "|---|" + "---:|" * len(peers)]
        for w in run["workloads"]:
            r = ratios.get(w["name"], {})
            lines.append(f"| {w['title']} | " + " | ".join(
                f"{r[fw]:.2f}×" if fw in r else "–" for fw in peers) + " |")
    lines += function_section(run)
    mems = [w for w in run["workloads"] if BY_NAME[w["name"]].bytes]
    if mems:
        mem_fws = [fw for fw in fws if any(runs(fw, BY_NAME[w["name"]]) for w in mems)]
        lines += ["", "**Memory-bound ops, GB/s** (bytes read + written by the op / time, from the "
                      "median; best sample in parentheses).", "",
                  "| op | " + " | ".join(label(fw) for fw in mem_fws) + " |",
                  "|---|" + "---:|" * len(mem_fws)]
        for w in mems:
            cells = []
            for fw in mem_fws:
                s = stats.get(w["name"], {}).get(fw, {})
                cells.append(f"{s['gbs_median']:.3g} ({s['gbs_best']:.3g})"
                             if s.get("gbs_median") else "–")
            lines.append(f"| {w['title']} | " + " | ".join(cells) + " |")
    gemms = [w for w in run["workloads"] if w["kind"] == "gemm"]
    if gemms:
        gemm_fws = [fw for fw in fws if any(runs(fw, BY_NAME[w["name"]]) for w in gemms)]
        lines += ["", "**SGEMM GFLOP/s** (from the median; best sample in parentheses).", "",
                  "| shape (M×K·K×N) | " + " | ".join(label(fw) for fw in gemm_fws) + " |",
                  "|---|" + "---:|" * len(gemm_fws)]
        for w in gemms:
            cells = []
            for fw in gemm_fws:
                s = stats.get(w["name"], {}).get(fw, {})
                cells.append(f"{s['gflops_median']:.3g} ({s['gflops_best']:.3g})"
                             if s.get("gflops_median") else "–")
            lines.append(f"| {w['title']} | " + " | ".join(cells) + " |")
    eager_targets = [t for t in run.get("targets", []) if t.get("subject", EAGER) == EAGER]
    if eager_targets:
        lines += ["", "**Targets** (tapegrad / peer time; benchmark figures, not tests; met is judged "
                      "on the medians, the ratio of the minima shows how much the machine's noise moved it).", ""]
        lines += _targets_table(eager_targets)
    notes = notes_for(run)
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _targets_table(targets: List[Dict[str, Any]]) -> List[str]:
    lines = ["| workload | peer | target | medians | minima | met |", "|---|---|---:|---:|---:|:---:|"]
    for t in targets:
        peer = "tapegrad (eager)" if t.get("subject") == FUNCTION and t["peer"] == EAGER else label(t["peer"])
        measured = "–" if t["ratio"] is None else f"{t['ratio']:.2f}×"
        minima = "–" if t.get("ratio_of_minima") is None else f"{t['ratio_of_minima']:.2f}×"
        met = "–" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {BY_NAME[t['workload']].title} | {peer} | "
                     f"{t['text']} | {measured} | {minima} | {met} |")
    return lines


def _bytes(n: Optional[int]) -> str:
    """Bytes in KiB below 1 MiB, else MiB, 3 significant digits."""
    if n is None:
        return "–"
    if n < 2**20:
        return f"{_sig(n / 2**10)} KiB"
    return f"{_sig(n / 2**20)} MiB"


def _pass_sets_table(run: Dict[str, Any], rows: List[Dict[str, Any]]) -> List[str]:
    """The function column beside its pass-set columns (compare.py --function-pass-sets)."""
    sets = [fw for fw in run["meta"]["frameworks"] if column_passes(fw) is not None]
    if not sets:
        return []
    stats = run["stats"]
    passes = run["meta"]["frameworks"].get(FUNCTION, {}).get("function_passes", "all")
    cols = [FUNCTION] + sets
    heads = [f"passes: {passes}"] + [f"passes: {column_passes(fw)}" for fw in sets]
    lines = ["", "**What each pass gains**: the function step running only the listed passes, in the "
                 "same rounds (median, min in parentheses, and / tapegrad eager's median).", "",
             "| workload | tapegrad eager | " + " | ".join(heads) + " |", "|---|---:|" + "---:|" * len(cols)]
    for w in rows:
        row = stats[w["name"]]
        eager = row.get(EAGER, {}).get("median_us")
        cells = [f"{fmt_time(eager)}" if eager else "–"]
        for fw in cols:
            s = row.get(fw, {})
            if not s.get("median_us"):
                cells.append("error" if s.get("error") else "–")
                continue
            ratio = f", {s['median_us'] / eager:.2f}×" if eager else ""
            cells.append(f"{fmt_time(s['median_us'])} ({fmt_time(s['min_us'])}{ratio})")
        lines.append(f"| {w['title']} | " + " | ".join(cells) + " |")
    return lines


def function_section(run: Dict[str, Any]) -> List[str]:
    """tg.function against tapegrad eager and the peers' compiled modes: times, ratios, the
    seed step's memory floor, one step's peak bytes in both modes, the bit check, the goals."""
    stats, fratios = run["stats"], run.get("function_ratios", {})
    rows = [w for w in run["workloads"] if FUNCTION in stats.get(w["name"], {})]
    if not rows:
        return []
    peers = [fw for fw in FUNCTION_PEERS if any(fw in fratios.get(w["name"], {}) for w in rows)]
    heads = ["tapegrad (eager)" if fw == EAGER else label(fw) for fw in peers]
    passes = run["meta"]["frameworks"].get(FUNCTION, {}).get("function_passes", "all")
    lines = ["", "**tg.function** (the same training step under `tg.function`, traced by a first call "
                 "outside the timing; function time / other time, ratio of medians; below 1 means "
                 f"the function is faster). Passes run: {passes}.", "",
             "| workload | tapegrad (function) | " + " | ".join(f"/ {h}" for h in heads)
             + " | peak bytes of one step, eager → function | bits = eager"
             + " | nodes removed: folded, common, dead, fused |",
             "|---|---:|" + "---:|" * len(peers) + "---:|:---:|---:|"]
    for w in rows:
        s = stats[w["name"]][FUNCTION]
        r = fratios.get(w["name"], {})
        info = s.get("info", {})
        eager_peak, fn_peak = info.get("peak_step_bytes_eager"), info.get("peak_step_bytes_function")
        peak = "–" if eager_peak is None else f"{_bytes(eager_peak)} → {_bytes(fn_peak)}"
        if info.get("peak_step_note"):
            peak += f" ({info['peak_step_note']})"
        bits = "yes" if info.get("bits_equal_eager") else ("**NO**" if BITS_DIFFER in str(s.get("error", "")) else "–")
        time = (f"{fmt_time(s['median_us'])} ({fmt_time(s['min_us'])})" if s.get("median_us")
                else "error" if s.get("error") else "–")
        counts = info.get("pass_counts") or {}
        passes = ", ".join(str(counts.get(k, "?")) for k in ("folded", "common", "dead", "fused")) if counts else "–"
        lines.append(f"| {w['title']} | {time} | " + " | ".join(
            f"{r[fw]:.2f}×" if fw in r else "–" for fw in peers) + f" | {peak} | {bits} | {passes} |")
    floor = run.get("memory_floor")
    if floor:
        fn = stats.get(FLOOR_WORKLOAD, {}).get(FUNCTION, {})
        line = (f"Memory floor of the {BY_NAME[FLOOR_WORKLOAD].title}: its x and y "
                f"({floor['bytes'] / 1e6:g} MB) read once at the {floor['read_gbs_median']:.3g} GB/s that "
                f"tapegrad's {BY_NAME[FLOOR_READ_WORKLOAD].title} reaches in this run (median; best "
                f"sample {floor['read_gbs_best']:.3g} GB/s): {fmt_time(floor['median_us'])} "
                f"({fmt_time(floor['min_us'])} at the best bandwidth)")
        if fn.get("median_us"):
            line += (f"; the function step takes {fn['median_us'] / floor['median_us']:.2f}× the floor "
                     f"(ratio of the minima {fn['min_us'] / floor['min_us']:.2f}×)")
        lines += ["", line + "."]
    elif stats.get(FLOOR_WORKLOAD, {}).get(FUNCTION, {}).get("median_us"):
        lines += ["", f"Memory floor of the {BY_NAME[FLOOR_WORKLOAD].title}: not measured (it needs "
                      f"tapegrad's {FLOOR_READ_WORKLOAD} in the same run: keep the tapegrad framework)."]
    lines += _pass_sets_table(run, rows)
    targets = [t for t in run.get("targets", []) if t.get("subject") == FUNCTION]
    if targets:
        lines += ["", "**tg.function goals** (issue 19; tapegrad (function) time / peer time).", ""]
        lines += _targets_table(targets)
    return lines


def notes_for(run: Dict[str, Any]) -> List[str]:
    """Skipped frameworks, changed environment, failed checks and errors, one line each."""
    meta = run["meta"]
    notes = [f"{label(fw)} skipped: {why}" for fw, why in meta.get("skipped", {}).items()]
    if meta.get("removed_env"):
        removed = ", ".join(f"{k}={v}" for k, v in meta["removed_env"].items())
        notes.append(f"removed from every worker's environment (they mis-tune OpenBLAS): {removed}")
    for wname, row in run["stats"].items():
        for fw, s in row.items():
            if s.get("check_ok") is False:
                notes.append(f"⚠ {label(fw)} {wname}: check value {s['check']:.6g} differs from "
                             f"numpy's by {s['check_rel_diff']:.2%} (not the same math?)")
            if s.get("error"):
                notes.append(f"{label(fw)} {wname}: {s['error']}")
            if s.get("na"):
                notes.append(f"{label(fw)} {wname}: n/a, {s['na']}")
            if s.get("thread_stalls"):
                notes.append(f"{label(fw)} {wname}: {s['thread_stalls']} thread-pool stall(s) while "
                             f"sampling (a job waited for a thread the OS had not scheduled: the "
                             f"second core was busy)")
            if s.get("cpu_per_wall", 0) > 1.3 * meta["threads"]:
                notes.append(f"{label(fw)} {wname}: used {s['cpu_per_wall']:.1f} CPUs on average "
                             f"(CPU time / wall time), more than the {meta['threads']} thread(s) asked for")
    return notes


def write_json(run: Dict[str, Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1, allow_nan=True)
        f.write("\n")


def write_chart(run: Dict[str, Any], path: str) -> Optional[str]:
    """A PNG with two panels: each workload's time relative to numpy (log scale), and SGEMM
    GFLOP/s over the square sizes. Returns None when written, else why not (no matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    stats, fws = run["stats"], _frameworks(run)
    rows = [w for w in run["workloads"] if stats.get(w["name"], {}).get(REFERENCE, {}).get("median_us")]
    square = [w for w in run["workloads"] if w["kind"] == "gemm" and len(set(w["dims"])) == 1]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, max(5.0, 0.45 * len(rows) * max(1, len(fws)) / 3 + 2)),
                                   gridspec_kw={"width_ratios": [3, 2]})
    height = 0.8 / max(1, len(fws))
    for i, fw in enumerate(fws):
        ys, xs = [], []
        for j, w in enumerate(rows):
            s = stats[w["name"]].get(fw, {})
            if s.get("median_us"):
                ys.append(j + (i - (len(fws) - 1) / 2) * height)
                xs.append(s["median_us"] / stats[w["name"]][REFERENCE]["median_us"])
        bars = ax1.barh(ys, xs, height=height, label=label(fw))
        # The absolute median at the end of each bar: the ratio alone hides µs vs s.
        for bar, y, w in zip(bars, ys, [w for w in rows if stats[w["name"]].get(fw, {}).get("median_us")]):
            ax1.text(bar.get_width() * 1.04, y, fmt_time(stats[w["name"]][fw]["median_us"]),
                     va="center", fontsize=6.5)
    ax1.set_xscale("log")
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax1.axvline(1.0, color="black", linewidth=0.8)
    ax1.set_yticks(range(len(rows)), [w["title"] for w in rows])
    ax1.invert_yaxis()
    ax1.set_xlabel("time per iteration relative to numpy (median; lower is faster)")
    ax1.legend(loc="lower right", fontsize="small")
    ax1.grid(axis="x", which="both", alpha=0.3)
    for fw in fws:
        pts = [(w["dims"][0], stats[w["name"]][fw]["gflops_median"]) for w in square
               if stats.get(w["name"], {}).get(fw, {}).get("gflops_median")]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=label(fw))
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("SGEMM n (n×n·n×n)")
    ax2.set_ylabel("GFLOP/s (median)")
    ax2.grid(alpha=0.3)
    if square:
        ax2.legend(fontsize="small")
    m = run["meta"]["machine"]
    fig.suptitle(f"tapegrad vs peers: {m['cpu']}, {m['cpus']} CPUs, {run['meta']['threads']} threads "
                 f"({run['meta']['date']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
