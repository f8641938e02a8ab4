"""A 200,000-op chain: the backward walk (and freeing the tape) must be iterative.

Run in a subprocess so that a stack overflow shows up as a failed test, not a dead test run.
"""

import subprocess
import sys
import textwrap

CHAIN = 200_000


def _run(code):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"exit code {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr[-3000:]}"
    return proc.stdout


def test_long_chain_gradient():
    out = _run(f"""
        import sys
        sys.setrecursionlimit(1000)
        import tapegrad as tg
        x = tg.constant(0.5, dtype=tg.float64)
        with tg.GradientTape() as tape:
            tape.watch(x)
            y = x
            for i in range({CHAIN // 2}):
                y = y * 1.0
                y = y + 0.25
        g = tape.gradient(y, x)
        print(repr(float(y)), repr(float(g)))
        del tape, y, g
        print("freed")
    """)
    value, grad = out.split("\n")[0].split()
    assert float(value) == 0.5 + 0.25 * (CHAIN // 2)
    assert float(grad) == 1.0
    assert "freed" in out


def test_long_chain_through_variable_and_nontrivial_gradient():
    # y = v * (1 + 1e-6)^n  -> dy/dv = (1 + 1e-6)^n
    out = _run(f"""
        import tapegrad as tg
        v = tg.Variable(2.0, dtype=tg.float64)
        def f():
            y = v.read_value()
            for i in range({CHAIN}):
                y = tg.multiply(y, 1.000001)
            return y
        value, gv = tg.implicit_value_and_gradients(f)()
        print(repr(float(value)), repr(float(gv[0][0])))
    """)
    value, grad = map(float, out.split())
    expected = 1.000001 ** CHAIN
    assert abs(grad - expected) < 1e-9 * expected
    assert abs(value - 2.0 * expected) < 1e-9 * expected


def test_long_chain_tape_discarded_without_gradient():
    out = _run(f"""
        import tapegrad as tg
        x = tg.constant([1.0, 2.0])
        with tg.GradientTape() as tape:
            tape.watch(x)
            y = x
            for i in range({CHAIN}):
                y = y + 1.0
        del tape, y
        print("ok")
    """)
    assert out.strip() == "ok"
