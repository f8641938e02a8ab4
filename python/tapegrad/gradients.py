"""The four gradient wrappers of TF eager's notebook, all built on one primitive.

- ``implicit_value_and_gradients(f)(*args)`` -> ``(value, [(grad, var), ...])``
- ``implicit_gradients(f)(*args)``           -> ``[(grad, var), ...]``
- ``value_and_gradients_function(f, params)(*args)`` -> ``(value, [grad, ...])``
- ``gradients_function(f, params)(*args)``           -> ``[grad, ...]``

"Implicit" gradients are with respect to the trainable Variables that ``f`` read, in creation
order, each once; the others are with respect to ``f``'s arguments.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, _nest

__all__ = [
    "implicit_value_and_gradients",
    "implicit_gradients",
    "value_and_gradients_function",
    "gradients_function",
]

_TENSORS = (_core.Tensor, _core.Variable)


def _name(f: Callable) -> str:
    return getattr(f, "__name__", None) or repr(f)


def _is_integer_valued(x: Any) -> bool:
    """Integer inputs are constants: their gradient is None (as TF's int tensors)."""
    if isinstance(x, _TENSORS):
        return x.dtype.kind != "f"
    if isinstance(x, (bool, int, np.integer, np.bool_)):
        return True
    if isinstance(x, (float, np.floating)):
        return False
    try:
        return np.asarray(x).dtype.kind in "iub"
    except Exception:  # noqa: BLE001 - unconvertible values fail later with the op's own message
        return False


def _is_structure(x: Any) -> bool:
    """A dict, or a list/tuple holding a Tensor or Variable: its leaves are differentiated one by
    one (a list of numbers is one tensor-like value)."""
    if isinstance(x, dict):
        return True
    if isinstance(x, (list, tuple)):
        leaves: list = []
        _nest.flatten(x, leaves)
        return any(isinstance(leaf, _TENSORS) for leaf in leaves)
    return False


def _explicit(f: Callable, args: tuple, indices: Sequence[int]) -> Tuple[Any, list]:
    """Differentiates ``f`` with respect to ``args[i]`` for ``i`` in ``indices``.

    Arguments to differentiate that are not yet tensors are converted; integer-valued ones are
    constants, passed through unchanged (so they take their partners' dtype) with gradient None.
    A nested list/tuple/dict argument gets its gradient in the same structure. An object passed
    in two places is watched as two separate sources (an identity copy for the second), so each
    place gets its own partial derivative, as TensorFlow does.
    """
    args = list(args)
    sources: list = []
    seen: set = set()

    def source(x: Any) -> Tuple[Optional[int], Any]:
        """(index in ``sources`` or None for a constant, the value to pass to ``f``)."""
        if _is_integer_valued(x):
            return None, x
        if not isinstance(x, _TENSORS):
            x = _core.constant(x)
        elif id(x) in seen:
            x = _core.identity(x)
        seen.add(id(x))
        sources.append(x)
        return len(sources) - 1, x

    layout = []  # per differentiated argument: (structure spec, source index or None per leaf)
    for i in indices:
        leaves: list = []
        spec = _nest.flatten(args[i], leaves) if _is_structure(args[i]) else None
        picked = [source(leaf) for leaf in (leaves if spec is not None else [args[i]])]
        args[i] = _nest.rebuild(spec, (x for _, x in picked))
        layout.append((spec, [p for p, _ in picked]))
    value, grads = _core._differentiate(f, tuple(args), None, sources)
    return value, [_nest.rebuild(spec, (None if p is None else grads[p] for p in positions))
                   for spec, positions in layout]


def implicit_value_and_gradients(f: Callable) -> Callable[..., Tuple[Any, List[tuple]]]:
    """Wraps ``f`` to return ``(value, [(gradient, variable), ...])``.

    The variables are the trainable Variables read while ``f`` ran, in creation order, each once;
    one that was read but does not affect the value gets a ``None`` gradient.
    Raises ``ValueError`` when ``f`` read no trainable Variable.
    """

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Tuple[Any, List[tuple]]:
        # The whole call (tape, f, sorting the variables, backward) runs in C++.
        return _core._differentiate(f, args, kwargs or None, None)

    return wrapped


def implicit_gradients(f: Callable) -> Callable[..., List[tuple]]:
    """Like :func:`implicit_value_and_gradients` but returns only ``[(gradient, variable), ...]``."""
    value_and_grads = implicit_value_and_gradients(f)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> List[tuple]:
        return value_and_grads(*args, **kwargs)[1]

    return wrapped


def _param_indices(f: Callable, params: Optional[Sequence[Union[int, str]]]) -> Optional[list]:
    """Resolves ``params`` (indices or names, not mixed) to argument positions; None = all."""
    if params is None:
        return None
    if isinstance(params, (int, str)):
        params = [params]
    # Only a list or tuple: listing any other iterable can take without end and exhaust memory
    # (a range of 10**12, or an array of 2**50 elements over one stride-0 value, which takes
    # minutes and then fails with an empty MemoryError).
    if not isinstance(params, (list, tuple)):
        raise TypeError(
            "gradients_function: params must be None, an int, a string or a list or tuple of "
            f"them, got {type(params).__name__}"
        )
    params = list(params)
    kinds = {isinstance(p, str) for p in params}
    if any(not isinstance(p, (int, str)) or isinstance(p, bool) for p in params):
        raise TypeError(f"gradients_function: params must be ints or strings, got {params!r}")
    if len(kinds) > 1:
        raise ValueError(
            f"gradients_function: params must be all indices or all names, not mixed: {params!r}"
        )
    if kinds == {True}:
        try:
            names = [
                p.name
                for p in inspect.signature(f).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"gradients_function: cannot read the parameter names of {_name(f)}: {e}"
            ) from None
        unknown = [p for p in params if p not in names]
        if unknown:
            raise ValueError(
                f"gradients_function: {_name(f)} has no parameter named {unknown[0]!r}; "
                f"its parameters are {names}"
            )
        return [names.index(p) for p in params]
    if any(p < 0 for p in params):
        raise ValueError(f"gradients_function: params must be non-negative indices, got {params!r}")
    return params


def value_and_gradients_function(
    f: Callable, params: Optional[Sequence[Union[int, str]]] = None
) -> Callable[..., Tuple[Any, list]]:
    """Wraps ``f`` to return ``(value, [d value / d arg for each differentiated argument])``.

    ``params`` selects the arguments by position or by name (default: all): an int, a string, or
    a list or tuple of them, not mixed. Python numbers and arrays are accepted and converted;
    integer-valued arguments get ``None``. Keyword arguments are not allowed in the wrapped call.
    """
    indices = _param_indices(f, params)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Tuple[Any, list]:
        if kwargs:
            raise ValueError(
                "Functions to be differentiated cannot receive keyword arguments "
                f"(got {sorted(kwargs)} for {_name(f)})"
            )
        chosen = list(range(len(args))) if indices is None else indices
        for i in chosen:
            if i >= len(args):
                raise ValueError(
                    f"gradients_function: parameter index {i} is out of range: "
                    f"{_name(f)} was called with {len(args)} arguments"
                )
        return _explicit(f, args, chosen)

    return wrapped


def gradients_function(
    f: Callable, params: Optional[Sequence[Union[int, str]]] = None
) -> Callable[..., list]:
    """Like :func:`value_and_gradients_function` but returns only the gradients."""
    value_and_grads = value_and_gradients_function(f, params)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> list:
        return value_and_grads(*args, **kwargs)[1]

    return wrapped
