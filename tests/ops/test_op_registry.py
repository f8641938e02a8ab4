"""The op registry as Python sees it: every op is a top-level function with the signature its
entry declares, and the type stub declares the same parameters."""

import ast
import inspect
import pathlib

import pytest

import tapegrad as tg
from tapegrad import _core

STUB = pathlib.Path(tg.__file__).with_name("_core.pyi")


def _stub_functions():
    tree = ast.parse(STUB.read_text())
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("name", _core._op_names)
def test_op_is_exported_with_its_signature(name):
    fn = getattr(tg, name)
    assert fn is getattr(_core, name) and name in tg.__all__
    params = inspect.signature(fn).parameters
    assert list(params) and all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params.values())
    assert fn.__doc__ and fn.__doc__.strip()


@pytest.mark.parametrize("name", _core._op_names)
def test_stub_declares_the_op_with_the_same_parameters(name):
    stub = _stub_functions().get(name)
    assert stub is not None, f"python/tapegrad/_core.pyi has no line for {name}"
    stub_params = [a.arg for a in stub.args.args]
    stub_defaults = len(stub.args.defaults)
    params = list(inspect.signature(getattr(tg, name)).parameters.values())
    assert stub_params == [p.name for p in params]
    assert stub_defaults == sum(p.default is not p.empty for p in params)


def test_ops_take_keywords_and_refuse_bad_calls_naming_the_op():
    x = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    assert tg.reduce_sum(x=x, keepdims=True, axis=0).numpy().tolist() == [[4.0, 6.0]]
    assert tg.matmul(x, b=x, transpose_b=True).numpy().tolist() == [[5.0, 11.0], [11.0, 25.0]]
    for call, words in [
        (lambda: tg.add(x), ("add()", "missing", "'y'")),
        (lambda: tg.add(x, x, x), ("add()", "at most 2")),
        (lambda: tg.square(x, z=1), ("square()", "unexpected keyword", "'z'")),
        (lambda: tg.reduce_sum(x, 0, x=x), ("reduce_sum()", "multiple values", "'x'")),
        (lambda: tg.reshape(x), ("reshape()", "missing", "'shape'")),
    ]:
        with pytest.raises(TypeError) as info:
            call()
        assert all(w in str(info.value) for w in words), str(info.value)


def test_operators_on_tensors_and_other_operands_agree_with_the_functions():
    """The operator slots take a fast path for two Tensors and the functions' conversions for
    anything else; both give the functions' results."""
    x = tg.constant([1.0, 2.0])
    v = tg.Variable([3.0, 4.0])
    for op, fn in [("__add__", tg.add), ("__sub__", tg.subtract), ("__mul__", tg.multiply),
                   ("__truediv__", tg.divide)]:
        for a, b in [(x, x), (x, v), (v, x), (x, 2.0), (2.0, x), ([5.0, 6.0], x)]:
            got = {"__add__": lambda: a + b, "__sub__": lambda: a - b,
                   "__mul__": lambda: a * b, "__truediv__": lambda: a / b}[op]()
            assert got.numpy().tolist() == fn(a, b).numpy().tolist()
    m = tg.constant([[2.0]])
    assert (m @ m).numpy().tolist() == [[4.0]] and ([[3.0]] @ m).numpy().tolist() == [[6.0]]
