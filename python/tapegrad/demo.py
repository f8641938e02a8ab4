"""The seed notebook ("Eager Execution: Working with Gradients") end to end, in tapegrad.

Fits ``labels = 3 * inputs + 2 + noise`` with a one-unit ``Dense`` layer and gradient
descent, printing what the notebook prints and writing its two plots as PNG files.
Run it with ``python -m tapegrad demo`` or call :func:`run`.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional

import numpy as np

__all__ = ["run", "DEFAULT_STEPS", "DEFAULT_SEED", "DEFAULT_OUT_DIR"]

TRUE_W = 3.0
TRUE_B = 2.0
NUM_EXAMPLES = 1000
LEARNING_RATE = 0.1
# The notebook stops at 10 steps (w ~ 2.96). Each step shrinks the error by about
# 1 - 2 * lr * var(x) = 0.8, so 50 steps reach the least-squares fit to ~1e-4.
DEFAULT_STEPS = 50
DEFAULT_SEED = 0
DEFAULT_OUT_DIR = "tapegrad-demo"

DATA_PLOT = "data_and_fit.png"
CURVES_PLOT = "training_curves.png"

MATPLOTLIB_HINT = (
    "matplotlib is not installed, so no plots were written. To get them:\n"
    '    pip install "tapegrad[demo]"      (or  pip install ".[demo]"  in a source checkout)'
)


def run(
    steps: int = DEFAULT_STEPS,
    out_dir: Optional[str] = DEFAULT_OUT_DIR,
    seed: Optional[int] = DEFAULT_SEED,
    quiet: bool = False,
    learning_rate: float = LEARNING_RATE,
    num_examples: int = NUM_EXAMPLES,
    function: bool = False,
    distributed: bool = False,
) -> Dict[str, Any]:
    """Run the notebook: synthesize data, inspect the loss and gradients, train, plot.

    Args:
        steps: training steps after the single demonstration step (>= 0).
        out_dir: directory for the two PNG plots (created if missing); ``None`` skips plots.
        seed: seeds ``tapegrad.random`` (data and the Dense initializer) so runs repeat;
            ``None`` uses fresh entropy. Note this re-seeds the module generator.
        quiet: print nothing.
        learning_rate: gradient descent step size.
        num_examples: number of synthesized (input, label) pairs.
        function: run the training loop's step under ``tg.function`` (traced once, replayed in
            C++); the results are bitwise those of the eager loop.
        distributed: data-parallel training loop over MPI (run under ``mpiexec -n P``): in
            step 6 each rank computes the gradient on its share of the examples, the gradients
            are averaged across ranks, and every rank ends with the same w and b. Steps 1-5 run
            whole on every rank; only rank 0 prints and plots. Not with ``function``.

    Returns:
        a dict with "loss", "w", "b" (one float per training step: the loss before the
        step's update, w and b after it), "plots" (paths written; [] without matplotlib
        or with ``out_dir=None``), and "initial_loss", "initial_w", "initial_b".

    Raises:
        TypeError / ValueError: bad arguments (the message starts with "demo.run:").
        OSError: ``out_dir`` cannot be created or written.
    """
    _check_int("steps", steps, minimum=0)
    _check_int("num_examples", num_examples, minimum=1)
    if seed is not None:
        _check_int("seed", seed, minimum=0)
    if out_dir is not None and not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"demo.run: out_dir must be a path or None, got {type(out_dir).__name__}")

    import tapegrad as tg  # lazy: tapegrad/__init__ imports this module's siblings

    rank, ranks = tg.distributed.example_ranks("demo.run", function, distributed)
    if distributed:
        quiet = quiet or rank != 0
        out_dir = out_dir if rank == 0 else None
    plotting = out_dir is not None and _have_matplotlib()
    if plotting:
        os.makedirs(out_dir, exist_ok=True)  # fail before training, not after it

    say: Callable[..., None] = (lambda *a, **k: None) if quiet else print

    # Step 1: synthesize some data.
    tg.random.set_seed(seed)
    inputs = tg.random.normal(shape=[num_examples, 1])
    noise = tg.random.normal(shape=[num_examples, 1])
    labels = inputs * TRUE_W + TRUE_B + noise
    say(f"Step 1: {num_examples} examples of labels = {TRUE_W:g} * inputs + {TRUE_B:g} + N(0, 1) noise")
    say(f"  inputs: shape={inputs.shape} dtype={inputs.dtype}, labels: shape={labels.shape}")

    # Step 2: a Dense layer holds w and b; its variables appear on the first call.
    wb = tg.Dense(units=1, use_bias=True)
    say(f"\nStep 2: wb = tg.Dense(units=1, use_bias=True); wb.variables before the first call: {wb.variables}")

    # Step 3: the mean L2 loss.
    def loss_fn(inputs, labels, wb):
        """Mean squared error of the linear model ``wb`` on (inputs, labels)."""
        predictions = wb(inputs)
        return tg.reduce_mean(tg.square(predictions - labels))

    initial_loss = float(loss_fn(inputs, labels, wb))
    w, b = wb.variables
    say(f"\nStep 3: loss_fn(inputs, labels, wb) = {initial_loss:.6f}")
    say(f"  w: {w.name} = {_fmt(w)}")
    say(f"  b: {b.name} = {_fmt(b)}")
    initial_w, initial_b = _scalar(w), _scalar(b)

    # Step 4: implicit_value_and_gradients.
    value_and_gradients_fn = tg.implicit_value_and_gradients(loss_fn)
    value, grads_and_vars = value_and_gradients_fn(inputs, labels, wb)
    say("\nStep 4: outputs of value_and_gradients_fn = tg.implicit_value_and_gradients(loss_fn):")
    say(f"  Loss: {float(value):.6f}")
    for grad, var in grads_and_vars:
        say(f"  Gradient: {_fmt(grad)}  Variable: {var.name} shape={var.shape}")

    # Step 5: one gradient descent step, showing w and b before and after.
    optimizer = tg.GradientDescent(learning_rate=learning_rate)
    say(f"\nStep 5: optimizer = tg.GradientDescent(learning_rate={learning_rate:g}); one step:")
    say(f"  w, b BEFORE applying gradients: {_fmt(w)} {_fmt(b)}")
    _, grads_and_vars = value_and_gradients_fn(inputs, labels, wb)
    optimizer.apply_gradients(grads_and_vars)
    say(f"  w, b AFTER applying gradients:  {_fmt(w)} {_fmt(b)}")

    # Step 6: the training loop; loss before each update, w and b after it (as the notebook).
    loss_at_step: List[float] = []
    w_at_step: List[float] = []
    b_at_step: List[float] = []
    say(f"\nStep 6: training for {steps} steps (true w = {TRUE_W:g}, true b = {TRUE_B:g})")
    width = len(str(steps))
    step_fn = value_and_gradients_fn
    if distributed:
        step_fn = _distributed_step(tg, inputs, labels, wb, optimizer, rank, ranks)
        say(f"  (data-parallel: each of {ranks} ranks takes its share of the {num_examples} examples)")

    def train_step(inputs, labels):
        loss, grads_and_vars = step_fn(inputs, labels, wb)
        optimizer.apply_gradients(grads_and_vars)
        return loss

    if function:
        train_step = tg.function(train_step)
        say("  (each step runs under tg.function: traced once, then replayed in C++)")
    for step in range(steps):
        loss = train_step(inputs, labels)
        loss_at_step.append(float(loss))
        w_at_step.append(_scalar(w))
        b_at_step.append(_scalar(b))
        say(
            f"  step {step + 1:>{width}}/{steps}  loss {loss_at_step[-1]:.6f}"
            f"  w {w_at_step[-1]:.4f}  b {b_at_step[-1]:.4f}"
        )
    say(f"  final: w = {_scalar(w):.4f} (true {TRUE_W:g}), b = {_scalar(b):.4f} (true {TRUE_B:g})")

    # Other ways to compute gradients (the notebook's last section).
    say("\nOther ways to compute gradients:")
    say("  tg.implicit_gradients(loss_fn)(inputs, labels, wb):")
    for grad, var in tg.implicit_gradients(loss_fn)(inputs, labels, wb):
        say(f"    ({_fmt(grad)}, {var.name})")
    value, grads_and_vars = tg.implicit_value_and_gradients(loss_fn)(inputs, labels, wb)
    say("  tg.implicit_value_and_gradients(loss_fn)(inputs, labels, wb):")
    grads_text = ", ".join(_fmt(g) for g, _ in grads_and_vars)
    say(f"    value {float(value):.6f}, gradients [{grads_text}]")

    # The explicit versions differentiate with respect to their (tensor) arguments.
    def linear_loss(w_value, b_value):
        """The same loss with w and b passed as plain tensors instead of a layer."""
        return tg.reduce_mean(tg.square(inputs @ w_value + b_value - labels))

    w_now, b_now = w.read_value(), b.read_value()
    dw, db = tg.gradients_function(linear_loss)(w_now, b_now)
    say("  tg.gradients_function(linear_loss)(w, b):")
    say(f"    [{_fmt(dw)}, {_fmt(db)}]")
    value, (dw, db) = tg.value_and_gradients_function(linear_loss)(w_now, b_now)
    say("  tg.value_and_gradients_function(linear_loss)(w, b):")
    say(f"    value {float(value):.6f}, gradients [{_fmt(dw)}, {_fmt(db)}]")

    plots: List[str] = []
    if plotting:
        plots = _write_plots(
            os.fspath(out_dir), inputs.numpy(), labels.numpy(), _scalar(w), _scalar(b),
            loss_at_step, w_at_step, b_at_step,
        )
        say("\nPlots written:")
        for p in plots:
            say(f"  {p}")
    elif out_dir is not None:
        say("\n" + MATPLOTLIB_HINT)

    return {
        "loss": loss_at_step,
        "w": w_at_step,
        "b": b_at_step,
        "plots": plots,
        "initial_loss": initial_loss,
        "initial_w": initial_w,
        "initial_b": initial_b,
    }


def _distributed_step(tg: Any, inputs: Any, labels: Any, wb: Any, optimizer: Any, rank: int,
                      ranks: int) -> Callable[..., Any]:
    """A replacement for ``value_and_gradients_fn`` in the training loop: the loss on all the
    examples and the gradients averaged over the ranks, each computed on its share of the rows."""
    n = int(inputs.shape[0])
    lo, hi = n * rank // ranks, n * (rank + 1) // ranks
    x, y = tg.constant(inputs.numpy()[lo:hi]), tg.constant(labels.numpy()[lo:hi])

    def share_loss(x, y, wb):
        # The sum of this rank's squared errors over all n rows, times the rank count that the
        # average over ranks divides by: the average is the mean over all examples.
        return tg.reduce_sum(tg.square(wb(x) - y)) * (ranks / n)

    local = tg.implicit_value_and_gradients(share_loss)

    def step(_inputs, _labels, wb):
        loss, grads_and_vars = local(x, y, wb)
        return (tg.distributed.allreduce(loss, op="average"),
                tg.distributed.allreduce_gradients(grads_and_vars))

    return step


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _write_plots(
    out_dir: str,
    x: np.ndarray,
    y: np.ndarray,
    w: float,
    b: float,
    loss_at_step: List[float],
    w_at_step: List[float],
    b_at_step: List[float],
) -> List[str]:
    """Write the data/fit scatter and the training curves into ``out_dir``; return their paths."""
    # Figure + savefig renders with Agg and needs no pyplot: no global backend is
    # switched and no GUI is touched, so this is safe inside tests and headless.
    from matplotlib.figure import Figure

    os.makedirs(out_dir, exist_ok=True)
    x = np.asarray(x).ravel()
    y = np.asarray(y).ravel()

    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.add_subplot()
    ax.scatter(x, y, s=6, alpha=0.5, label="data")
    xs = np.array([x.min(), x.max()]) if x.size else np.array([0.0, 1.0])
    ax.plot(xs, w * xs + b, "r-", lw=2, label=f"fit: y = {w:.3f} x + {b:.3f}")
    ax.plot(xs, TRUE_W * xs + TRUE_B, "k--", lw=1, label=f"true: y = {TRUE_W:g} x + {TRUE_B:g}")
    ax.set_xlabel("inputs")
    ax.set_ylabel("labels")
    ax.set_title("Synthesized data and the fitted line")
    ax.legend(loc="upper left")
    data_path = os.path.join(out_dir, DATA_PLOT)
    fig.savefig(data_path, dpi=100)

    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.add_subplot()
    t = np.arange(1, len(loss_at_step) + 1)
    ax.plot(t, loss_at_step, "k", label="loss")
    ax.plot(t, w_at_step, "r", label="w estimate")
    ax.plot(t, [TRUE_W] * len(t), "r--", label="w true")
    ax.plot(t, b_at_step, "b", label="b estimate")
    ax.plot(t, [TRUE_B] * len(t), "b--", label="b true")
    ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
    ax.set_xlabel("training step")
    ax.set_title("Training: loss and estimates of w and b")
    ax.legend()
    curves_path = os.path.join(out_dir, CURVES_PLOT)
    fig.savefig(curves_path, dpi=100)
    return [data_path, curves_path]


def _check_int(what: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"demo.run: {what} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"demo.run: {what} must be >= {minimum}, got {value}")


def _scalar(v: Any) -> float:
    """The single element of a one-element Variable/Tensor as a Python float."""
    return float(np.asarray(v).reshape(-1)[0])


def _fmt(v: Any) -> str:
    """A compact numpy rendering of a Tensor or Variable's value."""
    return np.array2string(np.asarray(v), precision=4, suppress_small=True)
