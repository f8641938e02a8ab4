"""A 64 → 128 → 128 → 10 ReLU network on scikit-learn's handwritten digits.

Trains with sparse softmax cross-entropy on mini-batches, reports train and test accuracy after
each epoch, and writes four plots: the loss curves, the accuracy curves, the confusion matrix and
a grid of misclassified test digits. Run it with ``python -m tapegrad digits`` or call
:func:`run`. The data (``sklearn.datasets.load_digits``) ships inside scikit-learn: no download.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, Optional

import numpy as np

__all__ = ["run", "OPTIMIZERS", "DEFAULT_EPOCHS", "DEFAULT_BATCH_SIZE", "DEFAULT_OPTIMIZER",
           "DEFAULT_OUT_DIR", "DEFAULT_SEED", "GOAL_ACCURACY"]

DEFAULT_EPOCHS = 30
DEFAULT_BATCH_SIZE = 32
DEFAULT_OPTIMIZER = "adam"
DEFAULT_OUT_DIR = "tapegrad-digits"
DEFAULT_SEED = 0
GOAL_ACCURACY = 0.97
HIDDEN_UNITS = (128, 128)
# The train/test split is fixed, whatever the seed: runs with different seeds are compared on
# the same held-out digits.
SPLIT_SEED = 0
TEST_FRACTION = 0.2


def _optimizers() -> Dict[str, Callable[[], Any]]:
    import tapegrad as tg

    return {
        "adam": lambda: tg.Adam(learning_rate=0.001),
        "momentum": lambda: tg.Momentum(learning_rate=0.05, momentum=0.9),
        "sgd": lambda: tg.GradientDescent(learning_rate=0.1),
        "rmsprop": lambda: tg.RMSProp(learning_rate=0.001),
    }


OPTIMIZERS = ("adam", "momentum", "sgd", "rmsprop")

PLOTS = ("loss.png", "accuracy.png", "confusion_matrix.png", "misclassified.png")

MISSING_HINT = (
    "the digits example needs scikit-learn (for the data); install it with\n"
    '    pip install "tapegrad[demo]"      (or  pip install ".[demo]"  in a source checkout)'
)


def load_data(subset: Optional[int] = None):
    """The digits as float32 pixels in [0, 1] and int64 labels, split 80/20 (stratified).

    Returns ``(x_train, y_train, x_test, y_test)``; ``subset`` keeps that many examples (before
    the split, stratified too) for quick runs.
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise ImportError(MISSING_HINT) from e
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    if subset is not None:
        x, _, y, _ = train_test_split(x, y, train_size=subset, stratify=y, random_state=SPLIT_SEED)
    return _split(x, y, train_test_split)


def _split(x, y, train_test_split):
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED)
    return x_train, y_train, x_test, y_test


def run(epochs: int = DEFAULT_EPOCHS, batch_size: int = DEFAULT_BATCH_SIZE,
        optimizer: str = DEFAULT_OPTIMIZER, out_dir: Optional[str] = DEFAULT_OUT_DIR,
        seed: Optional[int] = DEFAULT_SEED, quiet: bool = False,
        subset: Optional[int] = None, function: bool = False,
        distributed: bool = False, checkpoint_dir: Optional[str] = None) -> Dict[str, Any]:
    """Train the classifier and write the plots.

    Args:
        epochs: passes over the training set (>= 1).
        batch_size: examples per step (>= 1).
        optimizer: "adam" (learning rate 0.001), "momentum" (0.05, momentum 0.9), "sgd" (0.1)
            or "rmsprop" (0.001).
        out_dir: directory for the four PNG plots (created if missing); ``None`` skips them.
        seed: seeds ``tapegrad.random`` (initial weights and batch order); ``None``: fresh entropy.
        quiet: print nothing and show no progress bars.
        subset: train and test on this many digits only (for quick runs).
        function: run each training step under ``tg.function`` (traced once per batch shape,
            replayed in C++); the results are bitwise those of the eager loop.
        distributed: data-parallel over MPI (run under ``mpiexec -n P``): every global batch of
            ``batch_size`` rows is split across the ranks, gradients are averaged while backward
            runs, and every rank ends with the same weights; only rank 0 prints and plots. Not
            with ``function``.
        checkpoint_dir: save a checkpoint there after every epoch (the model, the optimizer,
            ``tg.random``'s state and the epoch; the last three kept), and first resume from the
            latest one there if any: the run then continues bitwise as if never interrupted
            (the per-epoch lists hold the epochs run in this call).

    Returns:
        a dict with per-epoch lists "train_loss", "test_loss", "train_accuracy",
        "test_accuracy"; "confusion_matrix" (10 × 10, rows true labels, columns predictions, on
        the test set after the last epoch); "plots" (paths written) and "model".
    """
    import tapegrad as tg

    _check_int("epochs", epochs, 1)
    _check_int("batch_size", batch_size, 1)
    if subset is not None:
        _check_int("subset", subset, 50)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"digits.run: unknown optimizer {optimizer!r}; expected one of "
                         + ", ".join(repr(o) for o in OPTIMIZERS))
    rank, ranks = tg.distributed.example_ranks("digits.run", function, distributed)
    quiet = quiet or rank != 0
    say = (lambda *a: None) if quiet else print

    x_train, y_train, x_test, y_test = load_data(subset)
    tg.random.set_seed(seed)
    model = tg.Sequential([tg.Dense(HIDDEN_UNITS[0], activation="relu"),
                           tg.Dense(HIDDEN_UNITS[1], activation="relu"),
                           tg.Dense(10)])
    opt = _optimizers()[optimizer]()
    test_x, test_y = tg.constant(x_test), tg.constant(y_test)
    all_x, all_y = tg.constant(x_train), tg.constant(y_train)

    def mean_loss(logits, labels):
        return tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

    def evaluate(x, y):
        logits = model(x)
        predicted = tg.argmax(logits, axis=1)
        accuracy = float(tg.reduce_mean(tg.cast(tg.equal(predicted, y), tg.float32)))
        return float(mean_loss(logits, y)), accuracy, predicted.numpy()

    say(f"digits: {len(x_train)} training and {len(x_test)} test images, 64 → "
        f"{HIDDEN_UNITS[0]} → {HIDDEN_UNITS[1]} → 10 ReLU network, {optimizer}, batch {batch_size}"
        + (f" split across {ranks} ranks" if distributed else ""))
    history: Dict[str, Any] = {"train_loss": [], "test_loss": [], "train_accuracy": [], "test_accuracy": []}
    steps_per_epoch = -(-len(x_train) // batch_size)

    def train_step(x, y):
        with tg.GradientTape() as tape:
            loss = mean_loss(model(x), y)
        variables = model.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    if function:
        train_step = tg.function(train_step)

    def distributed_step(x, y, rows):
        # This rank's share of the global batch's mean: the sum of its losses over the global
        # batch's `rows`, times the rank count that the average over ranks divides by.
        with tg.GradientTape() as tape:
            xent = tg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x))
            loss = tg.reduce_sum(xent) * (ranks / rows)
        variables = model.trainable_variables
        grads = tg.distributed.DistributedGradientTape(tape).gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
        return loss

    first_epoch, manager, finished = 1, None, None
    if checkpoint_dir is not None:
        finished = tg.Variable(np.zeros((), np.int64), trainable=False, name="epochs_done", dtype="int64")
        checkpoint = tg.Checkpoint(model=model, optimizer=opt, rng=tg.random, epochs_done=finished)
        manager = tg.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)
        if manager.latest_checkpoint is not None:
            checkpoint.restore(manager.latest_checkpoint)
            first_epoch = int(finished.numpy()) + 1
            say(f"resumed from {manager.latest_checkpoint} after epoch {first_epoch - 1}")
    history["first_epoch"] = first_epoch
    predicted = None
    for epoch in range(first_epoch, epochs + 1):
        bar = _Progress(steps_per_epoch, f"epoch {epoch}/{epochs}", quiet)
        running = 0.0
        batches = tg.data.batches(x_train, y_train, batch_size=batch_size, shard=(rank, ranks))
        if distributed and epoch == 1:
            # Built after the first epoch's shuffle, as the first step would build it, so the
            # random draws come in the one-process order; then every rank starts from rank 0's.
            model(tg.constant(x_train[:1]))
            tg.distributed.broadcast_variables(model.variables, root=0)
        for step, (x, y) in enumerate(batches, start=1):
            if distributed:
                loss = distributed_step(x, y, min(batch_size, len(x_train) - (step - 1) * batch_size))
            else:
                loss = train_step(x, y)
            running += (float(loss) - running) / step
            bar.update(running)
        bar.close()
        train_loss, train_acc, _ = evaluate(all_x, all_y)
        test_loss, test_acc, predicted = evaluate(test_x, test_y)
        for key, value in (("train_loss", train_loss), ("test_loss", test_loss),
                           ("train_accuracy", train_acc), ("test_accuracy", test_acc)):
            history[key].append(value)
        say(f"epoch {epoch:3d}: loss {train_loss:.4f} (test {test_loss:.4f}), "
            f"accuracy {100 * train_acc:.1f}% (test {100 * test_acc:.1f}%)")
        if manager is not None:
            finished.assign(np.asarray(epoch, np.int64))
            if rank == 0:  # every rank holds the same state; one writes it
                manager.save()
    if predicted is None:  # every epoch was done before this call: report the restored model
        _, final_acc, predicted = evaluate(test_x, test_y)
        history["test_accuracy"].append(final_acc)

    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, predicted), 1)
    history["confusion_matrix"] = confusion
    history["model"] = model
    final = history["test_accuracy"][-1]
    verdict = "reached" if final >= GOAL_ACCURACY else "not reached"
    say(f"test accuracy {100 * final:.1f}% after {epochs} epochs (goal ≥ {100 * GOAL_ACCURACY:.0f}%: {verdict})")

    history["plots"] = []
    if out_dir is not None and rank == 0 and history["train_loss"]:
        if _have_matplotlib():
            history["plots"] = _write_plots(out_dir, history, x_test, y_test, predicted)
            say("plots: " + ", ".join(history["plots"]))
        else:
            say('matplotlib is not installed, so no plots were written (pip install "tapegrad[demo]")')
    return history


class _Progress:
    """A tqdm bar per epoch showing the running loss, or nothing when quiet or without tqdm."""

    def __init__(self, total: int, label: str, quiet: bool) -> None:
        self._bar = None
        if quiet:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, desc=label, unit="step", leave=False, file=sys.stderr)

    def update(self, running_loss: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{running_loss:.4f}", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _write_plots(out_dir: str, history: Dict[str, Any], x_test: np.ndarray, y_test: np.ndarray,
                 predicted: np.ndarray) -> List[str]:
    """The four figures, rendered with Agg through Figure (no pyplot, no GUI backend)."""
    from matplotlib.figure import Figure

    os.makedirs(out_dir, exist_ok=True)
    paths = [os.path.join(out_dir, name) for name in PLOTS]
    epochs = np.arange(1, len(history["train_loss"]) + 1)

    for path, key, title in ((paths[0], "loss", "Cross-entropy loss"), (paths[1], "accuracy", "Accuracy")):
        fig = Figure(figsize=(6.4, 4.4))
        ax = fig.add_subplot()
        ax.plot(epochs, history[f"train_{key}"], "b-o", ms=3, label="train")
        ax.plot(epochs, history[f"test_{key}"], "r-o", ms=3, label="test")
        if key == "accuracy":
            ax.axhline(GOAL_ACCURACY, color="k", ls="--", lw=1, label=f"goal {100 * GOAL_ACCURACY:.0f}%")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend()
        fig.savefig(path, dpi=100)

    confusion = history["confusion_matrix"]
    fig = Figure(figsize=(5.6, 5.0))
    ax = fig.add_subplot()
    image = ax.imshow(confusion, cmap="Blues")
    for i in range(10):
        for j in range(10):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if confusion[i, j] > confusion.max() / 2 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test set)")
    fig.colorbar(image, ax=ax)
    fig.savefig(paths[2], dpi=100)

    wrong = np.flatnonzero(predicted != y_test)[:24]
    rows = max(1, -(-len(wrong) // 8))
    fig = Figure(figsize=(8.0, 0.8 + 1.3 * rows))
    fig.suptitle(f"Misclassified test digits (true → predicted): {int(np.sum(predicted != y_test))} "
                 f"of {len(y_test)}")
    for k, index in enumerate(wrong):
        ax = fig.add_subplot(rows, 8, k + 1)
        ax.imshow(x_test[index].reshape(8, 8), cmap="gray_r")
        ax.set_title(f"{y_test[index]} → {predicted[index]}", fontsize=8)
        ax.axis("off")
    if not len(wrong):
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "none", ha="center", va="center")
        ax.axis("off")
    fig.savefig(paths[3], dpi=100)
    return paths


def _check_int(what: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"digits.run: {what} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"digits.run: {what} must be >= {minimum}, got {value}")
