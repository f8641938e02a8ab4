"""Command line: ``python -m tapegrad demo [--steps N] [--out DIR] [--seed S] [--function |
--distributed]`` (the notebook) and ``python -m tapegrad digits [--epochs N] [--batch-size B]
[--optimizer NAME] [--out DIR] [--seed S] [--function | --distributed]`` (a classifier on
handwritten digits). With ``--distributed``, run under ``mpiexec -n P``: each global batch is
split across the P ranks.

Exit status: 0 on success, 2 for a usage error (no or unknown command, bad option),
1 if the demo itself fails (for example the output directory cannot be written). Under
``--distributed`` a failing rank aborts the whole MPI job, so no rank waits for it forever.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

__all__ = ["main"]


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected an integer >= 1, got 0")
    return value


def _build_parser() -> argparse.ArgumentParser:
    from . import demo  # only for defaults; importing it does not import the engine
    from .examples import digits

    parser = argparse.ArgumentParser(
        prog="python -m tapegrad",
        description="tapegrad: eager, tape-based reverse-mode autodiff with a C++ engine.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = commands.add_parser(
        "demo",
        help="run the 'Working with Gradients' notebook end to end and write two plots",
        description=(
            "Fit labels = 3 * inputs + 2 + noise with a Dense(1) layer and gradient descent, "
            "printing the loss and variables as the seed notebook does, and write the data/fit "
            "scatter and the training curves as PNG files (needs matplotlib: "
            'pip install "tapegrad[demo]").'
        ),
    )
    p.add_argument(
        "--steps", type=_non_negative_int, default=demo.DEFAULT_STEPS, metavar="N",
        help=f"training steps (default {demo.DEFAULT_STEPS}; enough to reach w ~ 3, b ~ 2)",
    )
    p.add_argument(
        "--out", default=demo.DEFAULT_OUT_DIR, metavar="DIR",
        help=f"directory for the PNG plots (default ./{demo.DEFAULT_OUT_DIR})",
    )
    p.add_argument(
        "--seed", type=_non_negative_int, default=demo.DEFAULT_SEED, metavar="S",
        help=f"random seed for the data and the initial weights (default {demo.DEFAULT_SEED})",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--function", action="store_true",
                      help="run the training step under tg.function (traced once, replayed in C++)")
    _add_distributed(mode)
    p = commands.add_parser(
        "digits",
        help="train a 64-128-128-10 ReLU classifier on scikit-learn's handwritten digits",
        description=(
            "Train a 64 → 128 → 128 → 10 ReLU network with sparse softmax cross-entropy on "
            "sklearn.datasets.load_digits (stratified 80/20 split), report train and test accuracy "
            "after each epoch and write loss, accuracy, confusion-matrix and misclassified-digit "
            'plots (needs scikit-learn and matplotlib: pip install "tapegrad[demo]").'
        ),
    )
    p.add_argument("--epochs", type=_positive_int, default=digits.DEFAULT_EPOCHS, metavar="N",
                   help=f"passes over the training set (default {digits.DEFAULT_EPOCHS})")
    p.add_argument("--batch-size", type=_positive_int, default=digits.DEFAULT_BATCH_SIZE, metavar="B",
                   help=f"examples per step (default {digits.DEFAULT_BATCH_SIZE})")
    p.add_argument("--optimizer", choices=digits.OPTIMIZERS, default=digits.DEFAULT_OPTIMIZER,
                   help=f"the optimizer (default {digits.DEFAULT_OPTIMIZER})")
    p.add_argument("--out", default=digits.DEFAULT_OUT_DIR, metavar="DIR",
                   help=f"directory for the PNG plots (default ./{digits.DEFAULT_OUT_DIR})")
    p.add_argument("--seed", type=_non_negative_int, default=digits.DEFAULT_SEED, metavar="S",
                   help=f"seed of the initial weights and batch order (default {digits.DEFAULT_SEED})")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--function", action="store_true",
                      help="run each training step under tg.function (traced once, replayed in C++)")
    _add_distributed(mode)
    p.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                   help="save a checkpoint there after every epoch and resume from the latest one")
    return parser


def _add_distributed(p) -> None:
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI: run under mpiexec -n P; each global batch is split "
                        'across the P ranks (needs mpi4py: pip install "tapegrad[mpi]")')


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)  # exits 2 on a bad option or unknown command
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: a command is required (try 'demo' or 'digits')", file=sys.stderr)
        return 2
    if args.command not in ("demo", "digits"):
        parser.print_usage(sys.stderr)  # unreachable unless a command is added without a handler
        return 2
    try:
        if args.command == "demo":
            from . import demo

            demo.run(steps=args.steps, out_dir=args.out, seed=args.seed, function=args.function,
                     distributed=args.distributed)
        else:
            from .examples import digits

            digits.run(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                       out_dir=args.out, seed=args.seed, function=args.function,
                       distributed=args.distributed, checkpoint_dir=args.checkpoint_dir)
    except (ImportError, OSError) as e:
        message = f"{parser.prog} {args.command}: error: {e}"
        if args.distributed and not isinstance(e, ImportError):
            # The other ranks may be waiting in a collective for this one: end them all.
            from . import distributed

            distributed.abort(message)
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
