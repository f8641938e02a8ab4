"""Sends Tensors and a Variable through a multiprocessing pool and back, then checks what came back.

Run as a script, ``python pool_round_trip.py spawn|fork``, so the pool forks or spawns from a fresh
interpreter: no thread of another library (JAX, started by other tests) is alive in the parent when
it forks, while tapegrad's own pool threads are. Prints ``ok`` when every check passes.
"""
import multiprocessing
import sys

import numpy as np

import tapegrad as tg


def worker_double(x):
    """Runs in a pool worker: tapegrad arithmetic on what arrived, the result sent back."""
    if isinstance(x, tg.Variable):
        x.assign_add(x.read_value())
        return x, x.name, x.trainable
    return x * 2, None, None


def round_trip(method: str) -> None:
    items = [tg.constant(np.arange(6, dtype=d).reshape(2, 3), d) for d in (np.float32, np.float64, np.int32,
                                                                            np.int64)]
    # large enough that the worker's multiply runs on tapegrad's thread pool (reset in a forked child)
    n = 2 * tg._core._parallel_thresholds()["elementwise"]
    items.append(tg.constant(np.linspace(-1.0, 1.0, n), tg.float64))
    items[-1] * 2  # the parent's pool threads are running when the worker forks
    items.append(tg.Variable([1.5, -2.0], name="sent", trainable=False))
    with multiprocessing.get_context(method).Pool(1) as pool:
        results = pool.map(worker_double, items)
    for x, (y, _, _) in zip(items[:-1], results[:-1]):
        assert type(y) is tg.Tensor and y.dtype == x.dtype and y.shape == x.shape, (y, x)
        np.testing.assert_array_equal(y.numpy(), x.numpy() * 2)
    var, name, trainable = results[-1]
    assert type(var) is tg.Variable and var.name == name == "sent:0" and trainable is False, (var, name)
    np.testing.assert_array_equal(var.numpy(), [3.0, -4.0])
    np.testing.assert_array_equal(items[-1].numpy(), [1.5, -2.0])  # the worker had a copy


if __name__ == "__main__":
    round_trip(sys.argv[1])
    print("ok")
