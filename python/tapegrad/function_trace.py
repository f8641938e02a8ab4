"""``tapegrad.function``: trace a Python function once, then replay it in C++.

As ``tf.function`` (without autograph): the first call with a new signature runs the Python
function once, eagerly, while the engine records every op it performs (forward ops, the ops of
``GradientTape.gradient`` and the gradient wrappers, Variable reads and updates such as
``apply_gradients``). Later calls with that signature replay the recorded graph in C++, after
its passes (constant folding, common subexpressions, dead code, elementwise fusion): no Python
runs per op and no tape is built. A replay gives exactly the bits of the eager call.

What the trace fixes (as in TensorFlow):

* Python control flow and Python values: an ``if`` on a Python value, a loop's trip count, a
  learning rate given as a number are read once, when tracing. A Python scalar argument is part
  of the signature, so a new value traces again.
* Python side effects (``print``, appending to a list) happen only while tracing.
* Variables may be created only on the first trace (a lazily built ``Dense``, an optimizer's
  slots); each call reads the Variables' current values and its updates take effect.
* Values computed by a tensor's data in Python (``float(t)``, ``t.numpy()``) are read once.

The signature of a call is the structure of its arguments, the dtype and shape of every tensor
and numpy array, the identity of every Variable and other object, and the value of every Python
scalar or string. When a gradient tape records around a call, the call replays the traced graph op
by op through the ordinary entry points, so the tape sees every op as in eager mode.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _core, _nest

__all__ = ["function", "Function", "TensorSpec"]

_Tensor = _core.Tensor
_Variable = _core.Variable


class TensorSpec:
    """The dtype and shape a tensor argument must have (``tf.TensorSpec``); ``None`` in the shape
    accepts any size on that axis, ``shape=None`` any shape."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: Optional[Sequence[Optional[int]]], dtype: Any = "float32",
                 name: Optional[str] = None) -> None:
        if shape is not None:
            try:
                shape = tuple(None if d is None else int(d) for d in shape)
            except (TypeError, ValueError):
                raise TypeError(f"TensorSpec: shape must be a sequence of ints and None, got {shape!r}") from None
            if any(d is not None and d < 0 for d in shape):
                raise ValueError(f"TensorSpec: shape {shape!r} has a negative dimension")
        try:
            dtype = np.dtype(dtype)
        except (TypeError, ValueError):  # numpy raises either, by the kind of object
            raise TypeError(f"TensorSpec: {dtype!r} is not a dtype") from None
        if name is not None and not isinstance(name, str):
            raise TypeError(f"TensorSpec: name must be a string or None, got {type(name).__name__}")
        self.shape, self.dtype, self.name = shape, dtype, name

    def is_compatible_with(self, value: Any) -> bool:
        """Whether a tensor or array has this spec's dtype and a shape this spec accepts."""
        shape, dtype = tuple(value.shape), np.dtype(value.dtype)
        if dtype != self.dtype:
            return False
        if self.shape is None:
            return True
        return len(shape) == len(self.shape) and all(w is None or w == d for w, d in zip(self.shape, shape))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name}, name={self.name!r})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.name) == (
            other.shape, other.dtype, other.name)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.name))


def _describe(value: Any) -> str:
    if isinstance(value, (_Tensor, _Variable, np.ndarray)):
        return f"{type(value).__name__} of dtype {np.dtype(value.dtype).name} and shape {tuple(value.shape)}"
    return type(value).__name__


class _Leaf:
    """How one leaf of the arguments enters the signature and the call."""

    TENSOR, VARIABLE, PYTHON, OBJECT = range(4)


def _frozen(spec: Any) -> Any:
    """A hashable copy of a structure spec from ``_nest.flatten``."""
    if spec is None:
        return None
    kind, items = spec
    if kind is dict:
        return (dict, tuple((k, _frozen(s)) for k, s in items))
    return (kind, tuple(_frozen(s) for s in items))


def _leaf_key(leaf: Any) -> Tuple[Any, ...]:
    if isinstance(leaf, _Tensor):
        return (_Leaf.TENSOR, leaf.dtype, tuple(leaf.shape))
    if isinstance(leaf, np.ndarray):  # converted to a tensor: the same signature as one
        return (_Leaf.TENSOR, leaf.dtype, leaf.shape)
    if isinstance(leaf, _Variable):
        # The graph reads this very Variable: another one traces again.
        return (_Leaf.VARIABLE, id(leaf), leaf)
    if leaf is None or isinstance(leaf, (bool, numbers.Number, str, bytes, np.generic)):
        return (_Leaf.PYTHON, type(leaf), leaf)
    try:
        hash(leaf)
    except TypeError:
        # Unhashable: by identity (the Function keeps the object alive, so the id stays its own).
        return (_Leaf.OBJECT, id(leaf))
    return (_Leaf.OBJECT, type(leaf), leaf)


def _identity_keyed(values: Any) -> List[Any]:
    """The values a signature names by identity (not tensors or arrays, which it names by dtype
    and shape): kept alive by the Function so no id in a signature is reused."""
    return [v for v in values if not isinstance(v, (_Tensor, np.ndarray))]


class _Trace:
    """One signature's compiled graph and how to rebuild the outputs."""

    __slots__ = ("concrete", "output_spec", "output_none")

    def __init__(self, concrete: Any, output_spec: Any, output_none: List[bool]) -> None:
        self.concrete, self.output_spec, self.output_none = concrete, output_spec, output_none


class Function(_core._FunctionBase):
    """A Python function that traces once per signature and replays in C++ (see the module doc).

    Args:
        python_function: the function to trace.
        input_signature: optional sequence of :class:`TensorSpec`, one per positional argument;
            every call must then pass tensors or arrays that match (``ValueError`` naming the
            argument otherwise), and no keyword arguments. Graphs are specialised to concrete
            shapes, so a spec with ``None`` dimensions still traces once per shape it meets.
        name: a name for errors (defaults to the function's ``__name__``).
    """

    def __init__(self, python_function: Callable[..., Any],
                 input_signature: Optional[Sequence[TensorSpec]] = None,
                 name: Optional[str] = None) -> None:
        if not callable(python_function):
            raise TypeError(f"tg.function: expected a callable, got {type(python_function).__name__}")
        self._fn = python_function
        self._name = name or getattr(python_function, "__name__", "function")
        self._signature = None if input_signature is None else self._check_signature(input_signature)
        try:
            self._param_names = [p.name for p in inspect.signature(python_function).parameters.values()]
        except (TypeError, ValueError):
            self._param_names = []
        self._traces: Dict[Any, _Trace] = {}
        # The arguments of every trace: a signature may name an object by its id alone.
        self._keep_alive: List[List[Any]] = []
        # Calls with simple positional arguments find their compiled graph in the engine
        # (_FunctionBase's call) by a signature that holds the addresses of the objects among them:
        # the arguments of each registered tracing call are kept here so none is freed and its
        # address reused.
        self._fast_args: Dict[bytes, List[Any]] = {}
        self._lock = threading.RLock()
        self._tracing_count = 0
        functools.update_wrapper(self, python_function)

    # -- public API

    @property
    def python_function(self) -> Callable[..., Any]:
        """The wrapped Python function."""
        return self._fn

    @property
    def input_signature(self) -> Optional[Tuple[TensorSpec, ...]]:
        return self._signature

    def experimental_get_tracing_count(self) -> int:
        """How many times the Python function has been traced."""
        return self._tracing_count

    # __call__ is _FunctionBase's: a registered signature runs in the engine, any other call
    # comes here.
    def _call_general(self, *args: Any, **kwargs: Any) -> Any:
        if _core._tracing():
            # Called while another function traces: its ops become part of that trace.
            return self._fn(*args, **kwargs)
        key, spec, leaves = self._signature_of(args, kwargs)
        trace = self._traces.get(key)
        if trace is None:
            with self._lock:
                trace = self._traces.get(key)
                if trace is None:
                    return self._trace_and_call(key, spec, leaves)
        inputs = [leaf if isinstance(leaf, _Tensor) else _core.constant(leaf)
                  for leaf in leaves if isinstance(leaf, (_Tensor, np.ndarray))]
        return self._rebuild(trace, trace.concrete(inputs))

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> "ConcreteFunction":
        """The traced graph for these arguments. A new signature is traced now, which runs the
        Python function once, eagerly, with its effects (as a first call would); a known one
        neither runs nor replays anything."""
        key, spec, leaves = self._signature_of(args, kwargs)
        with self._lock:
            if key not in self._traces:
                self._trace_and_call(key, spec, leaves)
            return ConcreteFunction(self._traces[key].concrete)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        # A method: the instance is the first argument, and part of the signature by identity.
        return functools.partial(self.__call__, instance)

    def __repr__(self) -> str:
        return f"<tapegrad.function {self._name} traces={self._tracing_count}>"

    # -- tracing

    def _signature_of(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[Any, Any, List[Any]]:
        """(the signature key, the structure spec, the leaves) of a call, after the
        input_signature check when there is one."""
        if self._signature is not None:
            self._check_call(args, kwargs)
        leaves: List[Any] = []
        spec = _nest.flatten((args, dict(sorted(kwargs.items()))), leaves)
        return (_frozen(spec), tuple(_leaf_key(leaf) for leaf in leaves)), spec, leaves

    def _trace_and_call(self, key: Any, spec: Any, leaves: List[Any]) -> Any:
        # Each tensor argument enters the trace as a tensor object of its own (a view), so two
        # arguments that are one tensor now stay two inputs of the graph.
        inputs: List[Any] = []
        traced_leaves: List[Any] = []
        for leaf in leaves:
            if isinstance(leaf, (_Tensor, np.ndarray)):
                t = _core.identity(leaf if isinstance(leaf, _Tensor) else _core.constant(leaf))
                inputs.append(t)
                traced_leaves.append(t)
            else:
                traced_leaves.append(leaf)
        args, kwargs = _nest.rebuild(spec, iter(traced_leaves))
        first = self._tracing_count == 0
        tracer = _core._Tracer()
        for t in inputs:
            tracer.add_input(t)
        tracer.begin()
        try:
            result = self._fn(*args, **kwargs)
            out_leaves: List[Any] = []
            output_spec = _nest.flatten(result, out_leaves)
            outputs, output_none = self._traced_outputs(out_leaves)
        finally:
            tracer.end()
        self._tracing_count += 1
        created = list(tracer.created_variables)
        if created and not first:
            raise ValueError(
                f"tg.function {self._name}: the trace for a new signature created Variable(s) {created}; "
                f"a traced function may create Variables only on its first trace (create them outside, "
                f"or on the first call only)")
        concrete = tracer.finish(outputs)
        trace = _Trace(concrete, output_spec, output_none)
        self._traces[key] = trace
        self._keep_alive.append(_identity_keyed(leaves))
        self._remember_fast_path(trace, spec, leaves, output_spec)
        return self._rebuild(trace, outputs)

    def _traced_outputs(self, out_leaves: List[Any]) -> Tuple[List[Any], List[bool]]:
        outputs: List[Any] = []
        none: List[bool] = []
        for i, leaf in enumerate(out_leaves):
            if leaf is None:
                none.append(True)
                continue
            if isinstance(leaf, _Variable):
                leaf = leaf.read_value()
            if not isinstance(leaf, _Tensor):
                raise TypeError(
                    f"tg.function {self._name}: the function returned {_describe(leaf)} (output {i}); "
                    f"a traced function returns Tensors, Variables, None, or lists, tuples and dicts "
                    f"of them (convert a value with tg.constant inside the function)")
            none.append(False)
            outputs.append(leaf)
        return outputs, none

    def _remember_fast_path(self, trace: _Trace, spec: Any, leaves: List[Any], output_spec: Any) -> None:
        """Registers the call for the engine-side signature when its arguments are simple
        positional values and its output is one Tensor, None, or a flat tuple of Tensors."""
        args_spec, kwargs_spec = spec[1]
        if kwargs_spec[1] or any(s is not None for s in args_spec[1]):
            return  # keyword or nested arguments: the general path only
        args = tuple(leaves)
        signature = _core._positional_signature(args)
        if signature is None or any(isinstance(a, np.ndarray) for a in args):
            return
        if output_spec is None:
            structure = 0
        elif (output_spec[0] is tuple and all(s is None for s in output_spec[1])
              and not any(trace.output_none)):
            structure = 1
        else:
            return
        self._fast_args[signature] = _identity_keyed(args)
        self._register_fast(signature, trace.concrete, structure)

    @staticmethod
    def _rebuild(trace: _Trace, tensors: List[Any]) -> Any:
        it = iter(tensors)
        leaves = [None if is_none else next(it) for is_none in trace.output_none]
        return _nest.rebuild(trace.output_spec, iter(leaves))

    # -- input_signature

    def _check_signature(self, signature: Sequence[TensorSpec]) -> Tuple[TensorSpec, ...]:
        if isinstance(signature, TensorSpec) or not isinstance(signature, (list, tuple)):
            raise TypeError(f"tg.function {self._name}: input_signature must be a list or tuple of "
                            f"TensorSpec, got {type(signature).__name__}")
        for s in signature:
            if not isinstance(s, TensorSpec):
                raise TypeError(f"tg.function {self._name}: input_signature must hold TensorSpec, "
                                f"got {type(s).__name__}")
        return tuple(signature)

    def _argument_name(self, i: int) -> str:
        spec_name = self._signature[i].name if self._signature and i < len(self._signature) else None
        name = spec_name or (self._param_names[i] if i < len(self._param_names) else None)
        return f"argument {i}" + (f" ('{name}')" if name else "")

    def _check_call(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        sig = self._signature
        if kwargs:
            raise ValueError(f"tg.function {self._name}: a function with an input_signature takes its "
                             f"arguments by position, got keyword argument(s) {sorted(kwargs)}")
        if len(args) != len(sig):
            raise ValueError(f"tg.function {self._name}: the input_signature has {len(sig)} argument(s), "
                             f"the call passed {len(args)}")
        for i, (value, want) in enumerate(zip(args, sig)):
            if not isinstance(value, (_Tensor, np.ndarray)):
                raise ValueError(f"tg.function {self._name}: {self._argument_name(i)} must be a tensor "
                                 f"matching {want}, got {_describe(value)}")
            if not want.is_compatible_with(value):
                raise ValueError(f"tg.function {self._name}: {self._argument_name(i)} is "
                                 f"{_describe(value)}, which does not match {want}")


class ConcreteFunction:
    """One traced signature of a :class:`Function`: its graph before and after the passes."""

    def __init__(self, concrete: Any) -> None:
        self._concrete = concrete

    def graph(self, optimized: bool = True) -> str:
        """A listing of the graph, one node per line."""
        return self._concrete.graph(optimized)

    @property
    def pass_counts(self) -> Dict[str, int]:
        """Nodes each pass removed: ``folded`` (constant inputs), ``common`` (merged), ``dead``,
        ``fused`` (ops run inside fused elementwise loops); and what the fusion pass rewrote:
        ``scaled`` (matmuls by a 1x1 matrix run as products), ``paired`` (two steps with
        one-element operands run as one loop)."""
        return dict(self._concrete.pass_counts)


def function(func: Optional[Callable[..., Any]] = None, input_signature: Optional[Sequence[TensorSpec]] = None,
             name: Optional[str] = None) -> Any:
    """Compile a Python function: ``@tg.function``, ``@tg.function(input_signature=...)`` or
    ``tg.function(f)``. See :class:`Function` and the module documentation."""
    if func is None:
        return lambda f: Function(f, input_signature=input_signature, name=name)
    return Function(func, input_signature=input_signature, name=name)
