"""The op-spec table: one row per tapegrad op, read by every test that covers ops one by one.

Three consumers iterate over ``SPECS``:

* ``tests/ops/test_op_gradients.py``: each row's variants, forward against the numpy reference and
  backward against float64 central differences (``gradcheck.check_op``), in each spelling of the
  op (function and operator), plus second-order checks through the op;
* ``tests/reliability/test_fuzz.py``: one fuzz target per public function (its arguments drawn by
  the kinds in ``fuzz_args``) and per operator spelling (reflected too when ``reflected``);
* ``tests/test_bad_input.py``: the row's bad-input cases (``bad_inputs``).

A new op is one ``OpSpec`` row here; ``test_every_public_op_has_a_spec_row`` fails until it has one.

Shapes drawn from ``_SHAPE_RNG`` are random but fixed at import time (seeded, always drawn in the
same order), so test ids are stable.
"""

import dataclasses
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import tapegrad as tg
from gradcheck import F64, away_from_zero, randn

_SHAPE_RNG = np.random.default_rng(20240611)


def _d(lo=2, hi=6):
    return int(_SHAPE_RNG.integers(lo, hi))


def _shape(rank, lo=2, hi=6):
    return tuple(_d(lo, hi) for _ in range(rank))


def fmt(shape):
    """A shape as it appears in test ids: 3x4, or 'scalar' for rank 0."""
    return "x".join(map(str, shape)) if shape else "scalar"


# =============================================================================================
# Row types
# =============================================================================================

@dataclass(frozen=True)
class Variant:
    """One way to call an op in the gradient checks: input shapes and attributes.

    shapes:     shapes of the tensor inputs as stored (e.g. the transposed layout of a matmul
                operand whose transpose flag is set)
    attrs:      the op's attributes, passed by keyword to both the tapegrad callable and the
                numpy reference
    positional: pass ``attrs`` positionally (in order) to the tapegrad callable
    spellings:  the spellings (keys of ``OpSpec.spellings``) that run this variant; None: all
    check:      ``check_op`` settings for this variant on top of the row's ``check``
    lead:       values passed before the tensors, to both callables (``where``'s condition)
    pack:       the tapegrad callable takes the tensors as one list (``concat``, ``stack``)
    """
    id: str
    shapes: tuple
    attrs: dict = field(default_factory=dict)
    positional: bool = False
    spellings: Optional[tuple] = None
    check: dict = field(default_factory=dict)
    lead: tuple = ()
    pack: bool = False


@dataclass(frozen=True)
class BadInput:
    """One bad-input case of an op.

    call:      makes the call (no arguments)
    exc:       the exception class (or tuple) it must raise, with a message that starts with the
               op's name; None: the input only looks bad and the call must compute a result of
               shape ``shape``
    mentions:  what the message must name: a tuple is a shape ((2, 3) or [2, 3]), a string a
               substring
    """
    id: str
    call: Callable[[], Any]
    exc: Any
    mentions: tuple = ()
    shape: Optional[tuple] = None


@dataclass(frozen=True)
class OpSpec:
    """One op.

    name:            the op's name (the public function's, and the prefix of its error messages)
    spellings:       name -> tapegrad callable taking (*tensors, **attrs); the first is the
                     op's public function (or its operator when it has no function); the others
                     are operator spellings (``a + b``)
    ref:             numpy reference taking (*arrays, **attrs)
    arity:           number of tensor inputs
    kind:            "elementwise", "comparison", "logical", "reduction", "shape", "matmul", "cast"
                     or "selection" (where)
    domain:          per input, a draw (rng, shape) -> float64 array (denominators away from 0)
    variants:        gradient-check cases (``Variant``)
    check:           ``check_op`` settings for every variant
    second_order:    name -> f(t) on a (3, 4) input: Hessian-vector products through the op
    second_order_variants: variant ids on which binary ops check Hessian-vector products
    fuzz_args:       how the fuzzer draws the public function's arguments: (kind, keyword or None
                     for positional) per argument; kinds: tensor, tensors (a list), bool, axis, perm,
                     shape, dtype, number
    reflected:       the fuzzer also calls each binary operator spelling reflected (other OP x)
    operator_operands: operands of the operator spellings: 2 (x OP other) or 1 (OP x)
    bad_inputs:      bad-input cases (``BadInput``)
    """
    name: str
    spellings: dict
    ref: Callable
    arity: int
    kind: str
    domain: tuple
    variants: tuple
    check: dict = field(default_factory=dict)
    second_order: dict = field(default_factory=dict)
    second_order_variants: tuple = ()
    fuzz_args: tuple = ()
    reflected: bool = False
    operator_operands: int = 2
    bad_inputs: tuple = ()

    @property
    def fn(self):
        """The op's main tapegrad callable."""
        return next(iter(self.spellings.values()))

    @property
    def has_function(self):
        """True if the op is a public function ``tg.<name>`` (else it is an operator only)."""
        return getattr(tg, self.name, None) is self.fn

    @property
    def operators(self):
        """The operator spellings: name -> callable."""
        return {k: f for k, f in self.spellings.items() if k != self.name}


def call(fn, variant, tensors):
    """Calls a tapegrad spelling with the variant's leading values and attributes."""
    args = (*variant.lead, list(tensors)) if variant.pack else (*variant.lead, *tensors)
    if variant.positional:
        return fn(*args, *variant.attrs.values())
    return fn(*args, **variant.attrs)


def reference(spec, variant, arrays):
    """The numpy reference of a variant: leading values, then the arrays, then the attributes."""
    return spec.ref(*variant.lead, *arrays, **variant.attrs)


def variants_with_spellings(specs):
    """(spec, spelling, variant) for every variant of every row, in each spelling that runs it."""
    out = []
    for spec in specs:
        for v in spec.variants:
            for sp in (v.spellings or tuple(spec.spellings)):
                out.append((spec, sp, v))
    return out


# =============================================================================================
# Shared cases (drawn in a fixed order: binary, unary, reduction, reshape, transpose,
# broadcast_to, matmul)
# =============================================================================================

def _broadcast_patterns():
    m, n, p, q = _d(), _d(), _d(), _d()
    return [
        ("same_1d", (n,), (n,)),
        ("same_2d", (m, n), (m, n)),
        ("same_4d", (q, p, m, n), (q, p, m, n)),
        ("scalar_left", (), (m, n)),
        ("scalar_right", (p, m, n), ()),
        ("scalar_both", (), ()),
        ("row_left", (n,), (m, n)),
        ("row_right", (m, n), (n,)),
        ("row_keepdims", (m, n), (1, n)),
        ("col_left", (m, 1), (m, n)),
        ("col_right", (m, n), (m, 1)),
        ("size1_vs_vector", (1,), (n,)),
        ("leading_ones_left", (1, 1, n), (m, n)),
        ("leading_ones_right", (p, m, n), (1, 1, m, n)),
        ("both_3x1_1x4", (3, 1), (1, 4)),
        ("both_2x1x4_3x1", (2, 1, 4), (3, 1)),
        ("both_random_2d", (m, 1), (1, n)),
        ("both_random_4d", (1, m, 1, n), (p, 1, q, 1)),
        ("both_rank_mix", (p, 1, n), (m, 1)),
        # sizes past any SIMD width, with tails
        ("large_same", (37, 67), (37, 67)),
        ("large_row", (37, 67), (67,)),
        ("large_col", (37, 67), (37, 1)),
        ("large_both", (37, 1), (1, 67)),
        ("large_scalar", (1031,), ()),
        ("large_inner_broadcast", (5, 1, 129), (5, 7, 129)),
    ]


BROADCAST_PATTERNS = _broadcast_patterns()
UNARY_SHAPES = [(), (_d(),), _shape(2), _shape(4), (1031,), (17, 33)]


def _reduction_cases():
    cases = [((), None), ((1031,), None), ((1031,), 0), ((37, 67), 0), ((37, 67), 1), ((37, 67), None),
             ((9, 35, 17), 1), ((9, 35, 17), (0, 2))]
    for rank in (1, 2, 3, 4):
        shape = _shape(rank)
        axes = [None, 0, -1, rank - 1]
        if rank >= 2:
            axes += [(0, rank - 1), (rank - 1, 0), (-1, -2), (1,), tuple(range(rank))]
        if rank >= 3:
            axes += [1, (0, 2), (-3, -1)]
        seen = set()
        for ax in axes:
            if repr(ax) not in seen:
                seen.add(repr(ax))
                cases.append((shape, ax))
    return cases


REDUCTION_CASES = _reduction_cases()


def _reshape_cases():
    m, n, p = _d(), _d(), _d()
    return [
        ((m * n,), (m, n)),
        ((m, n), (m * n,)),
        ((p, m, n), (-1, n)),
        ((p, m, n), (p, -1)),
        ((m, n), (n, -1, 1)),
        ((m, n), (-1,)),
        ((), (1, 1)),
        ((1, 1), ()),
        ((1,), (-1,)),
        ((p, m, n), (n, m, p)),
    ]


RESHAPE_CASES = _reshape_cases()


def _transpose_cases():
    cases = [((_d(),), None), (_shape(2), None), (_shape(3), None), (_shape(2), (1, 0)),
             (_shape(3), (0, 1, 2)), (_shape(3), (2, 0, 1)), (_shape(3), [1, 2, 0])]
    shape4 = _shape(4)
    cases.append((shape4, tuple(int(i) for i in _SHAPE_RNG.permutation(4))))
    cases.append((shape4, None))
    return cases


TRANSPOSE_CASES = _transpose_cases()


def _broadcast_to_cases():
    m, n = _d(), _d()
    return [((n,), (m, n)), ((1, n), (m, n)), ((m, 1), (m, n)), ((), (m, n)), ((), ()),
            ((2, 1, 3), (4, 2, 5, 3)), ((m, n), (m, n)), ((1,), (n,))]


BROADCAST_TO_CASES = _broadcast_to_cases()


def _matmul_cases():
    m, k, n, bsz, c = _d(), _d(), _d(), _d(), _d()
    return [
        ("2d", (m, k), (k, n)),
        ("2d_vector_like", (1, k), (k, 1)),
        ("2d_odd_sizes", (37, 53), (53, 29)),
        ("2d_blocked", (131, 300), (300, 67)),
        ("batched_odd", (3, 17, 33), (33, 9)),
        ("batched_same", (bsz, m, k), (bsz, k, n)),
        ("batched_a_only", (bsz, m, k), (k, n)),
        ("batched_b_only", (m, k), (bsz, k, n)),
        ("batched_leading_ones", (1, m, k), (bsz, k, n)),
        ("batched_broadcast_both", (c, 1, m, k), (bsz, k, n)),
        ("batched_4d", (2, 3, m, k), (2, 3, k, n)),
    ]


MATMUL_CASES = _matmul_cases()


def np_matmul(a, b, transpose_a=False, transpose_b=False):
    """numpy's matmul with tapegrad's transpose flags (the last two axes)."""
    a = np.swapaxes(a, -1, -2) if transpose_a else a
    b = np.swapaxes(b, -1, -2) if transpose_b else b
    return np.matmul(a, b)


def _stored(shape, transposed):
    return shape[:-2] + (shape[-1], shape[-2]) if transposed else shape


def _high_rank_shapes(rank):
    """Rank 7 and 8 broadcasting partners (the engine's rank limit is 8)."""
    sa = tuple(2 if i % 3 == 0 else 1 for i in range(rank))
    sb = tuple(1 if i % 3 == 0 else 2 for i in range(rank - 1))
    return sa, sb


# =============================================================================================
# Bad-input building blocks
# =============================================================================================

# Every kind of exception a bad call may raise (the fuzzer's set).
ALLOWED = (TypeError, ValueError, MemoryError, RuntimeError, IndexError)


def x2():
    return tg.constant([1.0, 2.0])


def m23():
    return tg.constant(np.ones((2, 3), np.float32))


def ones64(shape):
    return tg.constant(np.ones(shape))


def i3(dtype=np.int32):
    return tg.constant(np.array([1, 2, 3], dtype))


NON_NUMERIC = {
    "string": "abc",
    "none": None,
    "object_array": np.array([1.0, "x"], dtype=object),
    "object_number_array": np.array([1.0, 2.0], dtype=object),
    "complex": 1 + 2j,
    "complex_array": np.array([1 + 1j, 2.0]),
    "string_array": np.array(["a", "b"]),
    "dict": {"a": 1.0},
    "bytes": b"12",
    "datetime_array": np.array(["2020-01-01"], dtype="datetime64[D]"),
    "list_of_strings": ["1.0", "2.0"],
    "list_with_none": [1.0, None],
}

RAGGED = {"ragged_rows": [[1.0, 2.0], [3.0]], "ragged_scalar_and_list": [1.0, [2.0, 3.0]],
          "ragged_depths": [[[1.0]], [2.0]]}

HUGE_SHAPES = [(2 ** 40, 2 ** 40), (2 ** 32, 2 ** 32), (2 ** 62, 4), (2 ** 63 - 1,), (2 ** 20, 2 ** 20, 2 ** 20),
               (2 ** 31, 2 ** 31, 2 ** 2)]

# Dtypes tapegrad has no tensors of (it has float32, float64, int32, int64 and bool).
BAD_DTYPES = {"int16": np.int16, "uint8_name": "uint8", "complex64": np.complex64, "float16": np.float16,
              "bogus": "bogus", "none": None, "str": str}


def non_numeric_rows(place):
    """TypeError for every non-numeric value, placed into the call by ``place(bad)``."""
    return tuple(BadInput(f"non_numeric_{k}", lambda v=v: place(v), TypeError) for k, v in NON_NUMERIC.items())


def _binary_bad_inputs(name):
    fn = getattr(tg, name)
    rows = []
    for sa, sb in [((3,), (4,)), ((2, 3), (3, 2)), ((2, 3, 4), (5, 4))]:
        rows.append(BadInput(f"shape_mismatch_{fmt(sa)}_{fmt(sb)}",
                             lambda sa=sa, sb=sb: fn(tg.constant(np.ones(sa, np.float32)),
                                                     tg.constant(np.ones(sb, np.float32))),
                             ValueError, (sa, sb)))
    # this pair broadcasts: the shape check must not reject valid input
    rows.append(BadInput("broadcasts_3x1_2x1x4",
                         lambda: fn(np.ones((3, 1), np.float32), np.ones((2, 1, 4), np.float32)),
                         None, shape=(2, 3, 4)))
    return tuple(rows)


def _axis_rows(name, with_types):
    fn = getattr(tg, name)
    rows = [BadInput(f"axis_{a}", lambda a=a: fn(ones64((2, 3)), axis=a), ValueError, ((2, 3),))
            for a in [2, -3, (0, 2), (0, 0), (1, -1), 100]]
    if with_types:
        rows += [BadInput(f"axis_wrong_type_{k}", lambda a=a: fn(ones64((2, 3)), axis=a), TypeError)
                 for k, a in [("str", "0"), ("float", 1.5), ("nested_list", [[0]]), ("object", object())]]
        rows.append(BadInput("axis_on_rank0", lambda: fn(tg.constant(1.0), axis=0), ValueError))
    rows += [BadInput(f"keepdims_numpy_class_{flag.__name__}",
                      lambda flag=flag: fn(tg.constant(np.float32(0.5)), None, flag),
                      TypeError, (f"{name}: keepdims must be a bool",))
             for flag in (np.float32, np.int64, np.ndarray)]
    return rows


def _reduce_sum_bad_inputs():
    return tuple(_axis_rows("reduce_sum", with_types=True) + [
        BadInput("keepdims_not_bool_str", lambda: tg.reduce_sum(x2(), keepdims="yes"), TypeError, ("keepdims",)),
        BadInput("keepdims_not_bool_none", lambda: tg.reduce_sum(x2(), keepdims=None), TypeError, ("keepdims",)),
        BadInput("axis_is_bool", lambda: tg.reduce_sum(m23(), axis=True), TypeError, ("axis",)),
        BadInput("axis_tuple_with_bool", lambda: tg.reduce_sum(m23(), axis=(0, False)), TypeError, ("axis",)),
        BadInput("axis_beyond_int64", lambda: tg.reduce_sum(m23(), axis=2 ** 70), ValueError, ("axis",)),
        BadInput("axis_numpy_float_array", lambda: tg.reduce_sum(m23(), axis=np.array([0.5])),
                 (TypeError, ValueError), ("axis",)),
        BadInput("axis_numpy_int_array", lambda: tg.reduce_sum(m23(), axis=np.array([0, 1])), None, shape=()),
    ] + list(non_numeric_rows(lambda bad: tg.reduce_sum(bad))))


def _reduce_mean_bad_inputs():
    return tuple(_axis_rows("reduce_mean", with_types=False) + [
        BadInput("keepdims_not_bool_float", lambda: tg.reduce_mean(x2(), keepdims=0.5), TypeError, ("keepdims",)),
        BadInput("ints", lambda: tg.reduce_mean(i3()), TypeError, ("int32",)),
    ])


def _matmul_bad_inputs():
    rows = []
    for sa, sb, kw in [((2, 3), (4, 5), {}), ((2, 3), (2, 3), {}),
                       ((2, 3), (2, 3), {"transpose_a": False, "transpose_b": False}),
                       ((3, 2), (4, 3), {"transpose_a": True}), ((2, 3, 4), (3, 4, 5), {}),
                       ((2, 3, 4), (2, 5, 5), {})]:
        flags = "".join(f"_{k}" for k, v in kw.items() if v)
        flags += "_explicit_flags" if kw and not any(kw.values()) else ""
        rows.append(BadInput(f"shape_mismatch_{fmt(sa)}_{fmt(sb)}{flags}",
                             lambda sa=sa, sb=sb, kw=kw: tg.matmul(ones64(sa), ones64(sb), **kw),
                             ValueError, (sa, sb)))
    for sa, sb in [((3,), (3, 2)), ((2, 3), (3,)), ((), (2, 2)), ((3,), (3,))]:
        rows.append(BadInput(f"rank_below_two_{fmt(sa)}_{fmt(sb)}",
                             lambda sa=sa, sb=sb: tg.matmul(np.ones(sa), np.ones(sb)), ValueError))
    rows += [
        BadInput("operator_shape_mismatch", lambda: ones64((2, 3)) @ ones64((2, 3)), ValueError),
        BadInput("transpose_a_not_bool", lambda: tg.matmul(m23(), m23(), transpose_a=None), TypeError,
                 ("transpose_a",)),
        BadInput("transpose_b_not_bool", lambda: tg.matmul(m23(), m23(), transpose_b="yes"), TypeError,
                 ("transpose_b",)),
        BadInput("operator_string", lambda: m23() @ "ab", TypeError, ("str",)),
        BadInput("ints", lambda: tg.matmul(tg.reshape(i3(), (1, 3)), tg.reshape(i3(), (3, 1))), TypeError,
                 ("int32",)),
    ]
    rows += non_numeric_rows(lambda bad: tg.matmul(bad, ones64((2, 2))))
    return tuple(rows)


def _reshape_bad_inputs():
    rows = [BadInput(f"target_{t}", lambda t=t: tg.reshape(ones64((2, 3)), t), ValueError, ((2, 3),))
            for t in [(4, 2), (7,), (-1, -1), (-2, 3), (2, -1, 5), (0, 6), (-1, 0)]]
    rows += [BadInput(f"target_wrong_type_{k}", lambda t=t: tg.reshape(ones64((2, 3)), t), TypeError)
             for k, t in [("str", "ab"), ("float", 2.5), ("float_entries", (2.0, 3.0)), ("none", None)]]
    rows.append(BadInput("rank_above_limit", lambda: tg.reshape(tg.constant([1.0]), (1,) * 9), ValueError))
    for s in HUGE_SHAPES:
        rows.append(BadInput(f"huge_{s}", lambda s=s: tg.reshape(tg.constant(np.ones(4)), s),
                             (ValueError, MemoryError)))
        # an empty tensor must not be reshaped into a shape whose size overflows to 0
        rows.append(BadInput(f"huge_from_empty_{s}", lambda s=s: tg.reshape(tg.constant(np.ones(0)), s),
                             (ValueError, MemoryError)))
    rows += [
        BadInput("dim_beyond_int64", lambda: tg.reshape(tg.constant(np.ones(4)), (2 ** 70,)),
                 (ValueError, OverflowError, MemoryError, TypeError)),
        BadInput("shape_entry_is_bool", lambda: tg.reshape(m23(), [True, 6]), TypeError, ("shape",)),
        BadInput("numpy_int_array_target", lambda: tg.reshape(m23(), np.array([3, 2])), None, shape=(3, 2)),
    ]
    return tuple(rows)


def _transpose_bad_inputs():
    rows = [BadInput(f"perm_{p}", lambda p=p: tg.transpose(ones64((2, 3, 4)), p), ValueError, ((2, 3, 4),))
            for p in [(0, 0, 1), (0, 1), (0, 1, 2, 3), (0, 1, 3)]]
    rows += [
        # negative entries count from the end, as in numpy
        BadInput("perm_negative_entries", lambda: tg.transpose(ones64((2, 3, 4)), (-1, 0, 1)), None, shape=(4, 2, 3)),
        BadInput("perm_beyond_int64", lambda: tg.transpose(m23(), (0, 2 ** 70)), ValueError, ("perm",)),
        BadInput("perm_is_string", lambda: tg.transpose(m23(), "10"), TypeError, ("perm",)),
        BadInput("perm_numpy_int_array", lambda: tg.transpose(m23(), np.array([1, 0])), None, shape=(3, 2)),
    ]
    return tuple(rows)


def _broadcast_to_bad_inputs():
    rows = [BadInput(f"target_{fmt(src)}_to_{t}", lambda src=src, t=t: tg.broadcast_to(ones64(src), t),
                     ValueError, (src,))
            for src, t in [((3,), (4,)), ((2, 3), (3,)), ((2, 3), (3, 3)), ((2,), (2, -1)), ((2,), (-2, 2))]]
    rows.append(BadInput("rank_above_limit", lambda: tg.broadcast_to(tg.constant(1.0), (1,) * 9), ValueError))
    rows += [BadInput(f"huge_{s}", lambda s=s: tg.broadcast_to(tg.constant(1.0), s), (ValueError, MemoryError))
             for s in HUGE_SHAPES]
    rows += [
        BadInput("dim_beyond_int64", lambda: tg.broadcast_to(tg.constant(1.0), (2 ** 64 + 1,)),
                 (ValueError, OverflowError, MemoryError, TypeError)),
        BadInput("shape_float", lambda: tg.broadcast_to(x2(), (2.0, 2)), TypeError, ("shape",)),
        BadInput("numpy_int_array_target", lambda: tg.broadcast_to(m23(), np.array([4, 2, 3])), None,
                 shape=(4, 2, 3)),
    ]
    return tuple(rows)


def _cast_bad_inputs():
    rows = [BadInput(f"dtype_{k}", lambda d=d: tg.cast(x2(), d), TypeError) for k, d in BAD_DTYPES.items()]
    rows.append(BadInput("to_uint32", lambda: tg.cast(x2(), "uint32"), TypeError, ("uint32",)))
    rows.append(BadInput("to_int64_looks_bad", lambda: tg.cast(x2(), "int64"), None, shape=(2,)))
    return tuple(rows)


def _pow_bad_inputs():
    ints = tg.constant(np.array([1, -2, 3], np.int32))
    return _binary_bad_inputs("pow") + (
        BadInput("int_negative_exponent", lambda: i3() ** -1, ValueError, ("negative", "int32")),
        BadInput("int_negative_exponent_tensor", lambda: tg.pow(i3(), ints), ValueError, ("-2",)),
        BadInput("int_base_python_float_exponent", lambda: i3() ** 0.5, TypeError, ("float", "int32")),
        BadInput("int_exponent_beyond_int32", lambda: i3() ** (2 ** 40), ValueError, ("int32",)),
        BadInput("exponent_beyond_float", lambda: x2() ** (2 ** 2000), ValueError, ("too large",)),
        BadInput("exponent_none", lambda: x2() ** None, TypeError, ("None",)),
        BadInput("exponent_string", lambda: x2() ** "2", TypeError),
        BadInput("function_exponent_string", lambda: tg.pow(x2(), "2"), TypeError, ("str",)),
        BadInput("modulo", lambda: pow(x2(), 2, 3), TypeError, ("modulo",)),
        BadInput("int_with_float", lambda: tg.pow(i3(), tg.constant([1.0, 2.0, 3.0])), TypeError,
                 ("int32", "float32")),
        BadInput("bools", lambda: tg.pow(i3(np.bool_), i3(np.bool_)), TypeError, ("bool",)),
        # any real exponent is valid for floats
        BadInput("exponent_fractional_looks_bad", lambda: x2() ** 0.5, None, shape=(2,)),
        BadInput("exponent_tensor_looks_bad", lambda: x2() ** x2(), None, shape=(2,)),
        BadInput("exponent_huge_looks_bad", lambda: x2() ** (2 ** 30), None, shape=(2,)),
    )


def _division_bad_inputs(name):
    fn = getattr(tg, name)
    zero = tg.constant(np.array([1, 0, 2], np.int32))
    return _binary_bad_inputs(name) + (
        BadInput("int_zero_divisor", lambda: fn(i3(), zero), ValueError, ("division by zero",)),
        BadInput("int64_zero_scalar_divisor", lambda: fn(i3(np.int64), 0), ValueError, ("division by zero",)),
        BadInput("int_with_float", lambda: fn(i3(), tg.constant([1.0, 2.0, 3.0])), TypeError, ("int32", "float32")),
        BadInput("int_with_python_float", lambda: fn(i3(), 2.5), TypeError, ("float", "int32")),
        BadInput("bools", lambda: fn(i3(np.bool_), i3(np.bool_)), TypeError, ("bool",)),
        # a zero float divisor is IEEE division (inf or NaN), not an error
        BadInput("float_zero_divisor_looks_bad", lambda: fn(x2(), 0.0), None, shape=(2,)),
    ) + non_numeric_rows(lambda bad: fn(x2(), bad))


_ADD_EXTRA = (
    BadInput("operator_shape_mismatch", lambda: ones64(3) + ones64(4), ValueError),
    BadInput("int_beyond_float64_partner", lambda: tg.add(x2(), -(2 ** 10000)), ValueError, ("too large",)),
    BadInput("operator_none", lambda: x2() + None, TypeError, ("None",)),
    BadInput("int_with_float", lambda: i3() + tg.constant([1.0, 2.0, 3.0]), TypeError, ("int32", "float32")),
    BadInput("int_with_python_float", lambda: i3() + 2.5, TypeError, ("float", "int32")),
    BadInput("int_with_float_array", lambda: i3() + np.array([1.5, 0, 0]), TypeError, ("float64", "int32")),
    BadInput("int_with_python_int_beyond_int32", lambda: i3() + 2 ** 40, ValueError, ("1099511627776", "int32")),
    BadInput("bools", lambda: tg.add(i3(np.bool_), i3(np.bool_)), TypeError, ("bool",)),
) + tuple(BadInput(k, lambda r=r: tg.add(r, 1.0), (ValueError, TypeError)) for k, r in RAGGED.items())

_SUBTRACT_EXTRA = (BadInput("operator_dict", lambda: x2() - {"a": 1}, TypeError),)
_MULTIPLY_EXTRA = (
    BadInput("operator_shape_mismatch_numpy_partner", lambda: ones64(3) * np.ones(4), ValueError),
    BadInput("reflected_operator_none", lambda: None * x2(), TypeError, ("None",)),
)
_DIVIDE_EXTRA = (
    BadInput("operator_complex", lambda: x2() / 1j, TypeError, ("complex",)),
    BadInput("ints", lambda: i3() / i3(), TypeError, ("int32", "float32 or float64")),
    BadInput("int64s", lambda: tg.divide(i3(np.int64), 2), TypeError, ("int64",)),
)


# =============================================================================================
# The table
# =============================================================================================

_BINARY_VARIANTS = tuple(Variant(f"{p}-{fmt(a)}-{fmt(b)}", (a, b)) for p, a, b in BROADCAST_PATTERNS)
_SECOND_ORDER_PATTERNS = ("same_2d", "scalar_left", "both_3x1_1x4", "both_2x1x4_3x1")
_BINARY_FUZZ = (("tensor", None), ("tensor", None))


def _binary(name, np_fn, op, domain, extra_bad, high_rank=False):
    variants = _BINARY_VARIANTS
    if high_rank:
        variants += tuple(Variant(f"high_rank{r}", _high_rank_shapes(r), spellings=(name,),
                                  check={"dtypes": (F64,)}) for r in (7, 8))
    return OpSpec(
        name=name, spellings={name: getattr(tg, name), op[0]: op[1]}, ref=np_fn, arity=2,
        kind="elementwise", domain=domain, variants=variants,
        second_order_variants=tuple(v.id for v in _BINARY_VARIANTS if v.id.split("-")[0] in _SECOND_ORDER_PATTERNS),
        fuzz_args=_BINARY_FUZZ, reflected=True,
        bad_inputs=_binary_bad_inputs(name) + extra_bad + (
            non_numeric_rows(lambda bad: getattr(tg, name)(x2(), bad)) if name in ("add", "multiply") else ()))


_UNARY_VARIANTS = tuple(Variant(fmt(s), (s,)) for s in UNARY_SHAPES)

_BOOL = np.dtype(np.bool_)


def _broadcasting(name, ref, spellings=None, check=None, domain=(randn, randn), differentiable=True):
    """A broadcasting binary op without the arithmetic operators' extra rows."""
    fn = getattr(tg, name)
    return OpSpec(
        name=name, spellings={name: fn, **(spellings or {})}, ref=ref, arity=2, kind="elementwise",
        domain=domain, variants=_BINARY_VARIANTS, check=check or {},
        second_order_variants=tuple(v.id for v in _BINARY_VARIANTS if v.id.split("-")[0] in _SECOND_ORDER_PATTERNS)
        if differentiable else (),
        fuzz_args=_BINARY_FUZZ, reflected=False,
        bad_inputs=_binary_bad_inputs(name) + (
            BadInput("int_with_float", lambda: fn(i3(), tg.constant([1.0, 2.0, 3.0])), TypeError,
                     ("int32", "float32")),))


def _comparison(name, ref, operator_spelling=None):
    spellings = dict([operator_spelling]) if operator_spelling else None
    spec = _broadcasting(name, ref, spellings, check={"check_grad": False}, differentiable=False)
    return dataclasses.replace(spec, kind="comparison")


def _logical(name, ref):
    fn = getattr(tg, name)
    return OpSpec(
        name=name, spellings={name: fn}, ref=ref, arity=2, kind="logical", domain=(randn, randn),
        variants=_BINARY_VARIANTS, check={"check_grad": False, "dtypes": (_BOOL,)}, fuzz_args=_BINARY_FUZZ,
        bad_inputs=(BadInput("floats", lambda: fn(x2(), x2()), TypeError, ("bool", "float32")),))


def _reduction(name, np_fn, bad_inputs, second_order):
    variants = []
    for shape, axis in REDUCTION_CASES:
        for keep in (False, True):
            variants.append(Variant(f"{fmt(shape)}-axis{axis}-{'keepdims' if keep else 'nokeep'}", (shape,),
                                    {"axis": axis, "keepdims": keep}))
    variants += [Variant("defaults", ((3, 4, 2),)),
                 Variant("positional_axis", ((3, 4, 2),), {"axis": (0, 2)}, positional=True)]
    if name == "reduce_sum":
        variants += [Variant(f"high_rank{r}", (_high_rank_shapes(r)[0],), {"axis": (0, -1), "keepdims": True},
                             check={"dtypes": (F64,)}) for r in (7, 8)]
    return OpSpec(
        name=name, spellings={name: getattr(tg, name)},
        ref=lambda a, axis=None, keepdims=False: np_fn(a, axis=axis, keepdims=keepdims), arity=1,
        kind="reduction", domain=(randn,), variants=tuple(variants), second_order=second_order,
        fuzz_args=(("tensor", None), ("axis", "axis"), ("bool", "keepdims")), bad_inputs=bad_inputs)


def _selection(name, np_fn, bool_input=False):
    """reduce_max/min (differentiable) or reduce_any/all (bool in and out): the reduction rows."""
    fn = getattr(tg, name)
    spec = _reduction(name, np_fn, tuple(_axis_rows(name, with_types=False)), {})
    if bool_input:
        flags = tg.constant(np.ones((2, 3), np.bool_))
        return dataclasses.replace(spec, kind="logical", check={"check_grad": False, "dtypes": (_BOOL,)}, bad_inputs=(
            BadInput("float", lambda: fn(x2()), TypeError, ("bool", "float32")),
            BadInput("axis_2", lambda: fn(flags, axis=2), ValueError, ((2, 3),)),
            BadInput("axis_repeated", lambda: fn(flags, axis=(1, -1)), ValueError, ((2, 3),))))
    return dataclasses.replace(spec, second_order={name: lambda t: fn(t * t, axis=0) * t}, bad_inputs=spec.bad_inputs + (
        BadInput("bools", lambda: fn(i3(np.bool_)), TypeError, ("bool",)),))


def _arg(name, np_fn):
    fn = getattr(tg, name)
    return OpSpec(
        name=name, spellings={name: fn}, ref=lambda a, axis=0: np_fn(a, axis=axis), arity=1, kind="reduction",
        domain=(randn,), check={"check_grad": False},
        variants=(Variant("3x4-default", ((3, 4),)), Variant("3x4-axis1", ((3, 4),), {"axis": 1}),
                  Variant("2x3x4-axis-1", ((2, 3, 4),), {"axis": -1}), Variant("5-axis0", ((5,),), {"axis": 0})),
        fuzz_args=(("tensor", None), ("axis", "axis")),
        bad_inputs=(BadInput("axis_out_of_range", lambda: fn(m23(), axis=2), ValueError, ((2, 3),)),
                    BadInput("axis_tuple", lambda: fn(m23(), axis=(0, 1)), TypeError, ("one int",)),
                    BadInput("scalar", lambda: fn(tg.constant(1.0)), ValueError, ("rank",)),
                    BadInput("empty_axis", lambda: fn(tg.constant(np.zeros((0, 3))), axis=0), ValueError, ("empty",)),
                    BadInput("bools", lambda: fn(i3(np.bool_)), TypeError, ("bool",))))


def _logsumexp_ref(a, axis=None, keepdims=False):
    peak = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(a.ndim)))


def _matmul_variants():
    out = []
    for case, sa, sb in MATMUL_CASES:
        for ta in (False, True):
            for tb in (False, True):
                out.append(Variant(f"{case}-{fmt(sa)}@{fmt(sb)}-{'aT' if ta else 'a'}-{'bT' if tb else 'b'}",
                                   (_stored(sa, ta), _stored(sb, tb)), {"transpose_a": ta, "transpose_b": tb},
                                   spellings=("matmul",)))
    out.append(Variant("batched_a-2x3x4@4x5", ((2, 3, 4), (4, 5)), spellings=("op@",)))
    return tuple(out)


# Cast's gradient is checked on float32 values: finite differences need a large step (cast is linear).
_CAST_CHECK = {"eps": 1e-2, "grad_rtol": 1e-4, "grad_atol": 1e-4}


def positive(rng, shape):
    """Values in [0.5, 2]: the domain of log, sqrt and rsqrt away from its edge."""
    return np.asarray(rng.uniform(0.5, 2.0, size=shape), dtype=np.float64)


def above_minus_one(rng, shape):
    """Values in [-0.5, 2]: log1p's domain away from -1."""
    return np.asarray(rng.uniform(-0.5, 2.0, size=shape), dtype=np.float64)


def away_from_kinks_of_relu6(rng, shape):
    """Values at least 0.3 from relu6's kinks at 0 and 6, on every piece."""
    piece = rng.integers(0, 3, size=shape)
    x = np.where(piece == 0, -rng.uniform(0.3, 3.0, size=shape),
                 np.where(piece == 1, rng.uniform(0.3, 5.7, size=shape), rng.uniform(6.3, 9.0, size=shape)))
    return np.asarray(x, dtype=np.float64)


def away_from_halves(rng, shape):
    """Values at least 0.05 from the integers and halves where floor and round jump."""
    base = rng.integers(-6, 6, size=shape) + rng.choice([0.25, 0.75], size=shape)
    return np.asarray(base + rng.uniform(-0.15, 0.15, size=shape), dtype=np.float64)


def _math(name, ref, domain, second_order=None, check=None):
    """A float-only unary elementwise op: its rows, fuzz target and bad inputs."""
    fn = getattr(tg, name)
    return OpSpec(
        name=name, spellings={name: fn}, ref=ref, arity=1, kind="elementwise", domain=(domain,),
        variants=_UNARY_VARIANTS, check=check or {}, second_order=second_order or {},
        fuzz_args=(("tensor", None),),
        bad_inputs=non_numeric_rows(lambda bad: fn(bad))
        + (BadInput("int_tensor", lambda: fn(i3()), TypeError, ("int32", "float32 or float64")),))


def near_one(rng, shape):
    """|x| in [0.7, 1.3], random sign: long products stay within float32's range."""
    sign = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    return np.asarray(sign * rng.uniform(0.7, 1.3, size=shape), dtype=np.float64)


def scan_ref(np_scan, a, axis=0, exclusive=False, reverse=False):
    """numpy's cumsum/cumprod with TensorFlow's exclusive and reverse flags."""
    a = np.asarray(a)
    x = np.flip(a, axis) if reverse else a
    out = np_scan(x, axis=axis)
    if exclusive and a.shape[axis]:
        identity = np.zeros_like(np.take(out, [0], axis=axis)) + (1 if np_scan is np.cumprod else 0)
        out = np.concatenate([identity, np.delete(out, -1, axis=axis)], axis=axis)
    return (np.flip(out, axis) if reverse else out).astype(a.dtype)


def _scan(name, np_scan, domain, second_order):
    fn = getattr(tg, name)
    variants = [Variant(f"{fmt(s)}-default", (s,)) for s in [(_d(),), _shape(2), (1031,)]]
    for shape, axis in [((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((37, 67), 0), ((5, 129), -1)]:
        for exclusive in (False, True):
            for reverse in (False, True):
                variants.append(Variant(f"{fmt(shape)}-axis{axis}-{'excl' if exclusive else 'incl'}-"
                                        f"{'rev' if reverse else 'fwd'}", (shape,),
                                        {"axis": axis, "exclusive": exclusive, "reverse": reverse}))
    variants.append(Variant("2x3x4-positional", ((2, 3, 4),), {"axis": 2, "exclusive": True, "reverse": True},
                            positional=True))
    return OpSpec(
        name=name, spellings={name: fn}, ref=lambda a, **kw: scan_ref(np_scan, a, **kw), arity=1,
        kind="reduction", domain=(domain,), variants=tuple(variants), second_order=second_order,
        fuzz_args=(("tensor", None), ("axis", "axis"), ("bool", "exclusive"), ("bool", "reverse")),
        bad_inputs=(BadInput("axis_out_of_range", lambda: fn(m23(), axis=2), ValueError, ((2, 3),)),
                    BadInput("axis_negative_out_of_range", lambda: fn(m23(), axis=-3), ValueError, ((2, 3),)),
                    BadInput("axis_tuple", lambda: fn(m23(), axis=(0, 1)), TypeError, ("one int",)),
                    BadInput("axis_float", lambda: fn(m23(), axis=1.0), TypeError, ("axis",)),
                    BadInput("scalar", lambda: fn(tg.constant(1.0)), ValueError, ("rank",)),
                    BadInput("exclusive_not_bool", lambda: fn(m23(), exclusive="yes"), TypeError, ("exclusive",)),
                    BadInput("reverse_not_bool", lambda: fn(m23(), reverse=None), TypeError, ("reverse",)),
                    BadInput("bools", lambda: fn(i3(np.bool_)), TypeError, ("bool",)))
        + non_numeric_rows(lambda bad: fn(bad)))


def _gelu_ref(a, approximate):
    if approximate:
        return (0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3)))).astype(np.asarray(a).dtype)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * a * (1 + erf(np.asarray(a, np.float64) / np.sqrt(2)))).astype(np.asarray(a).dtype)


def _softmax_ref(a, axis=-1, log=False):
    a64 = np.asarray(a, np.float64)
    shifted = a64 - np.max(a64, axis=axis, keepdims=True)
    logs = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return (logs if log else np.exp(logs)).astype(np.asarray(a).dtype)


def _softmax_row(name, log):
    fn = getattr(tg, name)
    shapes = [s for s in UNARY_SHAPES if len(s) >= 1]
    return OpSpec(
        name=name, spellings={name: fn, f"nn.{name}": getattr(tg.nn, name)},
        ref=lambda a, axis=-1: _softmax_ref(a, axis, log), arity=1, kind="elementwise", domain=(randn,),
        variants=tuple(Variant(fmt(s), (s,)) for s in shapes)
        + (Variant("3x4-axis0", ((3, 4),), {"axis": 0}), Variant("2x3x4-axis1", ((2, 3, 4),), {"axis": 1}),
           Variant("2x3x4-axis-2-positional", ((2, 3, 4),), {"axis": -2}, positional=True)),
        second_order={name: lambda t: fn(t * t) * t},
        fuzz_args=(("tensor", None), ("axis", "axis")),
        bad_inputs=(BadInput("scalar", lambda: fn(tg.constant(1.0)), ValueError, ("rank",)),
                    BadInput("axis_out_of_range", lambda: fn(m23(), axis=2), ValueError, ((2, 3),)),
                    BadInput("ints", lambda: fn(i3()), TypeError, ("int32",))))


def _sigmoid_ref(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---- losses -------------------------------------------------------------------------------------

_LABEL_RNG = np.random.default_rng(1717)  # the sparse rows' labels, apart from _SHAPE_RNG's draws
_SPARSE = "sparse_softmax_cross_entropy_with_logits"
_DENSE = "softmax_cross_entropy_with_logits"
_SIGMOID = "sigmoid_cross_entropy_with_logits"


def _log_softmax64(a, axis=-1):
    a = np.asarray(a, np.float64)
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _sparse_ref(logits, labels):
    logs = _log_softmax64(logits)
    picked = np.take_along_axis(logs, np.asarray(labels, np.int64)[..., None], axis=-1)[..., 0]
    return (-picked).astype(np.asarray(logits).dtype)


def _sparse_on_logits(logits, labels=np.zeros((), np.int64)):
    """The sparse loss as a function of the logits (the labels are integers, never differentiated),
    by TensorFlow's keywords."""
    return tg.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def _sparse_variant(id_, logits_shape, label_dtype=np.int64):
    labels = np.asarray(_LABEL_RNG.integers(0, max(logits_shape[-1], 1), size=logits_shape[:-1]), label_dtype)
    return Variant(id_, (logits_shape,), {"labels": labels}, spellings=("logits_only",))


def _i64(a):
    return tg.constant(np.asarray(a, np.int64))


def _sparse_row():
    fn = getattr(tg, _SPARSE)
    labels = np.array([0, 3, 1])
    return OpSpec(
        name=_SPARSE, spellings={_SPARSE: fn, f"nn.{_SPARSE}": getattr(tg.nn, _SPARSE), "logits_only": _sparse_on_logits},
        ref=_sparse_ref, arity=1, kind="loss", domain=(randn,),
        variants=(_sparse_variant("classes5-labels_scalar", (5,)),
                  _sparse_variant("4x6", (4, 6)), _sparse_variant("4x6-int32_labels", (4, 6), np.int32),
                  _sparse_variant("2x3x4", (2, 3, 4)), _sparse_variant("37x67", (37, 67)),
                  _sparse_variant("3x33-lane_tail", (3, 33)), _sparse_variant("5x1-one_class", (5, 1)),
                  _sparse_variant("empty_batch", (0, 5))),
        second_order={_SPARSE: lambda t: _sparse_on_logits(t * t, labels) * tg.reduce_sum(t, axis=1)},
        fuzz_args=(("tensor", "labels"), ("tensor", "logits")),
        bad_inputs=(
            BadInput("label_too_big", lambda: fn(_i64([0, 1, 2, 7]), ones64((4, 5))), ValueError,
                     ("label 7", "position 3", "[0, 5)")),
            BadInput("label_negative", lambda: fn(_i64([[0, -1]]), ones64((1, 2, 3))), ValueError,
                     ("label -1", "(0, 1)", "[0, 3)")),
            BadInput("label_equal_to_class_count", lambda: fn(tg.constant(np.array([5], np.int32)), ones64((1, 5))),
                     ValueError, ("label 5", "[0, 5)")),
            BadInput("no_classes", lambda: fn(_i64([0]), ones64((1, 0))), ValueError, ("label 0", "[0, 0)")),
            BadInput("labels_shape", lambda: fn(_i64([0, 1, 2]), ones64((4, 5))), ValueError, ((3,), (4, 5))),
            BadInput("labels_same_rank_as_logits", lambda: fn(_i64([[0], [1]]), ones64((2, 5))), ValueError,
                     ((2, 1), (2, 5))),
            BadInput("int_logits", lambda: fn(_i64([0]), tg.constant(np.ones((1, 3), np.int32))), TypeError,
                     ("logits", "int32")),
            BadInput("float_labels", lambda: fn(tg.constant([0.0, 1.0]), ones64((2, 3))), TypeError,
                     ("labels", "float32")),
            BadInput("scalar_logits", lambda: fn(_i64(0), tg.constant(1.0)), ValueError, ("rank",)),
            BadInput("empty_batch", lambda: fn(_i64(np.zeros(0)), ones64((0, 5))), None, shape=(0,)),
            BadInput("numpy_int_labels_with_float32_logits", lambda: fn(np.array([2, 0]), m23()), None, shape=(2,)),
        ) + non_numeric_rows(lambda bad: fn(bad, ones64((2, 3)))))


def _dense_ref(labels, logits, axis=-1):
    out = -np.sum(np.asarray(labels, np.float64) * _log_softmax64(logits, axis), axis=axis)
    return out.astype(np.asarray(logits).dtype)


def _distributions(rng, shape):
    """Non-negative labels summing to 1 along the last axis (a probability per class)."""
    p = rng.uniform(0.05, 1.0, size=shape)
    return np.asarray(p / np.sum(p, axis=-1, keepdims=True) if len(shape) else p, dtype=np.float64)


def _dense_row():
    fn = getattr(tg, _DENSE)
    shapes = [(5,), (4, 6), (2, 3, 4), (37, 67), (3, 33), (0, 5)]
    return OpSpec(
        name=_DENSE, spellings={_DENSE: fn, f"nn.{_DENSE}": getattr(tg.nn, _DENSE)},
        ref=_dense_ref, arity=2, kind="loss", domain=(_distributions, randn),
        variants=tuple(Variant(fmt(s), (s, s)) for s in shapes)
        + (Variant("3x4-axis0", ((3, 4), (3, 4)), {"axis": 0}),
           Variant("2x3x4-axis1", ((2, 3, 4), (2, 3, 4)), {"axis": 1}),
           Variant("2x3x4-axis-3-positional", ((2, 3, 4), (2, 3, 4)), {"axis": -3}, positional=True),
           Variant("unnormalised_labels", ((3, 5), (3, 5)), check={"dtypes": (F64,)})),
        second_order={_DENSE: lambda t: fn(labels=tg.nn.softmax(t), logits=t * t)},
        fuzz_args=(("tensor", "labels"), ("tensor", "logits"), ("axis", "axis")),
        bad_inputs=(
            BadInput("shape_mismatch", lambda: fn(ones64((2, 3)), ones64((2, 4))), ValueError, ((2, 3), (2, 4))),
            BadInput("labels_broadcast", lambda: fn(ones64((3,)), ones64((2, 3))), ValueError, ((3,), (2, 3))),
            BadInput("int_logits", lambda: fn(i3(), i3()), TypeError, ("logits", "int32")),
            BadInput("dtype_mismatch", lambda: fn(ones64((2, 3)), m23()), TypeError, ("float64", "float32")),
            BadInput("axis_out_of_range", lambda: fn(m23(), m23(), axis=2), ValueError, ((2, 3),)),
            BadInput("scalar", lambda: fn(tg.constant(1.0), tg.constant(1.0)), ValueError, ("rank",)),
            BadInput("empty_batch", lambda: fn(ones64((0, 3)), ones64((0, 3))), None, shape=(0,)),
            BadInput("no_classes", lambda: fn(ones64((2, 0)), ones64((2, 0))), None, shape=(2,)),
        ) + non_numeric_rows(lambda bad: fn(bad, ones64((2, 3)))))


def _sigmoid_xent_ref(labels, logits):
    x, z = np.asarray(logits, np.float64), np.asarray(labels, np.float64)
    return (np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))).astype(np.asarray(logits).dtype)


def _unit(rng, shape):
    return np.asarray(rng.uniform(0.0, 1.0, size=shape), dtype=np.float64)


def _sigmoid_xent_row():
    fn = getattr(tg, _SIGMOID)
    return OpSpec(
        name=_SIGMOID, spellings={_SIGMOID: fn, f"nn.{_SIGMOID}": getattr(tg.nn, _SIGMOID)},
        ref=_sigmoid_xent_ref, arity=2, kind="loss", domain=(_unit, randn),
        variants=tuple(Variant(fmt(s), (s, s)) for s in UNARY_SHAPES + [(0, 3)]),
        second_order={_SIGMOID: lambda t: fn(labels=tg.sigmoid(t), logits=t * t) * t},
        fuzz_args=(("tensor", "labels"), ("tensor", "logits")),
        bad_inputs=(
            BadInput("shape_mismatch", lambda: fn(ones64((2, 3)), ones64((3, 2))), ValueError, ((2, 3), (3, 2))),
            BadInput("no_broadcasting", lambda: fn(ones64((3,)), ones64((2, 3))), ValueError, ((3,), (2, 3))),
            BadInput("int_logits", lambda: fn(i3(), i3()), TypeError, ("logits", "int32")),
            BadInput("dtype_mismatch", lambda: fn(ones64((2, 3)), m23()), TypeError, ("float64", "float32")),
        ) + non_numeric_rows(lambda bad: fn(bad, ones64((2, 3)))))


def _l2_loss_row():
    return OpSpec(
        name="l2_loss", spellings={"l2_loss": tg.l2_loss, "nn.l2_loss": tg.nn.l2_loss},
        ref=lambda a: np.asarray(np.sum(np.square(a, dtype=np.float64)) / 2, dtype=np.asarray(a).dtype),
        arity=1, kind="loss", domain=(randn,),
        variants=_UNARY_VARIANTS + (Variant("empty", ((0, 3),)), Variant("131072-chunks", ((2 ** 17 + 5,),))),
        second_order={"l2_loss": lambda t: tg.l2_loss(t * t) * t},
        fuzz_args=(("tensor", "t"),),
        bad_inputs=(BadInput("ints", lambda: tg.l2_loss(i3()), TypeError, ("int32",)),
                    BadInput("empty_is_zero", lambda: tg.l2_loss(ones64((0, 4))), None, shape=()))
        + non_numeric_rows(lambda bad: tg.l2_loss(bad)))

# =============================================================================================
# Shapes and indexing: gather, one_hot, pad, tile, expand_dims, squeeze, split, unstack
# (Tensor.__getitem__ has its own tests in tests/ops/test_indexing.py)
# =============================================================================================

def _gather_ref(a, indices, axis=None, batch_dims=0):
    """numpy's take, batch by batch for batch_dims > 0 (tf.gather's meaning)."""
    indices = np.asarray(indices)
    axis = batch_dims if axis is None else axis  # TensorFlow's default, before either is normalised
    batch_dims = batch_dims + indices.ndim if batch_dims < 0 else batch_dims
    axis = axis + a.ndim if axis < 0 else axis
    if batch_dims == 0:
        return np.take(a, indices, axis=axis)
    return np.stack([_gather_ref(a[i], indices[i], axis - 1, batch_dims - 1) for i in range(a.shape[0])])


def _gather_cases():
    r = np.random.default_rng(7)
    return [
        ("5x3-repeated", (5, 3), {"indices": np.array([0, 2, 2, 4, 2])}),
        ("4x3-2d_indices", (4, 3), {"indices": np.array([[1, 0], [3, 3]])}),
        ("2x5x3-axis1", (2, 5, 3), {"indices": np.array([4, 0, 4], np.int32), "axis": 1}),
        ("2x5x3-axis-1", (2, 5, 3), {"indices": np.array([[2, 2], [0, 1]]), "axis": -1}),
        ("6-scalar_index", (6,), {"indices": np.array(3)}),
        ("4x3-empty_indices", (4, 3), {"indices": np.zeros((0,), np.int64)}),
        ("3x4x2-batch1", (3, 4, 2), {"indices": np.array([[3, 3], [0, 1], [2, 0]]), "batch_dims": 1}),
        ("2x3x4-batch1-axis2", (2, 3, 4), {"indices": np.array([[1, 1, 0, 3, 3], [2, 0, 0, 0, 1]]),
                                           "axis": 2, "batch_dims": 1}),
        ("2x3x4-batch-1", (2, 3, 4), {"indices": np.array([[0, 2], [1, 1]]), "batch_dims": -1}),
        ("37x67-large", (37, 67), {"indices": r.integers(0, 37, size=50)}),
    ]


def _gather_bad_inputs():
    g = tg.gather
    return (
        BadInput("index_past_end", lambda: g(m23(), [0, 2]), IndexError, ((2, 3), "2", "0 <= index < 2")),
        BadInput("negative_index", lambda: g(m23(), [-1]), IndexError, ("-1",)),
        BadInput("index_past_end_axis1", lambda: g(m23(), [[0], [3]], axis=1), IndexError, ("[1, 0]", "3")),
        BadInput("huge_index", lambda: g(m23(), np.array([2 ** 40])), IndexError, (str(2 ** 40),)),
        BadInput("index_into_empty_axis", lambda: g(tg.zeros((0, 3)), [0]), IndexError, ((0, 3),)),
        BadInput("float_indices", lambda: g(m23(), [0.5]), TypeError, ("int32 or int64",)),
        BadInput("float_tensor_indices", lambda: g(m23(), tg.constant([0.0])), TypeError, ("float32",)),
        BadInput("bool_indices", lambda: g(m23(), np.array([True])), TypeError, ("bool",)),
        BadInput("string_indices", lambda: g(m23(), "0"), TypeError, ("indices",)),
        BadInput("axis_2", lambda: g(m23(), [0], axis=2), ValueError, ((2, 3),)),
        BadInput("axis_-3", lambda: g(m23(), [0], axis=-3), ValueError, ((2, 3),)),
        BadInput("axis_float", lambda: g(m23(), [0], axis=1.0), TypeError, ("axis",)),
        BadInput("batch_dims_mismatch", lambda: g(m23(), np.zeros((3, 1), np.int64), batch_dims=1), ValueError,
                 ((2, 3), (3, 1))),
        BadInput("axis_below_batch_dims", lambda: g(m23(), np.zeros((2, 1), np.int64), axis=0, batch_dims=1),
                 ValueError, ("batch_dims",)),
        BadInput("batch_dims_above_rank", lambda: g(m23(), [0], batch_dims=2), ValueError, ("batch_dims",)),
        BadInput("result_rank_above_limit", lambda: g(ones64((1,) * 8), np.zeros((1, 1), np.int64)), ValueError,
                 ("rank",)),
        BadInput("empty_list_looks_bad", lambda: g(m23(), []), None, shape=(0, 3)),
        BadInput("uint8_indices_look_bad", lambda: g(m23(), np.array([1, 0], np.uint8)), None, shape=(2, 3)),
        BadInput("int_params", lambda: g(i3(), [2, 0]), None, shape=(2,)),
        BadInput("bool_params", lambda: g(i3(np.bool_), [2]), None, shape=(1,)),
    ) + non_numeric_rows(lambda bad: g(bad, [0]))


def _one_hot_ref(indices, depth, on_value=None, off_value=None, axis=None, dtype=None):
    given = on_value if on_value is not None else off_value
    if dtype is not None:
        dt = np.dtype(dtype)
    elif given is None:
        dt = np.dtype(np.float32)
    else:
        dt = np.dtype(np.int32 if isinstance(given, int) else np.float32)
    idx = np.asarray(indices)
    hot = idx[..., None] == np.arange(depth)
    hot = np.moveaxis(hot, -1, idx.ndim if axis in (None, -1) else axis)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    return np.where(hot, on, off).astype(dt)


_ONE_HOT_CASES = [
    ("out_of_range_rows", {"indices": np.array([0, 2, 1, 5, -1]), "depth": 3}),
    ("2d_axis0", {"indices": np.array([[0, 1, 3], [3, 2, 2]], np.int32), "depth": 4, "axis": 0}),
    ("2d_axis1", {"indices": np.array([[0, 1, 3], [3, 2, 2]]), "depth": 4, "axis": 1}),
    ("on_off_float64", {"indices": np.array([1, 0]), "depth": 2, "on_value": 5.0, "off_value": -1.5,
                        "dtype": np.float64}),
    ("int32_from_on_value", {"indices": np.array([2, 0]), "depth": 3, "on_value": 7}),
    ("int64_dtype", {"indices": np.array([2, 0]), "depth": 3, "dtype": np.int64}),
    ("bool_dtype", {"indices": np.array([2, 0]), "depth": 3, "dtype": np.bool_}),
    ("scalar_index", {"indices": np.array(1), "depth": 3}),
    ("empty_indices", {"indices": np.zeros((0, 2), np.int64), "depth": 3}),
    ("depth_0", {"indices": np.array([0, 1]), "depth": 0}),
]


def _one_hot_bad_inputs():
    f = tg.one_hot
    return (
        BadInput("float_indices", lambda: f([0.5, 1.0], 3), TypeError, ("int32 or int64",)),
        BadInput("float_tensor_indices", lambda: f(x2(), 3), TypeError, ("float32",)),
        BadInput("negative_depth", lambda: f([0], -1), ValueError, ("depth",)),
        BadInput("depth_float", lambda: f([0], 2.5), TypeError, ("depth",)),
        BadInput("axis_out_of_range", lambda: f([[0]], 2, axis=3), ValueError, ("axis",)),
        BadInput("axis_-2", lambda: f([[0]], 2, axis=-2), ValueError, ("axis",)),
        BadInput("float_on_value_int_dtype", lambda: f([0], 2, on_value=0.5, dtype=tg.int32), TypeError),
        BadInput("on_value_not_scalar", lambda: f([0], 2, on_value=[1.0, 2.0]), ValueError, ("on_value",)),
        BadInput("bad_dtype", lambda: f([0], 2, dtype="bogus"), TypeError),
        BadInput("rank_above_limit", lambda: f(np.zeros((1,) * 8, np.int64), 2), ValueError, ("rank",)),
        BadInput("huge_depth", lambda: f([0, 1], 2 ** 62), (ValueError, MemoryError)),
    )


def _pad_bad_inputs():
    p = tg.pad
    return (
        BadInput("negative_padding", lambda: p(m23(), [[0, -1], [0, 0]]), ValueError, (">= 0",)),
        BadInput("paddings_wrong_shape", lambda: p(m23(), [[1, 2]]), ValueError, ((2, 3), "[2, 2]")),
        BadInput("paddings_3_columns", lambda: p(m23(), [[1, 2, 3], [0, 0, 0]]), ValueError, ("[2, 3]",)),
        BadInput("paddings_float", lambda: p(m23(), [[0.5, 0], [0, 0]]), TypeError, ("integers",)),
        BadInput("paddings_none", lambda: p(m23(), None), TypeError, ("paddings",)),
        BadInput("mode_reflect", lambda: p(m23(), [[1, 1], [0, 0]], mode="REFLECT"), ValueError, ("REFLECT",)),
        BadInput("mode_symmetric", lambda: p(m23(), [[1, 1], [0, 0]], "symmetric"), ValueError, ("symmetric",)),
        BadInput("mode_unknown", lambda: p(m23(), [[1, 1], [0, 0]], "WRAP"), ValueError, ("WRAP",)),
        BadInput("mode_not_string", lambda: p(m23(), [[1, 1], [0, 0]], 3), TypeError, ("mode",)),
        BadInput("fractional_constant_for_ints", lambda: p(i3(), [[1, 1]], constant_values=2.5), ValueError,
                 ("int32",)),
        BadInput("constant_string", lambda: p(m23(), [[1, 1], [0, 0]], constant_values="a"), TypeError),
        BadInput("constant_not_scalar", lambda: p(m23(), [[1, 1], [0, 0]], constant_values=np.ones(2)),
                 ValueError, ("scalar",)),
        BadInput("huge_padding", lambda: p(m23(), [[2 ** 62, 0], [0, 0]]), (ValueError, MemoryError)),
        BadInput("padding_beyond_int64", lambda: p(m23(), [[2 ** 64, 0], [0, 0]]), (ValueError, TypeError)),
        BadInput("int_tensor_looks_bad", lambda: p(i3(), [[1, 2]], constant_values=-4), None, shape=(6,)),
        BadInput("bool_tensor_looks_bad", lambda: p(i3(np.bool_), [[0, 2]], constant_values=True), None,
                 shape=(5,)),
        BadInput("lowercase_mode_looks_bad", lambda: p(m23(), [[1, 0], [0, 0]], "constant"), None, shape=(3, 3)),
    ) + non_numeric_rows(lambda bad: p(bad, [[0, 0]]))


def _tile_bad_inputs():
    t = tg.tile
    return (
        BadInput("multiples_too_short", lambda: t(m23(), [2]), ValueError, ((2, 3),)),
        BadInput("multiples_too_long", lambda: t(m23(), [1, 1, 1]), ValueError, ((2, 3),)),
        BadInput("negative_multiple", lambda: t(m23(), [1, -1]), ValueError, (">= 0",)),
        BadInput("float_multiples", lambda: t(m23(), [1.5, 1]), TypeError, ("multiples",)),
        BadInput("huge_multiples", lambda: t(m23(), [2 ** 40, 2 ** 40]), (ValueError, MemoryError)),
        BadInput("overflowing_multiples", lambda: t(m23(), [2 ** 62, 2 ** 62]), (ValueError, MemoryError)),
        BadInput("int_tensor_looks_bad", lambda: t(i3(), [2]), None, shape=(6,)),
        BadInput("zero_multiple_looks_bad", lambda: t(m23(), [0, 2]), None, shape=(0, 6)),
        BadInput("empty_tensor_huge_multiple_looks_bad", lambda: t(tg.zeros((0,)), [2 ** 63 - 1]), None,
                 shape=(0,)),
    ) + non_numeric_rows(lambda bad: t(bad, [1]))


def _expand_dims_bad_inputs():
    e = tg.expand_dims
    return (
        BadInput("axis_3", lambda: e(m23(), 3), ValueError, ((2, 3),)),
        BadInput("axis_-4", lambda: e(m23(), -4), ValueError, ((2, 3),)),
        BadInput("two_axes", lambda: e(m23(), [0, 1]), ValueError, ("axis",)),
        BadInput("axis_string", lambda: e(m23(), "0"), TypeError, ("axis",)),
        BadInput("rank_above_limit", lambda: e(ones64((1,) * 8), 0), ValueError, ("rank",)),
        BadInput("bool_tensor_looks_bad", lambda: e(i3(np.bool_), 1), None, shape=(3, 1)),
    ) + non_numeric_rows(lambda bad: e(bad, 0))


def _squeeze_bad_inputs():
    s = tg.squeeze
    return (
        BadInput("axis_not_size_1", lambda: s(m23(), 1), ValueError, ((2, 3), "size 3")),
        BadInput("axis_out_of_range", lambda: s(ones64((1, 3)), 2), ValueError, ((1, 3),)),
        BadInput("axis_repeated", lambda: s(ones64((1, 3)), [0, 0]), ValueError, ("repeated",)),
        BadInput("axis_float", lambda: s(ones64((1, 3)), 0.0), TypeError, ("axis",)),
        BadInput("nothing_to_squeeze_looks_bad", lambda: s(m23()), None, shape=(2, 3)),
        BadInput("int_tensor_looks_bad", lambda: s(tg.reshape(i3(), (1, 3))), None, shape=(3,)),
    ) + non_numeric_rows(lambda bad: s(bad))


def _flat_concat(pieces):
    """The pieces flattened and laid end to end (with pad and add: concat is not an op here)."""
    flat = [tg.reshape(p if p.dtype != np.bool_ else tg.cast(p, tg.int32), (-1,)) for p in pieces]
    total = sum(int(f.shape[0]) for f in flat)
    out, offset = None, 0
    for f in flat:
        n = int(f.shape[0])
        placed = tg.pad(f, [[offset, total - offset - n]])
        out = placed if out is None else out + placed
        offset += n
    return out


def _np_flat_concat(pieces):
    return np.concatenate([p.reshape(-1) for p in pieces])


def _np_split(a, num_or_size_splits, axis=0):
    if isinstance(num_or_size_splits, int):
        return np.split(a, num_or_size_splits, axis=axis)
    sizes = list(num_or_size_splits)
    if -1 in sizes:
        sizes[sizes.index(-1)] = a.shape[axis] - (sum(sizes) + 1)
    return np.split(a, np.cumsum(sizes)[:-1], axis=axis)


_SPLIT_CASES = [
    ("6x4-count3", (6, 4), {"num_or_size_splits": 3}),
    ("3x8-count2-axis1", (3, 8), {"num_or_size_splits": 2, "axis": 1}),
    ("3x8-sizes", (3, 8), {"num_or_size_splits": [1, 4, 3], "axis": -1}),
    ("5x2-sizes_with_-1", (5, 2), {"num_or_size_splits": [2, -1]}),
    ("5x2-zero_size_piece", (5, 2), {"num_or_size_splits": [0, 5, 0]}),
    ("2x3x4-axis1-count1", (2, 3, 4), {"num_or_size_splits": 1, "axis": 1}),
    ("7-count7", (7,), {"num_or_size_splits": 7}),
]


def _split_bad_inputs():
    s = tg.split
    return (
        BadInput("count_does_not_divide", lambda: s(ones64((5, 2)), 2), ValueError, ((5, 2), "size 5")),
        BadInput("count_zero", lambda: s(ones64((4, 2)), 0), ValueError, ("0",)),
        BadInput("sizes_do_not_sum", lambda: s(ones64((5, 2)), [2, 2]), ValueError, ((5, 2), "[2, 2]")),
        BadInput("sizes_exceed_with_-1", lambda: s(ones64((5, 2)), [4, 3, -1]), ValueError, ("sum to 5",)),
        BadInput("two_-1", lambda: s(ones64((5, 2)), [-1, -1]), ValueError, ("-1",)),
        BadInput("negative_size", lambda: s(ones64((5, 2)), [-2, 7]), ValueError, (">= 0",)),
        BadInput("empty_sizes", lambda: s(ones64((5, 2)), []), ValueError, ("empty",)),
        BadInput("axis_out_of_range", lambda: s(ones64((4, 2)), 2, axis=2), ValueError, ((4, 2),)),
        BadInput("scalar", lambda: s(tg.constant(1.0), 1), ValueError, ("scalar",)),
        BadInput("float_count", lambda: s(ones64((4, 2)), 2.0), TypeError, ("num_or_size_splits",)),
        BadInput("float_sizes", lambda: s(ones64((4, 2)), [2.0, 2.0]), TypeError, ("num_or_size_splits",)),
    ) + non_numeric_rows(lambda bad: s(bad, 1))


def _unstack_bad_inputs():
    u = tg.unstack
    return (
        BadInput("scalar", lambda: u(tg.constant(1.0)), ValueError, ("scalar",)),
        BadInput("axis_out_of_range", lambda: u(m23(), axis=2), ValueError, ((2, 3),)),
        BadInput("num_mismatch", lambda: u(m23(), num=3), ValueError, ((2, 3), "num=3")),
        BadInput("axis_string", lambda: u(m23(), axis="1"), TypeError, ("axis",)),
    ) + non_numeric_rows(lambda bad: u(bad))


def _indexing_specs():
    # (the fuzzer calls every extra spelling as a binary operator: positional arguments pass on)
    flat_split = lambda t, *args, **kw: _flat_concat(tg.split(t, *args, **kw))  # noqa: E731
    flat_unstack = lambda t, *args, **kw: _flat_concat(tg.unstack(t, *args, **kw))  # noqa: E731
    return (
        OpSpec(
            name="gather", spellings={"gather": tg.gather}, ref=_gather_ref, arity=1, kind="shape",
            domain=(randn,), variants=tuple(Variant(i, (s,), a) for i, s, a in _gather_cases()),
            second_order={
                "gather": lambda t: tg.gather(t * t, [2, 0, 2]) * t,
                "gather_batch": lambda t: tg.gather(t * t, [[1, 1, 0, 3], [0, 0, 2, 2], [3, 2, 1, 0]],
                                                    batch_dims=1) * t,
            },
            fuzz_args=(("tensor", None), ("tensor", None), ("axis", "axis")),
            bad_inputs=_gather_bad_inputs()),
        OpSpec(
            name="one_hot", spellings={"one_hot": tg.one_hot}, ref=_one_hot_ref, arity=0, kind="shape",
            domain=(), variants=tuple(Variant(i, (), a) for i, a in _ONE_HOT_CASES),
            check={"check_grad": False, "dtypes": (F64,)},
            fuzz_args=(("tensor", None), ("number", None), ("axis", "axis")),
            bad_inputs=_one_hot_bad_inputs()),
        OpSpec(
            name="pad", spellings={"pad": tg.pad},
            ref=lambda a, paddings, mode="CONSTANT", constant_values=0: a.copy() if a.ndim == 0 else np.pad(
                a, np.asarray(paddings).reshape(a.ndim, 2), constant_values=constant_values),
            arity=1, kind="shape", domain=(randn,),
            variants=(
                Variant("3x4", ((3, 4),), {"paddings": [[1, 2], [0, 3]]}),
                Variant("3x4-constant", ((3, 4),), {"paddings": [[1, 0], [2, 2]], "constant_values": 1.5}),
                Variant("3x4-positional", ((3, 4),), {"paddings": [[0, 1], [1, 0]], "mode": "CONSTANT",
                                                      "constant_values": -2}, positional=True),
                Variant("5-numpy_paddings", ((5,),), {"paddings": np.array([[3, 1]])}),
                Variant("2x3x4", ((2, 3, 4),), {"paddings": [[1, 1], [0, 0], [2, 1]]}),
                Variant("2x3-no_padding", ((2, 3),), {"paddings": [[0, 0], [0, 0]]}),
                Variant("0x3", ((0, 3),), {"paddings": [[1, 1], [1, 0]]}),
                Variant("scalar", ((),), {"paddings": np.zeros((0, 2), np.int64)}),
                Variant("37x67-large", ((37, 67),), {"paddings": [[5, 3], [1, 17]]}),
            ),
            second_order={"pad": lambda t: tg.pad(t * t, [[1, 1], [0, 2]]) * tg.pad(t, [[1, 1], [0, 2]])},
            fuzz_args=(("tensor", None), ("shape", None), ("number", "constant_values")),
            bad_inputs=_pad_bad_inputs()),
        OpSpec(
            name="tile", spellings={"tile": tg.tile}, ref=lambda a, multiples: np.tile(a, multiples), arity=1,
            kind="shape", domain=(randn,),
            variants=tuple(Variant(f"{fmt(s)}-{m}", (s,), {"multiples": m}) for s, m in [
                ((2, 3), [2, 1]), ((2, 3), [1, 3]), ((2, 3), [2, 2]), ((2, 1, 3), [2, 3, 2]), ((), []),
                ((2, 3), [0, 2]), ((4,), [3]), ((2, 2, 1, 2), [1, 2, 3, 1])])
            + (Variant("2x3-positional", ((2, 3),), {"multiples": (3, 1)}, positional=True),),
            second_order={"tile": lambda t: tg.tile(t * t, [2, 1]) * tg.tile(t, [2, 1])},
            fuzz_args=(("tensor", None), ("shape", None)), bad_inputs=_tile_bad_inputs()),
        OpSpec(
            name="expand_dims", spellings={"expand_dims": tg.expand_dims},
            ref=lambda a, axis: np.expand_dims(a, axis), arity=1, kind="shape", domain=(randn,),
            variants=tuple(Variant(f"{fmt(s)}-axis{a}", (s,), {"axis": a}) for s, a in [
                ((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3), ((), 0), ((4,), -1)])
            + (Variant("2x3-positional", ((2, 3),), {"axis": 1}, positional=True),),
            second_order={"expand_dims": lambda t: tg.expand_dims(t * t, 1) * tg.expand_dims(t, 1)},
            fuzz_args=(("tensor", None), ("axis", None)), bad_inputs=_expand_dims_bad_inputs()),
        OpSpec(
            name="squeeze", spellings={"squeeze": tg.squeeze},
            ref=lambda a, axis=None: np.squeeze(a, tuple(axis) if isinstance(axis, list) else axis), arity=1,
            kind="shape", domain=(randn,),
            variants=tuple(Variant(f"{fmt(s)}-axis{a}", (s,), {} if a is None else {"axis": a}) for s, a in [
                ((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), [0, 2]), ((1, 3, 1), -1), ((2, 3), None),
                ((), None), ((1, 1), None), ((4, 1, 2), (1,))]),
            second_order={"squeeze": lambda t: tg.squeeze(tg.reshape(t * t, (3, 1, 4))) * t},
            fuzz_args=(("tensor", None), ("axis", "axis")), bad_inputs=_squeeze_bad_inputs()),
        OpSpec(
            # tg.split returns a list: the checks run the pieces laid end to end ("split(flat)").
            name="split", spellings={"split": tg.split, "split(flat)": flat_split},
            ref=lambda a, **kw: _np_flat_concat(_np_split(a, **kw)), arity=1, kind="shape", domain=(randn,),
            variants=tuple(Variant(i, (s,), a, spellings=("split(flat)",), check={"check_grad": True})
                           for i, s, a in _SPLIT_CASES),
            check={"check_grad": False},
            second_order={"split": lambda t: tg.split(t * t, [1, -1, 2], axis=1)[1] * tg.split(t, 2, axis=1)[0]},
            fuzz_args=(("tensor", None), ("shape", None), ("axis", "axis")), bad_inputs=_split_bad_inputs()),
        OpSpec(
            name="unstack", spellings={"unstack": tg.unstack, "unstack(flat)": flat_unstack},
            ref=lambda a, num=None, axis=0: _np_flat_concat(list(np.moveaxis(a, axis, 0))), arity=1,
            kind="shape", domain=(randn,),
            variants=tuple(Variant(f"{fmt(s)}-axis{a}", (s,), {"axis": a}, spellings=("unstack(flat)",),
                                   check={"check_grad": True})
                           for s, a in [((3, 4), 0), ((3, 4), 1), ((2, 3, 4), -1), ((5,), 0), ((2, 1, 3), 1)])
            + (Variant("3x4-num", ((3, 4),), {"num": 3}, spellings=("unstack(flat)",), check={"check_grad": True}),),
            check={"check_grad": False},
            second_order={"unstack": lambda t: tg.unstack(t * t)[1] * tg.unstack(t, axis=0)[2]},
            fuzz_args=(("tensor", None), ("number", "num"), ("axis", "axis")), bad_inputs=_unstack_bad_inputs()),
    )


# ---------------------------------------------------------------------------------------------
# where, concat, stack
# ---------------------------------------------------------------------------------------------

def _mask(shape, seed):
    return np.random.default_rng(seed).random(shape) < 0.5


def _where_variants():
    cases = [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()), ((4,), (3, 4), (3, 1)), ((), (2, 3), (2, 3)),
             ((2, 1, 4), (3, 1), (2, 3, 4)), ((0, 3), (3,), (1, 3)), ((), (), ())]
    return tuple(Variant(f"{fmt(c)}-{fmt(x)}-{fmt(y)}", (x, y), lead=(_mask(c, i),))
                 for i, (c, x, y) in enumerate(cases))


def _concat_variants():
    out = []
    for rank in (1, 2, 3):
        base = _shape(rank)
        for axis in range(-rank, rank):
            sizes = (_d(1, 4), 0 if rank == 2 else _d(1, 4), _d(1, 4))
            shapes = tuple(base[:axis % rank] + (n,) + base[axis % rank + 1:] for n in sizes)
            out.append(Variant(f"axis{axis}-" + "+".join(fmt(s) for s in shapes), shapes, {"axis": axis}, pack=True))
    out.append(Variant("one_value", ((2, 3),), {"axis": 1}, pack=True))
    out.append(Variant("positional_axis", ((2, 3), (2, 2)), {"axis": 1}, pack=True, positional=True))
    # More values than an op names inputs: the tape keeps their records on the heap.
    out.append(Variant("five_values", ((2, 1), (2, 3), (2, 0), (2, 2), (2, 1)), {"axis": 1}, pack=True))
    return tuple(out)


def _stack_variants():
    out = [Variant("scalars", ((), (), ()), pack=True), Variant("one_value", ((3,),), pack=True)]
    for rank in (1, 2):
        base = _shape(rank)
        for axis in range(-rank - 1, rank + 1):
            out.append(Variant(f"axis{axis}-{fmt(base)}x2", (base, base), {"axis": axis}, pack=True))
    out.append(Variant("five_values", ((3,),) * 5, {"axis": 1}, pack=True))
    return tuple(out)


def _where_bad_inputs():
    yes = np.array([True, False])
    return (
        BadInput("shapes", lambda: tg.where(yes, x2(), tg.ones((4,))), ValueError, ((2,), (4,))),
        BadInput("condition_shape", lambda: tg.where(np.ones(3, bool), x2(), x2()), ValueError, ((3,), (2,))),
        BadInput("float_condition", lambda: tg.where(x2(), x2(), x2()), TypeError, ("bool", "float32")),
        BadInput("dtypes", lambda: tg.where(yes, x2(), tg.ones((2,), tg.float64)), TypeError,
                 ("float32", "float64")),
        BadInput("none", lambda: tg.where(yes, None, x2()), TypeError, ("None",)),
        BadInput("ints", lambda: tg.where(yes, tg.constant(np.arange(2)), 7), None, shape=(2,)),
    )


def _concat_bad_inputs():
    f64 = tg.float64
    return (
        BadInput("shapes", lambda: tg.concat([m23(), tg.ones((3, 3))], 1), ValueError, ((3, 3), (2, 3))),
        BadInput("ranks", lambda: tg.concat([m23(), tg.ones((2,))], 0), ValueError, ((2,), (2, 3))),
        BadInput("axis", lambda: tg.concat([m23(), m23()], 2), ValueError, ("axis 2",)),
        BadInput("scalars", lambda: tg.concat([tg.constant(1.0), tg.constant(2.0)], 0), ValueError, ("scalar",)),
        BadInput("empty_list", lambda: tg.concat([], 0), ValueError, ("at least one",)),
        BadInput("a_tensor", lambda: tg.concat(m23(), 0), TypeError, ("list",)),
        BadInput("dtypes", lambda: tg.concat([m23(), tg.ones((2, 3), f64)], 0), TypeError, ("float32", "float64")),
        BadInput("no_axis", lambda: tg.concat([m23()]), TypeError, ("axis",)),
        BadInput("zero_size", lambda: tg.concat([tg.ones((0, 3)), tg.ones((0, 3))], 0), None, shape=(0, 3)),
        BadInput("weak_values", lambda: tg.concat([[1, 2], x2()], 0), None, shape=(4,)),
    )


def _stack_bad_inputs():
    return (
        BadInput("shapes", lambda: tg.stack([m23(), tg.ones((3, 2))]), ValueError, ((3, 2), (2, 3))),
        BadInput("axis", lambda: tg.stack([m23(), m23()], axis=3), ValueError, ("axis 3",)),
        BadInput("axis_float", lambda: tg.stack([m23()], axis=1.0), TypeError, ("axis",)),
        BadInput("dtypes", lambda: tg.stack([x2(), tg.ones((2,), tg.float64)]), TypeError, ("float32", "float64")),
        BadInput("empty_list", lambda: tg.stack([]), ValueError, ("at least one",)),
        BadInput("rank_8", lambda: tg.stack([tg.ones((1,) * 8)]), ValueError, ("rank",)),
    )


def _join_rows():
    return (
        OpSpec(
            name="where", spellings={"where": tg.where}, ref=lambda c, a, b: np.where(c, a, b), arity=2,
            kind="selection", domain=(randn, randn), variants=_where_variants(),
            second_order={"where": lambda t: tg.where(t > 0.0, t * t * t, tg.sin(t))},
            fuzz_args=(("tensor", None), ("tensor", None), ("tensor", None)), bad_inputs=_where_bad_inputs()),
        OpSpec(
            name="concat", spellings={"concat": tg.concat},
            ref=lambda *arrays, axis: np.concatenate(arrays, axis), arity=2, kind="shape",
            domain=(randn,) * 5, variants=_concat_variants(),
            second_order={"concat": lambda t: tg.concat([t * t, t], 0) * tg.concat([t, tg.sin(t)], 0)},
            fuzz_args=(("tensors", None), ("axis", "axis")), bad_inputs=_concat_bad_inputs()),
        OpSpec(
            name="stack", spellings={"stack": tg.stack}, ref=lambda *arrays, axis=0: np.stack(arrays, axis),
            arity=2, kind="shape", domain=(randn,) * 5, variants=_stack_variants(),
            second_order={"stack": lambda t: tg.reduce_sum(tg.stack([t * t, tg.sin(t)], axis=1), axis=1) * t},
            fuzz_args=(("tensors", None), ("axis", "axis")), bad_inputs=_stack_bad_inputs()),
    )


SPECS = (
    _binary("add", np.add, ("op+", operator.add), (randn, randn), _ADD_EXTRA),
    _binary("subtract", np.subtract, ("op-", operator.sub), (randn, randn), _SUBTRACT_EXTRA),
    _binary("multiply", np.multiply, ("op*", operator.mul), (randn, randn), _MULTIPLY_EXTRA, high_rank=True),
    _binary("divide", np.divide, ("op/", operator.truediv), (randn, away_from_zero), _DIVIDE_EXTRA),
    OpSpec(
        name="negative", spellings={"negative": tg.negative, "op_neg": operator.neg}, ref=np.negative, arity=1,
        kind="elementwise", domain=(randn,), variants=_UNARY_VARIANTS,
        second_order={"negative_square": lambda t: tg.negative(tg.square(t)) * t},
        fuzz_args=(("tensor", None),), operator_operands=1,
        bad_inputs=non_numeric_rows(lambda bad: tg.negative(bad))
        + (BadInput("bools", lambda: -i3(np.bool_), TypeError, ("bool",)),)),
    OpSpec(
        name="square", spellings={"square": tg.square}, ref=np.square, arity=1, kind="elementwise",
        domain=(randn,), variants=_UNARY_VARIANTS, fuzz_args=(("tensor", None),),
        bad_inputs=non_numeric_rows(lambda bad: tg.square(bad))),
    _math("elu", lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0))), away_from_zero,
          {"elu": lambda t: tg.elu(t) * t}),
    _math("erf", lambda a: np.vectorize(math.erf, otypes=[float])(a).astype(a.dtype) if a.ndim else
          np.asarray(math.erf(float(a)), dtype=a.dtype), randn, {"erf": lambda t: tg.erf(t) * t}),
    dataclasses.replace(
        _math("gelu", lambda a, approximate=False: _gelu_ref(a, approximate), randn,
              {"gelu": lambda t: tg.gelu(t) * t, "gelu_tanh": lambda t: tg.gelu(t, approximate=True) * t}),
        variants=_UNARY_VARIANTS + tuple(Variant(f"approximate-{v.id}", v.shapes, {"approximate": True})
                                         for v in _UNARY_VARIANTS[:4]),
        fuzz_args=(("tensor", None), ("bool", "approximate"))),
    dataclasses.replace(
        _math("leaky_relu", lambda a, alpha=0.2: np.where(a > 0, a, a * alpha).astype(a.dtype), away_from_zero,
              {"leaky_relu": lambda t: tg.nn.leaky_relu(t, 0.3) * t}),
        variants=_UNARY_VARIANTS + tuple(Variant(f"alpha0.5-{v.id}", v.shapes, {"alpha": 0.5})
                                         for v in _UNARY_VARIANTS[:3]),
        fuzz_args=(("tensor", None), ("number", "alpha"))),
    _softmax_row("softmax", log=False),
    _softmax_row("log_softmax", log=True),
    _sparse_row(),
    _dense_row(),
    _sigmoid_xent_row(),
    _l2_loss_row(),
    _broadcasting("maximum", np.maximum),
    _broadcasting("minimum", np.minimum),
    _broadcasting("squared_difference", lambda a, b: (a - b) ** 2),
    _comparison("equal", np.equal),
    _comparison("not_equal", np.not_equal),
    _comparison("less", np.less, ("op<", operator.lt)),
    _comparison("less_equal", np.less_equal, ("op<=", operator.le)),
    _comparison("greater", np.greater, ("op>", operator.gt)),
    _comparison("greater_equal", np.greater_equal, ("op>=", operator.ge)),
    _logical("logical_and", np.logical_and),
    _logical("logical_or", np.logical_or),
    OpSpec(
        name="logical_not", spellings={"logical_not": tg.logical_not}, ref=np.logical_not, arity=1,
        kind="logical", domain=(randn,), variants=_UNARY_VARIANTS,
        check={"check_grad": False, "dtypes": (_BOOL,)}, fuzz_args=(("tensor", None),),
        bad_inputs=(BadInput("float", lambda: tg.logical_not(x2()), TypeError, ("bool", "float32")),)),
    OpSpec(
        name="clip_by_value", spellings={"clip_by_value": tg.clip_by_value},
        ref=lambda a, clip_value_min, clip_value_max: np.clip(a, clip_value_min, clip_value_max).astype(a.dtype),
        arity=1,
        kind="elementwise", domain=(randn,),
        variants=tuple(Variant(f"{v.id}-bounds", v.shapes, {"clip_value_min": -0.5, "clip_value_max": 0.7},
                               positional=True) for v in _UNARY_VARIANTS)
        + (Variant("tensor_bounds", ((3, 4),), {"clip_value_min": [-0.3] * 4,
                                               "clip_value_max": [[0.4], [0.3], [0.5]]}),),
        second_order={"clip_by_value": lambda t: tg.clip_by_value(t * t, 0.1, 0.9) * t},
        fuzz_args=(("tensor", None), ("tensor", None), ("tensor", None)),
        bad_inputs=(BadInput("bounds_shape", lambda: tg.clip_by_value(x2(), [0.0, 0.0, 0.0], 1.0), ValueError,
                             ((2,), (3,))),
                    BadInput("float64_bounds", lambda: tg.clip_by_value(x2(), np.zeros(2), 1.0), TypeError,
                             ("float32", "float64")))),
    _math("exp", np.exp, randn, {"exp": lambda t: tg.exp(t) * t}),
    _math("expm1", np.expm1, randn, {"expm1": lambda t: tg.expm1(t * 0.5) * t}),
    _math("log", np.log, positive, {"log": lambda t: tg.log(tg.square(t) + 1.0) * t}),
    _math("log1p", np.log1p, above_minus_one, {"log1p": lambda t: tg.log1p(tg.square(t)) * t}),
    _math("sqrt", np.sqrt, positive, {"sqrt": lambda t: tg.sqrt(tg.square(t) + 1.0) * t}),
    _math("rsqrt", lambda a: 1.0 / np.sqrt(a), positive, {"rsqrt": lambda t: tg.rsqrt(tg.square(t) + 1.0) * t}),
    _math("reciprocal", np.reciprocal, away_from_zero,
          {"reciprocal": lambda t: tg.reciprocal(tg.square(t) + 1.0) * t}),
    _math("abs", np.abs, away_from_zero, {"abs": lambda t: tg.abs(t) * t}),
    _math("sign", np.sign, away_from_zero),
    _math("sin", np.sin, randn, {"sin": lambda t: tg.sin(t) * t}),
    _math("cos", np.cos, randn, {"cos": lambda t: tg.cos(t) * t}),
    _math("tanh", np.tanh, randn, {"tanh": lambda t: tg.tanh(t) * t}),
    _math("sigmoid", _sigmoid_ref, randn, {"sigmoid": lambda t: tg.sigmoid(t) * t}),
    _math("softplus", lambda a: np.logaddexp(0.0, a), randn, {"softplus": lambda t: tg.softplus(t) * t}),
    # Not differentiated: their gradient is None (tests/ops/test_unary_math.py pins it).
    _math("floor", np.floor, away_from_halves, check={"check_grad": False}),
    _math("round", np.round, away_from_halves, check={"check_grad": False}),
    _math("relu", lambda a: np.maximum(a, 0.0), away_from_zero, {"relu": lambda t: tg.relu(t) * t}),
    _math("relu6", lambda a: np.clip(a, 0.0, 6.0), away_from_kinks_of_relu6,
          {"relu6": lambda t: tg.relu6(t * 4.0) * t}),
    OpSpec(
        name="identity", spellings={"identity": tg.identity}, ref=lambda a: a, arity=1, kind="shape",
        domain=(randn,), variants=_UNARY_VARIANTS, fuzz_args=(("tensor", None),),
        second_order={"identity": lambda t: tg.identity(t * t) * t},
        bad_inputs=non_numeric_rows(lambda bad: tg.identity(bad))),
    OpSpec(
        name="check_numerics", spellings={"check_numerics": tg.check_numerics},
        ref=lambda a, message: a, arity=1, kind="shape", domain=(randn,),
        variants=tuple(Variant(fmt(s), (s,), {"message": "checked"}) for s in UNARY_SHAPES),
        fuzz_args=(("tensor", None), ("text", "message")),
        second_order={"check_numerics": lambda t: tg.check_numerics(t * t, "m") * t},
        bad_inputs=non_numeric_rows(lambda bad: tg.check_numerics(bad, "m")) + (
            BadInput("nan", lambda: tg.check_numerics(np.array([1.0, np.nan]), "where"), ValueError,
                     ((2,), "where", "NaN")),
            BadInput("inf", lambda: tg.check_numerics(np.array([[np.inf]]), "where"), ValueError,
                     ((1, 1), "where")),
            BadInput("integer_tensor", lambda: tg.check_numerics(tg.constant(np.array([1, 2], np.int64)), "m"),
                     TypeError, ("int",)),
            BadInput("message_not_str", lambda: tg.check_numerics(ones64((2,)), 3), TypeError,
                     ("message",)),
            BadInput("empty", lambda: tg.check_numerics(np.zeros((0, 3)), "m"), None, shape=(0, 3)))),
    OpSpec(
        # The forward only: nothing flows back (tests/test_tape.py pins the None gradient).
        name="stop_gradient", spellings={"stop_gradient": tg.stop_gradient}, ref=lambda a: a, arity=1,
        kind="shape", domain=(randn,), variants=_UNARY_VARIANTS, check={"check_grad": False},
        fuzz_args=(("tensor", None),), bad_inputs=non_numeric_rows(lambda bad: tg.stop_gradient(bad))),
    dataclasses.replace(
        _broadcasting("pow", np.power, {"op**": operator.pow}, domain=(positive, randn)),
        reflected=True, second_order_variants=(), bad_inputs=_pow_bad_inputs(),
        second_order={"pow_both": lambda t: tg.pow(tg.square(t) + 0.5, t) * t,
                      "pow_fractional": lambda t: (tg.square(t) + 0.5) ** 1.5 * t,
                      "pow_base": lambda t: 2.0 ** t * t,
                      "pow_cube": lambda t: t ** 3 * t}),
    dataclasses.replace(
        _broadcasting("floordiv", lambda a, b: np.floor(a / b), {"op//": operator.floordiv},
                      check={"check_grad": False}, domain=(randn, away_from_zero), differentiable=False),
        reflected=True, bad_inputs=_division_bad_inputs("floordiv")),
    dataclasses.replace(
        _broadcasting("mod", np.mod, {"op%": operator.mod}, domain=(randn, away_from_zero)),
        reflected=True, bad_inputs=_division_bad_inputs("mod")),
    dataclasses.replace(
        _reduction("reduce_prod", np.prod, tuple(_axis_rows("reduce_prod", with_types=True)) + (
            BadInput("bools", lambda: tg.reduce_prod(i3(np.bool_)), TypeError, ("bool",)),),
            {"reduce_prod": lambda t: tg.reduce_prod(t * t + 0.5, axis=0) * t,
             "reduce_prod_all": lambda t: tg.reduce_prod(tg.sin(t) + 1.5) * t,
             "reduce_prod_axes": lambda t: tg.reduce_sum(tg.reduce_prod(tg.reshape(t * t + 0.5, (3, 2, 2)), axis=(0, 2)))
             * t}),
        domain=(near_one,)),
    _scan("cumsum", np.cumsum, randn, {"cumsum": lambda t: tg.cumsum(t * t, axis=1) * t,
                                       "cumsum_exclusive_reverse":
                                       lambda t: tg.cumsum(t * t, 0, exclusive=True, reverse=True) * t}),
    _scan("cumprod", np.cumprod, near_one, {"cumprod": lambda t: tg.cumprod(t * t + 0.5, axis=1) * t,
                                            "cumprod_exclusive_reverse":
                                            lambda t: tg.cumprod(t + 2.0, 0, exclusive=True, reverse=True) * t}),
    OpSpec(
        name="matmul", spellings={"matmul": tg.matmul, "op@": operator.matmul}, ref=np_matmul, arity=2,
        kind="matmul", domain=(randn, randn), variants=_matmul_variants(),
        second_order={
            "matmul_tt": lambda t: tg.matmul(t, tg.reshape(t, (4, 3)), transpose_a=True, transpose_b=True),
            "matmul": lambda t: tg.matmul(t, tg.transpose(t)),
        },
        fuzz_args=(("tensor", None), ("tensor", None), ("bool", "transpose_a"), ("bool", "transpose_b")),
        reflected=True, bad_inputs=_matmul_bad_inputs()),
    _reduction("reduce_sum", np.sum, _reduce_sum_bad_inputs(),
               {"reduce_sum_axis": lambda t: tg.reduce_sum(t * t, axis=0) * t}),
    _reduction("reduce_mean", np.mean, _reduce_mean_bad_inputs(),
               {"reduce_mean_axis": lambda t: tg.reduce_mean(t * t, axis=1, keepdims=True) * t}),
    _selection("reduce_max", np.max),
    _selection("reduce_min", np.min),
    _selection("reduce_any", np.any, bool_input=True),
    _selection("reduce_all", np.all, bool_input=True),
    _arg("argmax", np.argmax),
    _arg("argmin", np.argmin),
    dataclasses.replace(_reduction("reduce_logsumexp", _logsumexp_ref, (
        BadInput("axis_2", lambda: tg.reduce_logsumexp(m23(), axis=2), ValueError, ((2, 3),)),
        BadInput("ints", lambda: tg.reduce_logsumexp(i3()), TypeError, ("int32",))), {}),
                        second_order={"reduce_logsumexp": lambda t: tg.reduce_logsumexp(t * t, axis=0) * t}),
    OpSpec(
        name="reshape", spellings={"reshape": tg.reshape}, ref=lambda a, shape: np.reshape(a, shape), arity=1,
        kind="shape", domain=(randn,),
        variants=tuple(Variant(f"{fmt(s)}->{t}", (s,), {"shape": t}, positional=True) for s, t in RESHAPE_CASES)
        + (Variant("4x3->list[2, -1]", ((4, 3),), {"shape": [2, -1]}, positional=True),),
        second_order={"reshape": lambda t: tg.reshape(t, (-1,)) * tg.reshape(t * t, (12,))},
        fuzz_args=(("tensor", None), ("shape", None)), bad_inputs=_reshape_bad_inputs()),
    OpSpec(
        name="transpose", spellings={"transpose": tg.transpose}, ref=lambda a, perm=None: np.transpose(a, perm),
        arity=1, kind="shape", domain=(randn,),
        variants=tuple(Variant(f"{fmt(s)}-perm{p}", (s,), {} if p is None else {"perm": p}, positional=True)
                       for s, p in TRANSPOSE_CASES)
        + (Variant("2x3x4-keyword_perm(1, 2, 0)", ((2, 3, 4),), {"perm": (1, 2, 0)}),),
        second_order={"transpose": lambda t: tg.transpose(t) * tg.transpose(t * t)},
        fuzz_args=(("tensor", None), ("perm", None)), bad_inputs=_transpose_bad_inputs()),
    OpSpec(
        name="cast", spellings={"cast": tg.cast}, ref=lambda a, dtype: a.astype(dtype), arity=1, kind="cast",
        domain=(randn,), check=_CAST_CHECK,
        variants=(
            Variant("float64_to_float32", ((3, 4),), {"dtype": tg.float32}, positional=True,
                    check={"dtypes": (F64,)}),
            Variant("same_dtype_float32", ((4,),), {"dtype": np.dtype("float32")}, positional=True,
                    check={"dtypes": ("float32",)}),
            Variant("same_dtype_float64", ((4,),), {"dtype": np.dtype("float64")}, positional=True,
                    check={"dtypes": ("float64",)}),
        ),
        second_order={"cast": lambda t: tg.cast(tg.square(t), tg.float64) * tg.cast(t, tg.float64)},
        fuzz_args=(("tensor", None), ("dtype", None)), bad_inputs=_cast_bad_inputs()),
    OpSpec(
        name="broadcast_to", spellings={"broadcast_to": tg.broadcast_to},
        ref=lambda a, shape: np.broadcast_to(a, shape), arity=1, kind="shape", domain=(randn,),
        variants=tuple(Variant(f"{fmt(s)}->{fmt(t)}", (s,), {"shape": t}, positional=True)
                       for s, t in BROADCAST_TO_CASES),
        second_order={"broadcast_to": lambda t: tg.broadcast_to(tg.reduce_sum(t * t, axis=0, keepdims=True),
                                                                (2, 3, 4)) * t},
        fuzz_args=(("tensor", None), ("shape", None)), bad_inputs=_broadcast_to_bad_inputs()),
) + _join_rows() + _indexing_specs()

BY_NAME = {s.name: s for s in SPECS}
BINARY_ELEMENTWISE = tuple(s for s in SPECS if s.kind == "elementwise" and s.arity == 2)
