"""GradientTape: persistence, nesting, stop_recording, unconnected gradients, output_gradients,
source structures, which variables it watches, and its state across threads and exceptions."""

import numpy as np
import pytest

import tapegrad as tg


def _val(x):
    return np.array(np.asarray(x), dtype=np.float64)


def test_tape_non_persistent_second_gradient_raises():
    x = tg.constant(3.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    with pytest.raises(RuntimeError):
        tape.gradient(y, x)


def test_tape_persistent_gradient_twice():
    x = tg.constant(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * x
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    assert float(tape.gradient(z, x)) == pytest.approx(27.0)
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)


def test_tape_nested_second_derivative():
    x = tg.constant(2.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy) == pytest.approx(12.0)
    assert float(d2y) == pytest.approx(12.0)


def test_tape_stop_recording():
    x = tg.constant(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with tape.stop_recording():
            y = x * x
        z = x * 4.0  # recording resumes
    assert tape.gradient(y, x) is None
    assert float(tape.gradient(z, x)) == pytest.approx(4.0)
    assert float(y) == pytest.approx(9.0)  # the op still ran


def test_tape_stop_recording_with_variable():
    v = tg.Variable(2.0)
    with tg.GradientTape() as tape:
        with tape.stop_recording():
            y = v * v
    assert tape.gradient(y, v) is None


def test_tape_unconnected_gradients_zero_vs_none():
    x = tg.constant([1.0, 2.0])
    u = tg.constant(np.ones((2, 3)), dtype=tg.float64)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tape.watch(u)
        y = tg.reduce_sum(x * x)
    gx, gu = tape.gradient(y, [x, u])
    assert gu is None
    np.testing.assert_allclose(_val(gx), [2.0, 4.0])
    gx, gu = tape.gradient(y, [x, u], unconnected_gradients="none")
    assert gu is None
    gx, gu = tape.gradient(y, [x, u], unconnected_gradients="zero")
    assert isinstance(gu, tg.Tensor)
    assert tuple(gu.shape) == (2, 3) and gu.dtype == np.float64
    np.testing.assert_array_equal(_val(gu), np.zeros((2, 3)))
    np.testing.assert_allclose(_val(gx), [2.0, 4.0])


def test_tape_unconnected_zero_for_variable():
    v = tg.Variable([[1.0, 2.0, 3.0]])
    w = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        v.read_value()
        y = w * 2.0
    gv = tape.gradient(y, v, unconnected_gradients="zero")
    assert tuple(gv.shape) == (1, 3) and gv.dtype == np.float32
    np.testing.assert_array_equal(_val(gv), np.zeros((1, 3)))


def test_tape_output_gradients():
    x = tg.constant([1.0, 2.0, 3.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=tg.constant([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(_val(g), [2.0, 40.0, 600.0])


def test_tape_non_scalar_target_is_summed():
    x = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(_val(tape.gradient(y, x)), [[2.0, 4.0], [6.0, 8.0]])


def test_tape_sources_structure_preserved():
    x = tg.constant(1.0)
    y = tg.constant(2.0)
    z = tg.constant(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch([x, [y, z]])  # watch accepts nested lists
        t = x * 1.0 + y * 2.0 + z * 3.0

    single = tape.gradient(t, x)
    assert isinstance(single, tg.Tensor) and float(single) == pytest.approx(1.0)

    as_list = tape.gradient(t, [x, y, z])
    assert type(as_list) is list and [float(g) for g in as_list] == pytest.approx([1.0, 2.0, 3.0])

    as_tuple = tape.gradient(t, (z, x))
    assert type(as_tuple) is tuple and [float(g) for g in as_tuple] == pytest.approx([3.0, 1.0])

    as_dict = tape.gradient(t, {"b": y, "a": x})
    assert type(as_dict) is dict and set(as_dict) == {"a", "b"}
    assert float(as_dict["a"]) == pytest.approx(1.0) and float(as_dict["b"]) == pytest.approx(2.0)

    nested = tape.gradient(t, {"p": [x, (y, z)], "q": z})
    assert type(nested["p"]) is list and type(nested["p"][1]) is tuple
    assert float(nested["p"][0]) == pytest.approx(1.0)
    assert float(nested["p"][1][0]) == pytest.approx(2.0)
    assert float(nested["p"][1][1]) == pytest.approx(3.0)
    assert float(nested["q"]) == pytest.approx(3.0)


def test_tape_same_source_twice():
    x = tg.constant(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g1, g2 = tape.gradient(y, [x, x])
    assert float(g1) == pytest.approx(4.0) and float(g2) == pytest.approx(4.0)


def test_tape_unwatched_constant_gives_none():
    x = tg.constant(2.0)
    with tg.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None


def test_tape_watches_accessed_trainable_variables():
    v = tg.Variable(3.0)
    frozen = tg.Variable(1.0, trainable=False)
    with tg.GradientTape() as tape:
        y = v * v + frozen
    watched = tape.watched_variables()
    assert isinstance(watched, tuple)
    assert len(watched) == 1 and watched[0] is v
    assert float(tape.gradient(y, v)) == pytest.approx(6.0)


def test_tape_watch_accessed_variables_false():
    v = tg.Variable(3.0)
    w = tg.Variable(4.0)
    with tg.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        tape.watch(w)
        y = v * w
    assert tape.gradient(y, v) is None
    assert float(tape.gradient(y, w)) == pytest.approx(3.0)
    watched = tape.watched_variables()
    assert len(watched) == 1 and watched[0] is w


def test_tape_watched_variables_empty_and_contents():
    with tg.GradientTape() as tape:
        pass
    assert tape.watched_variables() == ()
    a = tg.Variable(1.0)
    b = tg.Variable(2.0)
    with tg.GradientTape() as tape:
        _ = b * a
        _ = a * 2.0
    ids = [v._unique_id for v in tape.watched_variables()]
    assert len(ids) == 2 and set(ids) == {a._unique_id, b._unique_id}


def test_every_active_tape_watches_a_read_variable():
    v = tg.Variable(2.0)
    with tg.GradientTape() as outer:
        with tg.GradientTape() as inner:
            y = v * v * v
        dy = inner.gradient(y, v)
    d2y = outer.gradient(dy, v)
    assert any(w is v for w in outer.watched_variables())
    assert float(dy) == pytest.approx(12.0)
    assert float(d2y) == pytest.approx(12.0)


def test_tape_uses_values_at_record_time():
    """The tape keeps the tensors it read; a later assign does not change the recorded gradient."""
    v = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(v * v)
        v.assign([10.0, 20.0])
    np.testing.assert_allclose(_val(tape.gradient(y, v)), [2.0, 4.0])
    assert float(y) == pytest.approx(5.0)


def test_tape_gradient_wrt_variable_and_tensor_mixed():
    v = tg.Variable(2.0)
    x = tg.constant(5.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = v * x
    gv, gx = tape.gradient(y, [v, x])
    assert float(gv) == pytest.approx(5.0) and float(gx) == pytest.approx(2.0)


def test_gradient_dict_sources_with_mixed_key_types_keep_their_order():
    """Dict sources (and watched dicts) keep their own key order, so keys of mixed types work."""
    x = tg.constant(1.0)
    with tg.GradientTape() as tape:
        tape.watch({1: x, "a": x})
        y = x * 2.0
    grads = tape.gradient(y, {1: x, "a": x})
    assert list(grads) == [1, "a"] and all(float(g) == 2.0 for g in grads.values())


# =============================================================================================
# Tape state: reads, sources, threads, exceptions
# =============================================================================================

def test_variable_read_twice_with_update_in_between_sums_both_reads():
    v = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        a = v * 2.0
        v.assign_add(1.0)
        b = v * 3.0
        y = a + b
    assert float(y) == pytest.approx(2.0 + 6.0)
    assert float(tape.gradient(y, v)) == pytest.approx(5.0)


def test_gradient_of_source_itself():
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(np.asarray(tape.gradient(x, x)), [1.0, 1.0])


def test_tapes_are_thread_local():
    import threading

    v = tg.Variable(2.0)
    x = tg.constant(3.0)
    results = {}
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        done = threading.Event()

        def other_thread():
            results["y"] = x * 5.0  # not recorded by the main thread's tape
            results["z"] = v * 7.0  # reading v here must not make the main tape watch it
            with tg.GradientTape() as own:
                own.watch(x)
                w = x * 4.0
            results["own"] = own.gradient(w, x)
            done.set()

        th = threading.Thread(target=other_thread)
        th.start()
        th.join()
        assert done.is_set()
        y_main = x * 2.0
    assert tape.gradient(results["y"], x) is None
    assert tape.watched_variables() == ()
    assert float(tape.gradient(y_main, x)) == pytest.approx(2.0)
    assert float(results["own"]) == pytest.approx(4.0)


def test_exception_inside_tape_context_still_exits_the_tape():
    x = tg.constant(2.0)
    with pytest.raises(KeyError):
        with tg.GradientTape() as tape:
            tape.watch(x)
            raise KeyError("boom")
    # the failed tape is no longer active: a new computation is not recorded on it
    with tg.GradientTape() as tape2:
        tape2.watch(x)
        y = x * x
    assert float(tape2.gradient(y, x)) == pytest.approx(4.0)
    v = tg.Variable(1.0)
    _ = v * 2.0
    assert tape.watched_variables() == ()


# ---------------------------------------------------------------------------------------------
# TensorFlow's semantics: higher order from one persistent tape, structured targets,
# stop_gradient, re-entering
# ---------------------------------------------------------------------------------------------

def test_persistent_tape_differentiates_its_own_gradients_inside_its_block():
    x = tg.constant(3.0, dtype=tg.float64)
    with tg.GradientTape(persistent=True) as g:
        g.watch(x)
        y = x ** 3
        dy = g.gradient(y, x)  # 3 x^2 = 27
        d2y = g.gradient(dy, x)  # 6 x = 18
        d3y = g.gradient(d2y, x)  # 6
    assert [float(dy), float(d2y), float(d3y)] == [27.0, 18.0, 6.0]
    # Outside the block nothing more is recorded: the gradient of a gradient taken there is None.
    outside = g.gradient(y, x)
    assert float(outside) == 27.0 and g.gradient(outside, x) is None


def test_non_persistent_tape_does_not_record_its_own_backward_pass():
    x = tg.constant(3.0, dtype=tg.float64)
    with tg.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy = inner.gradient(y, x)
        n = inner._tape.num_entries
    assert n == 0  # released after its one gradient(), nothing of its backward pass added
    assert float(outer.gradient(dy, x)) == 18.0


def test_structured_target_is_the_sum_of_its_tensors():
    x = tg.constant(3.0, dtype=tg.float64)
    with tg.GradientTape(persistent=True) as t:
        t.watch(x)
        y1, y2, y3 = x * x, 4 * x, x
    # d/dx (x^2 + 4x + x) = 2x + 5 = 11
    assert float(t.gradient([y1, {"k": (y2, y3)}], x)) == 11.0
    # weighted: 2 * 2x + 0.5 * 4 + 1 * 1 = 15
    g = t.gradient({"a": y1, "b": [y2, y3]}, [x], output_gradients={"a": 2.0, "b": [0.5, None]})
    assert isinstance(g, list) and float(g[0]) == 15.0
    assert t.gradient([], x) is None


def test_stop_gradient_passes_the_value_and_no_derivative():
    x = tg.constant([1.0, 2.0], dtype=tg.float64)
    with tg.GradientTape(persistent=True) as t:
        t.watch(x)
        s = tg.stop_gradient(x)
        y = tg.reduce_sum(x * s)  # d/dx = s = x
    np.testing.assert_array_equal(s.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [1.0, 2.0])
    assert t.gradient(s, x) is None
    np.testing.assert_array_equal(t.gradient(s, x, unconnected_gradients="zero").numpy(), [0.0, 0.0])


def test_identity_passes_the_gradient_through():
    x = tg.constant(2.0, dtype=tg.float64)
    with tg.GradientTape() as t:
        t.watch(x)
        y = tg.identity(x) * x  # x^2
    assert float(t.gradient(y, x)) == 4.0


def test_entering_a_recording_tape_again_is_a_value_error():
    tape = tg.GradientTape()
    with tape:
        with pytest.raises(ValueError, match="already recording"):
            tape.__enter__()
    with tape:  # after its block ends it can be entered again
        pass
