"""tg.Checkpoint and tg.CheckpointManager: contents, crash safety, validated and deferred restore,
exact resume across processes."""
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _atomic_file

WORKER = os.path.join(os.path.dirname(__file__), "checkpoint_worker.py")


def _model(units=(5, 3), seed=0):
    tg.random.set_seed(seed)
    return tg.Sequential([tg.Dense(units[0], activation="relu"), tg.nn.relu, tg.Dense(units[1])])


def _train(model, opt, steps=2, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.normal(size=(4, 2)).astype(np.float32)
        with tg.GradientTape() as tape:
            loss = tg.reduce_sum(tg.square(model(x)))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))


def _values(*objects):
    out = []
    for obj in objects:
        variables = obj.variables() if isinstance(obj, tg.Optimizer) else getattr(obj, "variables", [obj])
        out += [np.array(v.numpy(), copy=True) for v in variables]
        if isinstance(obj, tg.Optimizer):
            out.append(np.asarray(obj.iterations))
    return out


def _same(a, b):
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def trained():
    model, opt = _model(), tg.Adam(0.01)
    _train(model, opt)
    return model, opt


# -------------------------------------------------------------------------------------------
# Contents
# -------------------------------------------------------------------------------------------

def test_file_is_npz_keyed_by_object_path_with_a_manifest(tmp_path, trained):
    model, opt = trained
    path = tg.Checkpoint(model=model, optimizer=opt).save(str(tmp_path / "ck"))
    assert path == str(tmp_path / "ck-1")
    # np.load alone reads it, in a process that never imports tapegrad.
    script = ("import sys, json, numpy as np; f = np.load(sys.argv[1], allow_pickle=False); "
              "m = json.loads(str(f['_CHECKPOINT_MANIFEST'][()])); "
              "print(json.dumps({'keys': sorted(f.files), 'version': m['format_version'], "
              "'entries': m['arrays'], 'tapegrad': 'tapegrad' in sys.modules}))")
    out = json.loads(subprocess.run([sys.executable, "-c", script, path], check=True, capture_output=True,
                                    text=True).stdout)
    assert not out["tapegrad"] and out["version"] == 1
    keys = set(out["keys"])
    for k in ["model/layer_with_weights-0/kernel", "model/layer_with_weights-0/bias",
              "model/layer_with_weights-1/kernel", "optimizer/iter", "optimizer/learning_rate",
              "optimizer/slots/model/layer_with_weights-0/kernel/m",
              "optimizer/slots/model/layer_with_weights-1/bias/v", "save_counter"]:
        assert k in keys, k
    entry = out["entries"]["model/layer_with_weights-0/kernel"]
    assert entry["shape"] == [2, 5] and np.dtype(entry["dtype"]) == np.float32 and "crc32" in entry
    f = np.load(path)
    np.testing.assert_array_equal(f["model/layer_with_weights-1/kernel"], model.layers[2].kernel.numpy())
    np.testing.assert_array_equal(f["optimizer/slots/model/layer_with_weights-0/kernel/m"],
                                  opt.get_slot(model.layers[0].kernel, "m").numpy())
    assert int(f["optimizer/iter"]) == 2


def test_save_counts_up_and_restore_round_trips_everything(tmp_path, trained):
    model, opt = trained
    w = tg.Variable(np.arange(6.0).reshape(2, 3))
    ckpt = tg.Checkpoint(model=model, optimizer=opt, w=w, rng=tg.random)
    first = ckpt.save(str(tmp_path / "ck"))
    saved = _values(model, opt, w)
    draw_after_save = tg.random.uniform((3,)).numpy()
    assert ckpt.save(str(tmp_path / "ck")).endswith("ck-2") and ckpt.save_counter == 2
    _train(model, opt, 3)
    w.assign(np.zeros((2, 3)))
    opt.learning_rate = 0.5
    status = ckpt.restore(first)
    assert _same(_values(model, opt, w), saved)
    assert opt.learning_rate == 0.01 and ckpt.save_counter == 1
    np.testing.assert_array_equal(tg.random.uniform((3,)).numpy(), draw_after_save)
    status.assert_consumed()


def test_a_layer_like_object_saves_its_variables_list(tmp_path):
    class Layer:
        def __init__(self, value):
            self.variables = [tg.Variable(np.full(2, value)), tg.Variable(np.full(3, value))]

    src, dst = Layer(1.0), Layer(0.0)
    path = tg.Checkpoint(layer=src).save(str(tmp_path / "ck"))
    assert {"layer/variable-0", "layer/variable-1"} <= set(np.load(path).files)
    tg.Checkpoint(layer=dst).restore(path)
    assert _same(_values(*dst.variables), _values(*src.variables))


def test_a_numpy_generator_and_batch_iterators_are_saved(tmp_path):
    gen = np.random.default_rng(5)
    x = np.arange(20.0).reshape(10, 2)
    it = tg.data.batches(x, batch_size=3, seed=4)
    ckpt = tg.Checkpoint(gen=gen, data=it)
    next(it)
    path = ckpt.save(str(tmp_path / "ck"))
    expected_draw = gen.random(4)
    expected_rest = [b[0].numpy() for b in it]
    ckpt.restore(path)
    np.testing.assert_array_equal(gen.random(4), expected_draw)
    assert it.position == 3
    rest = [b[0].numpy() for b in it]
    assert len(rest) == len(expected_rest) and all(np.array_equal(a, b) for a, b in zip(rest, expected_rest))


def test_unsupported_objects_and_names_are_refused():
    with pytest.raises(TypeError, match="Checkpoint: cannot save 'thing'"):
        tg.Checkpoint(thing=object())
    with pytest.raises(ValueError, match="save_counter"):
        tg.Checkpoint(save_counter=tg.Variable(1.0))
    class MethodNotList:
        def variables(self):
            return []

    with pytest.raises(TypeError, match="Checkpoint: cannot save 'odd'"):
        tg.Checkpoint(odd=MethodNotList())
    for name in ["_objects", "", "a/b", "x\n"]:
        with pytest.raises(ValueError, match="cannot name an object"):
            tg.Checkpoint(**{name: tg.Variable(1.0)})


# -------------------------------------------------------------------------------------------
# The manager
# -------------------------------------------------------------------------------------------

def test_manager_keeps_the_last_n_and_a_new_manager_finds_them(tmp_path):
    v = tg.Variable([1.0])
    ckpt = tg.Checkpoint(v=v)
    manager = tg.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    assert manager.latest_checkpoint is None and manager.checkpoints == []
    paths = [manager.save() for _ in range(4)]
    assert [os.path.basename(p) for p in paths] == ["ckpt-1", "ckpt-2", "ckpt-3", "ckpt-4"]
    assert manager.checkpoints == paths[2:] and manager.latest_checkpoint == paths[3]
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "ckpt-3", "ckpt-4"]
    # A fresh process' manager (and a fresh Checkpoint whose counter is 0) continues the numbering.
    again = tg.CheckpointManager(tg.Checkpoint(v=v), str(tmp_path), max_to_keep=2)
    assert again.latest_checkpoint == paths[3]
    assert os.path.basename(again.save()) == "ckpt-5"
    assert again.checkpoints == [paths[3], str(tmp_path / "ckpt-5")]


def test_manager_removes_temporaries_of_killed_saves(tmp_path):
    stray = tmp_path / ".ckpt-3.0123abcd.tmp"
    stray.write_bytes(b"partial")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep")
    tg.CheckpointManager(tg.Checkpoint(v=tg.Variable([1.0])), str(tmp_path))
    assert not stray.exists() and unrelated.exists()


# -------------------------------------------------------------------------------------------
# Crash safety
# -------------------------------------------------------------------------------------------

def _check_directory_after_kill(directory):
    manager = tg.CheckpointManager(tg.Checkpoint(), directory, max_to_keep=3)
    latest = manager.latest_checkpoint
    assert latest is not None and os.path.exists(latest)
    assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]
    for path in manager.checkpoints:
        big, small = tg.Variable(np.zeros((256, 512), np.float32)), tg.Variable(np.zeros(3))
        tg.Checkpoint(big=big, small=small).restore(path)
        k = float(small.numpy()[0])
        # One save's values throughout: never a mix of two saves, never a partial array.
        assert k >= 1 and np.all(small.numpy() == k) and np.all(big.numpy() == k), path
    return int(os.path.basename(latest).split("-")[1])


def test_sigkill_at_random_moments_of_saving_leaves_a_complete_latest(tmp_path):
    rng = random.Random(1234)
    reached = []
    for trial in range(24):
        directory = str(tmp_path / f"run{trial}")
        proc = subprocess.Popen([sys.executable, WORKER, "save-loop", directory], stdout=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        reached.append(_check_directory_after_kill(directory))
    assert max(reached) > 1  # the kills landed after several saves, not only the first


def test_full_disk_raises_oserror_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    v = tg.Variable([1.0, 2.0])
    manager = tg.CheckpointManager(tg.Checkpoint(v=v), str(tmp_path))
    first = manager.save()
    v.assign([3.0, 4.0])
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_atomic_file.os, "fsync", full)
    with pytest.raises(OSError) as info:
        manager.save()
    monkeypatch.setattr(_atomic_file.os, "fsync", real_fsync)
    assert info.value.errno == errno.ENOSPC and "ckpt-2" in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "ckpt-1"]
    assert manager.latest_checkpoint == first and manager.checkpoints == [first]
    assert tg.CheckpointManager(tg.Checkpoint(v=v), str(tmp_path)).latest_checkpoint == first
    tg.Checkpoint(v=v).restore(first)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_write_failing_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    v = tg.Variable(np.ones((100, 100), np.float32))
    ckpt = tg.Checkpoint(v=v)
    real_savez = np.savez

    def savez_then_fail(f, **arrays):
        real_savez(f, **arrays)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="Checkpoint.save: could not write .*ck-1"):
        ckpt.save(str(tmp_path / "ck"))
    assert os.listdir(tmp_path) == [] and ckpt.save_counter == 0


def test_unwritable_directory_is_a_clear_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="Checkpoint.save: cannot create"):
        tg.Checkpoint(v=tg.Variable([1.0])).save(str(blocker / "sub" / "ck"))
    with pytest.raises(OSError, match="CheckpointManager: cannot create"):
        tg.CheckpointManager(tg.Checkpoint(), str(blocker / "sub"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_a_clear_oserror(tmp_path):
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(PermissionError, match="Checkpoint.save: could not write"):
            tg.Checkpoint(v=tg.Variable([1.0])).save(str(tmp_path / "ck"))
    finally:
        os.chmod(tmp_path, 0o700)


# -------------------------------------------------------------------------------------------
# Validated restore: an error naming the file and the key, and nothing changed
# -------------------------------------------------------------------------------------------

def _saved(tmp_path):
    model, opt = _model(), tg.Adam(0.01)
    _train(model, opt)
    w = tg.Variable(np.ones((2, 2)))
    path = tg.Checkpoint(model=model, optimizer=opt, w=w).save(str(tmp_path / "ck"))
    # Fresh objects, trained differently, that the bad restores must leave alone.
    model2, opt2 = _model(seed=9), tg.Adam(0.02)
    _train(model2, opt2, 1, seed=3)
    return path, model2, opt2


def _expect_refused(ckpt, path, key, objects, match=None):
    before = _values(*objects)
    with pytest.raises(ValueError) as info:
        ckpt.restore(path)
    msg = str(info.value)
    assert path in msg, msg
    if key is not None:
        assert repr(key) in msg, msg
    if match is not None:
        assert match in msg, msg
    assert _same(_values(*objects), before)
    return msg


def test_missing_key(tmp_path):
    path, model, opt = _saved(tmp_path)
    extra = tg.Variable([1.0])
    _expect_refused(tg.Checkpoint(model=model, optimizer=opt, extra=extra), path, "extra",
                    [model, opt, extra], "missing")


def test_shape_mismatch(tmp_path):
    path, _, _ = _saved(tmp_path)
    model, opt = _model(units=(5, 4)), tg.Adam(0.01)
    _train(model, opt, 1)
    w = tg.Variable(np.ones((2, 2)))
    _expect_refused(tg.Checkpoint(model=model, optimizer=opt, w=w), path, "model/layer_with_weights-1/kernel",
                    [model, opt, w], "shape")


def test_dtype_mismatch(tmp_path):
    path, model, opt = _saved(tmp_path)
    w = tg.Variable(np.ones((2, 2), np.float32))
    _expect_refused(tg.Checkpoint(model=model, optimizer=opt, w=w), path, "w", [model, opt, w], "dtype")


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.6, 0.9, 0.999])
def test_truncated_file(tmp_path, keep):
    path, model, opt = _saved(tmp_path)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:int(len(data) * keep)])
    w = tg.Variable(np.zeros((2, 2)))
    _expect_refused(tg.Checkpoint(model=model, optimizer=opt, w=w), path, None, [model, opt, w])


def test_flipped_bit_in_an_array_names_its_key(tmp_path):
    path, model, opt = _saved(tmp_path)
    key = "model/layer_with_weights-0/kernel"
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(key + ".npy")
    data = bytearray(open(path, "rb").read())
    # The member's data follows its local header (30 bytes, the name, the extra field); the .npy
    # header inside it is 128 bytes; flip one bit of the first float.
    name_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len + 128
    data[start] ^= 0x10
    open(path, "wb").write(bytes(data))
    w = tg.Variable(np.zeros((2, 2)))
    _expect_refused(tg.Checkpoint(model=model, optimizer=opt, w=w), path, key, [model, opt, w])


def test_any_flipped_bit_is_refused_or_harmless(tmp_path):
    """Every byte of the file, one bit flipped at a time: an error naming the file and nothing
    changed, or (zip timestamps and the like) exactly the saved values."""
    path, model, opt = _saved(tmp_path)
    fresh_model, fresh_opt, fresh_w = _model(), tg.Adam(0.01), tg.Variable(np.zeros((2, 2)))
    _train(fresh_model, fresh_opt)  # the same architecture, built, with slots
    ckpt = tg.Checkpoint(model=fresh_model, optimizer=fresh_opt, w=fresh_w)
    ckpt.restore(path)
    good = _values(fresh_model, fresh_opt, fresh_w)
    original = open(path, "rb").read()
    bad_path = str(tmp_path / "flipped")
    refused = 0
    for pos in range(0, len(original), 7):
        data = bytearray(original)
        data[pos] ^= 1 << (pos % 8)
        open(bad_path, "wb").write(bytes(data))
        target_w = tg.Variable(np.full((2, 2), 5.0))
        before = _values(fresh_model, fresh_opt, target_w)
        ckpt_bad = tg.Checkpoint(model=fresh_model, optimizer=fresh_opt, w=target_w)
        try:
            ckpt_bad.restore(bad_path)
        except ValueError as e:
            assert bad_path in str(e)
            assert _same(_values(fresh_model, fresh_opt, target_w), before), pos
            refused += 1
        else:
            assert _same(_values(fresh_model, fresh_opt, target_w), good), pos
    assert refused > len(original) // 7 // 2


# -------------------------------------------------------------------------------------------
# Deferred restore
# -------------------------------------------------------------------------------------------

def test_restore_into_an_unbuilt_model_applies_at_build_and_draws_nothing(tmp_path, trained):
    model, opt = trained
    path = tg.Checkpoint(model=model, optimizer=opt).save(str(tmp_path / "ck"))
    fresh, fresh_opt = tg.Sequential([tg.Dense(5, activation="relu"), tg.nn.relu, tg.Dense(3)]), tg.Adam(0.01)
    status = tg.Checkpoint(model=fresh, optimizer=fresh_opt).restore(path)
    assert fresh.variables == [] and fresh_opt.variables() == []
    with pytest.raises(AssertionError, match="not restored yet"):
        status.assert_consumed()
    tg.random.set_seed(77)
    expected_draw = tg.random.uniform((2,)).numpy()
    tg.random.set_seed(77)
    x = np.ones((1, 2), np.float32)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    np.testing.assert_array_equal(tg.random.uniform((2,)).numpy(), expected_draw)  # no initializer ran
    assert _same(_values(fresh), _values(model))
    # The optimizer's slots come from the file at its first update, which then matches the original.
    _train(model, opt, 1, seed=5)
    _train(fresh, fresh_opt, 1, seed=5)
    assert _same(_values(fresh, fresh_opt), _values(model, opt))
    status.assert_consumed()


def test_deferred_restore_checks_what_it_can_at_once_and_the_rest_at_build(tmp_path, trained):
    model, opt = trained
    path = tg.Checkpoint(model=model).save(str(tmp_path / "ck"))
    wrong_units = tg.Sequential([tg.Dense(5), tg.Dense(4)])
    with pytest.raises(ValueError, match="model/layer_with_weights-1/kernel"):
        tg.Checkpoint(model=wrong_units).restore(path)
    wrong_input = tg.Sequential([tg.Dense(5, activation="relu"), tg.Dense(3)])
    tg.Checkpoint(model=wrong_input).restore(path)
    with pytest.raises(ValueError, match=r"layer_with_weights-0/kernel.*shape \(2, 5\)"):
        wrong_input(np.ones((1, 7), np.float32))
    assert not wrong_input.layers[0].built


def test_missing_key_of_an_unbuilt_layer_is_found_at_restore(tmp_path):
    v = tg.Variable([1.0])
    path = tg.Checkpoint(v=v).save(str(tmp_path / "ck"))
    with pytest.raises(ValueError, match="'layer/kernel'.*missing"):
        tg.Checkpoint(v=v, layer=tg.Dense(2)).restore(path)


# -------------------------------------------------------------------------------------------
# Exact resume across processes
# -------------------------------------------------------------------------------------------

def _worker(*args):
    subprocess.run([sys.executable, WORKER, *map(str, args)], check=True)


@pytest.mark.parametrize("save_at", [3, 7, 9])
def test_exact_resume_in_a_new_process(tmp_path, save_at):
    """N steps in one go, or k steps, save, exit, restore in a new process, N - k steps: the
    same weights, slots, step count and batches (7 batches per epoch: k = 7 ends an epoch)."""
    total = 20
    _worker("train", tmp_path / "full", total, 0, tmp_path / "full.npz")
    _worker("train", tmp_path / "split", total, save_at, tmp_path / "first.npz")
    _worker("train", tmp_path / "split", total, 0, tmp_path / "second.npz", "resume")
    full, first, second = (np.load(tmp_path / f"{n}.npz") for n in ("full", "first", "second"))
    assert int(first["iterations"]) == save_at and int(second["iterations"]) == total
    assert len(second["seen"]) == total - save_at
    np.testing.assert_array_equal(np.concatenate([first["seen"], second["seen"]]), full["seen"])
    for key in full.files:
        if key != "seen":
            assert full[key].dtype == second[key].dtype and np.array_equal(full[key], second[key]), key


def test_exact_resume_of_the_notebook_fit(tmp_path):
    _worker("notebook", tmp_path, 12, 0, tmp_path / "full.npz")
    _worker("notebook", tmp_path, 12, 5, tmp_path / "first.npz")
    _worker("notebook", tmp_path, 12, 0, tmp_path / "second.npz", "resume")
    full, first, second = (np.load(tmp_path / f"{n}.npz") for n in ("full", "first", "second"))
    assert int(second["iterations"]) == 12
    np.testing.assert_array_equal(np.concatenate([first["losses"], second["losses"]]), full["losses"])
    for key in ("kernel", "bias"):
        assert np.array_equal(full[key], second[key]) and not np.array_equal(first[key], second[key])
