"""GradientTape: records operations on watched tensors so gradients can be taken afterwards."""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator

from . import _core, _nest

__all__ = ["GradientTape"]

_UNCONNECTED = ("none", "zero")


class GradientTape:
    """Records operations for automatic differentiation (TF eager semantics).

    Operations run inside ``with GradientTape() as tape:`` are recorded when one of their inputs is
    watched: tensors passed to :meth:`watch`, and trainable Variables read while the tape is active
    (unless ``watch_accessed_variables=False``). :meth:`gradient` then returns d target / d source.

    Args:
        persistent: allow several :meth:`gradient` calls; otherwise the second one raises
            ``RuntimeError`` and the record is freed after the first. Entering a tape that is
            already recording raises ``ValueError``.
        watch_accessed_variables: watch every trainable Variable read while active.
    """

    __slots__ = ("_tape", "_active")

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        if not isinstance(persistent, bool):
            raise TypeError(f"GradientTape: persistent must be a bool, got {persistent!r}")
        if not isinstance(watch_accessed_variables, bool):
            raise TypeError(
                "GradientTape: watch_accessed_variables must be a bool, "
                f"got {watch_accessed_variables!r}"
            )
        self._tape = _core._Tape(persistent, watch_accessed_variables)
        self._active = False

    def __enter__(self) -> "GradientTape":
        if self._active:
            raise ValueError(
                "GradientTape: this tape is already recording; a tape can be entered again only "
                "after its `with` block ends"
            )
        self._tape.push()
        self._active = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tape.pop()
        self._active = False

    @property
    def persistent(self) -> bool:
        return self._tape.persistent

    def watch(self, tensor: Any) -> None:
        """Watches a Tensor or Variable (or a nested list/tuple/dict of them). Integer and bool
        tensors are never differentiable: watching one warns and changes nothing."""
        flat: list = []
        _nest.flatten(tensor, flat)
        for t in flat:
            if isinstance(t, (_core.Tensor, _core.Variable)) and t.dtype.kind != "f":
                warnings.warn(
                    f"GradientTape.watch: {t.dtype} tensors are not differentiable; the tape "
                    "ignores this one (cast it to a float dtype to differentiate with respect to it)",
                    stacklevel=2,
                )
                continue
            self._tape.watch(t)

    def watched_variables(self) -> tuple:
        """The Variables this tape watches, in the order they were first watched."""
        return self._tape.watched_variables()

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Temporarily stops recording operations on this tape."""
        if not self._active:
            raise RuntimeError("GradientTape.stop_recording: the tape is not active (use it inside `with tape:`)")
        was = self._tape.recording
        self._tape.recording = False
        try:
            yield
        finally:
            self._tape.recording = was

    def reset(self) -> None:
        """Clears what was recorded (the tape stays active if it was)."""
        active = self._active
        if active:
            self._tape.pop()
        self._tape = _core._Tape(self._tape.persistent, self._tape.watch_accessed_variables)
        if active:
            self._tape.push()

    def gradient(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: str = "none",
    ) -> Any:
        """Gradient of ``target`` with respect to ``sources``.

        Args:
            target: a Tensor or Variable, or a nested list/tuple/dict of them, differentiated as
                the sum of all their elements (each weighted by ``output_gradients`` when given).
            sources: a Tensor or Variable, or a nested list/tuple/dict of them. The result has the
                same structure.
            output_gradients: the upstream gradient: for one target, a value of its shape; for a
                structure of targets, the same structure (``None`` entries mean ones).
            unconnected_gradients: ``"none"`` (default) gives ``None`` for sources the target does
                not depend on; ``"zero"`` gives zeros of the source's shape.

        Inside the ``with`` block of a persistent tape, the operations of the backward pass are
        recorded on the tape itself, so the result can be differentiated again with it.
        """
        zero = self._unconnected_zero("GradientTape.gradient", unconnected_gradients)
        if not isinstance(target, (_core.Tensor, _core.Variable)):
            targets: list = []
            spec = _nest.flatten(target, targets)
            if output_gradients is not None:
                flat_og: list = []
                _nest.flatten_like(spec, output_gradients, flat_og,
                                   "GradientTape.gradient: output_gradients must have the target's structure")
                output_gradients = flat_og
            target = targets
        # Fast paths for the common structures; everything else goes through flatten/rebuild.
        if isinstance(sources, list) and all(
            isinstance(s, (_core.Tensor, _core.Variable)) for s in sources
        ):
            return self._tape.gradient(target, sources, output_gradients, zero)
        if isinstance(sources, (_core.Tensor, _core.Variable)):
            return self._tape.gradient(target, [sources], output_gradients, zero)[0]
        flat: list = []
        spec = _nest.flatten(sources, flat)
        grads = self._tape.gradient(target, flat, output_gradients, zero)
        return _nest.rebuild(spec, iter(grads))

    def jacobian(
        self,
        target: Any,
        sources: Any,
        unconnected_gradients: str = "none",
        parallel_iterations: Any = None,
        experimental_use_pfor: bool = True,
    ) -> Any:
        """The jacobian of ``target`` with respect to each source: shape
        ``target.shape + source.shape``, in the sources' structure.

        Every element's cotangent goes through one backward pass at once (a batch of one-hot
        cotangents), so the cost is about that of a gradient of a batch, not one per element.
        ``parallel_iterations`` and ``experimental_use_pfor`` are accepted for TensorFlow
        compatibility and do not change the result. An unconnected source gets ``None`` (zeros
        with ``unconnected_gradients="zero"``).
        """
        zero = self._unconnected_zero("GradientTape.jacobian", unconnected_gradients)
        if isinstance(sources, (_core.Tensor, _core.Variable)):
            return self._tape.jacobian(target, [sources], zero)[0]
        flat: list = []
        spec = _nest.flatten(sources, flat)
        return _nest.rebuild(spec, iter(self._tape.jacobian(target, flat, zero)))

    def batch_jacobian(
        self,
        target: Any,
        source: Any,
        unconnected_gradients: str = "none",
        parallel_iterations: Any = None,
        experimental_use_pfor: bool = True,
    ) -> Any:
        """The jacobian of each row ``target[i]`` with respect to ``source[i]``: shape
        ``[batch] + target.shape[1:] + source.shape[1:]``. Rows are assumed independent, as in
        TensorFlow; ``ValueError`` when the first dimensions of target and source differ.
        """
        zero = self._unconnected_zero("GradientTape.batch_jacobian", unconnected_gradients)
        return self._tape.batch_jacobian(target, source, zero)

    @staticmethod
    def _unconnected_zero(op: str, unconnected_gradients: Any) -> bool:
        if not isinstance(unconnected_gradients, str) or unconnected_gradients not in _UNCONNECTED:
            raise ValueError(
                f"{op}: unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}"
            )
        return unconnected_gradients == "zero"
