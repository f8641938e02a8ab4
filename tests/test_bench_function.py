"""bench/compare.py's tg.function column: the bit check against eager that the benchmark runs
(it passes for the real step and fails for a step that differs in one learning-rate ulp), and the
report's memory floor, ratios, n/a cells and bit-check failures on a synthetic run (no timing)."""

import dataclasses
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from workloads import fw_tapegrad, report, runtime, spec  # noqa: E402


def test_function_step_has_eager_bits_and_reports_peak_bytes():
    bench = fw_tapegrad.build(spec.BY_NAME["seed_1k"], "tapegrad_function")
    info = bench.info
    assert info["bits_equal_eager"] is True
    assert info["tracing_count"] == 1
    assert info["peak_step_bytes_eager"] > 0 and info["peak_step_bytes_function"] > 0
    eager = fw_tapegrad.build(spec.BY_NAME["seed_1k"], "tapegrad")
    assert bench.check == eager.check  # the third loss, bit for bit


def test_bit_check_fails_when_the_function_step_differs(monkeypatch):
    make = fw_tapegrad._STEP_MODELS["seed"]
    calls = []

    def second_one_ulp_off(w):
        # The builder makes the eager twin first, then the one it wraps in tg.function.
        calls.append(w)
        if len(calls) == 2:
            w = dataclasses.replace(w, learning_rate=float(np.nextafter(np.float32(w.learning_rate), np.float32(1))))
        return make(w)

    monkeypatch.setitem(fw_tapegrad._STEP_MODELS, "seed", second_one_ulp_off)
    with pytest.raises(fw_tapegrad.FunctionBitsDiffer, match="seed_1k"):
        fw_tapegrad.build(spec.BY_NAME["seed_1k"], "tapegrad_function")


def test_same_bits_compares_bits_not_values():
    fw_tapegrad._assert_same_bits("w", "x", [np.float32([0.0, 1.0])], [np.float32([0.0, 1.0])])
    with pytest.raises(fw_tapegrad.FunctionBitsDiffer, match="1 element"):
        fw_tapegrad._assert_same_bits("w", "x", [np.float32([0.0, 1.0])], [np.float32([-0.0, 1.0])])


def test_compiled_frameworks_run_only_training_steps():
    assert spec.runs("tapegrad_function", spec.BY_NAME["deep"])
    assert spec.runs("torch_compile", spec.BY_NAME["mlp_digits"])
    assert not spec.runs("torch_compile", spec.BY_NAME["sgemm_64"])
    assert not spec.runs("tapegrad_function", spec.BY_NAME["reduce_sum_10m"])
    assert spec.runs("tapegrad", spec.BY_NAME["reduce_sum_10m"])


def test_seed_1m_brings_the_floor_read_workload():
    names = [w.name for w in spec.resolve_workloads(["seed_1m"])]
    assert names == ["seed_1m", "reduce_sum_10m"]
    assert [w.name for w in spec.resolve_workloads(["seed_1k"])] == ["seed_1k"]


def _run(samples):
    names = list(samples)
    return {
        "meta": {"date": "d", "machine": {"cpu": "c", "cpus": 2, "system": "s", "python": "p"},
                 "threads": 1, "rounds": 1, "samples": 1, "min_sample_ms": 1, "warmup_ms": 1,
                 "frameworks": {fw: {} for row in samples.values() for fw in row}, "skipped": {}},
        "workloads": [{"name": n, "title": spec.BY_NAME[n].title, "kind": spec.BY_NAME[n].kind,
                       "dims": list(spec.BY_NAME[n].dims), "flops": None} for n in names],
        "samples": samples,
    }


def test_report_floor_ratios_na_and_bit_failures():
    read_us = 1000.0
    run = _run({
        "seed_1m": {"tapegrad": {"us": [900.0]}, "jax_jit": {"us": [2000.0]},
                    "tapegrad_function": {"us": [300.0],
                                          "info": {"bits_equal_eager": True, "peak_step_bytes_eager": 3 << 20,
                                                   "peak_step_bytes_function": 1 << 19}},
                    "torch_compile": {"us": [], "na": "torch.compile failed: no compiler"}},
        "reduce_sum_10m": {"tapegrad": {"us": [read_us]}},
        "deep": {"tapegrad": {"us": [10.0]}, "jax_jit": {"us": [10.0]},
                 "tapegrad_function": {"us": [], "error": "FunctionBitsDiffer: deep: differs"}},
    })
    report.summarize(run)
    floor_us = spec.FLOOR_BYTES / ((4 * spec.MEMORY_N + 4) / read_us)
    assert run["memory_floor"]["median_us"] == pytest.approx(floor_us)
    assert run["function_ratios"]["seed_1m"]["memory_floor"] == pytest.approx(300.0 / floor_us)
    assert run["function_ratios"]["seed_1m"]["jax_jit"] == pytest.approx(0.15)
    assert run["function_ratios"]["seed_1m"]["tapegrad"] == pytest.approx(300.0 / 900.0)
    assert "tapegrad_function" not in run["ratios"]["seed_1m"]
    floor_target = [t for t in run["targets"] if t["peer"] == report.MEMORY_FLOOR]
    assert floor_target[0]["ratio"] == pytest.approx(300.0 / floor_us) and floor_target[0]["met"] is False
    md = report.markdown(run)
    assert "n/a" in md and "torch.compile seed_1m: n/a, torch.compile failed: no compiler" in md
    assert "3 MiB → 512 KiB" in md
    assert "**NO**" in md
    assert report.function_bit_failures(run) == ["deep: FunctionBitsDiffer: deep: differs"]


def test_function_passes_reach_only_the_function_worker():
    base = {"PATH": "/bin"}
    env = runtime.worker_env("tapegrad_function", 1, base, function_passes="none")
    assert env["TAPEGRAD_FUNCTION_PASSES"] == ""
    env = runtime.worker_env("tapegrad_function", 1, base, function_passes="fold,fuse")
    assert env["TAPEGRAD_FUNCTION_PASSES"] == "fold,fuse"
    assert "TAPEGRAD_FUNCTION_PASSES" not in runtime.worker_env("tapegrad", 1, base, function_passes="none")
    assert "TAPEGRAD_FUNCTION_PASSES" not in runtime.worker_env("tapegrad_function", 1, base)


def test_pass_set_columns():
    assert spec.framework_spec("tapegrad_function@fold,cse") == ("fw_tapegrad", "tapegrad", "tg.function (fold,cse)")
    with pytest.raises(KeyError):
        spec.framework_spec("torch@fold")
    assert spec.runs("tapegrad_function@none", spec.BY_NAME["seed_1k"])
    assert not spec.runs("tapegrad_function@none", spec.BY_NAME["reduce_sum_10m"])
    env = runtime.worker_env("tapegrad_function@fold,cse", 1, {}, function_passes="fuse")
    assert env["TAPEGRAD_FUNCTION_PASSES"] == "fold,cse"  # the column's own set wins
    run = _run({"seed_1k": {"tapegrad": {"us": [8.0]}, "tapegrad_function": {"us": [2.0]},
                            "tapegrad_function@none": {"us": [4.0]},
                            "tapegrad_function@fold": {"us": [], "error": "FunctionBitsDiffer: seed_1k: x"}}})
    report.summarize(run)
    assert "tapegrad_function@none" not in run["ratios"]["seed_1k"]
    md = report.markdown(run)
    assert "| seed step N=1000 | 8 µs | 2 µs (2 µs, 0.25×) | 4 µs (4 µs, 0.50×) | error |" in md
    assert report.function_bit_failures(run) == ["seed_1k: FunctionBitsDiffer: seed_1k: x"]
