"""DistributedOptimizer and DistributedGradientTape: gradients averaged over all ranks.

``DistributedGradientTape(tape).gradient(loss, variables)`` starts each bucket's all-reduce as
soon as backward has finished its gradients, so communication runs while backward computes the
rest (PyTorch DDP's overlap). ``DistributedOptimizer(opt)`` is ``opt`` whose ``apply_gradients``
averages the gradients first and whose ``minimize`` computes them with that overlap (Horovod's
shape). Use one or the other in a step, not both: each averages.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

from .. import _core
from ._buckets import DEFAULT_BUCKET_BYTES, GradientReducer
from ._runtime import comm as _comm, reduction_comms as _reduction_comms

__all__ = ["DistributedGradientTape", "DistributedOptimizer"]


_reducers: dict = {}


def shared_reducer(op: str, bucket_bytes: int, what: str) -> GradientReducer:
    """One reducer per (op, bucket size, caller), kept for the process: its layout is built and
    checked across ranks once per list of variables, not at every step."""
    key = (op, bucket_bytes, what)
    r = _reducers.get(key)
    if r is None:
        r = _reducers[key] = GradientReducer(_comm(), _reduction_comms(), bucket_bytes, op == "average", what)
    return r


def _check_op(op: str, who: str) -> None:
    if op not in ("average", "sum"):
        raise ValueError(f"{who}: op must be 'average' or 'sum', got {op!r}")


def streamed_gradients(tape: Any, target: Any, sources: Sequence[Any], reducer: GradientReducer) -> list:
    """The gradients of ``target`` with respect to ``sources`` (Variables), reduced over all ranks;
    each bucket's collective starts while the tape's backward pass still runs."""
    reducer.begin(sources)
    tape._tape.gradient_streaming(target, sources, reducer.put)
    return reducer.finish()


class DistributedGradientTape:
    """A finished ``GradientTape`` whose ``gradient(target, sources)`` averages (``op="sum"``:
    sums) each gradient over all ranks, bucket by bucket while backward runs. ``sources`` is a
    Variable or a list of Variables, the same on every rank; a ``None`` gradient stays ``None``
    only when it is ``None`` on every rank. Other attributes are the tape's."""

    def __init__(self, tape: Any, op: str = "average", bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> None:
        _check_op(op, "DistributedGradientTape")
        self._wrapped = tape
        # A tape lives for one step; the reducer (its buckets and checked layout) lives on.
        self._reducer = shared_reducer(op, bucket_bytes, "DistributedGradientTape.gradient")

    def gradient(self, target: Any, sources: Any) -> Any:
        single = isinstance(sources, _core.Variable)
        variables = [sources] if single else list(sources)
        for v in variables:
            if not isinstance(v, _core.Variable):
                raise TypeError("DistributedGradientTape.gradient: sources must be Variables, "
                                f"got {type(v).__name__}")
        grads = streamed_gradients(self._wrapped, target, variables, self._reducer)
        return grads[0] if single else grads

    @property
    def communication_seconds(self) -> float:
        """Time spent waiting for collectives after backward ended (what overlap did not hide)."""
        return self._reducer.communication_seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class _Distributed:
    """Mixed in before an optimizer's class: averages gradients across ranks before updating."""

    _reducer: GradientReducer

    def apply_gradients(self, grads_and_vars):
        pairs = list(grads_and_vars)
        variables = [v for _, v in pairs]
        for v in variables:
            if not isinstance(v, _core.Variable):
                raise TypeError(f"apply_gradients: expected a Variable, got {type(v)!r}")
        self._reducer.begin(variables)
        for i, (g, _) in enumerate(pairs):
            self._reducer.put(i, g)
        return super().apply_gradients(zip(self._reducer.finish(), variables))

    def minimize(self, loss_fn: Callable[[], Any], var_list: Optional[Sequence[Any]] = None):
        from ..tape import GradientTape

        who = f"{type(self).__name__}.minimize"
        if not callable(loss_fn):
            raise TypeError(f"{who}: loss_fn must be a callable, got {type(loss_fn).__name__}")
        if var_list is None:
            with GradientTape() as tape:
                value = loss_fn()
            # The trainable variables read, in creation order (as implicit_value_and_gradients).
            variables: List[Any] = sorted(tape.watched_variables(), key=lambda v: v._unique_id)
            if not variables:
                raise ValueError("No trainable variables were accessed while the function was being computed.")
        else:
            variables = [var_list] if isinstance(var_list, _core.Variable) else list(var_list)
            if not variables:
                raise ValueError(f"{who}: var_list is empty")
            for v in variables:
                if not isinstance(v, _core.Variable):
                    raise TypeError(f"{who}: var_list must contain Variables, got {type(v).__name__}")
            with GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(variables)
                value = loss_fn()
        if value is None:
            raise ValueError(f"{who}: loss_fn returned None")
        grads = streamed_gradients(tape, value, variables, self._reducer)
        super().apply_gradients(zip(grads, variables))
        return value

    @property
    def communication_seconds(self) -> float:
        """Time spent waiting for collectives after the gradients were in."""
        return self._reducer.communication_seconds


def DistributedOptimizer(optimizer: Any, op: str = "average",
                         bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> Any:
    """``optimizer`` (any ``tg.Optimizer``) made data-parallel, as Horovod's DistributedOptimizer:
    ``apply_gradients`` averages (``op="sum"``: sums) the gradients over all ranks in buckets
    before the update, and ``minimize`` computes them with the all-reduce overlapped with
    backward. The result is an instance of a subclass of the optimizer's class that starts from
    its state (learning rate, iterations, and the same slot Variables), so it prints and updates
    the same way; train through the result, not the original.
    """
    from ..optimizers import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"DistributedOptimizer: expected a tapegrad Optimizer, got {type(optimizer).__name__}")
    _check_op(op, "DistributedOptimizer")
    base = type(optimizer)
    cls = type(f"Distributed{base.__name__}", (_Distributed, base), {"__module__": base.__module__})
    wrapped = cls.__new__(cls)
    wrapped.__dict__.update(optimizer.__dict__)
    wrapped._reducer = GradientReducer(_comm(), _reduction_comms(), bucket_bytes, op == "average",
                                       cls.__name__)
    return wrapped
