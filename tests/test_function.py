"""tg.function: retracing, trace-time side effects, variables, errors, threads, and bit equality
with eager execution (every op of the spec table, whole training runs, every ISA and thread
count)."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core
from op_specs import SPECS, call, variants_with_spellings

CASES = variants_with_spellings(SPECS)


def bits(t):
    return None if t is None else np.asarray(t).tobytes()


def same_bits(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same_bits(x, y)
        return
    assert bits(a) == bits(b), (a, b)


# -- retracing -----------------------------------------------------------------------------------

def test_same_signature_traces_once_and_new_shapes_dtypes_and_scalars_trace_again():
    f = tg.function(lambda x, k: x * k)
    x = tg.constant(np.ones((2, 3), np.float32))
    for _ in range(3):
        f(x, 2.0)
    assert f.experimental_get_tracing_count() == 1
    f(tg.constant(np.ones((2, 3), np.float32)), 2.0)  # another tensor of the same signature
    assert f.experimental_get_tracing_count() == 1
    f(tg.constant(np.ones((4, 3), np.float32)), 2.0)
    assert f.experimental_get_tracing_count() == 2
    f(tg.constant(np.ones((2, 3), np.float64)), 2.0)
    assert f.experimental_get_tracing_count() == 3
    out = f(x, 3.0)
    assert f.experimental_get_tracing_count() == 4
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 3.0, np.float32))
    f(x=x, k=3.0)  # keywords: a signature of their own
    f(x=x, k=3.0)
    assert f.experimental_get_tracing_count() == 5


def test_numpy_arrays_nested_arguments_and_outputs():
    f = tg.function(lambda pair, scale=1.0: {"sum": pair[0] + pair[1], "none": None, "list": [pair[0] * scale]})
    a, b = np.arange(3, dtype=np.float32), np.ones(3, np.float32)
    for _ in range(2):
        out = f((a, b), scale=2.0)
    assert f.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(out["sum"].numpy(), a + b)
    assert out["none"] is None
    np.testing.assert_array_equal(out["list"][0].numpy(), a * 2.0)
    out = f((a + 1.0, b), scale=2.0)  # new values, same signature: replayed with the new data
    np.testing.assert_array_equal(out["sum"].numpy(), a + 1.0 + b)


def test_the_same_tensor_twice_stays_two_arguments():
    f = tg.function(lambda x, y: x - y)
    x = tg.constant(np.ones(3, np.float32))
    f(x, x)
    out = f(x, tg.constant(np.full(3, 5.0, np.float32)))
    np.testing.assert_array_equal(out.numpy(), np.full(3, -4.0, np.float32))


def test_input_signature_checks_each_argument_and_never_retraces_for_a_match():
    f = tg.function(lambda x: tg.reduce_sum(x), input_signature=[tg.TensorSpec((None, 2), "float32", name="x")])
    f(np.ones((3, 2), np.float32))
    f(tg.constant(np.ones((3, 2), np.float32)))
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match=r"argument 0 \('x'\).*float64"):
        f(np.ones((3, 2), np.float64))
    with pytest.raises(ValueError, match=r"argument 0 \('x'\).*shape \(3, 3\)"):
        f(np.ones((3, 3), np.float32))
    with pytest.raises(ValueError, match="input_signature has 1 argument"):
        f(np.ones((3, 2), np.float32), np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="by position"):
        f(x=np.ones((3, 2), np.float32))


# -- Python semantics ----------------------------------------------------------------------------

def test_python_side_effects_happen_only_while_tracing():
    seen = []

    @tg.function
    def f(x):
        seen.append(1)
        print("tracing")
        return x + 1.0

    x = tg.constant(np.zeros(2, np.float32))
    for _ in range(4):
        f(x)
    assert seen == [1]


def test_python_control_flow_is_fixed_at_trace_time():
    flag = {"double": True}

    @tg.function
    def f(x):
        return x * 2.0 if flag["double"] else x

    x = tg.constant(np.ones(2, np.float32))
    f(x)
    flag["double"] = False
    np.testing.assert_array_equal(f(x).numpy(), [2.0, 2.0])  # the branch taken when tracing


def test_variables_created_on_the_first_trace_only():
    layer = tg.Dense(3)
    f = tg.function(lambda x: layer(x))
    f(np.ones((2, 4), np.float32))  # builds the layer's variables on the first trace
    f(np.ones((5, 4), np.float32))  # a second trace that creates nothing
    assert f.experimental_get_tracing_count() == 2

    g = tg.function(lambda x: tg.Variable(x) * 1.0)
    g(np.ones(2, np.float32))
    with pytest.raises(ValueError, match="created Variable.*first trace"):
        g(np.ones(3, np.float32))


def test_updates_take_effect_and_each_call_reads_current_values():
    v = tg.Variable(np.zeros(3, np.float32))

    @tg.function
    def bump(x):
        v.assign_add(x)
        return v.read_value() * 1.0

    x = tg.constant(np.ones(3, np.float32))
    for k in range(1, 4):
        np.testing.assert_array_equal(bump(x).numpy(), np.full(3, k, np.float32))
    v.assign(np.full(3, 10.0, np.float32))  # outside the function: the next call sees it
    np.testing.assert_array_equal(bump(x).numpy(), np.full(3, 11.0, np.float32))
    np.testing.assert_array_equal(v.numpy(), np.full(3, 11.0, np.float32))


def test_returning_a_variable_returns_its_value_and_non_tensors_are_errors():
    v = tg.Variable(np.ones(2, np.float32))
    f = tg.function(lambda: v)
    np.testing.assert_array_equal(f().numpy(), [1.0, 1.0])
    with pytest.raises(TypeError, match=r"tg.function .*returned float"):
        tg.function(lambda: 3.0)()
    with pytest.raises(TypeError, match=r"tg.function .*returned ndarray"):
        tg.function(lambda: np.ones(2))()


def test_errors_during_replay_are_the_eager_errors():
    def loss(labels, logits):
        return tg.reduce_sum(tg.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

    f = tg.function(loss)
    logits = tg.constant(np.zeros((2, 3), np.float32))
    f(tg.constant(np.array([0, 2], np.int32)), logits)
    bad = tg.constant(np.array([0, 7], np.int32))
    with pytest.raises(ValueError) as eager:
        loss(bad, logits)
    with pytest.raises(ValueError) as replayed:
        f(bad, logits)
    assert str(replayed.value) == str(eager.value)

    div = tg.function(lambda a, b: a // b)
    a = tg.constant(np.array([4, 5], np.int32))
    div(a, tg.constant(np.array([1, 2], np.int32)))
    with pytest.raises(ValueError) as replayed:
        div(a, tg.constant(np.array([1, 0], np.int32)))
    with pytest.raises(ValueError) as eager:
        a // tg.constant(np.array([1, 0], np.int32))
    assert str(replayed.value) == str(eager.value)


def test_a_callable_learning_rate_cannot_be_traced_but_a_new_number_takes_effect():
    v = tg.Variable(np.ones(2, np.float32))
    opt = tg.GradientDescent(lambda: 0.1)
    step = tg.function(lambda g: opt.apply_gradients([(g, v)]))
    with pytest.raises(ValueError, match="callable learning_rate"):
        step(tg.constant(np.ones(2, np.float32)))

    opt = tg.GradientDescent(0.5)
    step = tg.function(lambda g: opt.apply_gradients([(g, v)]))
    g = tg.constant(np.ones(2, np.float32))
    step(g)
    np.testing.assert_array_equal(v.numpy(), [0.5, 0.5])
    opt.learning_rate = 0.25
    step(g)
    np.testing.assert_array_equal(v.numpy(), [0.25, 0.25])
    assert opt.iterations == 2


def test_a_tape_around_a_call_sees_every_op():
    w = tg.Variable(np.array([2.0, 3.0], np.float32))
    f = tg.function(lambda x: tg.reduce_sum(tg.square(x * w)))
    x = tg.constant(np.array([1.0, -1.0], np.float32))
    f(x)
    with tg.GradientTape() as tape:
        y = f(x)
    grad = tape.gradient(y, w)
    with tg.GradientTape() as tape:
        y_eager = tg.reduce_sum(tg.square(x * w))
    same_bits(y, y_eager)
    same_bits(grad, tape.gradient(y_eager, w))


def test_one_function_from_several_threads():
    v = tg.Variable(np.zeros(4, np.float32))
    f = tg.function(lambda x: (tg.reduce_sum(tg.tanh(x) * 2.0), v.assign_add(tg.ones_like(x)))[0])
    xs = [tg.constant(np.random.default_rng(i).standard_normal(4).astype(np.float32)) for i in range(4)]
    expected = [bits(tg.reduce_sum(tg.tanh(x) * 2.0)) for x in xs]
    f(xs[0])
    errors = []

    def worker(i):
        try:
            for _ in range(50):
                assert bits(f(xs[i])) == expected[i]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    np.testing.assert_array_equal(v.numpy(), np.full(4, 201.0, np.float32))


# -- the passes ----------------------------------------------------------------------------------

def test_passes_fold_merge_and_drop_without_changing_results():
    c = tg.constant(np.arange(4, dtype=np.float32))

    def f(x):
        unused = tg.exp(x)  # noqa: F841 - dead
        folded = tg.square(c) + 1.0  # constants only
        return tg.tanh(x) * folded + tg.tanh(x)  # tanh(x) twice

    fn = tg.function(f)
    x = tg.constant(np.linspace(-1, 1, 4).astype(np.float32))
    concrete = fn.get_concrete_function(x)
    counts = concrete.pass_counts
    assert counts["folded"] >= 2 and counts["common"] >= 1 and counts["dead"] >= 1, counts
    assert "exp" not in concrete.graph() and "exp" in concrete.graph(optimized=False)
    same_bits(fn(x), f(x))



def test_a_read_after_an_update_is_not_merged_with_the_read_before():
    v = tg.Variable(np.ones(3, np.float32))

    @tg.function
    def step(x):
        before = v.read_value() * 2.0
        v.assign_add(x)
        after = v.read_value() * 2.0
        return before + after

    x = tg.constant(np.array([1.0, 2.0, 3.0], np.float32))
    for _ in range(2):  # the trace, then a replay
        start = v.numpy().copy()
        np.testing.assert_array_equal(step(x).numpy(), start * 2 + (start + x.numpy()) * 2)
        np.testing.assert_array_equal(v.numpy(), start + x.numpy())


def test_ops_that_check_values_run_even_when_their_results_are_unused():
    def f(x, i):
        tg.check_numerics(x, "x")
        tg.gather(x, i)
        return x * 2.0

    fn = tg.function(f)
    good = tg.constant(np.ones(3, np.float32))
    i = tg.constant(np.array([0, 2], np.int32))
    np.testing.assert_array_equal(fn(good, i).numpy(), np.full(3, 2.0, np.float32))
    nan = tg.constant(np.array([1.0, np.nan, 1.0], np.float32))
    bad_index = tg.constant(np.array([0, 7], np.int32))
    for args in ((nan, i), (good, bad_index)):
        with pytest.raises(Exception) as eager:
            f(*args)
        with pytest.raises(type(eager.value)) as replayed:
            fn(*args)
        assert str(replayed.value) == str(eager.value)

# -- bit equality ---------------------------------------------------------------------------------

def _float32(a):
    return a.astype(np.float32) if a.dtype == np.float64 else a


def _bools(a):
    return np.array(np.asarray(a) > 0)  # a 0-d array, not a numpy scalar


@pytest.mark.parametrize("spec,spelling,variant", CASES, ids=[f"{sp}-{v.id}" for _, sp, v in CASES])
def test_every_op_and_its_gradient_replays_bit_for_bit(spec, spelling, variant, rng):
    fn = spec.spellings[spelling]
    as_input = _bools if np.dtype(spec.check.get("dtypes", (np.float32,))[0]) == np.bool_ else _float32
    arrays = [as_input(draw(rng, s)) for draw, s in zip(spec.domain, variant.shapes)]

    def step(*ts):
        with tg.GradientTape(persistent=True) as tape:
            for t in ts:
                if np.dtype(t.dtype).kind == "f":
                    tape.watch(t)
            y = call(fn, variant, ts)
            loss = tg.reduce_sum(y * y) if np.dtype(y.dtype).kind == "f" else None
        grads = tape.gradient(loss, list(ts)) if loss is not None else []
        return (y, *grads)

    compiled = tg.function(step)
    inputs = [tg.constant(a) for a in arrays]
    compiled(*inputs)  # the trace
    fresh = [tg.constant(as_input(draw(rng, s))) for draw, s in zip(spec.domain, variant.shapes)]
    same_bits(compiled(*fresh), step(*fresh))


def _seed_step(optimizer):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 1)).astype(np.float32)
    y = (3 * x + 2 + rng.standard_normal((200, 1))).astype(np.float32)
    tg.random.set_seed(3)
    wb = tg.Dense(1)
    wb(tg.constant(x))  # built now, from the seeded generator
    loss_fn = lambda inputs, labels, wb: tg.reduce_mean(tg.square(wb(inputs) - labels))  # noqa: E731
    vag = tg.implicit_value_and_gradients(loss_fn)

    def step(inputs, labels):
        value, grads_and_vars = vag(inputs, labels, wb)
        optimizer.apply_gradients(grads_and_vars)
        return value

    return step, tg.constant(x), tg.constant(y), wb


@pytest.mark.parametrize("make_optimizer", [lambda: tg.GradientDescent(0.1), lambda: tg.Momentum(0.05, 0.9),
                                            lambda: tg.Adam(0.01), lambda: tg.RMSProp(0.01, centered=True)],
                         ids=["sgd", "momentum", "adam", "rmsprop"])
def test_training_the_notebook_model_gives_the_eager_bits(make_optimizer):
    eager_opt, compiled_opt = make_optimizer(), make_optimizer()
    eager, x, y, eager_wb = _seed_step(eager_opt)
    step, _, _, compiled_wb = _seed_step(compiled_opt)
    compiled = tg.function(step)
    for _ in range(30):
        same_bits(compiled(x, y), eager(x, y))
    same_bits(compiled_wb.trainable_variables, eager_wb.trainable_variables)
    same_bits(compiled_opt.variables(), eager_opt.variables())
    assert compiled_opt.iterations == eager_opt.iterations == 30
    assert compiled.experimental_get_tracing_count() == 1


def test_the_digits_example_gives_the_eager_bits():
    digits = pytest.importorskip("tapegrad.examples.digits")
    pytest.importorskip("sklearn")
    runs = [digits.run(epochs=2, out_dir=None, quiet=True, subset=300, function=f) for f in (False, True)]
    same_bits(runs[1]["model"].trainable_variables, runs[0]["model"].trainable_variables)
    assert runs[1]["train_loss"] == runs[0]["train_loss"]


def test_the_demo_gives_the_eager_bits():
    from tapegrad import demo

    runs = [demo.run(steps=15, out_dir=None, quiet=True, function=f) for f in (False, True)]
    for key in ("loss", "w", "b"):
        assert runs[1][key] == runs[0][key]


# A deep step (a smaller sibling of the benchmark's 256x1024 -> 1024 -> 1024) under every ISA this
# CPU runs and two thread counts, in a fresh process each: the compiled run's bits must equal the
# eager run's in the same process.
DEEP_SCRIPT = r"""
import sys
import numpy as np
import tapegrad as tg
from tapegrad import _core
tg.config.set_num_threads(int(sys.argv[1]))

def run(compiled):
    tg.random.set_seed(5)
    model = tg.Sequential([tg.Dense(96, activation="relu"), tg.Dense(64, activation="tanh"), tg.Dense(10)])
    opt = tg.Adam(0.01)
    rng = np.random.default_rng(1)
    x = tg.constant(rng.standard_normal((48, 80)).astype(np.float32))
    labels = tg.constant(rng.integers(0, 10, 48).astype(np.int32))

    def step(x, labels):
        with tg.GradientTape() as tape:
            loss = tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(labels, model(x)))
        variables = model.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    if compiled:
        step = tg.function(step)
    losses = [np.asarray(step(x, labels)).tobytes() for _ in range(8)]
    return losses, [np.asarray(v).tobytes() for v in model.trainable_variables + opt.variables()]

def seed(compiled, n):
    # A column times a 1x1 weight: the fused loop's product must give the GEMM's bits.
    tg.random.set_seed(2)
    wb = tg.Dense(1)
    rng = np.random.default_rng(3)
    x = tg.constant(rng.standard_normal((n, 1)).astype(np.float32))
    y = tg.constant((3 * np.asarray(x) + 2).astype(np.float32))
    wb(x)
    opt = tg.GradientDescent(0.1)
    vag = tg.implicit_value_and_gradients(lambda x, y: tg.reduce_mean(tg.square(wb(x) - y)))

    def step(x, y):
        value, gv = vag(x, y)
        opt.apply_gradients(gv)
        return value

    if compiled:
        step = tg.function(step)
    losses = [np.asarray(step(x, y)).tobytes() for _ in range(5)]
    if compiled:  # traced by the first call: this neither traces nor runs it again
        assert step.get_concrete_function(x, y).pass_counts["scaled"] == 1
    return losses, [np.asarray(v).tobytes() for v in wb.variables]

assert run(False) == run(True)
# One tile; a short run in sinks; one streamed run; streamed chunks on threads.
for n in (1, 1000, 3000, 5000, 200000):
    assert seed(False, n) == seed(True, n), n
print("ok", tg.config.isa())
"""


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_a_deep_step_replays_bit_for_bit_on_every_isa_and_thread_count(isa, threads):
    if isa not in tg.config.available_isas():
        pytest.skip(f"this CPU cannot run {isa}")
    env = dict(os.environ, TAPEGRAD_ISA=isa)
    proc = subprocess.run([sys.executable, "-c", DEEP_SCRIPT, str(threads)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.split() == ["ok", isa]


# -- fusion ----------------------------------------------------------------------------------------

def _chain(x, y, k):
    """Elementwise chains with one-element operands, uniform constants and reductions at the end."""
    c = tg.constant(np.full(tuple(x.shape), 0.75, np.dtype(x.dtype)))  # uniform: fused as one value
    a = tg.tanh(x * 1.5 + y) - c
    b = tg.exp(-tg.square(a)) / (1.0 + tg.sigmoid(y))
    mean = tg.reduce_mean(tg.square(b - x))
    total = tg.reduce_sum(b * k, keepdims=True)
    return a, mean, total, b * b


@pytest.mark.parametrize("n", [1, 7, 2048, 5000, 70000, 200003])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_chains_and_their_sums_give_the_eager_bits(n, dtype, threads, rng):
    before = tg.config.num_threads()
    tg.config.set_num_threads(threads)
    try:
        f = tg.function(_chain)
        x = tg.constant(rng.standard_normal(n).astype(dtype))
        y = tg.constant(rng.standard_normal(n).astype(dtype))
        k = tg.constant(np.asarray(rng.standard_normal(), dtype))
        f(x, y, k)
        if n > 1:
            assert f.get_concrete_function(x, y, k).pass_counts["fused"] >= 8
        x2 = tg.constant(rng.standard_normal(n).astype(dtype))
        same_bits(f(x2, y, k), _chain(x2, y, k))
    finally:
        tg.config.set_num_threads(before)


def _dense_chain(x, w, b):
    """A layer's forward and backward as a training step forms them: a bias row added to every
    row, relu, a constant column of equal elements (1 / batch), and the bias gradient's sum over
    rows."""
    rows = x.shape[0]
    scale = tg.constant(np.full((rows, 1), 1.0 / rows, np.float32))
    h = tg.matmul(x, w) + b
    a = tg.nn.relu(h)
    g = a * scale
    return a, tg.reduce_sum(g, axis=0), tg.reduce_mean(g * h, axis=1, keepdims=True), tg.reduce_sum(g)


@pytest.mark.parametrize("rows,width", [(3, 2), (32, 10), (7, 100), (32, 128), (33, 2048), (40, 2049), (600, 130)])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_rows_and_axis_sums_give_the_eager_bits(rows, width, threads, rng):
    """Rows broadcast over a run (a bias, tiles starting anywhere in a row), constants of equal
    elements in a broadcast shape, and sums or means over some axes inside the fused loop: the
    eager bits, with rows wider than a tile left to the op, on any thread count."""
    before = tg.config.num_threads()
    tg.config.set_num_threads(threads)
    try:
        f = tg.function(_dense_chain)
        x = tg.constant(rng.standard_normal((rows, 5)).astype(np.float32))
        w = tg.constant(rng.standard_normal((5, width)).astype(np.float32))
        b = tg.constant(rng.standard_normal(width).astype(np.float32))
        f(x, w, b)
        graph = f.get_concrete_function(x, w, b).graph()
        if width <= 2048:
            assert "relu" not in graph and "add(" not in graph, graph
        if rows * width < 65536:
            assert "reduce_sum(" not in graph and "reduce_mean(" not in graph, graph
        x2 = tg.constant(rng.standard_normal((rows, 5)).astype(np.float32))
        b2 = tg.constant(rng.standard_normal(width).astype(np.float32))
        same_bits(f(x2, w, b2), _dense_chain(x2, w, b2))
    finally:
        tg.config.set_num_threads(before)


def test_axis_sums_in_a_fused_loop_keep_their_bits_when_the_threshold_drops(rng):
    """A run with an axis sum fuses below the parallel threshold; lowering the threshold later
    (as bench/thread_thresholds.py does) must still give eager's bits, whose full sums then
    go by chunks."""
    f = tg.function(_dense_chain)
    x = tg.constant(rng.standard_normal((300, 5)).astype(np.float32))
    w = tg.constant(rng.standard_normal((5, 128)).astype(np.float32))
    b = tg.constant(rng.standard_normal(128).astype(np.float32))
    f(x, w, b)
    saved = tg._core._parallel_thresholds()
    try:
        tg._core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"],
                                          saved["gemv_madds"], 4096)
        same_bits(f(x, w, b), _dense_chain(x, w, b))
    finally:
        tg._core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"],
                                          saved["gemv_madds"], saved["elementwise"])


def _dot_chain(x, y, w):
    """A forward over a column (n, 1) or a row (1, n), its loss and the dot product of its
    gradient with x (x^T g for a column, g x^T for a row), as the seed step's weight gradient."""
    g = tg.square(x * w - y) * 0.5
    if x.shape[1] == 1:
        return tg.matmul(x, g, transpose_a=True), tg.reduce_sum(g)
    return tg.matmul(g, x, transpose_b=True), tg.reduce_sum(g)


@pytest.mark.parametrize("n", [2, 4095, 4096, 65535, 65536, 65537, 200003])
@pytest.mark.parametrize("layout", ["column", "row"])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_dot_products_give_the_gemm_bits(n, layout, threads, rng):
    """A float32 dot product (a matmul of two columns, or rows, into one element) joins the fused
    loop as a reduction, which must give the GEMM dot path's bits below and above the parallel
    threshold, with a partial last chunk, on any thread count."""
    before = tg.config.num_threads()
    tg.config.set_num_threads(threads)
    shape = (n, 1) if layout == "column" else (1, n)
    try:
        f = tg.function(_dot_chain)
        x = tg.constant(rng.standard_normal(shape).astype(np.float32))
        y = tg.constant(rng.standard_normal(shape).astype(np.float32))
        w = tg.constant(np.float32(rng.standard_normal()))
        f(x, y, w)
        graph = f.get_concrete_function(x, y, w).graph()
        assert "matmul" not in graph and "fused#0" in graph, graph
        y2 = tg.constant(rng.standard_normal(shape).astype(np.float32))
        same_bits(f(x, y2, w), _dot_chain(x, y2, w))
    finally:
        tg.config.set_num_threads(before)


_PAIR_OPS = [tg.add, tg.subtract, tg.multiply, tg.divide]


def _scalar_pairs(x, s1, s2):
    """Every pair of arithmetic ops with a one-element operand on either side, chained on x (each
    pair with its own first operand s1[k], so that no two pairs share their first step): the
    fused loop runs each pair as one kernel call (kernels/scalar_pairs.h)."""
    outs = []
    for op1 in _PAIR_OPS:
        for first1 in (False, True):
            for op2 in _PAIR_OPS:
                for first2 in (False, True):
                    k = len(outs)
                    t = op1(s1[k], x) if first1 else op1(x, s1[k])
                    outs.append(op2(s2, t) if first2 else op2(t, s2))
    return outs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_pairs_in_fused_loops_give_the_eager_bits_on_every_isa(dtype, rng):
    """Two arithmetic steps with one-element operands run as one loop, each element rounded after
    each op as the two binary kernels round it: the eager bits for all 64 pairs, on every ISA,
    with zeros of both signs, infinities, NaN, subnormals and huge values among the elements."""
    info = np.finfo(dtype)
    x = rng.standard_normal(3001).astype(dtype) * 3
    x[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, info.tiny / 4, info.max, -info.max]
    scalars = [(dtype(0.7), dtype(-1.3)), (dtype(info.max), dtype(info.tiny)), (dtype(0.0), dtype(-0.0))]
    saved = _core.isa()
    try:
        for isa in _core.available_isas():
            _core.select_isa(isa)
            f = tg.function(_scalar_pairs)
            for s1, s2 in scalars:
                args = (tg.constant(x), [tg.constant(s1)] * 64, tg.constant(s2))
                with np.errstate(all="ignore"):
                    same_bits(f(*args), _scalar_pairs(*args))
            assert f.get_concrete_function(*args).pass_counts["paired"] == 64, isa
    finally:
        _core.select_isa(saved)


def test_float64_dot_products_stay_gemm_calls(rng):
    """float64 products may be contracted into the additions differently in the GEMM's copy of the
    dot kernel and the table's, so a float64 dot is not fused; the step still gives the eager bits."""
    f = tg.function(_dot_chain)
    x = tg.constant(rng.standard_normal((70000, 1)))
    y = tg.constant(rng.standard_normal((70000, 1)))
    w = tg.constant(np.float64(0.3))
    same_bits(f(x, y, w), _dot_chain(x, y, w))
    assert "matmul" in f.get_concrete_function(x, y, w).graph()


def test_a_function_called_while_another_traces_is_inlined():
    inner = tg.function(lambda x: tg.exp(x) * 2.0)
    outer = tg.function(lambda x: inner(x) + inner(x * 3.0))
    x = tg.constant(np.linspace(-1, 1, 5).astype(np.float32))
    for _ in range(2):
        same_bits(outer(x), tg.exp(x) * 2.0 + tg.exp(x * 3.0) * 2.0)
    assert outer.experimental_get_tracing_count() == 1
    same_bits(inner(x), tg.exp(x) * 2.0)  # on its own it traces as usual


def test_random_draws_inside_a_trace_are_refused_unless_they_only_initialise_variables():
    f = tg.function(lambda x: x + tg.random.normal(tuple(x.shape)))
    with pytest.raises(ValueError, match="tg.random.normal drew values"):
        f(tg.zeros((3,)))
    with pytest.raises(ValueError, match="tg.random.normal"):
        f(tg.zeros((3,)))  # still refused: a failed trace is not cached

    layer = tg.Dense(2)  # glorot_uniform draws its kernel on the first (traced) call
    g = tg.function(lambda x: layer(x))
    x = tg.constant(np.ones((1, 3), np.float32))
    same_bits(g(x), g(x))
    same_bits(g(x), layer(x))


def test_jacobians_and_second_derivatives_replay_bit_for_bit():
    w = tg.Variable(np.array([[0.5, -1.0, 2.0]], np.float32))

    def step(x):
        with tg.GradientTape(persistent=True) as outer:
            outer.watch(x)
            with tg.GradientTape() as inner:
                inner.watch(x)
                y = tg.tanh(tg.matmul(x, w)) * x[:, :1]
            dy = inner.gradient(y, x)
            z = tg.reduce_sum(tg.square(dy))
        return outer.jacobian(y, x), outer.gradient(z, x), outer.batch_jacobian(y, x)

    f = tg.function(step)
    rng = np.random.default_rng(4)
    f(tg.constant(rng.standard_normal((4, 1)).astype(np.float32)))
    x = tg.constant(rng.standard_normal((4, 1)).astype(np.float32))
    same_bits(f(x), step(x))


def test_unhashable_python_arguments_are_keyed_by_identity():
    f = tg.function(lambda x, s: x[s])
    x = tg.constant(np.arange(6, dtype=np.float32))
    s = slice(1, 4)
    np.testing.assert_array_equal(f(x, s).numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(f(x, s).numpy(), [1.0, 2.0, 3.0])
    assert f.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(f(x, slice(0, 2)).numpy(), [0.0, 1.0])  # another object: traced
    assert f.experimental_get_tracing_count() == 2


def test_a_function_does_not_keep_its_tensor_arguments_alive():
    import gc
    import weakref

    f = tg.function(lambda x: x * 2.0)
    x = tg.constant(np.ones(1000, np.float32))
    f(x)
    f(x)
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None
