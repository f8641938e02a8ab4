"""Nested structures of values: lists, tuples and dicts, flattened depth first (dicts in their
order) and rebuilt with the same types."""
from __future__ import annotations

from typing import Any, Iterator, List


def flatten(structure: Any, out: List[Any]) -> Any:
    """Appends the leaves of ``structure`` to ``out``; returns a spec for :func:`rebuild`."""
    if isinstance(structure, (list, tuple)):
        return (type(structure), [flatten(s, out) for s in structure])
    if isinstance(structure, dict):
        return (dict, [(k, flatten(v, out)) for k, v in structure.items()])
    out.append(structure)
    return None


def rebuild(spec: Any, leaves: Iterator[Any]) -> Any:
    """The structure ``spec`` describes, with its leaves taken in order from ``leaves``."""
    if spec is None:
        return next(leaves)
    kind, items = spec
    if kind is dict:
        return {k: rebuild(s, leaves) for k, s in items}
    values = [rebuild(s, leaves) for s in items]
    return kind(values) if kind in (list, tuple) else kind(*values)


def flatten_like(spec: Any, structure: Any, out: List[Any], what: str) -> None:
    """Appends the leaves of ``structure``, which must have the shape of ``spec`` (lists and
    tuples of the same lengths, dicts with the same keys); ValueError naming ``what`` otherwise."""
    if spec is None:
        out.append(structure)
        return
    kind, items = spec
    if kind is dict:
        if not isinstance(structure, dict) or set(structure) != {k for k, _ in items}:
            raise ValueError(f"{what}: expected a dict with keys {[k for k, _ in items]}, got {structure!r}")
        for k, s in items:
            flatten_like(s, structure[k], out, what)
        return
    if not isinstance(structure, (list, tuple)) or len(structure) != len(items):
        raise ValueError(f"{what}: expected a list or tuple of {len(items)} items, got {structure!r}")
    for s, v in zip(items, structure):
        flatten_like(s, v, out, what)
