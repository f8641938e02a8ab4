"""Data-parallel training over MPI (``tg.distributed``), in the spirit of Horovod and PyTorch's
DistributedDataParallel.

Run one process per core or node with MPICH's launcher::

    mpiexec -n 4 python train.py

and in ``train.py``: ``tg.distributed.init()``; build the model; ``broadcast_variables`` so
every rank starts from rank 0's weights; feed each rank its share of every global batch
(``tg.data.batches(..., shard=(rank(), size()))``); average the gradients with
``DistributedGradientTape`` (reduction overlapped with backward) or ``DistributedOptimizer``.

Gradients travel in buckets (flat buffers of at most a few MiB, one collective each, the same
order on every rank); the reduction order is fixed, so every rank gets the same bits, on every
run (see ``_reduce``). ``import tapegrad`` works without mpi4py; calling into this module
without it raises ``ImportError`` saying ``pip install "tapegrad[mpi]"``.
"""
from __future__ import annotations

from typing import Any, Iterable, List, Optional, Tuple

import numpy as np

from .. import _core
from . import _faults
from ._buckets import DEFAULT_BUCKET_BYTES
from ._reduce import allreduce_buffer, check_same_everywhere
from ._runtime import MISSING_HINT, abort, comm as _comm, init, local_rank, reduction_comms as _reduction_comms
from .optimizer import DistributedGradientTape, DistributedOptimizer, shared_reducer

__all__ = ["init", "rank", "size", "local_rank", "broadcast_variables", "allreduce",
           "allreduce_gradients", "DistributedOptimizer", "DistributedGradientTape", "abort",
           "MISSING_HINT", "DEFAULT_BUCKET_BYTES"]

_OPS = ("average", "sum")


def rank() -> int:
    """This process's rank in the job, 0 .. size() - 1 (starts MPI if needed)."""
    return _comm().Get_rank()


def size() -> int:
    """The number of processes in the job (1 when not launched by mpiexec)."""
    return _comm().Get_size()


def example_ranks(who: str, function: bool, distributed: bool) -> Tuple[int, int]:
    """(rank, size) for the examples' ``--distributed`` option: (0, 1) without it, else after
    ``init()``. ValueError naming ``who`` when combined with ``function`` (a traced step cannot
    call MPI)."""
    if function and distributed:
        raise ValueError(f"{who}: function and distributed cannot be combined (a traced step "
                         "cannot call MPI); choose one")
    if not distributed:
        return 0, 1
    init()
    return rank(), size()


def _float_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, (_core.Tensor, _core.Variable)):
        array = np.asarray(value.numpy())
    else:
        array = np.asarray(_core.constant(value).numpy())
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{what}: expected a float32 or float64 tensor, got {array.dtype}")
    return array


def allreduce(tensor: Any, op: str = "average", name: Optional[str] = None) -> Any:
    """The element-wise average (or sum, ``op="sum"``) of ``tensor`` over all ranks, as a new
    Tensor of its shape and dtype, with the same bits on every rank. Every rank must pass a
    tensor of the same shape and dtype (checked: ``ValueError`` naming the rank otherwise)."""
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be 'average' or 'sum', got {op!r}")
    array = _float_array(tensor, "allreduce")
    c = _comm()
    check_same_everywhere(c, "allreduce", [(name or "", array.shape, str(array.dtype))])
    out = allreduce_buffer(_reduction_comms(), np.ascontiguousarray(array).reshape(-1), op == "average")
    return _core.constant(out.reshape(array.shape))


def broadcast_variables(variables: Iterable[Any], root: int = 0) -> None:
    """Assigns ``root``'s values to each Variable on every rank (call once after building the
    model, so every rank starts from the same weights). Every rank must pass variables of the
    same names, shapes and dtypes, in the same order (checked)."""
    variables = list(variables)
    for v in variables:
        if not isinstance(v, _core.Variable):
            raise TypeError(f"broadcast_variables: expected Variables, got {type(v).__name__}")
    c = _comm()
    if isinstance(root, bool) or not isinstance(root, int) or not 0 <= root < c.Get_size():
        raise ValueError(f"broadcast_variables: root must be a rank in [0, {c.Get_size()}), got {root!r}")
    check_same_everywhere(c, "broadcast_variables",
                          [(v.name, tuple(v.shape), str(v.dtype)) for v in variables])
    if c.Get_size() == 1:
        return
    for v in variables:
        buffer = np.array(v.numpy(), copy=True, order="C")
        number = _faults.begin(_faults.WORLD)
        _faults.wait(c.Ibcast(buffer, root=root), _faults.WORLD, number, "broadcast_variables")
        if c.Get_rank() != root:
            v.assign(buffer)


def allreduce_gradients(grads_and_vars: Iterable[Tuple[Any, Any]], op: str = "average",
                        bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> List[Tuple[Any, Any]]:
    """``(gradient, variable)`` pairs with each gradient averaged (or summed) over all ranks, in
    buckets. A ``None`` gradient counts as zeros; it stays ``None`` only when it is ``None`` on
    every rank. Every rank must pass the same variables (checked on the first call with them)."""
    if op not in _OPS:
        raise ValueError(f"allreduce_gradients: op must be 'average' or 'sum', got {op!r}")
    pairs = list(grads_and_vars)
    variables = [v for _, v in pairs]
    reducer = shared_reducer(op, bucket_bytes, "allreduce_gradients")
    reducer.begin(variables)
    for i, (g, _) in enumerate(pairs):
        reducer.put(i, g)
    return list(zip(reducer.finish(), variables))

