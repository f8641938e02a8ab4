"""Time the seed notebook's training step: tapegrad against numpy written by hand.

One step = value and gradients of the mean L2 loss of a Dense(1) layer on N examples,
then a gradient descent update of w and b:

  tapegrad: ``value, gv = tg.implicit_value_and_gradients(loss_fn)(x, y, wb)``
            ``optimizer.apply_gradients(gv)``
  numpy:    the same forward, backward and update spelled out with numpy arrays.

Prints the min and median µs per step over repeats and the tapegrad/numpy ratio.
Usage: python bench/seed_step.py [--n 1000] [--repeats 30] [--number 0] [--dtype float32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

LEARNING_RATE = 0.1
# The small-training-step goal is at most half of JAX jit's time for this step. This script runs
# no JAX, so it prints the bound from a reference: JAX jit's step takes 23 µs (numpy by hand
# 22 µs) on a 2-vCPU cloud VM; `compare.py --only seed_1k` measures JAX jit beside tapegrad.
JAX_JIT_REFERENCE_US = 23.0


def make_data(n: int, dtype: np.dtype, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """inputs ~ N(0, 1) of shape (n, 1); labels = 3 * inputs + 2 + N(0, 1) noise."""
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.standard_normal((n, 1)).astype(dtype)
    y = (3.0 * x + 2.0 + rng.standard_normal((n, 1))).astype(dtype)
    return x, y


def tapegrad_step(x: np.ndarray, y: np.ndarray) -> Tuple[Callable[[], None], Callable[[], float]]:
    """Build the notebook's step with tapegrad; return (step, current w)."""
    import tapegrad as tg

    inputs, labels = tg.constant(x), tg.constant(y)
    wb = tg.Dense(units=1)

    def loss_fn(inputs, labels, wb):
        return tg.reduce_mean(tg.square(wb(inputs) - labels))

    loss_fn(inputs, labels, wb)  # builds the variables outside the timed loop
    value_and_gradients_fn = tg.implicit_value_and_gradients(loss_fn)
    optimizer = tg.GradientDescent(learning_rate=LEARNING_RATE)

    def step() -> None:
        _, grads_and_vars = value_and_gradients_fn(inputs, labels, wb)
        optimizer.apply_gradients(grads_and_vars)

    return step, lambda: float(np.asarray(wb.kernel).ravel()[0])


def numpy_step(x: np.ndarray, y: np.ndarray) -> Tuple[Callable[[], None], Callable[[], float]]:
    """The same step written by hand in numpy; return (step, current w)."""
    dtype = x.dtype
    w = np.full((1, 1), 0.5, dtype=dtype)
    b = np.zeros((1,), dtype=dtype)
    scale = dtype.type(2.0 / x.shape[0])
    lr = dtype.type(LEARNING_RATE)

    def step() -> None:
        diff = x @ w + b - y                 # forward: predictions - labels
        _loss = np.mean(diff * diff)         # the value, as the tapegrad step returns it
        g = diff * scale                     # d loss / d predictions
        w_grad = x.T @ g                     # (1, 1)
        b_grad = g.sum(axis=0)               # (1,)
        np.subtract(w, lr * w_grad, out=w)   # in-place update, like sgd_update
        np.subtract(b, lr * b_grad, out=b)

    return step, lambda: float(w[0, 0])


def time_step(step: Callable[[], None], repeats: int, number: int) -> Tuple[List[float], int]:
    """Per-step µs for each of ``repeats`` runs of ``number`` steps (autoranged if 0)."""
    for _ in range(20):  # warm up caches, allocators, lazy imports
        step()
    if number <= 0:  # pick a count so one repeat takes about 20 ms
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                step()
            if time.perf_counter() - t0 >= 0.02:
                break
            number *= 2
    per_step = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(number):
            step()
        per_step.append((time.perf_counter_ns() - t0) / number / 1e3)
    return per_step, number


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of examples (default 1000)")
    parser.add_argument("--repeats", type=int, default=30, help="timed repeats (default 30)")
    parser.add_argument("--number", type=int, default=0, help="steps per repeat (default: auto, ~20 ms)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1:
        parser.error("--n and --repeats must be >= 1")

    x, y = make_data(args.n, np.dtype(args.dtype))
    results: Dict[str, Tuple[float, float]] = {}
    print(f"seed step: N={args.n} {args.dtype}, Dense(1), value+grads+SGD update; "
          f"{args.repeats} repeats")
    for name, build in (("tapegrad", tapegrad_step), ("numpy by hand", numpy_step)):
        step, current_w = build(x, y)
        per_step, number = time_step(step, args.repeats, args.number)
        lo, med = min(per_step), statistics.median(per_step)
        results[name] = (lo, med)
        print(f"  {name:<14} min {lo:8.2f} µs/step   median {med:8.2f} µs/step   "
              f"({number} steps/repeat; w after training {current_w():.3f})")
    (t_min, t_med), (n_min, n_med) = results["tapegrad"], results["numpy by hand"]
    print(f"  ratio tapegrad / numpy: min {t_min / n_min:.2f}x   median {t_med / n_med:.2f}x")
    if args.n == 1000 and args.dtype == "float32":
        print(f"  goal (small training step): <= {0.5 * JAX_JIT_REFERENCE_US:.1f} µs/step "
              f"(0.5 x JAX jit {JAX_JIT_REFERENCE_US:g} µs on the reference machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
