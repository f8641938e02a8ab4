"""Object-based checkpoints, as ``tf.train.Checkpoint`` and ``tf.train.CheckpointManager``.

``Checkpoint(model=model, optimizer=opt, data=iterator, rng=tg.random)`` names the objects whose
state it saves. A file is a numpy ``.npz`` (``np.load`` reads it without tapegrad) with one array
per piece of state, keyed by the path from the checkpoint to it::

    model/layer_with_weights-0/kernel          a Dense layer of a Sequential model
    optimizer/iter, optimizer/learning_rate    an optimizer's step counter and numeric rate
    optimizer/slots/model/layer_with_weights-0/kernel/m     a slot of that kernel
    data/position, data/order                  a tg.data.batches iterator
    rng/pcg64_state                            tg.random's generator (or a numpy Generator)
    save_counter

and a manifest (key ``_CHECKPOINT_MANIFEST``, a JSON string) with the format version and every
array's shape, dtype and CRC-32.

Saving is crash-safe (``_atomic_file``). Restoring reads and checks the whole file first (the
manifest, every checksum, every key the objects need, every shape and dtype) and only then assigns
anything, so a bad file changes nothing. State whose variables do not exist yet (a layer not
built, an optimizer's slots before its first update) is kept and used when they are created.
"""
from __future__ import annotations

import io
import json
import os
import re
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from . import _atomic_file
from . import random as _random
from ._core import Variable
from .data import BatchIterator
from .layers import Dense
from .optimizers import Optimizer
from .sequential import Sequential

__all__ = ["Checkpoint", "CheckpointManager"]

FORMAT_VERSION = 1
MANIFEST_KEY = "_CHECKPOINT_MANIFEST"
_FORMAT_NAME = "tapegrad-checkpoint"
_INDEX_NAME = "checkpoint"
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def _crc32(a: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------
# What each kind of object saves: a list of _Slot (a value that exists now) and, for state that
# does not exist yet, _Later (restored when its variables are created).
# ---------------------------------------------------------------------------------------------

class _Slot:
    """One array of state: its key, its current value, and how to set it."""

    __slots__ = ("key", "read", "shape", "dtype", "write", "check")

    def __init__(self, key: str, read: Callable[[], np.ndarray], write: Callable[[np.ndarray], None],
                 shape: Tuple[int, ...], dtype: np.dtype,
                 check: Optional[Callable[[np.ndarray], Optional[str]]] = None) -> None:
        self.key, self.read, self.write, self.shape, self.dtype = key, read, write, shape, dtype
        self.check = check


def _variable_slot(key: str, var: Any) -> _Slot:
    return _Slot(key, lambda: np.asarray(var.numpy()), var.assign, tuple(var.shape), np.dtype(var.dtype))


class _Later:
    """State of `owner` restored when its variables are created: `keys` must be in the file."""

    __slots__ = ("owner", "keys", "install")

    def __init__(self, owner: Any, keys: List[str], install: Callable[["_Restored"], None]) -> None:
        self.owner, self.keys, self.install = owner, keys, install


def _variable_list(obj: Any) -> Optional[List[Any]]:
    """The ``variables`` of a layer-like object (a list or tuple of Variables), else None."""
    try:
        vs = getattr(obj, "variables", None)
    except Exception:  # noqa: BLE001 - a property that fails: not a layer we can save
        return None
    if isinstance(vs, (list, tuple)) and all(isinstance(v, Variable) for v in vs):
        return list(vs)
    return None


def _has_weights(layer: Any) -> bool:
    if isinstance(layer, Dense):
        return True
    if isinstance(layer, Sequential):
        return any(_has_weights(sub) for sub in layer.layers)
    return bool(_variable_list(layer))


def _layer_keys(path: str, layer: Any) -> List[str]:
    """The keys a Dense layer (built or not) saves under `path`."""
    return [f"{path}/kernel"] + ([f"{path}/bias"] if layer.use_bias else [])


class _Walk:
    """The object graph of one checkpoint: every _Slot and _Later, and each variable's path."""

    def __init__(self, objects: Dict[str, Any], checkpoint: Any = None) -> None:
        self.checkpoint = checkpoint
        self.pairs: List[Tuple[str, BatchIterator]] = []  # iterators, checked as a whole on restore
        self.slots: List[_Slot] = []
        self.later: List[_Later] = []
        self.variable_paths: Dict[int, str] = {}
        optimizers = []
        for name, obj in objects.items():
            if isinstance(obj, Optimizer):
                optimizers.append((name, obj))  # after the variables, whose paths name the slots
            else:
                self._visit(name, obj)
        for name, opt in optimizers:
            self._optimizer(name, opt)

    def _visit(self, path: str, obj: Any) -> None:
        if isinstance(obj, Variable):
            self.variable_paths.setdefault(id(obj), path)
            self.slots.append(_variable_slot(path, obj))
        elif isinstance(obj, Dense):
            self._dense(path, obj)
        elif isinstance(obj, Sequential):
            i = 0
            for layer in obj.layers:
                if _has_weights(layer):
                    self._visit(f"{path}/layer_with_weights-{i}", layer)
                    i += 1
        elif isinstance(obj, BatchIterator):
            self._iterator(path, obj)
        elif obj is _random or isinstance(obj, np.random.Generator):
            self._generator(path, obj)
        elif _variable_list(obj) is not None:
            for i, var in enumerate(_variable_list(obj)):
                self._visit(f"{path}/variable-{i}", var)
        else:
            raise TypeError(f"Checkpoint: cannot save {path!r} of type {type(obj).__name__}")

    def _dense(self, path: str, layer: Dense) -> None:
        if layer.built:
            self._visit(f"{path}/kernel", layer.kernel)
            if layer.bias is not None:
                self._visit(f"{path}/bias", layer.bias)
            return
        keys = _layer_keys(path, layer)

        def install(restored: "_Restored") -> None:
            layer._checkpoint_deferred = _DeferredLayer(restored, path)

        self.later.append(_Later(layer, keys, install))

    def _iterator(self, path: str, it: BatchIterator) -> None:
        state = it._checkpoint_state()
        shared: Dict[str, np.ndarray] = {}

        def write_part(name: str) -> Callable[[np.ndarray], None]:
            def write(value: np.ndarray) -> None:
                shared[name] = value
                if len(shared) == 2:
                    it._checkpoint_restore(dict(shared))
                    shared.clear()
            return write

        # Position and order are checked together (self.pairs) and set together.
        for name, value in state.items():
            self.slots.append(_Slot(f"{path}/{name}", (lambda n=name: it._checkpoint_state()[n]),
                                    write_part(name), value.shape, value.dtype))
        self.pairs.append((path, it))

    def _generator(self, path: str, obj: Any) -> None:
        def generator() -> np.random.Generator:
            return _random._generator if obj is _random else obj

        bit = generator().bit_generator
        if not isinstance(bit, np.random.PCG64):
            raise TypeError(f"Checkpoint: {path!r} is a Generator over {type(bit).__name__}; "
                            "only PCG64 (numpy's and tg.random's default) is saved")

        def read() -> np.ndarray:
            st = generator().bit_generator.state
            mask = (1 << 64) - 1
            s, inc = st["state"]["state"], st["state"]["inc"]
            return np.array([s >> 64, s & mask, inc >> 64, inc & mask, st["has_uint32"], st["uinteger"]],
                            dtype=np.uint64)

        def write(a: np.ndarray) -> None:
            w = [int(x) for x in a]
            generator().bit_generator.state = {
                "bit_generator": "PCG64",
                "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
                "has_uint32": w[4], "uinteger": w[5]}

        def check(a: np.ndarray) -> Optional[str]:
            return None if int(a[3]) & 1 else "the PCG64 increment must be odd"

        self.slots.append(_Slot(f"{path}/pcg64_state", read, write, (6,), np.dtype(np.uint64), check))

    def _optimizer(self, path: str, opt: Optimizer) -> None:
        self.slots.append(_variable_slot(f"{path}/iter", opt._step))
        if not callable(opt.learning_rate):
            def write_lr(value: np.ndarray, opt: Optimizer = opt) -> None:
                opt.learning_rate = float(value)

            def check_lr(value: np.ndarray) -> Optional[str]:
                v = float(value)
                return None if np.isfinite(v) and v > 0 else f"learning rate {v!r} is not positive and finite"

            self.slots.append(_Slot(f"{path}/learning_rate", lambda opt=opt: np.asarray(opt._lr_var.numpy()),
                                    write_lr, (), np.dtype(np.float64), check_lr))
        for var, slots in opt._slots.values():
            base = self.slot_base(path, var)
            for (slot_name, _), slot in zip(opt._SLOTS, slots):
                self.slots.append(_variable_slot(f"{base}/{slot_name}", slot))

        def install(restored: "_Restored", opt: Optimizer = opt) -> None:
            opt._checkpoint_deferred = _DeferredSlots(restored, path, self.checkpoint)

        # Slots of variables that get their first update later come from the file then.
        self.later.append(_Later(opt, [], install))

    def slot_base(self, opt_path: str, var: Any) -> str:
        var_path = self.variable_paths.get(id(var))
        if var_path is None:
            name = var.name
            var_path = "by_name/" + (name[:-2] if name.endswith(":0") else name)
        return f"{opt_path}/slots/{var_path}"


def _walk(objects: Dict[str, Any], checkpoint: Any = None) -> _Walk:
    """The object graph of `objects`; `checkpoint` owns them (deferred slots look it up again)."""
    return _Walk(objects, checkpoint)


# ---------------------------------------------------------------------------------------------
# Reading a file: everything checked before anything is used
# ---------------------------------------------------------------------------------------------

class _Restored:
    """The checked arrays of one file."""

    def __init__(self, path: str, arrays: Dict[str, np.ndarray]) -> None:
        self.path = path
        self.arrays = arrays
        self.used: set = set()

    def error(self, key: Optional[str], what: str) -> ValueError:
        where = f"key {key!r}: " if key else ""
        return ValueError(f"Checkpoint.restore: {self.path}: {where}{what}")

    def take(self, key: str, shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        a = self.arrays.get(key)
        if a is None:
            raise self.error(key, "missing from the file")
        if a.shape != tuple(shape) or a.dtype != dtype:
            raise self.error(key, f"the file holds shape {a.shape} dtype {a.dtype}, "
                                  f"expected shape {tuple(shape)} dtype {dtype}")
        self.used.add(key)
        return a


def _read_file(path: str) -> _Restored:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Checkpoint.restore: save_path must be a path, got {type(path).__name__}")
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise type(e)(e.errno, f"Checkpoint.restore: cannot read {path}: {e.strerror or e}") from e
    bad = _Restored(path, {})
    try:
        npz = np.load(io.BytesIO(raw), allow_pickle=False)
        names = set(npz.files)
    except Exception as e:  # noqa: BLE001 - any failure to open the archive is a damaged file
        raise bad.error(None, f"not a complete checkpoint file (truncated or damaged: {e})") from None
    if MANIFEST_KEY not in names:
        raise bad.error(MANIFEST_KEY, "missing: not a tapegrad checkpoint, or a damaged one")
    try:
        manifest = json.loads(str(npz[MANIFEST_KEY][()]))
        version = manifest["format_version"]
        entries = manifest["arrays"]
        if manifest.get("format") != _FORMAT_NAME or not isinstance(entries, dict):
            raise ValueError("not a tapegrad checkpoint manifest")
    except Exception as e:  # noqa: BLE001
        raise bad.error(MANIFEST_KEY, f"unreadable manifest ({e})") from None
    if version != FORMAT_VERSION:
        raise bad.error(MANIFEST_KEY, f"format version {version!r}; this tapegrad reads version {FORMAT_VERSION}")
    arrays: Dict[str, np.ndarray] = {}
    for key, info in entries.items():
        if key not in names:
            raise bad.error(key, "listed in the manifest but missing from the file")
        try:
            a = npz[key]
        except Exception as e:  # noqa: BLE001 - a damaged member (bad CRC, bad header)
            raise bad.error(key, f"damaged ({e})") from None
        try:
            shape, dtype, crc = tuple(info["shape"]), np.dtype(info["dtype"]), int(info["crc32"])
        except Exception as e:  # noqa: BLE001
            raise bad.error(key, f"bad manifest entry ({e})") from None
        if a.shape != shape or a.dtype != dtype:
            raise bad.error(key, f"holds shape {a.shape} dtype {a.dtype} but the manifest says "
                                 f"shape {shape} dtype {dtype}")
        if _crc32(a) != crc:
            raise bad.error(key, "checksum mismatch: the data is damaged")
        arrays[key] = a
    extra = names - set(entries) - {MANIFEST_KEY}
    if extra:
        raise bad.error(sorted(extra)[0], "in the file but not in its manifest")
    return _Restored(path, arrays)


class _DeferredLayer:
    """A Dense layer's kernel and bias from a file, used when the layer builds."""

    def __init__(self, restored: _Restored, path: str) -> None:
        self.restored, self.path = restored, path

    def value(self, name: str, shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return self.restored.take(f"{self.path}/{name}", shape, np.dtype(dtype))


class _DeferredSlots:
    """An optimizer's slots from a file, used when a variable gets its first update."""

    def __init__(self, restored: _Restored, path: str, checkpoint: Any) -> None:
        self.restored, self.path, self.checkpoint = restored, path, checkpoint

    def values(self, var: Any, slot_names: List[str]) -> Optional[List[np.ndarray]]:
        """The saved slots of `var`, or None when the file has none for it."""
        base = _walk(self.checkpoint._objects).slot_base(self.path, var)
        keys = [f"{base}/{name}" for name in slot_names]
        present = [k in self.restored.arrays for k in keys]
        if not any(present):
            return None
        shape, dtype = tuple(var.shape), np.dtype(var.dtype)
        return [self.restored.take(k, shape, dtype) for k in keys]


# ---------------------------------------------------------------------------------------------
# The public classes
# ---------------------------------------------------------------------------------------------

class _RestoreStatus:
    """What ``Checkpoint.restore`` returns (as TensorFlow's): checks on what was matched."""

    def __init__(self, restored: _Restored) -> None:
        self._restored = restored

    def assert_consumed(self) -> "_RestoreStatus":
        """AssertionError unless every array of the file has been restored into an object."""
        left = sorted(set(self._restored.arrays) - self._restored.used - {"save_counter"})
        if left:
            raise AssertionError(f"Checkpoint.restore: {self._restored.path}: not restored yet: {left}")
        return self

    def expect_partial(self) -> "_RestoreStatus":
        """Silence nothing (tapegrad never warns about unused values); here for TF's API."""
        return self


class Checkpoint:
    """Saves and restores the state of the objects given as keyword arguments.

    Each keyword names an object: a ``Variable``, a layer (``Dense``), a ``Sequential`` model, an
    optimizer (its step counter, numeric learning rate and slots), a ``tg.data.batches`` iterator
    (its position and row order), or ``tg.random`` / a numpy ``Generator`` (its state). Objects may
    also be set later as attributes (``ckpt.data = next_epoch_iterator``).
    """

    def __init__(self, **objects: Any) -> None:
        object.__setattr__(self, "_objects", {})
        object.__setattr__(self, "_save_counter", 0)
        for name, obj in objects.items():
            self._track(name, obj)

    def __setattr__(self, name: str, obj: Any) -> None:
        if name.startswith("_"):  # the checkpoint's own state
            object.__setattr__(self, name, obj)
        else:
            self._track(name, obj)

    def _track(self, name: str, obj: Any) -> None:
        if name == "save_counter" or not _NAME_RE.fullmatch(name):
            raise ValueError(f"Checkpoint: {name!r} cannot name an object (letters, digits, '_', '.', "
                             "'-'; not 'save_counter')")
        _walk({name: obj})  # refuses objects it cannot save, now rather than at save()
        self._objects[name] = obj

    def __getattr__(self, name: str) -> Any:
        objects = self.__dict__.get("_objects", {})
        if name in objects:
            return objects[name]
        raise AttributeError(f"Checkpoint has no object named {name!r}")

    @property
    def save_counter(self) -> int:
        """How many times ``save`` has run (restored from a file with the rest)."""
        return self._save_counter

    def _arrays(self) -> Dict[str, np.ndarray]:
        walk = _walk(self._objects, self)
        arrays: Dict[str, np.ndarray] = {}
        for slot in walk.slots:
            if slot.key in arrays:
                raise ValueError(f"Checkpoint.save: two objects save the key {slot.key!r}")
            arrays[slot.key] = np.array(slot.read(), dtype=slot.dtype, copy=True)
        arrays["save_counter"] = np.asarray(self._save_counter, np.int64)
        manifest = {
            "format": _FORMAT_NAME, "format_version": FORMAT_VERSION,
            "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str, "crc32": _crc32(a)}
                       for k, a in arrays.items()},
        }
        arrays[MANIFEST_KEY] = np.asarray(json.dumps(manifest, sort_keys=True))
        return arrays

    def write(self, file_path: str) -> str:
        """Write the state to ``file_path`` exactly (crash-safe), without counting a save."""
        file_path = os.fspath(file_path)
        arrays = self._arrays()
        directory = os.path.dirname(os.path.abspath(file_path))
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            raise type(e)(e.errno, f"Checkpoint.save: cannot create {directory}: {e.strerror or e}") from e
        _atomic_file.write_atomically(file_path, lambda f: np.savez(f, **arrays), "Checkpoint.save")
        return file_path

    def save(self, file_prefix: str) -> str:
        """Save to ``file_prefix-N``, N = the new ``save_counter``; returns that path."""
        if not isinstance(file_prefix, (str, os.PathLike)):
            raise TypeError(f"Checkpoint.save: file_prefix must be a path, got {type(file_prefix).__name__}")
        n = self._save_counter + 1
        self._save_counter = n
        try:
            return self.write(f"{os.fspath(file_prefix)}-{n}")
        except BaseException:
            self._save_counter = n - 1
            raise

    def restore(self, save_path: str) -> _RestoreStatus:
        """Restore every object's state from ``save_path``.

        The file is read and checked completely first (manifest, checksums, the key, shape and
        dtype of everything the objects hold); on any problem a ValueError names the file and
        the key, and no object has changed. State of variables not created yet (a layer not
        built, slots before an optimizer's first update) is restored when they are created.
        """
        restored = _read_file(save_path)
        walk = _walk(self._objects, self)
        plan = []
        for slot in walk.slots:
            value = restored.take(slot.key, slot.shape, slot.dtype)
            reason = slot.check(value) if slot.check is not None else None
            if reason:
                raise restored.error(slot.key, reason)
            plan.append((slot, value))
        for path, it in walk.pairs:
            reason = it._checkpoint_check({"position": restored.arrays[f"{path}/position"],
                                           "order": restored.arrays[f"{path}/order"]})
            if reason:
                raise restored.error(f"{path}/order", reason)
        for later in walk.later:
            for key in later.keys:
                if key not in restored.arrays:
                    raise restored.error(key, "missing from the file")
            if isinstance(later.owner, Dense):  # its kernel's shape is half known before it builds
                kernel = restored.arrays[later.keys[0]]
                if kernel.ndim != 2 or kernel.shape[1] != later.owner.units:
                    raise restored.error(later.keys[0], f"shape {kernel.shape} does not fit a layer of "
                                                        f"{later.owner.units} units")
        counter = restored.arrays.get("save_counter")
        # Everything is checked: from here on nothing fails.
        for slot, value in plan:
            slot.write(value)
        for later in walk.later:
            later.install(restored)
        if counter is not None and counter.shape == () and counter.dtype == np.int64:
            self._save_counter = int(counter)
            restored.used.add("save_counter")
        return _RestoreStatus(restored)

    def read(self, save_path: str) -> _RestoreStatus:
        """``restore`` (TensorFlow's name for restoring a file written by ``write``)."""
        return self.restore(save_path)

    def __repr__(self) -> str:
        return f"<tapegrad.Checkpoint objects={sorted(self._objects)} save_counter={self._save_counter}>"


class CheckpointManager:
    """Numbered checkpoints in one directory, keeping the last ``max_to_keep``.

    ``save()`` writes ``<directory>/<checkpoint_name>-N`` and then the index file
    ``<directory>/checkpoint`` (JSON), both crash-safe, then deletes the oldest beyond
    ``max_to_keep``; ``latest_checkpoint`` is always a complete file. A new manager on the same
    directory picks up the index, so a restarted process finds ``latest_checkpoint``.
    """

    def __init__(self, checkpoint: Checkpoint, directory: str, max_to_keep: Optional[int] = 5,
                 checkpoint_name: str = "ckpt") -> None:
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"CheckpointManager: checkpoint must be a tg.Checkpoint, got {type(checkpoint).__name__}")
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"CheckpointManager: directory must be a path, got {type(directory).__name__}")
        if max_to_keep is not None and (isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int)
                                        or max_to_keep < 1):
            raise ValueError(f"CheckpointManager: max_to_keep must be a positive int or None, got {max_to_keep!r}")
        if not isinstance(checkpoint_name, str) or not _NAME_RE.fullmatch(checkpoint_name):
            raise ValueError(f"CheckpointManager: bad checkpoint_name {checkpoint_name!r}")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._name = checkpoint_name
        try:
            os.makedirs(self._directory, exist_ok=True)
        except OSError as e:
            raise type(e)(e.errno, f"CheckpointManager: cannot create {self._directory}: {e.strerror or e}") from e
        self._kept: List[str] = self._read_index()
        self._remove_stray_temporaries()

    @property
    def directory(self) -> str:
        return self._directory

    @property
    def checkpoints(self) -> List[str]:
        """The kept checkpoints' paths, oldest first."""
        return [os.path.join(self._directory, name) for name in self._kept]

    @property
    def latest_checkpoint(self) -> Optional[str]:
        """The newest checkpoint's path, or None."""
        return os.path.join(self._directory, self._kept[-1]) if self._kept else None

    def _index_path(self) -> str:
        return os.path.join(self._directory, _INDEX_NAME)

    def _read_index(self) -> List[str]:
        try:
            with open(self._index_path(), "r", encoding="utf-8") as f:
                index = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise ValueError(f"CheckpointManager: {self._index_path()}: unreadable index ({e})") from None
        names = index.get("all") if isinstance(index, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"CheckpointManager: {self._index_path()}: not a checkpoint index")
        return [n for n in names if os.path.exists(os.path.join(self._directory, n))]

    def _remove_stray_temporaries(self) -> None:
        """Temporary files a killed save left behind (never a complete checkpoint)."""
        prefix = f".{self._name}-"
        for entry in os.listdir(self._directory):
            if (entry.startswith(prefix) or entry.startswith(f".{_INDEX_NAME}.")) and \
                    entry.endswith(_atomic_file.TEMP_SUFFIX):
                try:
                    os.unlink(os.path.join(self._directory, entry))
                except OSError:
                    pass

    @staticmethod
    def _number(name: str) -> int:
        try:
            return int(name.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return 0

    def save(self) -> str:
        """Write the next checkpoint and the index; return the checkpoint's path."""
        ckpt = self._checkpoint
        newest = max((self._number(n) for n in self._kept), default=0)
        if ckpt._save_counter < newest:
            ckpt._save_counter = newest  # never overwrite a kept checkpoint
        path = ckpt.save(os.path.join(self._directory, self._name))
        name = os.path.basename(path)
        kept = [n for n in self._kept if n != name] + [name]
        dropped: List[str] = []
        if self._max_to_keep is not None and len(kept) > self._max_to_keep:
            dropped, kept = kept[:-self._max_to_keep], kept[-self._max_to_keep:]
        index = json.dumps({"format": "tapegrad-checkpoint-index", "latest": name, "all": kept}, indent=1)
        _atomic_file.write_atomically(self._index_path(), lambda f: f.write(index.encode("utf-8")),
                                      "CheckpointManager.save")
        self._kept = kept
        for old in dropped:
            try:
                os.unlink(os.path.join(self._directory, old))
            except FileNotFoundError:
                pass
        if dropped:
            _atomic_file.fsync_directory(self._directory)
        return path

    def __repr__(self) -> str:
        return f"<tapegrad.CheckpointManager directory={self._directory!r} checkpoints={self._kept}>"
