"""``Sequential``: layers applied one after another, as ``tf.keras.Sequential``."""
from __future__ import annotations

import itertools
from typing import Any, Iterable, List, Optional

from ._core import Variable

__all__ = ["Sequential"]

_name_counter = itertools.count()


def _unique_name() -> str:
    n = next(_name_counter)
    return "sequential" if n == 0 else f"sequential_{n}"


class Sequential:
    """A stack of layers: calling it calls each layer on the previous one's output.

    Args:
        layers: the layers, in order: ``Dense`` layers, other ``Sequential`` models, or any
            callable taking and returning a tensor (``tg.nn.relu``). More can be added with ``add``.
        name: the model's name; by default a unique "sequential", "sequential_1", ...

    Like ``Dense``, the variables are created on the first call, when the input's shape is
    known. Layers that have a ``name`` must have distinct names within one model.
    """

    def __init__(self, layers: Optional[Iterable[Any]] = None, name: Optional[str] = None) -> None:
        if name is None:
            name = _unique_name()
        elif not isinstance(name, str) or not name:
            raise TypeError(f"Sequential: name must be a non-empty string or None, got {name!r}")
        self.name: str = name
        self._layers: List[Any] = []
        if layers is not None:
            try:
                if isinstance(layers, (str, bytes)):
                    raise TypeError
                items = list(layers)
            except TypeError:
                raise TypeError(f"Sequential: layers must be a list of layers, got {type(layers).__name__}") from None
            for layer in items:
                self.add(layer)

    def add(self, layer: Any) -> None:
        """Append ``layer`` (a callable); ValueError if a layer of the same name is already here."""
        if not callable(layer):
            raise TypeError(f"Sequential: a layer must be callable (a Dense, a Sequential or a function), "
                            f"got {type(layer).__name__}")
        name = getattr(layer, "name", None)
        if isinstance(name, str) and any(getattr(other, "name", None) == name for other in self._layers):
            raise ValueError(f"Sequential: model {self.name!r} already has a layer named {name!r}; "
                             "layer names must be unique (pass name= to the layer)")
        self._layers.append(layer)

    @property
    def layers(self) -> List[Any]:
        """The layers, in calling order (a copy of the list)."""
        return list(self._layers)

    @property
    def built(self) -> bool:
        """True once every layer that creates variables has created them."""
        return all(getattr(layer, "built", True) for layer in self._layers)

    @property
    def variables(self) -> List[Variable]:
        """Every layer's variables, in layer order, each once."""
        seen, out = set(), []
        for layer in self._layers:
            for v in getattr(layer, "variables", ()):
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def trainable_variables(self) -> List[Variable]:
        """The trainable ones among ``variables``."""
        return [v for v in self.variables if v.trainable]

    @property
    def non_trainable_variables(self) -> List[Variable]:
        """The non-trainable ones among ``variables``."""
        return [v for v in self.variables if not v.trainable]

    def __call__(self, inputs: Any) -> Any:
        """The output of the last layer; builds the layers on the first call."""
        if not self._layers:
            raise ValueError(f"Sequential: model {self.name!r} has no layers to call")
        x = inputs
        for layer in self._layers:
            x = layer(x)
        return x

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        names = [getattr(layer, "name", getattr(layer, "__name__", type(layer).__name__)) for layer in self._layers]
        return f"<tapegrad.Sequential name={self.name!r} layers={names}>"
