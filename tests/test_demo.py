"""The notebook demo: tapegrad.demo.run and `python -m tapegrad demo`."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tapegrad.demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _env():
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    return env


def _last(xs):
    return float(np.asarray(xs[-1], dtype=np.float64).reshape(-1)[0])


def test_run_converges_to_true_parameters(tmp_path, capsys):
    res = tapegrad.demo.run(steps=100, out_dir=tmp_path, seed=0, quiet=True)
    assert capsys.readouterr().out == ""  # quiet prints nothing
    for key in ("loss", "w", "b", "plots"):
        assert key in res
    assert len(res["loss"]) in (100, 101)
    assert len(res["w"]) == len(res["b"]) == len(res["loss"])
    assert abs(_last(res["w"]) - 3.0) < 0.15
    assert abs(_last(res["b"]) - 2.0) < 0.15
    losses = [float(x) for x in res["loss"]]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert losses[-1] < 1.3  # noise variance is 1
    assert all(b <= a * (1 + 1e-6) for a, b in zip(losses, losses[1:]))  # GD on a quadratic: monotone


def test_run_writes_both_plots(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "plots here"
    res = tapegrad.demo.run(steps=3, out_dir=str(out), seed=0, quiet=True)
    plots = res["plots"]
    assert len(plots) == 2
    assert len(set(map(os.path.abspath, plots))) == 2
    for p in plots:
        assert os.path.isfile(p) and p.endswith(".png")
        assert os.path.dirname(os.path.abspath(p)) == os.path.abspath(out)
        assert os.path.getsize(p) > 1000
        with open(p, "rb") as f:
            assert f.read(8) == PNG_MAGIC


def test_same_seed_same_losses_and_different_seed_differs(tmp_path):
    a = tapegrad.demo.run(steps=5, out_dir=tmp_path / "a", seed=0, quiet=True)
    b = tapegrad.demo.run(steps=5, out_dir=tmp_path / "b", seed=0, quiet=True)
    c = tapegrad.demo.run(steps=5, out_dir=tmp_path / "c", seed=1, quiet=True)
    assert [float(x) for x in a["loss"]] == [float(x) for x in b["loss"]]
    assert [_last([x]) for x in a["w"]] == [_last([x]) for x in b["w"]]
    assert [float(x) for x in a["loss"]] != [float(x) for x in c["loss"]]


def test_run_not_quiet_prints_progress(tmp_path, capsys):
    tapegrad.demo.run(steps=2, out_dir=tmp_path, seed=0, quiet=False)
    out = capsys.readouterr().out.lower()
    assert "loss" in out and "w" in out and "b" in out


def test_cli_demo(tmp_path):
    out_dir = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tapegrad", "demo", "--steps", "5", "--out", str(out_dir),
                           "--seed", "3"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "loss" in proc.stdout.lower()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    pngs = sorted(p for p in os.listdir(out_dir) if p.endswith(".png"))
    assert len(pngs) == 2
    assert all(os.path.getsize(out_dir / p) > 0 for p in pngs)


@pytest.mark.parametrize("argv,code", [([], 2), (["bogus"], 2), (["--help"], 0), (["demo", "--steps", "x"], 2)])
def test_cli_usage(tmp_path, argv, code):
    proc = subprocess.run([sys.executable, "-m", "tapegrad", *argv], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=_env())
    assert proc.returncode == code, proc.stdout + proc.stderr
    text = (proc.stdout + proc.stderr).lower()
    assert "usage" in text
    if argv == ["--help"]:
        assert "demo" in text
    assert not any(p.endswith(".png") for _, _, fs in os.walk(tmp_path) for p in fs)


def test_run_without_matplotlib(tmp_path):
    """Simulate a missing matplotlib: training still runs, no plots, and the user is told how to get them."""
    code = textwrap.dedent("""
        import sys
        for name in list(sys.modules):
            if name == "matplotlib" or name.startswith("matplotlib."):
                del sys.modules[name]
        sys.modules["matplotlib"] = None  # makes `import matplotlib` raise ImportError
        import tapegrad.demo
        res = tapegrad.demo.run(steps=3, out_dir=sys.argv[1], seed=0, quiet=False)
        print("PLOTS", res["plots"], "STEPS", len(res["loss"]))
    """)
    out_dir = tmp_path / "noplots"
    proc = subprocess.run([sys.executable, "-c", code, str(out_dir)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout + proc.stderr
    assert "PLOTS []" in proc.stdout
    assert "[demo]" in text and "pip install" in text
    assert not (out_dir.exists() and any(p.suffix == ".png" for p in out_dir.iterdir()))
