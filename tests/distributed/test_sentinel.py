"""The sentinel's pieces without MPI: reading a dead process's wait status from /proc, describing
it, the marker that keeps the launcher's clean-up quiet, and ending the peers when the launcher
does not (test_mpi.py covers the sentinel inside real jobs)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sanitizer_env import under_asan

from tapegrad.distributed import _sentinel

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")


def _dead_child(code):
    """A child that has ended and that this process has not collected: a zombie, as a rank is
    while its sentinel holds its PMI socket."""
    child = subprocess.Popen([sys.executable, "-c", code])
    stat_fd = os.open(f"/proc/{child.pid}/stat", os.O_RDONLY)
    return child, stat_fd


@pytest.mark.parametrize("code, status, text", [
    ("import os; os._exit(3)", 3 << 8, "exited with status 3"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", signal.SIGKILL, "killed by signal 9 (SIGKILL)"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", signal.SIGSEGV, "killed by signal 11 (SIGSEGV)"),
    ("pass", 0, "exited with status 0"),
])
def test_status_of_a_dead_process(code, status, text):
    if status == signal.SIGSEGV and under_asan():
        pytest.skip("AddressSanitizer catches SIGSEGV itself (reports it and exits with status 1)")
    child, stat_fd = _dead_child(code)
    try:
        assert _sentinel.wait_status(stat_fd, 30.0) == status
        assert _sentinel.describe(status, child.pid) == text
    finally:
        os.close(stat_fd)
        child.wait()


def test_status_once_collected_is_unknown():
    child, stat_fd = _dead_child("pass")
    child.wait()
    try:
        assert _sentinel.wait_status(stat_fd, 0.0) is None
        assert _sentinel.describe(None, 42) == "ended (the launcher collected its status first; it reports pid 42)"
    finally:
        os.close(stat_fd)


def test_a_live_process_has_no_status_yet():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stat_fd = os.open(f"/proc/{child.pid}/stat", os.O_RDONLY)
    try:
        assert _sentinel.wait_status(stat_fd, 0.0) is None
    finally:
        os.close(stat_fd)
        child.kill()
        child.wait()


def test_one_marker_creator(tmp_path):
    marker = str(tmp_path / "marker")
    assert _sentinel.claim(marker) is True
    assert _sentinel.claim(marker) is False


def test_end_the_job_kills_peers_left_alive(monkeypatch):
    monkeypatch.setattr(_sentinel, "CLEAN_UP_SECONDS", 0.2)
    peer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    _sentinel.end_the_job([peer.pid])
    assert peer.wait(timeout=30) == -signal.SIGKILL


def test_end_the_job_leaves_when_the_peers_are_gone(monkeypatch):
    monkeypatch.setattr(_sentinel, "CLEAN_UP_SECONDS", 0.2)
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    peer = subprocess.Popen([sys.executable, "-c", "pass"])
    peer.wait()
    assert not _sentinel.alive(peer.pid)
    _sentinel.end_the_job([peer.pid])
    assert killed == []


def test_read_until_end():
    read_end, write_end = os.pipe()
    os.write(write_end, b"rank 1 2 vm /tmp/m\npeers 10,11\nleaving\n")
    os.close(write_end)
    try:
        assert _sentinel.read_until_end(read_end) == (["1", "2", "vm", "/tmp/m"], {"leaving"}, [10, 11])
    finally:
        os.close(read_end)
