"""Fuzzing the public API: random arguments of random types (None, strings, bytes, nested and
ragged lists, complex numbers, object/str/datetime arrays, huge and negative ints, NaN/Inf, empty
arrays, non-contiguous and big-endian arrays, rank-9 arrays, zero-stride "huge" arrays, objects whose
``__bool__``/``__index__``/``__array__`` raise, Tensors and Variables of random shapes and dtypes,
library objects of the wrong kind ...) are fed to every public function, method and operator.

Each call must either succeed or raise TypeError/ValueError/MemoryError/RuntimeError/IndexError
whose message names the op (never pybind11's "incompatible function arguments" text); an
exception raised by the caller's own object (``UserError`` here) may propagate unchanged. After
every call the engine must still work, no tape may be left alive, and a failed mutation
(assign*, apply_gradients, minimize) must leave every Variable as it was.

The ops' targets come from the op-spec table (``op_specs.SPECS``): one per public function, its
arguments drawn by the kinds in the row's ``fuzz_args``, and one per operator spelling (reflected
too). A call the fuzzer finds mishandled gets a test named by the behaviour it pins in
``tests/test_bad_input.py``.

``TAPEGRAD_FUZZ_EXAMPLES`` (per target, default 50) scales the run; the default keeps this file
well under a minute on two cores.
"""


import array
import contextlib
import decimal
import fractions
import gc
import math
import os
import tempfile
import sys
import warnings

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis.errors import HypothesisException
from hypothesis import strategies as st

import tapegrad as tg
from sanitizer_env import under_asan
from tapegrad import _core

from op_specs import ALLOWED, SPECS

FUZZ_EXAMPLES = int(os.environ.get("TAPEGRAD_FUZZ_EXAMPLES", "50"))

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


# =============================================================================================
# Values of every kind
# =============================================================================================

class UserError(Exception):
    """Raised by the caller's own objects and callables: allowed to propagate unchanged."""


class EvilBool(int):
    """An int (so it passes index checks) whose truth value raises."""

    def __bool__(self):
        raise UserError("EvilBool.__bool__")

    def __repr__(self):
        return "EvilBool()"


class EvilIndex:
    def __index__(self):
        raise UserError("EvilIndex.__index__")

    def __repr__(self):
        return "EvilIndex()"


class EvilArray:
    def __array__(self, dtype=None, copy=None):
        raise UserError("EvilArray.__array__")

    def __repr__(self):
        return "EvilArray()"


class NotAnArray:
    """``__array__`` returns something that is not an array."""

    def __array__(self, dtype=None, copy=None):
        return "not an array"

    def __repr__(self):
        return "NotAnArray()"


class LyingSequence:
    """Claims three items, fails on the second."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        if i == 0:
            return 1.0
        raise UserError("LyingSequence.__getitem__")

    def __repr__(self):
        return "LyingSequence()"


class EvilIter:
    def __iter__(self):
        raise UserError("EvilIter.__iter__")

    def __repr__(self):
        return "EvilIter()"


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    _matrix = np.matrix([[1.0, 2.0]])


class FloatSub(float):
    pass


class IntSub(int):
    pass


HUGE_INTS = [2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64 + 1, 2 ** 100, -(2 ** 63), -(2 ** 70)]
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324, 3.5e38, 1e-45]
# Only sizes that are tiny or absurd: a random shape must never ask for gigabytes that exist.
DIMS = st.one_of(st.integers(-3, 4), st.sampled_from(HUGE_INTS + [2 ** 46, 2 ** 50]))

small_shape = st.lists(st.integers(0, 3), max_size=4).map(tuple)
float_dtype = st.sampled_from([np.float32, np.float64])


@st.composite
def float_arrays(draw, shape=small_shape, special=True):
    shp = draw(shape)
    a = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))).standard_normal(shp)
    if special and a.size and draw(st.booleans()):
        idx = draw(st.integers(0, a.size - 1))
        a.reshape(-1)[idx] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))
    return a.astype(draw(float_dtype))


@st.composite
def integer_arrays(draw, shape=small_shape):
    """int32, int64 or bool arrays: small values, the extremes of the type, or all of one sign."""
    dtype = draw(st.sampled_from([np.int32, np.int64, np.bool_]))
    a = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))).integers(-5, 6, draw(shape))
    if dtype is not np.bool_ and a.size and draw(st.booleans()):
        info = np.iinfo(dtype)
        a = a.astype(dtype)
        a.reshape(-1)[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([info.min, info.max]))
    return a.astype(dtype)


float_tensors = float_arrays().map(lambda a: tg.constant(a, dtype=a.dtype))
tensors = st.one_of(float_tensors, float_tensors, integer_arrays().map(tg.constant))
variables = st.builds(lambda a, tr: tg.Variable(a, trainable=tr, dtype=a.dtype),
                      st.one_of(float_arrays(), integer_arrays()), st.booleans())

EXOTIC_DTYPES = ["f2", "f4", "f8", ">f8", ">f4", "g", "i1", "i4", "i8", "u1", "u8", "?", "c8", "c16",
                 "M8[D]", "m8[s]", "U3", "S3", "O", "V4"]


@st.composite
def numpy_arrays(draw):
    dt = np.dtype(draw(st.sampled_from(EXOTIC_DTYPES)))
    variant = draw(st.sampled_from(["plain", "reversed", "transposed", "readonly", "strided",
                                    "rank9", "zero_stride_huge", "zero_d", "object_numbers"]))
    if variant == "zero_stride_huge":  # 2**50 elements over one: refused before any allocation
        base = np.zeros(1, dtype=np.float32)
        return np.lib.stride_tricks.as_strided(base, shape=(2 ** 25, 2 ** 25), strides=(0, 0))
    if variant == "object_numbers":
        return np.array([1.0, 2, draw(st.sampled_from([3.0, None, "x", 1j]))], dtype=object)
    shp = (1,) * 9 if variant == "rank9" else () if variant == "zero_d" else draw(small_shape)
    if dt.kind in "MmUSOV":
        a = np.zeros(shp, dtype=dt)
    else:
        raw = np.random.default_rng(draw(st.integers(0, 2 ** 16))).standard_normal(shp) * 3
        with np.errstate(all="ignore"):
            a = raw.astype(dt)
    if variant == "reversed" and a.ndim:
        a = a[::-1]
    elif variant == "transposed":
        a = a.T
    elif variant == "readonly":
        a.setflags(write=False)
    elif variant == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=0)[::2]
    return a


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SPECIAL_FLOATS),
    st.complex_numbers(max_magnitude=4), st.just(complex(math.nan, 1.0)), st.text(max_size=3),
    st.binary(max_size=3),
)
nested = st.recursive(leaves, lambda c: st.lists(c, max_size=3) | st.tuples(c, c), max_leaves=8)
regular_lists = float_arrays(special=False).map(lambda a: a.tolist())
int_lists = st.lists(DIMS, max_size=4)

WEIRD = [
    object(), Ellipsis, slice(1, 2), np.float32(1.5), np.float64(-2.0), np.int64(3), np.uint8(7),
    np.bool_(True), np.complex64(1j), np.datetime64("2020-01-01"), np.str_("1.0"), FloatSub(0.5),
    IntSub(2), fractions.Fraction(1, 3), decimal.Decimal("1.5"), bytearray(b"ab"),
    memoryview(b"abcd"), array.array("d", [1.0, 2.0]), array.array("b", [1, 2]), range(3),
    np.float32, float, tg.float32, "float32", _matrix,
    np.ma.masked_array([1.0, 2.0], mask=[0, 1]), EvilBool(1), EvilIndex(), EvilArray(), NotAnArray(),
    LyingSequence(), EvilIter(), {"a": 1.0}, {1, 2}, frozenset(), {}, [], (), [[]], [[], []], tg, np,
]

# Tapes made while drawing values stay referenced until the example ends; they are counted so the
# "no tape outlives its call" check can tell them apart.
DRAWN_TAPES = []


def _library_object(kind):
    """Fresh library objects of the wrong kind (fresh: a shared one would carry state across examples)."""
    if kind == "tape":
        DRAWN_TAPES.append(tg.GradientTape())
        return DRAWN_TAPES[-1]
    if kind == "sgd":
        return tg.GradientDescent(0.1)
    return tg.Dense(2, name="fuzz_dense_value")


library_objects = st.sampled_from(["tape", "sgd", "dense"]).map(_library_object)


def _as_user(obj):
    """Wraps a callable the caller passes in (f, loss_fn, activation, initializer, initial_value):
    whatever it raises is the caller's own error and becomes UserError."""
    if not callable(obj) or isinstance(obj, (tg.Tensor, tg.Variable)):
        return obj

    def user(*args, **kwargs):
        try:
            return obj(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise UserError(f"user callable {obj!r} raised {type(e).__name__}: {e}") from None
    user.__name__ = f"user_{getattr(obj, '__name__', type(obj).__name__)}"
    return user


def _raise_user_error(*_args, **_kwargs):
    raise UserError("user callable")


callables = st.sampled_from([
    lambda *a: 1.0, lambda *a: None, lambda *a: "loss", _raise_user_error, tg.square, tg.negative,
    lambda *a: tg.constant([1.0, 2.0]), lambda *a: a[0] if a else 0.0, print, np.float32, float,
]).map(_as_user)

anything = st.deferred(lambda: st.one_of(
    leaves, nested, regular_lists, int_lists, numpy_arrays(), tensors, variables,
    st.sampled_from(WEIRD), library_objects, st.builds(lambda n: (i for i in range(n)), st.integers(0, 3)),
    st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 3)), leaves, max_size=2),
    callables, float_arrays(),
))
tensor_like = st.one_of(tensors, variables, float_arrays(), regular_lists, st.floats(-3, 3), anything)
shape_like = st.one_of(small_shape, int_lists, st.lists(DIMS, min_size=1, max_size=9).map(tuple), anything)
axis_like = st.one_of(st.none(), st.integers(-4, 4), st.lists(st.integers(-4, 4), max_size=3).map(tuple),
                      anything)
dtype_like = st.one_of(st.sampled_from([None, np.float32, np.float64, "float32", "float64", tg.float64,
                                        np.int32, "int64", tg.bool, np.int16, np.uint64, np.complex64, "bogus",
                                        np.float16, object, str]), anything)
bool_like = st.one_of(st.booleans(), st.sampled_from([0, 1, np.bool_(False), EvilBool(1), None, "yes",
                                                      2, 1.0, np.array([True, False])]), anything)


# =============================================================================================
# The targets: one per public function, method and operator
# =============================================================================================

OP_NAMES = tuple(s.name for s in SPECS) + ("constant", "convert_to_tensor", "gradient", "Variable", "assign",
                                          "float", "len", "bool")
TARGETS = {}


def target(name, *names, any_op=False):
    """Registers a fuzz target; ``names``: what a failure message must mention (one of)."""
    accepted = tuple(names) or (name,)
    if any_op:
        accepted += OP_NAMES

    def deco(fn):
        TARGETS[name] = (fn, accepted)
        return fn
    return deco


class Guard:
    """Variables whose values must survive a failed call unchanged."""

    def __init__(self):
        self.snaps = []

    def watch(self, *objs):
        for o in objs:
            if isinstance(o, tg.Variable):
                self.snaps.append((o, np.array(o.numpy(), copy=True)))
            elif isinstance(o, (list, tuple)):
                for x in o:
                    self.watch(x)

    def check(self):
        for v, before in self.snaps:
            np.testing.assert_array_equal(
                v.numpy(), before, err_msg=f"variable {v.name} changed by a call that raised")


def _draw(data, strategy, label):
    return data.draw(strategy, label=label)


# ---------------------------------------------------------------------------------------------
# The ops: from the op-spec table
# ---------------------------------------------------------------------------------------------

FUZZ_KINDS = {
    "tensor": tensor_like,
    "tensors": st.one_of(st.lists(tensor_like, max_size=4), st.tuples(tensor_like, tensor_like), anything),
    "bool": bool_like,
    "axis": axis_like,
    "perm": st.one_of(st.none(), axis_like),
    "shape": shape_like,
    "dtype": dtype_like,
    "number": st.one_of(st.integers(-6, 6), st.floats(), anything),
    "text": st.one_of(st.text(max_size=8), anything),
}


def _function_target(spec):
    """The op's public function, each argument drawn by its kind (positional or by keyword)."""
    def run(data, guard):
        args, kwargs = [], {}
        for i, (kind, keyword) in enumerate(spec.fuzz_args):
            value = _draw(data, FUZZ_KINDS[kind], keyword or f"arg{i}")
            if keyword is None:
                args.append(value)
            else:
                kwargs[keyword] = value
        return spec.fn(*args, **kwargs)
    return run


def _operator_target(fn, operands, reflected):
    """An operator on a Tensor or Variable and (for binary operators) anything."""
    def run(data, guard):
        a = _draw(data, st.one_of(tensors, variables), "self")
        if operands == 1:
            return fn(a)
        other = _draw(data, st.one_of(st.integers(-4, 4), anything), "other")
        return fn(other, a) if reflected else fn(a, other)
    return run


for _spec in SPECS:
    if _spec.has_function:
        target(_spec.name)(_function_target(_spec))
    for _name, _fn in _spec.operators.items():
        # Python's own "unsupported operand" TypeError is the right answer when neither side
        # implements the operator (e.g. a list @ Tensor falls back to list's missing __matmul__).
        target(_name, _spec.name, "unsupported operand")(_operator_target(_fn, _spec.operator_operands, False))
        if _spec.reflected:
            # str % x and bytes % x are formatting: Python's own TypeError, before any reflected slot.
            formatting = ("string formatting", "bytes formatting") if _name == "op%" else ()
            target("r" + _name, _spec.name, "unsupported operand", *formatting)(
                _operator_target(_fn, _spec.operator_operands, True))


@target("pow3", "pow")
def _pow3(data, guard):
    return pow(_draw(data, tensors, "x"), _draw(data, st.integers(-3, 3), "e"), _draw(data, anything, "mod"))


@target("rpow", "pow", "unsupported operand")
def _rpow(data, guard):
    base = _draw(data, anything, "base")
    if isinstance(base, np.matrix):  # np.matrix.__pow__ is matrix_power: numpy's own operator
        return None
    return base ** _draw(data, tensors, "x")


# ---------------------------------------------------------------------------------------------
# Constructors, methods, tapes, wrappers, layers, optimizers, random, config
# ---------------------------------------------------------------------------------------------

@target("constant")
def _constant(data, guard):
    return tg.constant(_draw(data, anything, "value"), dtype=_draw(data, dtype_like, "dtype"))


@target("from_dlpack")
def _from_dlpack(data, guard):
    return tg.from_dlpack(_draw(data, st.one_of(anything, numpy_arrays(), tensors), "x"))


@target("TensorSpec")
def _tensor_spec(data, guard):
    spec = tg.TensorSpec(_draw(data, st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(-1, 3)),
                                                                   max_size=3), anything), "shape"),
                         _draw(data, st.one_of(dtype_like, anything), "dtype"))
    return spec.is_compatible_with(_draw(data, st.one_of(tensors, numpy_arrays()), "value"))


@target("function", "function", any_op=True)
def _function(data, guard):
    body = _draw(data, st.sampled_from([lambda x: x * 2.0, lambda x: tg.reduce_sum(x), lambda x: (x, None),
                                        lambda x: 3.0, lambda x: tg.Variable(x)]), "body")
    signature = _draw(data, st.one_of(st.none(), st.just([tg.TensorSpec(None, "float32")]), anything),
                      "input_signature")
    f = tg.function(_as_user(body), input_signature=signature)
    x = _draw(data, st.one_of(tensor_like, anything), "x")
    f(x)
    return f(x)


_FUZZ_DIR = tempfile.mkdtemp(prefix="tapegrad-fuzz-ckpt-")
# Paths under a private directory, or values that are not paths: a drawn string is never a path
# in the working directory.
_not_paths = st.one_of(st.none(), st.integers(-2, 2), st.lists(st.integers(0, 2), max_size=2), st.floats())
_checkpoint_objects = st.one_of(variables, anything)


@target("Checkpoint", "Checkpoint")
def _checkpoint(data, guard):
    objects = _draw(data, st.dictionaries(st.text(max_size=4), _checkpoint_objects, max_size=3), "objects")
    guard.watch([v for v in objects.values() if isinstance(v, tg.Variable)])
    ckpt = tg.Checkpoint(**objects)
    prefix = _draw(data, st.one_of(st.just(os.path.join(_FUZZ_DIR, "ck")), _not_paths), "file_prefix")
    path = ckpt.save(prefix)
    into = _draw(data, st.dictionaries(st.sampled_from(sorted(objects) or ["v"]), _checkpoint_objects,
                                       max_size=3), "restore_into")
    guard.watch([v for v in into.values() if isinstance(v, tg.Variable)])
    return tg.Checkpoint(**into).restore(_draw(data, st.one_of(st.just(path), _not_paths), "save_path"))


@target("CheckpointManager", "CheckpointManager", "Checkpoint")
def _checkpoint_manager(data, guard):
    checkpoint = _draw(data, st.one_of(st.builds(lambda v: tg.Checkpoint(v=v), variables), anything), "checkpoint")
    directory = _draw(data, st.one_of(st.just(os.path.join(_FUZZ_DIR, "managed")), _not_paths), "directory")
    manager = tg.CheckpointManager(checkpoint, directory,
                                   max_to_keep=_draw(data, st.one_of(st.none(), st.integers(-1, 3), anything),
                                                     "max_to_keep"))
    manager.save()
    return manager.latest_checkpoint


@target("debugging", "check_numerics", any_op=True)
def _debugging(data, guard):
    """With the numerics checks on, an op either computes a finite result or raises
    FloatingPointError naming itself; off again, the flag reads False."""
    x = _draw(data, tensor_like, "x")
    tg.debugging.enable_check_numerics()
    try:
        out = tg.exp(x)
    except FloatingPointError as e:
        assert str(e).startswith(("exp:", "cast:")), str(e)
        out = None
    finally:
        tg.debugging.disable_check_numerics()
    assert not tg.debugging.check_numerics_enabled()
    return out


@target("zeros")
def _zeros(data, guard):
    return tg.zeros(_draw(data, shape_like, "shape"), _draw(data, dtype_like, "dtype"))


@target("ones")
def _ones(data, guard):
    return tg.ones(_draw(data, shape_like, "shape"), _draw(data, dtype_like, "dtype"))


@target("zeros_like")
def _zeros_like(data, guard):
    return tg.zeros_like(_draw(data, tensor_like, "input"), _draw(data, st.one_of(st.none(), dtype_like), "dtype"))


@target("ones_like")
def _ones_like(data, guard):
    return tg.ones_like(_draw(data, tensor_like, "input"), _draw(data, st.one_of(st.none(), dtype_like), "dtype"))


@target("fill")
def _fill(data, guard):
    return tg.fill(_draw(data, shape_like, "dims"), _draw(data, st.one_of(st.integers(-3, 3), st.floats(),
                                                                          st.booleans(), anything), "value"))


@target("range")
def _range(data, guard):
    number = st.one_of(st.integers(-20, 20), st.floats(-20, 20), anything)
    return tg.range(_draw(data, number, "start"), _draw(data, st.one_of(st.none(), number), "limit"),
                    _draw(data, number, "delta"))


@target("eye")
def _eye(data, guard):
    return tg.eye(_draw(data, st.one_of(st.integers(-2, 5), anything), "num_rows"),
                  _draw(data, st.one_of(st.none(), st.integers(-2, 5), anything), "num_columns"))


@target("linspace")
def _linspace(data, guard):
    number = st.one_of(st.floats(-5, 5), st.integers(-5, 5), anything)
    return tg.linspace(_draw(data, number, "start"), _draw(data, number, "stop"),
                       _draw(data, st.one_of(st.integers(-2, 9), anything), "num"))


@target("convert_to_tensor")
def _convert_to_tensor(data, guard):
    return tg.convert_to_tensor(_draw(data, anything, "value"), dtype=_draw(data, dtype_like, "dtype"))


@target("tensor_methods", "float", "len", "bool", "__array__", "dtype", "data type", "astype", "cast")
def _tensor_methods(data, guard):
    t = _draw(data, st.one_of(tensors, variables), "t")
    which = _draw(data, st.sampled_from(["float", "len", "bool", "repr", "numpy", "array", "props",
                                         "memoryview"]), "method")
    if which == "float":
        return float(t)
    if which == "len":
        return len(t)
    if which == "bool":
        return bool(t) if isinstance(t, tg.Tensor) else None
    if which == "repr":
        assert repr(t).startswith("<tapegrad.")
        return str(t)
    if which == "numpy":
        a = t.numpy()
        assert a.shape == tuple(t.shape) and a.dtype == t.dtype
        return a
    if which == "props":
        return (t.shape, t.dtype, t.ndim, getattr(t, "size", None))
    if which == "memoryview":
        return memoryview(t).tobytes() if isinstance(t, tg.Tensor) else None
    dtype = _draw(data, dtype_like, "dtype")
    try:
        np.dtype(dtype)
    except Exception:  # noqa: BLE001 - numpy itself rejects it before np.asarray reaches __array__
        return None
    return t.__array__(dtype, copy=_draw(data, bool_like, "copy"))


index_items = st.one_of(st.integers(-5, 5), st.sampled_from(HUGE_INTS), st.none(), st.just(Ellipsis),
                        st.builds(slice, st.one_of(st.none(), st.integers(-6, 6), st.sampled_from(HUGE_INTS)),
                                  st.one_of(st.none(), st.integers(-6, 6)),
                                  st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(HUGE_INTS))))


@target("getitem", "__getitem__", "iter")
def _getitem(data, guard):
    t = _draw(data, st.one_of(tensors, variables), "t")
    key = _draw(data, st.one_of(index_items, st.lists(index_items, max_size=6).map(tuple), anything), "key")
    if _draw(data, st.booleans(), "iterate"):
        return [x.shape for x in t]
    out = t[key]
    want = np.asarray(t)[key] if not isinstance(key, (tg.Tensor, tg.Variable)) else None
    if want is not None:
        np.testing.assert_array_equal(out.numpy(), want)
    return out


@target("Variable")
def _variable(data, guard):
    init = _as_user(_draw(data, st.one_of(anything, callables), "initial_value"))
    return tg.Variable(init, trainable=_draw(data, bool_like, "trainable"),
                       name=_draw(data, st.one_of(st.none(), st.text(max_size=3), anything), "name"),
                       dtype=_draw(data, dtype_like, "dtype"))


for _m in ("assign", "assign_add", "assign_sub"):
    def _assign(data, guard, m=_m):
        v = _draw(data, variables, "var")
        value = _draw(data, st.one_of(tensor_like, st.just(v), st.builds(lambda: v.read_value())), "value")
        guard.watch(v)
        out = getattr(v, m)(value)
        assert out is v and v.shape == guard.snaps[0][1].shape and v.dtype == guard.snaps[0][1].dtype
        return out
    target(_m)(_assign)


def _recorded(data):
    """A small real computation on a fresh tape; returns (tape, values the tape knows about)."""
    persistent = _draw(data, st.booleans(), "persistent")
    x = _draw(data, float_tensors, "x")
    v = tg.Variable(_draw(data, float_arrays(), "v").astype(x.dtype), name="fuzz_recorded")
    tape = tg.GradientTape(persistent=persistent)
    with tape:
        tape.watch(x)
        y = tg.reduce_sum(x * 2.0) + tg.reduce_sum(v)
    return tape, [x, v, y]


@target("GradientTape", "GradientTape")
def _tape_ctor(data, guard):
    with tg.GradientTape(persistent=_draw(data, bool_like, "persistent"),
                         watch_accessed_variables=_draw(data, bool_like, "watch_accessed_variables")) as t:
        _ = _draw(data, float_tensors, "x") * 2.0
    return t


@target("GradientTape.watch", "GradientTape.watch", "GradientTape")
def _tape_watch(data, guard):
    with tg.GradientTape() as t:
        t.watch(_draw(data, anything, "watched"))
    return t.watched_variables()


@target("GradientTape.gradient", "GradientTape.gradient", "GradientTape", any_op=True)
def _tape_gradient(data, guard):
    tape, known = _recorded(data)
    pick = st.one_of(st.sampled_from(known), anything)
    target_ = _draw(data, pick, "target")
    sources = _draw(data, st.one_of(pick, st.lists(pick, max_size=3),
                                    st.dictionaries(st.sampled_from(["a", "b"]), pick, max_size=2)), "sources")
    return tape.gradient(target_, sources,
                         output_gradients=_draw(data, st.one_of(st.none(), anything), "output_gradients"),
                         unconnected_gradients=_draw(data, st.one_of(st.sampled_from(["none", "zero"]), anything),
                                                     "unconnected_gradients"))


@target("GradientTape.misuse", "GradientTape", "RuntimeError")
def _tape_misuse(data, guard):
    tape, (x, v, y) = _recorded(data)
    which = _draw(data, st.sampled_from(["twice", "stop_recording_inactive", "reenter", "reset"]), "misuse")
    if which == "twice":
        tape.gradient(y, x)
        return tape.gradient(y, [x, v])
    if which == "stop_recording_inactive":
        with tape.stop_recording():
            pass
    if which == "reenter":
        with tape:
            with tape:
                pass
    tape.reset()
    return tape.gradient(y, x)


def _user_function(data):
    """A function to differentiate: reads variables, uses its arguments, or misbehaves."""
    v = _draw(data, variables, "closure_var")
    kind = _draw(data, st.sampled_from(["reads_var", "uses_args", "returns_anything", "raises",
                                        "returns_none", "nothing_read"]), "f_kind")
    ret = _draw(data, anything, "f_returns")

    def f(*args):
        if kind == "reads_var":
            return tg.reduce_sum(v * (args[0] if args else 1.0))
        if kind == "uses_args":
            out = 0.0
            for a in args:
                out = out + tg.reduce_sum(tg.square(a))
            return out
        if kind == "returns_anything":
            return ret
        if kind == "raises":
            raise UserError("f raised")
        if kind == "returns_none":
            return None
        return tg.constant(1.0)
    f.__name__ = f"fuzz_f_{kind}"
    return f


WRAPPER_NAMES = ("gradients_function", "fuzz_f_", "No trainable variables", "keyword arguments",
                 "GradientTape")


@target("implicit_gradients", *WRAPPER_NAMES, any_op=True)
def _implicit(data, guard):
    f = _user_function(data)
    args = _draw(data, st.lists(tensor_like, max_size=3), "args")
    which = _draw(data, st.sampled_from([tg.implicit_gradients, tg.implicit_value_and_gradients]), "wrapper")
    return which(f)(*args)


@target("gradients_function", *WRAPPER_NAMES, any_op=True)
def _explicit(data, guard):
    f = _user_function(data)
    params = _draw(data, st.one_of(st.none(), st.lists(st.one_of(st.integers(-1, 3), st.text(max_size=2)),
                                                       max_size=3), anything), "params")
    which = _draw(data, st.sampled_from([tg.gradients_function, tg.value_and_gradients_function]), "wrapper")
    wrapped = which(f, params=params)
    args = _draw(data, st.lists(tensor_like, max_size=3), "args")
    kwargs = _draw(data, st.dictionaries(st.sampled_from(["x", "y"]), tensor_like, max_size=1), "kwargs")
    return wrapped(*args, **kwargs)


@target("Sequential", "Sequential", "Dense", any_op=True)
def _sequential(data, guard):
    layer_like = st.one_of(st.builds(lambda u: tg.Dense(u), st.integers(1, 3)), st.sampled_from([tg.nn.relu, tg.tanh]),
                           anything)
    model = tg.Sequential(_as_user(_draw(data, st.one_of(st.lists(layer_like, max_size=3), anything), "layers")),
                          name=_draw(data, st.one_of(st.none(), st.text(min_size=1, max_size=3), anything), "name"))
    return model(_draw(data, st.one_of(float_arrays(shape=st.lists(st.integers(1, 3), min_size=2, max_size=2)
                                                    .map(tuple)), tensor_like), "inputs"))


@target("activations", "activation")
def _activations(data, guard):
    return tg.activations.get(_draw(data, st.one_of(st.sampled_from(["relu", "gelu", "nope", ""]), anything),
                                    "identifier"))


@target("data", "batches")
def _batches(data, guard):
    arrays = _draw(data, st.lists(st.one_of(float_arrays(), tensor_like), max_size=3), "arrays")
    kwargs = {"batch_size": _draw(data, st.one_of(st.integers(-1, 4), anything), "batch_size"),
              "shuffle": _draw(data, bool_like, "shuffle"),
              "seed": _draw(data, st.one_of(st.none(), st.integers(-2, 5), anything), "seed"),
              "drop_remainder": _draw(data, bool_like, "drop_remainder")}
    return list(tg.data.batches(*arrays, **kwargs))


@target("Dense", "Dense", any_op=True)
def _dense(data, guard):
    layer = tg.Dense(
        _draw(data, st.one_of(st.integers(1, 3), DIMS, anything), "units"),
        activation=_as_user(_draw(data, st.one_of(st.none(), callables, anything), "activation")),
        use_bias=_draw(data, bool_like, "use_bias"),
        kernel_initializer=_as_user(_draw(data, st.one_of(st.sampled_from(["glorot_uniform", "zeros", "nope"]),
                                                          callables, anything), "kernel_initializer")),
        bias_initializer=_as_user(_draw(data, st.one_of(st.sampled_from(["zeros", "ones"]), callables, anything),
                                        "bias_initializer")),
        name=_draw(data, st.one_of(st.none(), st.text(min_size=1, max_size=3), anything), "name"))
    if _draw(data, st.booleans(), "build_first"):
        layer.build(_draw(data, shape_like, "input_shape"), _draw(data, dtype_like, "dtype"))
    for _ in range(_draw(data, st.integers(1, 2), "calls")):
        layer(_draw(data, st.one_of(float_arrays(shape=st.lists(st.integers(0, 3), min_size=2, max_size=3)
                                                 .map(tuple)), tensor_like), "inputs"))
    return layer


def _fraction(data, label):
    return _draw(data, st.one_of(st.floats(0.0, 0.99), anything), label)


# Each optimizer from a drawn learning rate (a number, anything, or a callable) and hyperparameters.
OPTIMIZER_MAKERS = {
    "GradientDescent": lambda data, lr: tg.GradientDescent(lr),
    "Momentum": lambda data, lr: tg.Momentum(lr, _fraction(data, "momentum"),
                                             use_nesterov=_draw(data, st.booleans() | anything, "use_nesterov")),
    "Adam": lambda data, lr: tg.Adam(lr, beta1=_fraction(data, "beta1"), beta2=_fraction(data, "beta2"),
                                     epsilon=_draw(data, st.floats(1e-8, 1e-3) | anything, "epsilon")),
    "RMSProp": lambda data, lr: tg.RMSProp(lr, decay=_fraction(data, "decay"), momentum=_fraction(data, "momentum"),
                                           epsilon=_draw(data, st.floats(1e-10, 1e-3) | anything, "epsilon"),
                                           centered=_draw(data, st.booleans() | anything, "centered")),
    # the abstract base refuses to be built
    "Optimizer": lambda data, lr: tg.Optimizer(lr, _draw(data, st.text(max_size=3) | anything, "name")),
}


def _optimizer_target(kind):
    @target(kind, kind, "apply_gradients", "No gradients provided", "returned None", any_op=True)
    def fuzz(data, guard):
        return _fuzz_optimizer(data, guard, kind)
    return fuzz


def _fuzz_optimizer(data, guard, kind):
    lr = _draw(data, st.one_of(st.floats(1e-3, 1.0), anything,
                               st.one_of(st.floats(1e-3, 1.0), anything).map(lambda x: lambda: x)),
               "learning_rate")
    opt = OPTIMIZER_MAKERS[kind](data, _as_user(lr))
    which = _draw(data, st.sampled_from(["apply", "minimize", "set_lr"]), "method")
    vs = _draw(data, st.lists(variables, min_size=1, max_size=3), "vars")
    guard.watch(vs)
    if which == "set_lr":
        opt.learning_rate = _draw(data, anything, "new_lr")
        return opt
    if which == "apply":
        pair = st.tuples(st.one_of(st.none(), tensor_like, st.builds(lambda: None)), st.sampled_from(vs) | anything)
        gv = _draw(data, st.one_of(st.lists(pair, max_size=4), anything), "grads_and_vars")
        return opt.apply_gradients(gv)
    loss = _draw(data, st.sampled_from(["sum", "anything", "none", "raises"]), "loss_kind")
    ret = _draw(data, anything, "loss_returns")

    def loss_fn():
        if loss == "sum":
            out = 0.0
            for v in vs:
                out = out + tg.reduce_sum(tg.square(v))
            return out
        if loss == "raises":
            raise UserError("loss_fn raised")
        return None if loss == "none" else ret
    var_list = _draw(data, st.one_of(st.none(), st.just(vs), st.lists(st.sampled_from(vs) | anything, max_size=3),
                                     anything), "var_list")
    return opt.minimize(_as_user(_draw(data, st.one_of(st.just(loss_fn), anything), "loss_fn")),
                        var_list=var_list)


for _kind in OPTIMIZER_MAKERS:
    _optimizer_target(_kind)


@target("random", "random.normal", "random.uniform", "random.set_seed")
def _random(data, guard):
    which = _draw(data, st.sampled_from(["normal", "uniform", "set_seed"]), "fn")
    seed = _draw(data, st.one_of(st.none(), st.integers(0, 2 ** 32), anything), "seed")
    if which == "set_seed":
        try:
            return tg.random.set_seed(seed)
        finally:
            tg.random.set_seed(0)
    fn = getattr(tg.random, which)
    return fn(_draw(data, shape_like, "shape"), _draw(data, st.one_of(st.floats(-2, 2), anything), "a"),
              _draw(data, st.one_of(st.floats(2.5, 4), anything), "b"),
              dtype=_draw(data, dtype_like, "dtype"), seed=seed)


@target("config", "set_isa", "TAPEGRAD_ISA", "isa")
def _config(data, guard):
    before = tg.config.isa()
    try:
        tg.config.set_isa(_draw(data, st.one_of(st.text(max_size=8), anything), "isa"))
    finally:
        tg.config.set_isa(before)


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------

UNDER_ASAN = under_asan()
CAP_HEADROOM = 2 << 30


@contextlib.contextmanager
def _memory_cap():
    """Caps the address space at its current size + 2 GiB while one example runs: a random
    argument that happens to ask for a large but possible tensor (say 250**4 floats) fails with
    MemoryError instead of filling a shared machine. Not under ASan (it reserves terabytes)."""
    if resource is None or UNDER_ASAN:
        yield
        return
    try:
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + CAP_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _engine_still_works():
    x = tg.constant([1.0, 2.0])
    v = tg.Variable([3.0, 4.0], name="fuzz_probe")
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.reduce_sum(x * x * v)
    gx, gv = tape.gradient(y, [x, v])
    np.testing.assert_array_equal(np.asarray(gx), [6.0, 16.0])
    np.testing.assert_array_equal(np.asarray(gv), [1.0, 4.0])


@pytest.mark.parametrize("name", sorted(TARGETS))
@FUZZ
@given(data=st.data())
def test_fuzz_public_api(name, data):
    fn, accepted = TARGETS[name]
    guard = Guard()
    DRAWN_TAPES.clear()
    tapes_before = _core.live_tapes()
    failure = None
    try:
        with np.errstate(all="ignore"), _memory_cap():
            fn(data, guard)
    except (UserError, HypothesisException, AssertionError):
        if sys.exc_info()[0] is not UserError:
            raise
    except Exception as e:  # noqa: BLE001 - classified below
        failure = (type(e), str(e))
    note(f"outcome: {failure}")
    if failure is not None:
        cls, msg = failure
        assert issubclass(cls, ALLOWED), f"{name}: raised {cls.__name__}: {msg}"
        cls = cls.__name__
        assert "incompatible function arguments" not in msg, f"{name}: pybind11's generic message: {msg!r}"
        assert any(a.lower() in msg.lower() for a in accepted), (
            f"{name}: {cls} message does not name the op (expected one of {accepted}): {msg!r}")
        guard.check()
    _engine_still_works()
    allowed = tapes_before + len(DRAWN_TAPES)
    if _core.live_tapes() > allowed:
        gc.collect()
    assert _core.live_tapes() <= allowed, f"{name}: a tape outlived its call"
    DRAWN_TAPES.clear()


def test_fuzz_covers_the_public_api():
    """Every public callable of tapegrad is a fuzz target (or reached through one)."""
    reached = {"Tensor", "float32", "float64", "int32", "int64", "bool", "config", "nn", "random", "GradientTape"}
    reached |= {"implicit_value_and_gradients", "value_and_gradients_function"}  # via the wrappers' targets
    # Calling into it starts MPI: its bad inputs are checked in a subprocess, tests/distributed.
    reached |= {"distributed"}
    names = set(tg.__all__) - reached
    missing = {n for n in names if n not in TARGETS}
    assert not missing, f"public names without a fuzz target: {sorted(missing)}"


def test_fuzz_covers_every_op_spelling():
    """Every row of the op-spec table is fuzzed: its public function and each operator spelling."""
    for spec in SPECS:
        wanted = ([spec.name] if spec.has_function else []) + list(spec.operators)
        wanted += ["r" + n for n in spec.operators] if spec.reflected else []
        assert wanted, f"{spec.name}: no fuzz target"
        missing = [n for n in wanted if n not in TARGETS]
        assert not missing, f"{spec.name}: spellings without a fuzz target: {missing}"
