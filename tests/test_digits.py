"""The digits example: it learns, repeats itself with a seed, writes its plots, and its command
line checks its arguments."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tapegrad.examples import digits


def test_a_short_run_on_a_subset_learns_and_writes_four_plots(tmp_path):
    history = digits.run(epochs=3, subset=400, out_dir=str(tmp_path), quiet=True)
    assert len(history["test_accuracy"]) == 3
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["test_accuracy"][-1] >= 0.8  # chance is 0.1
    confusion = history["confusion_matrix"]
    assert confusion.shape == (10, 10) and confusion.sum() == 80  # the 20% test split of 400
    assert np.trace(confusion) / confusion.sum() == pytest.approx(history["test_accuracy"][-1], abs=1e-6)
    assert [os.path.basename(p) for p in history["plots"]] == list(digits.PLOTS)
    assert all(os.path.getsize(p) > 1000 for p in history["plots"])


def test_the_same_seed_gives_the_same_run():
    first = digits.run(epochs=1, subset=200, out_dir=None, quiet=True, seed=5)
    second = digits.run(epochs=1, subset=200, out_dir=None, quiet=True, seed=5)
    other = digits.run(epochs=1, subset=200, out_dir=None, quiet=True, seed=6)
    assert first["train_loss"] == second["train_loss"]
    assert first["train_loss"] != other["train_loss"]


@pytest.mark.parametrize("optimizer", digits.OPTIMIZERS)
def test_every_optimizer_choice_trains(optimizer):
    history = digits.run(epochs=2, subset=300, out_dir=None, quiet=True, optimizer=optimizer)
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_the_split_is_stratified_and_fixed():
    x_train, y_train, x_test, y_test = digits.load_data()
    assert x_train.shape == (1437, 64) and x_test.shape == (360, 64) and x_train.dtype == np.float32
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert np.all(np.abs(np.bincount(y_test) - 36) <= 1)
    np.testing.assert_array_equal(digits.load_data()[3], y_test)


@pytest.mark.parametrize("kwargs,exc", [({"epochs": 0}, ValueError), ({"batch_size": 2.0}, TypeError),
                                        ({"optimizer": "adagrad"}, ValueError), ({"subset": 10}, ValueError)])
def test_bad_arguments_name_the_function(kwargs, exc):
    with pytest.raises(exc, match="^digits.run: "):
        digits.run(quiet=True, out_dir=None, **kwargs)


def test_command_line_runs_and_rejects_bad_options(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "tapegrad", "digits", "--epochs", "1", "--batch-size", "64",
                         "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "test accuracy" in ok.stdout and "epoch   1" in ok.stdout
    assert sorted(os.listdir(tmp_path)) == sorted(digits.PLOTS)
    bad = subprocess.run([sys.executable, "-m", "tapegrad", "digits", "--optimizer", "adagrad"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "adagrad" in bad.stderr


_DIGITS_RUN = """
import sys, numpy as np
from tapegrad.examples import digits
h = digits.run(epochs=int(sys.argv[1]), subset=200, batch_size=32, out_dir=None, quiet=True,
               checkpoint_dir=sys.argv[2], function=sys.argv[4] == "1")
np.savez(sys.argv[3], first=h["first_epoch"], acc=h["test_accuracy"][-1],
         *[v.numpy() for v in h["model"].variables])
"""


@pytest.mark.parametrize("function", [False, True])
def test_checkpoint_dir_resumes_bitwise_in_a_new_process(tmp_path, function):
    def run(epochs, directory, out):
        subprocess.run([sys.executable, "-c", _DIGITS_RUN, str(epochs), str(directory), str(out),
                        "1" if function else "0"], check=True)
        return np.load(out)

    straight = run(3, tmp_path / "a", tmp_path / "straight.npz")
    first = run(1, tmp_path / "b", tmp_path / "first.npz")
    resumed = run(3, tmp_path / "b", tmp_path / "resumed.npz")
    assert int(straight["first"]) == 1 and int(first["first"]) == 1 and int(resumed["first"]) == 2
    arrays = [k for k in straight.files if k.startswith("arr_")]
    assert len(arrays) == 6
    for k in arrays:
        assert np.array_equal(straight[k], resumed[k]), k
    assert not all(np.array_equal(first[k], resumed[k]) for k in arrays)
    # Everything done: a further call reports the restored model and trains nothing.
    again = run(3, tmp_path / "b", tmp_path / "again.npz")
    assert int(again["first"]) == 4 and all(np.array_equal(again[k], resumed[k]) for k in arrays)


def test_command_line_checkpoint_dir_resumes(tmp_path):
    ckpt = tmp_path / "ckpt"
    command = [sys.executable, "-m", "tapegrad", "digits", "--batch-size", "128", "--out", str(tmp_path / "plots"),
               "--checkpoint-dir", str(ckpt)]
    first = subprocess.run(command + ["--epochs", "1"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert sorted(os.listdir(ckpt)) == ["checkpoint", "ckpt-1"]
    second = subprocess.run(command + ["--epochs", "2"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stdout and "after epoch 1" in second.stdout
    assert "epoch   2" in second.stdout and "epoch   1:" not in second.stdout
