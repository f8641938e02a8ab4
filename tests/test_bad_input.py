"""The bad-input catalogue: a Python exception of the right class whose message starts with the op
and names the shapes, dtypes or values involved; never a crash, never pybind11's generic
"incompatible function arguments" text, never a silently wrong answer; a failed call changes no
Variable, layer or tape. Input that only looks bad (NaN/Inf, zero-size dimensions, unusual array
layouts, numpy integer arrays as shapes) must compute, and compute right.

The ops' rows come from the op-spec table (``op_specs.SPECS``, each row's ``bad_inputs``); the
rest of the public API has its cases here.
"""

import array
import math
import operator
import pickle
import re

import numpy as np
import pytest

import tapegrad as tg
from op_specs import ALLOWED, BAD_DTYPES, NON_NUMERIC, RAGGED, SPECS, x2
from tapegrad.pickling import _rebuild_tensor, _rebuild_variable


class _Payload:
    """Pickles as ``fn(*args)``: a hand-made pickle payload for the reconstruction functions."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def mentions_shape(msg, shape):
    """True if ``msg`` names ``shape`` as (a, b), [a, b] or (a,) (spaces ignored)."""
    m = msg.replace(" ", "")
    dims = [str(int(d)) for d in shape]
    s = ",".join(dims)
    forms = {f"({s})", f"[{s}]"} | ({f"({s},)"} if len(dims) == 1 else set())
    return any(f in m for f in forms)


def expect(exc, op, fn, *mentions):
    """``fn()`` raises ``exc`` whose message starts with ``op`` and mentions each item (a tuple: a
    shape; a string: a substring)."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    assert msg.startswith(op), f"message should start with {op!r}: {msg!r}"
    assert "incompatible function arguments" not in msg, msg
    for m in mentions:
        ok = mentions_shape(msg, m) if isinstance(m, tuple) else m in msg
        assert ok, f"message should mention {m!r}: {msg!r}"
    return msg


# =============================================================================================
# The ops: every row's bad inputs from the op-spec table
# =============================================================================================

OP_ROWS = [(spec, row) for spec in SPECS for row in spec.bad_inputs]


@pytest.mark.parametrize("spec,row", OP_ROWS, ids=[f"{s.name}-{r.id}" for s, r in OP_ROWS])
def test_op_bad_input(spec, row):
    if row.exc is None:  # looks bad, is valid
        out = row.call()
        assert isinstance(out, tg.Tensor) and tuple(out.shape) == row.shape, (
            f"{spec.name}[{row.id}]: shape {tuple(out.shape)}, expected {row.shape}")
        return
    expect(row.exc, spec.name, row.call, *row.mentions)


def test_catalogue_ids_are_distinct():
    ids = [f"{s.name}-{r.id}" for s, r in OP_ROWS] + [c[0] for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_op_row_has_bad_inputs():
    """A new op row comes with its bad inputs (an exception row and the shapes it names)."""
    missing = [s.name for s in SPECS if not any(r.exc is not None for r in s.bad_inputs)]
    assert not missing, f"op rows without bad-input cases: {missing}"


# =============================================================================================
# constant and conversions
# =============================================================================================

@pytest.mark.parametrize("name", list(NON_NUMERIC))
def test_constant_non_numeric_raises_type_error(name):
    with pytest.raises(TypeError):
        tg.constant(NON_NUMERIC[name])


@pytest.mark.parametrize("name", list(RAGGED))
def test_constant_ragged_lists_raise(name):
    with pytest.raises((ValueError, TypeError)):
        tg.constant(RAGGED[name])


@pytest.mark.parametrize("name", list(BAD_DTYPES))
def test_constant_bad_dtype_raises_type_error(name):
    dtype = BAD_DTYPES[name]
    with pytest.raises(TypeError):
        tg.constant([1.0], dtype=dtype if dtype is not None else object)


def test_constant_rank_above_limit():
    with pytest.raises(ValueError):
        tg.constant(np.zeros((1,) * 9))


def test_writing_into_a_tensors_numpy_view_raises():
    t = tg.constant([1.0, 2.0])
    with pytest.raises((ValueError, TypeError)):
        t.numpy()[0] = 3.0


# =============================================================================================
# The rest of the API, argument by argument: (kind, fn, exception, op, mentions)
# =============================================================================================

CASES = [
    # -- numbers that do not fit
    ("int_beyond_float64", lambda: tg.constant(2 ** 10000), ValueError, "constant", "too large"),
    ("int_beyond_uint64_in_list", lambda: tg.constant([1, 2 ** 64]), TypeError, "constant", "object"),
    # -- Tensor to Python conversions
    ("float_of_many", lambda: float(x2()), TypeError, "float", (2,)),
    ("len_of_rank0", lambda: len(tg.constant(1.0)), TypeError, "len", "rank-0"),
    ("bool_of_many", lambda: bool(x2()), ValueError, "bool", "2 elements"),
    ("int_of_many", lambda: int(x2()), TypeError, "int", (2,)),
    ("int_of_many_variable", lambda: int(tg.Variable(np.zeros((2, 3)))), TypeError, "int", (2, 3)),
    ("int_of_empty", lambda: int(tg.constant(np.zeros((0,), np.int32))), TypeError, "int", (0,)),
    ("complex_of_many", lambda: complex(x2()), TypeError, "complex", (2,)),
    ("index_of_float", lambda: operator.index(tg.constant(1.0)), TypeError, "index", "float32"),
    ("index_of_one_element_vector", lambda: operator.index(tg.constant(np.array([1], np.int64))), TypeError,
     "index", "int64", (1,)),
    ("format_spec_of_vector", lambda: format(x2(), ".2f"), TypeError, "format", (2,), "'.2f'"),
    ("format_spec_unknown", lambda: format(tg.constant(1.0), "q"), ValueError, "format", "'q'"),
    ("iter_of_rank0", lambda: iter(tg.constant(1.0)), TypeError, "iter", "Cannot iterate over a scalar tensor."),
    ("iter_of_rank0_variable", lambda: iter(tg.Variable(1.0)), TypeError, "iter", "scalar tensor"),
    ("reversed_of_rank0", lambda: reversed(tg.constant(1.0)), TypeError, "reversed", "scalar tensor"),
    # -- unpickling: only a plain array of a tapegrad dtype, a name and a bool are accepted
    ("unpickle_payload_str", lambda: pickle.loads(pickle.dumps(_Payload(_rebuild_tensor, ("rm -rf",)))),
     TypeError, "_rebuild_tensor", "str"),
    ("unpickle_payload_object_array",
     lambda: pickle.loads(pickle.dumps(_Payload(_rebuild_tensor, (np.array([None]),)))), TypeError,
     "_rebuild_tensor", "object"),
    ("unpickle_payload_complex", lambda: _rebuild_tensor(np.ones(2, np.complex64)), TypeError, "_rebuild_tensor",
     "complex64"),
    ("unpickle_payload_array_subclass", lambda: _rebuild_tensor(np.ma.masked_array([1.0])), TypeError,
     "_rebuild_tensor", "MaskedArray"),
    ("unpickle_payload_rank9", lambda: _rebuild_tensor(np.zeros((1,) * 9, np.float32)), ValueError,
     "_rebuild_tensor", "rank 9"),
    ("unpickle_variable_name_int", lambda: _rebuild_variable(np.zeros(2, np.float32), 3, True), ValueError,
     "_rebuild_variable", "name"),
    ("unpickle_variable_name_without_suffix", lambda: _rebuild_variable(np.zeros(2, np.float32), "w", True),
     ValueError, "_rebuild_variable", "':0'"),
    ("unpickle_variable_trainable_int", lambda: _rebuild_variable(np.zeros(2, np.float32), "w:0", 1), TypeError,
     "_rebuild_variable", "trainable"),
    # -- Variable construction
    ("variable_trainable_not_bool", lambda: tg.Variable(1.0, trainable="y"), TypeError, "Variable", "trainable"),
    ("variable_trainable_int", lambda: tg.Variable(1.0, trainable=1), TypeError, "Variable", "trainable"),
    ("variable_name_not_str", lambda: tg.Variable(1.0, name=3), TypeError, "Variable", "name"),
    ("variable_name_empty", lambda: tg.Variable(1.0, name=""), ValueError, "Variable", "name"),
    ("variable_dtype_int16", lambda: tg.Variable(1.0, dtype=np.int16), TypeError, "Variable", "int16"),
    ("constant_uint64_beyond_int64", lambda: tg.constant(np.array([2 ** 63], np.uint64)), ValueError, "constant",
     "int64"),
    ("variable_int_apply_gradients", lambda: tg.GradientDescent(0.1).apply_gradients(
        [(tg.constant(np.array([1], np.int32)), tg.Variable(np.array([1], np.int32)))]), TypeError,
     "apply_gradients", "int32"),
    ("variable_dtype_complex", lambda: tg.Variable(1.0, dtype=np.complex128), TypeError, "Variable", "complex128"),
    ("variable_init_callable_bad", lambda: tg.Variable(lambda: "abc"), TypeError, "Variable", "str"),
    # -- conversions with an explicit dtype
    ("convert_strong_dtype_mismatch",
     lambda: tg.convert_to_tensor(tg.constant(1.0, dtype=tg.float64), dtype=tg.float32), TypeError,
     "convert_to_tensor", "float64", "float32"),
    ("constant_dtype_float16", lambda: tg.constant([1.0], dtype=np.float16), TypeError, "constant", "float16"),
    # -- GradientDescent
    ("lr_bool", lambda: tg.GradientDescent(True), TypeError, "GradientDescent", "bool"),
    ("lr_none", lambda: tg.GradientDescent(None), TypeError, "GradientDescent", "NoneType"),
    ("lr_complex", lambda: tg.GradientDescent(0.1j), TypeError, "GradientDescent", "complex"),
    ("lr_numpy_array", lambda: tg.GradientDescent(np.array([0.1])), TypeError, "GradientDescent"),
    ("lr_setter_negative", lambda: setattr(tg.GradientDescent(0.1), "learning_rate", -1.0), ValueError,
     "GradientDescent", "-1"),
    ("lr_setter_nan", lambda: setattr(tg.GradientDescent(0.1), "learning_rate", math.nan), ValueError,
     "GradientDescent", "nan"),
    ("minimize_not_callable", lambda: tg.GradientDescent(0.1).minimize(3), TypeError, "GradientDescent.minimize",
     "int"),
    ("minimize_empty_var_list", lambda: tg.GradientDescent(0.1).minimize(lambda: 1.0, var_list=[]), ValueError,
     "GradientDescent.minimize", "empty"),
    ("minimize_var_list_tensor",
     lambda: tg.GradientDescent(0.1).minimize(lambda: 1.0, var_list=[x2()]), TypeError,
     "GradientDescent.minimize", "Tensor"),
    ("apply_not_iterable", lambda: tg.GradientDescent(0.1).apply_gradients(None), TypeError, "apply_gradients",
     "pairs"),
    ("apply_items_not_pairs", lambda: tg.GradientDescent(0.1).apply_gradients([tg.Variable(1.0)]), TypeError,
     "apply_gradients", "pairs"),
    ("apply_gradient_string", lambda: tg.GradientDescent(0.1).apply_gradients([("a", tg.Variable(1.0))]),
     TypeError, "apply_gradients", "str"),
    # -- Momentum, Adam, RMSProp: hyperparameters
    ("momentum_lr_negative", lambda: tg.Momentum(-0.1, 0.9), ValueError, "Momentum", "learning_rate", "-0.1"),
    ("momentum_lr_nan", lambda: tg.Momentum(math.nan, 0.9), ValueError, "Momentum", "learning_rate", "nan"),
    ("adam_lr_zero", lambda: tg.Adam(0.0), ValueError, "Adam", "learning_rate", "0.0"),
    ("rmsprop_lr_inf", lambda: tg.RMSProp(math.inf), ValueError, "RMSProp", "learning_rate", "inf"),
    ("adam_lr_string", lambda: tg.Adam("fast"), TypeError, "Adam", "learning_rate", "str"),
    ("adam_lr_setter_negative", lambda: setattr(tg.Adam(), "learning_rate", -1.0), ValueError, "Adam", "-1"),
    ("momentum_one", lambda: tg.Momentum(0.1, 1.0), ValueError, "Momentum", "momentum", "[0, 1)"),
    ("momentum_negative", lambda: tg.Momentum(0.1, -0.5), ValueError, "Momentum", "momentum", "-0.5"),
    ("momentum_nan", lambda: tg.Momentum(0.1, math.nan), ValueError, "Momentum", "momentum", "nan"),
    ("momentum_str", lambda: tg.Momentum(0.1, "0.9"), TypeError, "Momentum", "momentum", "str"),
    ("momentum_nesterov_not_bool", lambda: tg.Momentum(0.1, 0.9, use_nesterov="yes"), TypeError, "Momentum",
     "use_nesterov"),
    ("adam_beta1_one", lambda: tg.Adam(beta1=1.0), ValueError, "Adam", "beta1", "[0, 1)"),
    ("adam_beta1_negative", lambda: tg.Adam(beta1=-0.1), ValueError, "Adam", "beta1"),
    ("adam_beta2_above_one", lambda: tg.Adam(beta2=1.5), ValueError, "Adam", "beta2", "1.5"),
    ("adam_beta2_nan", lambda: tg.Adam(beta2=math.nan), ValueError, "Adam", "beta2", "nan"),
    ("adam_beta1_bool", lambda: tg.Adam(beta1=True), TypeError, "Adam", "beta1", "bool"),
    ("adam_epsilon_zero", lambda: tg.Adam(epsilon=0.0), ValueError, "Adam", "epsilon"),
    ("adam_epsilon_negative", lambda: tg.Adam(epsilon=-1e-8), ValueError, "Adam", "epsilon"),
    ("rmsprop_decay_one", lambda: tg.RMSProp(0.1, decay=1.0), ValueError, "RMSProp", "decay", "[0, 1)"),
    ("rmsprop_momentum_negative", lambda: tg.RMSProp(0.1, momentum=-0.1), ValueError, "RMSProp", "momentum"),
    ("rmsprop_epsilon_inf", lambda: tg.RMSProp(0.1, epsilon=math.inf), ValueError, "RMSProp", "epsilon"),
    ("rmsprop_centered_not_bool", lambda: tg.RMSProp(0.1, centered=1), TypeError, "RMSProp", "centered"),
    ("optimizer_abstract", lambda: tg.Optimizer(0.1, "x"), TypeError, "Optimizer", "abstract"),
    ("optimizer_name_empty", lambda: tg.Adam(name=""), TypeError, "Adam", "name"),
    ("optimizer_name_not_str", lambda: tg.Momentum(0.1, 0.9, name=3), TypeError, "Momentum", "name"),
    # -- Momentum, Adam, RMSProp: updates
    ("adam_int_variable", lambda: tg.Adam().apply_gradients(
        [(tg.constant(np.array([1], np.int32)), tg.Variable(np.array([1], np.int32)))]), TypeError,
     "apply_gradients", "int32"),
    ("momentum_not_a_variable", lambda: tg.Momentum(0.1, 0.9).apply_gradients([(x2(), x2())]), TypeError,
     "apply_gradients", "Variable"),
    ("rmsprop_shape_mismatch", lambda: tg.RMSProp(0.1).apply_gradients([(np.ones(3, np.float32), tg.Variable(
        np.ones((2, 3), np.float32), name="cat_rms"))]), ValueError, "apply_gradients", "cat_rms", (3,), (2, 3)),
    ("adam_all_none", lambda: tg.Adam().apply_gradients([(None, tg.Variable(1.0, name="cat_none"))]), ValueError,
     "No gradients provided", "cat_none"),
    ("adam_minimize_not_callable", lambda: tg.Adam().minimize(3), TypeError, "Adam.minimize", "int"),
    # -- Dense
    ("units_bool", lambda: tg.Dense(True), TypeError, "Dense", "bool"),
    ("units_str", lambda: tg.Dense("3"), TypeError, "Dense", "str"),
    ("units_none", lambda: tg.Dense(None), TypeError, "Dense", "NoneType"),
    ("units_negative", lambda: tg.Dense(-2), ValueError, "Dense", "-2"),
    ("units_numpy_float", lambda: tg.Dense(np.float64(2.0)), TypeError, "Dense", "float64"),
    ("activation_not_callable", lambda: tg.Dense(2, activation=3), TypeError, "Dense", "activation"),
    ("activation_unknown_name", lambda: tg.Dense(2, activation="rleu"), ValueError, "Dense", "'rleu'", "'relu'"),
    ("use_bias_not_bool", lambda: tg.Dense(2, use_bias="no"), TypeError, "Dense", "use_bias"),
    ("layer_name_empty", lambda: tg.Dense(2, name=""), TypeError, "Dense", "name"),
    ("initializer_not_callable", lambda: tg.Dense(2, kernel_initializer=3), TypeError, "Dense",
     "kernel_initializer"),
    # -- Sequential
    ("sequential_layers_not_list", lambda: tg.Sequential(tg.Dense(2)), TypeError, "Sequential", "list"),
    ("sequential_layer_not_callable", lambda: tg.Sequential([tg.Dense(2), 3]), TypeError, "Sequential", "int"),
    ("sequential_duplicate_names", lambda: tg.Sequential([tg.Dense(2, name="a"), tg.Dense(2, name="a")]),
     ValueError, "Sequential", "'a'"),
    ("sequential_empty_call", lambda: tg.Sequential()(x2()), ValueError, "Sequential", "no layers"),
    ("sequential_name_int", lambda: tg.Sequential(name=3), TypeError, "Sequential", "name"),
    # -- data.batches
    ("batches_lengths", lambda: tg.data.batches(np.zeros((5, 2)), np.zeros(4), batch_size=2), ValueError,
     "batches", "4", "5"),
    ("batches_size_zero", lambda: tg.data.batches(np.zeros(5), batch_size=0), ValueError, "batches", "batch_size"),
    ("batches_size_float", lambda: tg.data.batches(np.zeros(5), batch_size=2.0), TypeError, "batches",
     "batch_size"),
    ("batches_no_arrays", lambda: tg.data.batches(batch_size=2), ValueError, "batches", "at least one"),
    ("batches_ragged_list", lambda: tg.data.batches([(None, [])], batch_size=1), ValueError, "batches",
     "arrays[0]", "regular nested list"),
    ("batches_shard", lambda: tg.data.batches(np.zeros(4), batch_size=2, shard=(2, 2)), ValueError,
     "batches", "shard", "rank < size"),
    ("batches_scalar", lambda: tg.data.batches(np.float32(1.0), batch_size=2), TypeError, "batches", "float32"),
    ("batches_rank0_array", lambda: tg.data.batches(np.array(1.0), batch_size=2), ValueError, "batches", "scalar"),
    ("batches_seed_negative", lambda: tg.data.batches(np.zeros(5), batch_size=2, seed=-1), ValueError, "batches",
     "seed"),
    ("batches_shuffle_str", lambda: tg.data.batches(np.zeros(5), batch_size=2, shuffle="yes"), TypeError,
     "batches", "shuffle"),
    # -- GradientTape construction
    ("tape_persistent_not_bool", lambda: tg.GradientTape(persistent="yes"), TypeError, "GradientTape", "persistent"),
    ("tape_watch_accessed_not_bool", lambda: tg.GradientTape(watch_accessed_variables=1), TypeError,
     "GradientTape", "watch_accessed_variables"),
    # -- random
    ("random_negative_shape", lambda: tg.random.normal([-1, 2]), ValueError, "random.normal", "(-1, 2)"),
    ("random_shape_float", lambda: tg.random.uniform([2.5]), TypeError, "random.uniform"),
    ("random_stddev_negative", lambda: tg.random.normal([2], stddev=-1.0), ValueError, "random.normal", "stddev"),
    ("random_mean_nan", lambda: tg.random.normal([2], mean=math.nan), ValueError, "random.normal", "mean"),
    ("random_empty_interval", lambda: tg.random.uniform([2], 1.0, 1.0), ValueError, "random.uniform", "minval"),
    ("random_seed_negative", lambda: tg.random.normal([2], seed=-1), ValueError, "random.normal", "seed"),
    ("random_seed_float", lambda: tg.random.normal([2], seed=1.5), TypeError, "random.normal", "seed"),
    ("random_set_seed_str", lambda: tg.random.set_seed("0"), TypeError, "random.set_seed", "seed"),
    ("random_dtype_int", lambda: tg.random.normal([2], dtype=np.int32), TypeError, "random.normal", "int32"),
    ("random_huge_shape", lambda: tg.random.normal([2 ** 40, 2 ** 10]), (MemoryError, ValueError), "random.normal"),
    # -- gradients_function params
    ("params_negative", lambda: tg.gradients_function(lambda a: a, params=[-1])(1.0), ValueError,
     "gradients_function", "-1"),
    ("params_bool", lambda: tg.gradients_function(lambda a: a, params=[True])(1.0), TypeError,
     "gradients_function"),
    ("params_names_without_signature", lambda: tg.gradients_function(tg.constant, params=["value"])(1.0),
     ValueError, "gradients_function", "constant"),
    ("params_index_beyond_args", lambda: tg.value_and_gradients_function(lambda a, b=1.0: a * b, params=[1])(2.0),
     ValueError, "gradients_function", "1"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_argument(case):
    _, fn, exc, op, *mentions = case
    expect(exc, op, fn, *mentions)


# =============================================================================================
# Variables keep their values
# =============================================================================================

@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
@pytest.mark.parametrize("value,exc", [
    ([1.0, 2.0, 3.0], ValueError),
    ([[1.0, 2.0]], ValueError),
    (np.ones((2, 1), np.float32), ValueError),
    (np.zeros((0,), np.float32), ValueError),
    (np.array([1.0, 2.0]), TypeError),  # float64 into float32
    ("ab", TypeError),
    (None, TypeError),
    ([1.0, None], TypeError),
])
def test_variable_bad_assign_leaves_value(method, value, exc):
    v = tg.Variable([1.0, 2.0], name="keepme")
    held = v.read_value()
    with pytest.raises(exc):
        getattr(v, method)(value)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(held.numpy(), [1.0, 2.0])
    assert v.shape == (2,) and v.dtype == np.float32
    getattr(v, method)([1.0, 1.0])  # still usable afterwards
    assert v.shape == (2,)


def test_variable_assign_shape_message():
    v = tg.Variable(np.zeros((2, 3), np.float32), name="w")
    with pytest.raises(ValueError) as info:
        v.assign(np.zeros((3, 2), np.float32))
    msg = str(info.value)
    assert mentions_shape(msg, (2, 3)) and mentions_shape(msg, (3, 2)), msg


@pytest.mark.parametrize("value", ["abc", None, {"a": 1}, [[1.0], [2.0, 3.0]], 1 + 1j])
def test_variable_bad_initial_value(value):
    with pytest.raises((TypeError, ValueError)):
        tg.Variable(value)


@pytest.mark.parametrize("value", [1.0, np.float32(1.0), tg.constant(1.0)])
def test_assign_does_not_broadcast(value):
    v = tg.Variable([1.0, 2.0], name="cat_assign")
    for method in ("assign", "assign_add", "assign_sub"):
        expect(ValueError, method, lambda m=method: getattr(v, m)(value), (2,), "()")
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


# =============================================================================================
# Tape misuse
# =============================================================================================

def test_gradient_bad_unconnected_gradients_value():
    x = tg.constant(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(ValueError):
        tape.gradient(y, x, unconnected_gradients="sometimes")


def test_gradient_output_gradients_wrong_shape():
    x = tg.constant([1.0, 2.0, 3.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(ValueError):
        tape.gradient(y, x, output_gradients=tg.constant([1.0, 2.0]))


@pytest.mark.parametrize("bad", ["abc", 3.0, None, np.ones(2)])
def test_watch_non_tensor(bad):
    with tg.GradientTape() as tape:
        with pytest.raises(TypeError):
            tape.watch(bad)


@pytest.mark.parametrize("bad_sources", ["abc", [1.0], None])
def test_gradient_bad_sources(bad_sources):
    x = tg.constant(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises((TypeError, ValueError)):
        tape.gradient(y, bad_sources)


def test_gradient_bad_target():
    x = tg.constant(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
    with pytest.raises((TypeError, ValueError)):
        tape.gradient("loss", x)


def test_jacobian_misuse_messages():
    x = tg.constant(np.ones((4, 3)))
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    expect(ValueError, "GradientTape.batch_jacobian", lambda: tape.batch_jacobian(y, tg.constant(np.ones((5, 3)))),
           "(4, 3)", "(5, 3)", "batch")
    expect(ValueError, "GradientTape.batch_jacobian", lambda: tape.batch_jacobian(tg.reduce_sum(y), x), "()")
    expect(ValueError, "GradientTape.jacobian", lambda: tape.jacobian(y, x, unconnected_gradients="zeros"), "zeros")
    expect(TypeError, "GradientTape.jacobian", lambda: tape.jacobian([y], x), "list")
    expect(TypeError, "GradientTape.jacobian", lambda: tape.jacobian(y, [x, 2.0]), "float")
    deep = tg.constant(np.ones((1,) * 5))
    with tg.GradientTape() as t2:
        t2.watch(deep)
        z = deep * deep
    expect(ValueError, "GradientTape.jacobian", lambda: t2.jacobian(z, deep), "rank 10", "maximum is 8")
    np.testing.assert_array_equal(np.asarray(tape.jacobian(y, x)).shape, (4, 3, 4, 3))  # still usable


def test_tape_misuse_messages():
    x = tg.constant([1.0, 2.0])
    tape = tg.GradientTape()
    with tape:
        tape.watch(x)
        y = tg.reduce_sum(x * x)
        expect(ValueError, "GradientTape", lambda: tape.__enter__(), "already recording")
    expect(RuntimeError, "GradientTape.stop_recording", lambda: tape.stop_recording().__enter__(), "not active")
    expect(TypeError, "GradientTape.gradient",
           lambda: tape.gradient(y, x, output_gradients=tg.constant(1.0, dtype=tg.float64)), "float64", "float32")
    expect(TypeError, "GradientTape.gradient", lambda: tape.gradient(y, x, output_gradients="one"), "str")
    expect(TypeError, "GradientTape.gradient", lambda: tape.gradient(y, [x, 1.0]), "float")
    expect(TypeError, "GradientTape.gradient", lambda: tape.gradient([y, "loss"], x), "str")
    expect(ValueError, "GradientTape.gradient", lambda: tape.gradient([y], x, output_gradients=[1.0, 2.0]),
           "structure", "1 items")
    expect(ValueError, "GradientTape.gradient", lambda: tape.gradient({"a": y}, x, output_gradients={"b": 1.0}),
           "structure", "'a'")
    expect(ValueError, "GradientTape.gradient", lambda: tape.gradient([y], x, output_gradients=[[1.0, 2.0]]),
           "shape", "(2,)")
    g = tape.gradient(y, x)  # the failed calls above did not use up the non-persistent tape
    np.testing.assert_array_equal(np.asarray(g), [2.0, 4.0])
    expect(RuntimeError, "GradientTape.gradient", lambda: tape.gradient(y, x), "persistent")
    with tg.GradientTape() as t2:
        expect(TypeError, "GradientTape.watch", lambda: t2.watch([x, 3.0]), "float")
        expect(TypeError, "GradientTape.watch", lambda: t2.watch(np.ones(2)), "ndarray")


def test_failing_function_under_implicit_gradients_pops_its_tape():
    v = tg.Variable(1.0, name="cat_popped")

    def f():
        _ = v * 2.0
        raise KeyError("inside f")
    with pytest.raises(KeyError):
        tg.implicit_gradients(f)()
    with tg.GradientTape() as tape:  # a fresh tape sees only its own reads
        pass
    _ = v * 3.0
    assert tape.watched_variables() == ()
    with pytest.raises(ValueError, match="No trainable variables"):
        tg.implicit_gradients(lambda: tg.constant(1.0) * 2.0)()


def test_error_leaves_no_tape_state_behind():
    """A failing op inside a tape must not break later gradients."""
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(ValueError):
            tg.add(x, np.ones(3, np.float32))
        y = tg.reduce_sum(x * x)
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x)), [2.0, 4.0])
    assert re.match(r"^<tapegrad\.Tensor", repr(y))


def test_gradient_refuses_an_array_as_unconnected_gradients():
    """An array of strings as unconnected_gradients raises naming GradientTape.gradient."""
    x = tg.constant(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    expect(ALLOWED, "GradientTape.gradient",
           lambda: tape.gradient(y, x, unconnected_gradients=np.array(["zero", "none"])))


# =============================================================================================
# gradients_function params
# =============================================================================================

def test_params_out_of_range_or_unknown_name():
    f = lambda x, y: x * y  # noqa: E731
    with pytest.raises((ValueError, IndexError)):
        tg.gradients_function(f, params=[2])(1.0, 2.0)
    with pytest.raises((ValueError, KeyError)):
        tg.gradients_function(f, params=["z"])(1.0, 2.0)


def test_gradients_function_refuses_non_iterable_params():
    """A float or a function as params raises at wrapping time, naming gradients_function."""
    expect(ALLOWED, "gradients_function", lambda: tg.gradients_function(lambda x: x, params=1.5))
    expect(ALLOWED, "gradients_function", lambda: tg.value_and_gradients_function(lambda x: x, params=print))


# =============================================================================================
# Flags given arrays, pow with a modulo, dtype objects numpy cannot read
# =============================================================================================

def test_bool_flags_given_arrays_raise_naming_the_op():
    """Arrays (empty or of several elements) as keepdims, transpose_b or copy raise naming the op."""
    x = tg.constant([1.0, 2.0])
    expect(ALLOWED, "reduce_sum", lambda: tg.reduce_sum(x, keepdims=np.array([True, False])))
    expect(ALLOWED, "matmul", lambda: tg.matmul(np.ones((2, 2)), np.ones((2, 2)), transpose_b=np.array([], bool)))
    expect(ALLOWED, "__array__", lambda: x.__array__(None, np.array([True, True])), "copy")


def test_pow_refuses_a_modulo():
    """pow(tensor, exponent, modulo) raises naming pow."""
    expect(ALLOWED, "pow", lambda: pow(tg.constant(2.0), 2, 5))


def test_random_normal_refuses_a_dtype_numpy_cannot_read():
    """An object with a ``dtype = None`` attribute as dtype raises naming random.normal."""
    class HasDtype:
        dtype = None
    expect(ALLOWED, "random.normal", lambda: tg.random.normal([2], dtype=HasDtype()))


# =============================================================================================
# Optimizers and layers: failed calls change nothing
# =============================================================================================

@pytest.mark.parametrize("position", ["first", "last"])
@pytest.mark.parametrize("bad", ["broadcastable_scalar", "transposed", "float64_numpy", "nested_none"])
def test_apply_gradients_bad_pair_anywhere_changes_nothing(position, bad):
    """A bad pair first or last (test_optimizers has one in the middle): no variable changes."""
    a = tg.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="cat_a")
    b = tg.Variable(np.ones(3, np.float32), name="cat_b")
    before = [a.numpy().copy(), b.numpy().copy()]
    bad_grad = {"broadcastable_scalar": 1.0, "transposed": np.ones((3, 2), np.float32),
                "float64_numpy": np.ones((2, 3)), "nested_none": [[1.0, None, 1.0], [1.0, 1.0, 1.0]]}[bad]
    pairs = [(tg.constant(np.ones(3, np.float32)), b)]
    pairs = [(bad_grad, a)] + pairs if position == "first" else pairs + [(bad_grad, a)]
    with pytest.raises((ValueError, TypeError)) as info:
        tg.GradientDescent(0.5).apply_gradients(pairs)
    msg = str(info.value)
    assert msg.startswith("apply_gradients") and "cat_a" in msg, msg
    if bad in ("broadcastable_scalar", "transposed"):
        assert mentions_shape(msg, (2, 3)), msg
    np.testing.assert_array_equal(a.numpy(), before[0])
    np.testing.assert_array_equal(b.numpy(), before[1])


OPTIMIZERS = {
    "gradient_descent": lambda lr=0.1: tg.GradientDescent(lr),
    "momentum": lambda lr=0.1: tg.Momentum(lr, 0.9, use_nesterov=True),
    "adam": lambda lr=0.1: tg.Adam(lr),
    "rmsprop": lambda lr=0.1: tg.RMSProp(lr, momentum=0.5),
    "rmsprop_centered": lambda lr=0.1: tg.RMSProp(lr, centered=True),
}


def _snapshot(variables, opt):
    return [v.numpy().copy() for v in variables], [(s.name, s.numpy().copy()) for s in opt.variables()]


def _assert_unchanged(variables, opt, snapshot):
    values, slots = snapshot
    for v, want in zip(variables, values):
        np.testing.assert_array_equal(v.numpy(), want)
    assert [s.name for s in opt.variables()] == [name for name, _ in slots]
    for s, (_, want) in zip(opt.variables(), slots):
        np.testing.assert_array_equal(s.numpy(), want)


@pytest.mark.parametrize("bad", ["shape", "dtype", "int_variable", "not_a_variable"])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_optimizer_bad_pair_changes_no_variable_or_slot(kind, bad):
    """After a first step (slots exist), a bad pair in the middle, with a variable that has no
    slots yet on either side: no variable, no slot changes, no slot is created, the step is not
    counted, and the next good step is the one a fresh run takes."""
    def setup():
        a = tg.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="cat_opt_a")
        b = tg.Variable(np.ones(3, np.float32), name="cat_opt_b")
        c = tg.Variable(np.full(4, 2.0, np.float32), name="cat_opt_c")
        opt = OPTIMIZERS[kind]()
        opt.apply_gradients([(np.ones((2, 3), np.float32), a), (np.ones(3, np.float32), b)])
        return opt, a, b, c

    opt, a, b, c = setup()
    before = _snapshot([a, b, c], opt)
    good_b, good_c = np.full(3, 0.5, np.float32), np.ones(4, np.float32)
    pair = {"shape": (np.ones(4, np.float32), b), "dtype": (np.ones(3), b),
            "int_variable": (np.ones(2, np.int32), tg.Variable(np.ones(2, np.int32), name="cat_opt_int")),
            "not_a_variable": (np.ones(3, np.float32), np.ones(3, np.float32))}[bad]
    with pytest.raises((ValueError, TypeError)) as info:
        opt.apply_gradients([(good_c, c), pair, (good_b, b)])
    msg = str(info.value)
    assert msg.startswith("apply_gradients"), msg
    if bad == "shape":
        assert isinstance(info.value, ValueError) and "cat_opt_b" in msg and mentions_shape(msg, (4,)), msg
    _assert_unchanged([a, b, c], opt, before)
    assert opt.iterations == 1
    opt.apply_gradients([(good_c, c), (good_b, b)])
    fresh, fa, fb, fc = setup()
    fresh.apply_gradients([(good_c, fc), (good_b, fb)])
    for v, w in [(a, fa), (b, fb), (c, fc)]:
        np.testing.assert_array_equal(v.numpy(), w.numpy())


@pytest.mark.parametrize("value", [-0.1, 0.0, math.nan, math.inf, "fast", None, np.array([0.1]), True],
                         ids=["negative", "zero", "nan", "inf", "str", "none", "array", "bool"])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_callable_learning_rate_returning_a_bad_value_changes_nothing(kind, value):
    v = tg.Variable([1.0, 2.0], name="cat_lr")
    returns = iter([0.1, value])
    opt = OPTIMIZERS[kind](lambda: next(returns))
    opt.apply_gradients([(tg.constant([1.0, 1.0]), v)])
    before = _snapshot([v], opt)
    name = type(opt).__name__
    exc = ValueError if isinstance(value, float) else TypeError
    expect(exc, name, lambda: opt.apply_gradients([(tg.constant([1.0, 1.0]), v)]), "learning_rate()")
    _assert_unchanged([v], opt, before)
    assert opt.iterations == 1


def test_callable_learning_rate_that_raises_changes_nothing():
    v = tg.Variable([1.0, 2.0])
    w = tg.Variable([3.0])

    def boom():
        raise RuntimeError("schedule broke")

    opt = tg.Adam(boom)
    with pytest.raises(RuntimeError, match="schedule broke"):
        opt.apply_gradients([(tg.constant([1.0, 1.0]), v), (tg.constant([1.0]), w)])
    assert opt.variables() == [] and opt.iterations == 0
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_hyperparameters_that_vanish_or_overflow_in_float32_are_errors():
    """A learning rate or epsilon valid in float64 but infinite or zero in float32 would give
    infinite or NaN updates: the update refuses it, naming the value, and changes nothing."""
    v32 = tg.Variable(np.ones(2, np.float32), name="cat_f32")
    expect(ValueError, "apply_gradients", lambda: tg.Momentum(1e300, 0.9).apply_gradients([(np.ones(2, np.float32),
                                                                                             v32)]),
           "learning_rate", "float32")
    expect(ValueError, "apply_gradients", lambda: tg.Adam(0.1, epsilon=1e-60).apply_gradients(
        [(np.zeros(2, np.float32), v32)]), "epsilon", "float32")
    expect(ValueError, "apply_gradients", lambda: tg.Adam(0.1, beta1=1 - 1e-12).apply_gradients(
        [(np.ones(2, np.float32), v32)]), "float32", "beta1")
    np.testing.assert_array_equal(v32.numpy(), [1.0, 1.0])
    v64 = tg.Variable(np.ones(2), name="cat_f64")
    tg.Adam(0.1, epsilon=1e-60).apply_gradients([(np.ones(2), v64)])  # representable in float64


def test_engine_updates_check_their_slot_lists():
    """The _core entry points check what the Python layer guarantees, for direct callers."""
    v = tg.Variable(np.ones(3), name="cat_core")
    m = tg.Variable(np.zeros(3), name="cat_core_m")
    g = np.ones(3)
    expect(ValueError, "apply_gradients", lambda: tg._core.adam_update([v], [g], [m], [m], 0.1, 0.9, 0.999, 1e-8,
                                                                      0.9, 0.999), "twice")
    expect(ValueError, "apply_gradients", lambda: tg._core.momentum_update([v], [g], [v], 0.1, 0.9, False),
           "twice")
    expect(ValueError, "apply_gradients", lambda: tg._core.momentum_update(
        [v], [g], [tg.Variable(np.zeros(2))], 0.1, 0.9, False), "slot", (2,), (3,))
    expect(ValueError, "apply_gradients", lambda: tg._core.momentum_update([v], [g], [], 0.1, 0.9, False), "slots")
    expect(ValueError, "apply_gradients", lambda: tg._core.momentum_update([v], [g], [m], 0.1, 1.0, False),
           "momentum")
    expect(ValueError, "apply_gradients", lambda: tg._core.rmsprop_update([v], [g], [m], [m], None, -1.0, 0.9,
                                                                         0.0, 1e-10), "learning_rate")
    expect(ValueError, "apply_gradients", lambda: tg._core.adam_update([v], [g], [m], [tg.Variable(np.zeros(3))],
                                                                      0.1, 0.9, 0.999, 1e-8, 1.0, 0.999), "beta1^t")
    expect(TypeError, "apply_gradients", lambda: tg._core.momentum_update([v], [g], [np.zeros(3)], 0.1, 0.9, False),
           "Variable")
    np.testing.assert_array_equal(v.numpy(), np.ones(3))
    np.testing.assert_array_equal(m.numpy(), np.zeros(3))


def test_minimize_failures_change_nothing():
    v = tg.Variable([1.0, 2.0], name="cat_min")
    opt = tg.GradientDescent(0.1)
    expect(ValueError, "GradientDescent.minimize", lambda: opt.minimize(lambda: None, var_list=[v]), "None")
    def reads_then_returns_none():
        _ = v * 1.0
    with pytest.raises(ValueError, match="reads_then_returns_none returned None"):
        opt.minimize(reads_then_returns_none)
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.minimize(lambda: tg.constant(1.0) + 0.0 * 0.0, var_list=[v])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_minimize_refuses_a_tensor_as_var_list():
    """A Tensor (not a list) as var_list raises naming minimize, and the variable keeps its value."""
    v = tg.Variable(1.0)
    expect(ALLOWED, "GradientDescent.minimize",
           lambda: tg.GradientDescent(0.1).minimize(lambda: v * 2.0, var_list=tg.constant(1.0)))
    assert v.numpy() == 1.0


def test_dense_failures_leave_the_layer_unbuilt():
    layer = tg.Dense(2, kernel_initializer=lambda shape, dtype: np.zeros((5, 5), dtype), name="cat_dense_a")
    expect(ValueError, "Dense", lambda: layer(np.ones((1, 3), np.float32)), (5, 5), (3, 2))
    assert layer.variables == [] and not layer.built
    layer = tg.Dense(2, bias_initializer=lambda shape, dtype: np.full(shape, "a"), name="cat_dense_b")
    expect(TypeError, "Dense", lambda: layer(np.ones((1, 3), np.float32)), "bias_initializer")
    assert layer.variables == []
    layer = tg.Dense(2, name="cat_dense_c")
    expect(ValueError, "Dense", lambda: layer(np.ones((3, 0), np.float32)), (3, 0))
    expect(TypeError, "Dense", lambda: layer.build((2, 3), np.int32), "int32")
    expect(TypeError, "Dense", lambda: layer.build("ab"), "input_shape")
    assert layer.variables == []
    layer.build((2, 3))
    expect(ValueError, "Dense", lambda: layer.build((2, 3)), "already built")
    expect(TypeError, "Dense", lambda: layer("abc"), "str")
    assert [v.shape for v in layer.variables] == [(3, 2), (2,)]


# =============================================================================================
# Input that looks bad but is valid: it must compute, and compute right
# =============================================================================================

def _layouts():
    base = np.arange(12, dtype=np.float64).reshape(3, 4) / 7.0 - 0.5
    return {
        "negative_strides": base[::-1, ::-2],
        "fortran_order": np.asfortranarray(base),
        "transposed_view": base.T,
        "big_endian": base.astype(">f8"),
        "big_endian_f32": base.astype(">f4"),
        "read_only": np.frombuffer(base.tobytes(), dtype=np.float64).reshape(3, 4),
        "float16": base.astype(np.float16),
        "longdouble": base.astype(np.longdouble),
        "uint64": np.arange(12, dtype=np.uint64).reshape(3, 4),
        "bool": base > 0,
        "zero_stride_broadcast": np.broadcast_to(base[:1], (3, 4)),
        "array_module_double": np.asarray(array.array("d", base.ravel().tolist())).reshape(3, 4),
    }


@pytest.mark.parametrize("layout", list(_layouts()))
def test_unusual_array_layouts_compute(layout):
    a = _layouts()[layout]
    t = tg.constant(a)
    ref = np.asarray(a, dtype=np.float64)
    np.testing.assert_allclose(np.asarray(t, np.float64), ref, rtol=1e-3 if a.dtype == np.float16 else 1e-6)
    w = np.linspace(-1, 1, a.shape[-1] * 2).reshape(a.shape[-1], 2).astype(t.dtype)
    np.testing.assert_allclose(np.asarray(tg.matmul(a, w), np.float64), ref @ w.astype(np.float64),
                               rtol=1e-3, atol=1e-3)
    s = tg.reduce_sum(tg.square(tg.constant(a, dtype=tg.float64)))
    assert float(s) == pytest.approx(float(np.sum(ref ** 2)))


def test_nan_and_inf_flow_through_gradients_and_updates():
    x = tg.constant([1.0, np.nan, np.inf, -np.inf, 0.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.reduce_sum(x * x)
    g = np.asarray(tape.gradient(y, x))
    np.testing.assert_array_equal(g, np.asarray([2.0, np.nan, np.inf, -np.inf, 0.0], np.float32))
    v = tg.Variable([1.0, 2.0], name="cat_nan")
    tg.GradientDescent(1.0).apply_gradients([(tg.constant([np.nan, np.inf]), v)])
    np.testing.assert_array_equal(v.numpy(), np.asarray([np.nan, -np.inf], np.float32))
    v.assign([np.inf, 0.0])
    assert np.isinf(v.numpy()[0])


def test_empty_batch_trains_without_error():
    layer = tg.Dense(2, name="cat_empty_batch")
    x = np.ones((0, 3), np.float32)
    loss, gv = tg.implicit_value_and_gradients(lambda a: tg.reduce_sum(tg.square(layer(a))))(x)
    assert float(loss) == 0.0
    for g, v in gv:
        assert tuple(g.shape) == v.shape
        np.testing.assert_array_equal(np.asarray(g), np.zeros(v.shape))
    tg.GradientDescent(0.1).apply_gradients(gv)


@pytest.mark.parametrize("make", [
    lambda: tg.broadcast_to(tg.constant([1.0]), (2 ** 62, 2 ** 62, 0)),
    lambda: tg.broadcast_to(tg.constant([1.0]), (0, 2 ** 62, 2 ** 62)),
    lambda: tg.transpose(tg.reshape(tg.constant(np.ones(0)), (2 ** 62, 0, 2 ** 62)), (0, 2, 1)),
    lambda: tg.reduce_sum(tg.reshape(tg.constant(np.ones(0)), (2 ** 40, 0, 2 ** 40)), axis=1, keepdims=True),
], ids=["broadcast_zero_last", "broadcast_zero_first", "transpose_zero_middle_to_last", "reduce_zero_axis"])
def test_zero_size_with_huge_partner_dims(make):
    """A zero dimension makes any partner dimension cheap: the result is empty (or a clear error),
    never an overflow (the sanitizer run checks the arithmetic)."""
    try:
        out = make()
    except (ValueError, MemoryError) as e:
        assert str(e).split(":")[0] in ("broadcast_to", "transpose", "reshape", "reduce_sum"), str(e)
        return
    assert out.size == 0 or 0 in tuple(out.shape) or out.numpy().size in (0, 2 ** 80), out.shape


# random._to_tensor turns numpy's MemoryError into one naming the op, but not numpy's ValueError
# "array is too big" (a shape whose byte count exceeds the address space).
@pytest.mark.parametrize("call", [
    lambda: tg.random.normal([2 ** 62]),
    lambda: tg.random.uniform([4, 2 ** 61]),
    lambda: tg.Dense(2 ** 62, name="cat_huge_units")(np.ones((1, 2), np.float32)),
], ids=["normal", "uniform", "dense_units"])
def test_absurd_random_shapes_name_the_op(call):
    with pytest.raises((ValueError, MemoryError)) as info:
        call()
    assert str(info.value).startswith(("random.", "Dense")), str(info.value)


def test_traced_functions_name_what_is_wrong():
    spec = tg.TensorSpec((None, 3), "float32", name="batch")
    f = tg.function(lambda x: tg.reduce_sum(x), input_signature=[spec])
    f(np.ones((2, 3), np.float32))
    expect(ValueError, "tg.function", lambda: f(np.ones((2, 4), np.float32)), "argument 0", "batch", "(2, 4)")
    expect(ValueError, "tg.function", lambda: f(np.ones((2, 3), np.int32)), "argument 0", "int32")
    expect(ValueError, "tg.function", lambda: f("text"), "argument 0", "str")
    expect(TypeError, "TensorSpec", lambda: tg.TensorSpec("ab"))
    expect(TypeError, "TensorSpec", lambda: tg.TensorSpec((2,), tg.Dense(1)), "not a dtype")
    expect(TypeError, "tg.function", lambda: tg.function(f, input_signature=spec))
    expect(TypeError, "tg.function", lambda: tg.function(3))
    # A Variable created by a trace other than the first.
    g = tg.function(lambda x: tg.Variable(x) + 0.0)
    g(np.ones(2, np.float32))
    expect(ValueError, "tg.function", lambda: g(np.ones(3, np.float32)), "first trace")
    # A traced function returning something other than tensors.
    expect(TypeError, "tg.function", lambda: tg.function(lambda: "done")(), "returned str")
    expect(TypeError, "tg.function", lambda: tg.function(lambda x: [x, 1])(tg.ones(2)), "returned int", "output 1")
