"""The MPI runtime behind tapegrad.distributed: mpi4py imported on first use, the world
communicator, thread settings, and the fault handler that ends the whole job when one rank fails
(with ``_faults``, which names a rank whose process or Python ends early).

``import tapegrad`` never imports mpi4py; the first call into ``tg.distributed`` does, and
without it raises ``ImportError`` with the install command.
"""
from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Optional

from . import _faults

MISSING_HINT = (
    "tapegrad.distributed needs mpi4py and an MPI library; install both with\n"
    '    pip install "tapegrad[mpi]"      (mpi4py + mpich, which brings mpiexec)'
)

_state: dict = {"comm": None, "reduction_comms": None, "local_rank": 0, "previous_excepthook": None}


def mpi() -> Any:
    """The ``mpi4py.MPI`` module; ``ImportError`` with the install command when it is missing."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(MISSING_HINT) from e
    return MPI


def init(num_threads: Optional[int] = None) -> None:
    """Starts MPI (once; later calls only change the threads when asked).

    With several ranks, each is meant to have its own core, so each rank's kernels use one
    thread unless ``num_threads`` is given or ``TAPEGRAD_NUM_THREADS`` is set; a job of one rank
    keeps the usual thread count. An uncaught exception on
    any rank prints the rank and the error and aborts every rank (MPI_Abort), so a failure on one
    rank never leaves the others waiting in a collective. Each rank also gets a sentinel process
    that names it when its process ends badly (a signal, a non-zero exit status), and a rank whose
    Python exits while others wait for it in a collective is named by them (``_faults``).
    """
    from .. import config

    if num_threads is not None:
        config.set_num_threads(num_threads)
    if _state["comm"] is not None:
        return
    MPI = mpi()
    comm = MPI.COMM_WORLD
    _state["local_rank"] = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    # MPI matches collectives on a communicator by the order they are issued. A reduction's
    # all-to-all and all-gather each get their own communicator: buckets start their all-to-alls
    # in bucket order, and their all-gathers in bucket order, but when a bucket's all-gather
    # starts relative to the next bucket's all-to-all depends on timing.
    _state["reduction_comms"] = (comm.Dup(), comm.Dup())
    _state["comm"] = comm
    if comm.Get_size() > 1:
        if num_threads is None and not os.environ.get("TAPEGRAD_NUM_THREADS"):
            config.set_num_threads(1)
        _state["previous_excepthook"] = sys.excepthook
        sys.excepthook = _abort_on_uncaught
        _faults.start(MPI, comm, abort)


def comm() -> Any:
    """The world communicator, starting MPI if needed."""
    if _state["comm"] is None:
        init()
    return _state["comm"]


def reduction_comms() -> tuple:
    """(the communicator of the reductions' all-to-alls, that of their all-gathers)."""
    comm()
    return _state["reduction_comms"]


def local_rank() -> int:
    comm()
    return _state["local_rank"]


def abort(message: str, code: int = 1) -> None:
    """Prints ``message`` (prefixed with this rank) to stderr and ends every rank of the job."""
    c = comm()
    _faults.reporting_own_failure()
    sys.stderr.write(f"tapegrad.distributed: rank {c.Get_rank()} of {c.Get_size()}: {message}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    _faults.wait_until_output_is_read()
    c.Abort(code)


def _abort_on_uncaught(kind, value, tb) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    try:
        abort(f"uncaught {kind.__name__}: {value}; aborting the job\n{text}")
    finally:  # Abort does not return; if MPI is already gone, show the error the usual way
        previous = _state["previous_excepthook"] or sys.__excepthook__
        previous(kind, value, tb)
