"""The full accuracy sweep of tapegrad's vector math (cpp/kernels/simd/vec_math.h).

For each function and dtype: at least 10^7 seeded inputs spread over the whole finite range (a
third uniform over all bit patterns, a third uniform and a third log-uniform over the function's
interesting domain) plus the edge values (±0, subnormals, the overflow and underflow thresholds,
±inf, NaN). Each result is compared with a reference and its error printed as a histogram in
ulp (0, 1, 2, 3, >3) beside numpy's float32 function measured the same way.

Reference: float32 results against numpy on float64 inputs (|error| < 1e-16 relative, far below a
float32 ulp); float64 results against numpy on np.longdouble (x87 80-bit, 11 more bits than
double; on a sample, mpmath at 120 bits gives the same per-value errors to 1e-3 ulp). The error is |y - ref| in units of the spacing of float32/float64 at ref rounded to the
result's dtype; a result equal to ref rounded (inf and subnormals included) counts 0; NaN must
match NaN. sin and cos are held to their bound for |x| <= 1e4; beyond it they report a second row.

  python bench/vector_math_accuracy.py               # 10^7 values per function (a few minutes)
  python bench/vector_math_accuracy.py --n 1000000   # a quicker look
  python bench/vector_math_accuracy.py --isa avx2    # another instruction set (default: the best)
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, Tuple

import numpy as np

import tapegrad as tg

# function -> (float32 domain (lo, hi) for the dense samples, ulp bound)
F32 = {
    "exp": ((-104.0, 89.0), 2),
    "expm1": ((-20.0, 89.0), 2),
    "log": ((0.0, 3.4e38), 2),
    "log1p": ((-1.0, 3.4e38), 2),
    "tanh": ((-10.0, 10.0), 3),
    "sigmoid": ((-105.0, 20.0), 3),
    "sin": ((-1e4, 1e4), 3),
    "cos": ((-1e4, 1e4), 3),
}
F64 = {
    "exp": ((-746.0, 710.0), 2),
    "log": ((0.0, 1.7e308), 2),
}
TRIG_LIMIT = 1e4
BINS = ("0", "1", "2", "3", ">3")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference(name: str) -> Callable:
    return _sigmoid if name == "sigmoid" else getattr(np, name)


def edge_values(dtype) -> np.ndarray:
    fi = np.finfo(dtype)
    tiny = fi.smallest_subnormal
    vals = [0.0, -0.0, tiny, -tiny, tiny * 3, fi.tiny, -fi.tiny, fi.tiny * (1 - fi.eps), fi.max, -fi.max,
            np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 2.0, fi.eps, -fi.eps,
            88.72283, 88.72284, 88.7, 89.0, -87.33655, -103.97208, -103.28, -104.0, -150.0,
            709.782712893384, 709.79, -708.39641853226, -745.1332191019411, -745.14, 710.0, -746.0,
            -1 + fi.eps, -1 + fi.eps / 2, 1 - fi.eps, 1 + fi.eps, 9.0, 9.1, 10.0, 44.0, 1e4, -1e4,
            np.pi / 2, np.pi, 3 * np.pi / 2, 1e-10, -1e-10, 1e-30, -1e-30]
    with np.errstate(over="ignore"):
        return np.array(vals, dtype=np.float64).astype(dtype)


def samples(n: int, dtype, domain: Tuple[float, float], seed: int) -> np.ndarray:
    """n values: a third random bit patterns (finite), a third uniform and a third log-uniform
    in magnitude (from the smallest subnormal up to the domain's end on each side) over
    `domain`; then the edge values."""
    rng = np.random.default_rng(seed)
    third = n // 3
    uint = np.uint32 if dtype == np.float32 else np.uint64
    anybits = np.empty(0, dtype)
    while anybits.size < third:
        bits = rng.integers(0, np.iinfo(uint).max, size=third + third // 100 + 64, dtype=uint, endpoint=True)
        drawn = bits.view(dtype)
        anybits = np.concatenate([anybits, drawn[np.isfinite(drawn)]])
    lo, hi = domain
    uniform = rng.uniform(lo, hi, size=third).astype(dtype)
    m = n - 2 * third
    negative = rng.random(m) < 0.5 if lo < 0 else np.zeros(m, bool)
    top = np.where(negative, abs(lo), hi)
    with np.errstate(over="ignore"):
        mag = np.exp(rng.uniform(np.log(float(np.finfo(dtype).smallest_subnormal)), np.log(top)))
        logu = np.where(negative, -mag, mag).astype(dtype)
    return np.concatenate([anybits[:third], uniform, logu, edge_values(dtype)])


def ulp_errors(y: np.ndarray, x: np.ndarray, name: str) -> np.ndarray:
    """|y - f(x)| in ulp of y's dtype at the reference (see the module docstring)."""
    dtype = y.dtype
    wide = np.float64 if dtype == np.float32 else np.longdouble
    with np.errstate(all="ignore"):
        ref = reference(name)(x.astype(wide))
        rounded = ref.astype(dtype)
        err = np.abs(y.astype(wide) - ref) / np.spacing(np.abs(rounded)).astype(wide)
    same = (y == rounded) | (np.isnan(y) & np.isnan(rounded))
    err = np.where(same, 0.0, err)
    err = np.where(~same & (np.isnan(y) | np.isnan(rounded) | np.isinf(y) | np.isinf(rounded)), np.inf, err)
    return err.astype(np.float64)


def histogram(err: np.ndarray) -> Dict[str, int]:
    # bins: error <= 0.5 rounds to the same value (0), then (k - 1, k] ulp for k = 1, 2, 3
    out = {"0": int(np.sum(err <= 0.5))}
    for k in (1, 2, 3):
        out[str(k)] = int(np.sum((err > max(k - 1, 0.5)) & (err <= k)))
    out[">3"] = int(np.sum(err > 3))
    return out


def tapegrad_eval(name: str, x: np.ndarray) -> np.ndarray:
    return getattr(tg, name)(tg.constant(x)).numpy()


def numpy_eval(name: str, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return reference(name)(x)


def row(label: str, err: np.ndarray) -> str:
    h = histogram(err)
    finite = err[np.isfinite(err)]
    worst = float(finite.max()) if finite.size else 0.0
    cells = " ".join(f"{h[b]:>10}" for b in BINS)
    return f"| {label:<38} | {cells} | {worst:8.3f} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000, help="values per function and dtype")
    ap.add_argument("--isa", default=None, help="scalar, avx2 or avx512 (default: the best available)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.isa:
        tg.config.set_isa(args.isa)
    tg.config.set_num_threads(1)
    print(f"tapegrad ISA {tg.config.isa()}, numpy {np.__version__}, {args.n} values per function")
    print(f"| {'function':<38} | " + " ".join(f"{b + ' ulp':>10}" for b in BINS) + " | max ulp  |")
    print("|" + "---|" * 7)
    failures = []
    for dtype, table in ((np.float32, F32), (np.float64, F64)):
        dname = np.dtype(dtype).name
        for i, (name, (domain, bound)) in enumerate(table.items()):
            x = samples(args.n, dtype, domain, args.seed + i)
            for who, fn in (("tapegrad", tapegrad_eval), ("numpy", numpy_eval)):
                if who == "numpy" and dtype == np.float64:
                    continue
                err = ulp_errors(fn(name, x), x, name)
                if name in ("sin", "cos"):
                    near = np.abs(x) <= TRIG_LIMIT
                    print(row(f"{who} {name} {dname} |x|<=1e4", err[near | np.isnan(x)]))
                    print(row(f"{who} {name} {dname} |x|>1e4", err[~near & ~np.isnan(x)]))
                    held = err[near]
                else:
                    # numpy has no sigmoid: its row is the float32 formula 1 / (1 + exp(-x))
                    label = "numpy 1/(1+exp(-x))" if who == "numpy" and name == "sigmoid" else who
                    print(row(f"{label} {name} {dname}", err))
                    held = err
                if who == "tapegrad" and np.any(held > bound):
                    failures.append(f"{name} {dname}: {np.sum(held > bound)} values above {bound} ulp")
            sys.stdout.flush()
    for f in failures:
        print("OVER BOUND:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
