"""How a job notices that one of its ranks is gone, and names it.

Two mechanisms, one per way of leaving:

- **A rank's process ends badly** (``kill -9``, a signal, ``os._exit(3)``): MPICH's launcher ends
  the job at once, and its report names the process id, not the rank. Each rank therefore starts
  a sentinel process (``_sentinel.py``) that outlives it and prints the rank, pid, host and how the
  process ended (signal or exit status).
- **A rank's Python exits early** (``sys.exit(2)`` on one rank): its process does not end, it
  waits in ``MPI_Finalize`` for the others, who wait for it in their next collective. At exit, each
  rank tells every other how many collectives it has started on each of tapegrad's channels (a
  message on a communicator of its own). A rank waiting in collective ``n`` of a channel that hears
  from a departed rank which started fewer than ``n`` knows that collective can never complete and
  aborts the job naming that rank. A rank that finishes normally while the others still work
  outside collectives (say, rank 0 writing a checkpoint) is never waited for, so it stops no one.

Every collective of tapegrad is started in the same order on every rank of its channel (MPI's
rule), so the counts of two ranks refer to the same collectives.
"""
from __future__ import annotations

import array
import atexit
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Optional

import numpy as np

# The channels of tapegrad's collectives: the world communicator (broadcasts, signature checks)
# and the reductions' all-to-all and all-gather communicators. Each has its own count.
WORLD, ALL_TO_ALL, ALL_GATHER = 0, 1, 2
_CHANNELS = 3
_LEAVING_TAG = 1

_SENTINEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sentinel.py")


class _Watch:
    """This rank's view of the job's departures, and its own collective counts."""

    def __init__(self, MPI: Any, world: Any, abort: Callable[[str], None]) -> None:
        self.MPI = MPI
        self.comm = world.Dup()  # departures never match a collective's messages
        self.rank, self.size = world.Get_rank(), world.Get_size()
        self.abort = abort
        self.started = [0] * _CHANNELS
        self.departed: dict = {}  # rank -> its collective counts when it left
        # One receive per peer rather than one from any source: MPI serves a pending receive
        # from any source by polling every transport, which slows every other operation.
        self.peers = [r for r in range(self.size) if r != self.rank]
        self.inboxes = np.zeros((self.size, _CHANNELS), np.int64)
        self.listening = [self.comm.Irecv(self.inboxes[r], source=r, tag=_LEAVING_TAG) for r in self.peers]
        self.sentinel: Optional[int] = None  # write end of the pipe to this rank's sentinel
        self.marker = ""  # the file whose creator is the job's first failure on this host

    def begin(self, channel: int) -> int:
        self.started[channel] += 1
        return self.started[channel]

    def wait(self, request: Any, channel: int, number: int, what: str) -> None:
        while True:
            self._check(channel, number, what)
            index = self.MPI.Request.Waitany([request, *self.listening])
            if index == 0:
                return
            self._record(index - 1)

    def _check(self, channel: int, number: int, what: str) -> None:
        for k in self.MPI.Request.Testsome(self.listening) or ():
            self._record(k)
        for rank, counts in sorted(self.departed.items()):
            if counts[channel] < number:
                self.abort(f"rank {rank} of {self.size} left the job (its Python exited before "
                           f"joining this collective) while this rank waits for it in {what}; "
                           "aborting the job")

    def _record(self, k: int) -> None:
        """Peer ``self.peers[k]`` has left (its receive completed, and MPI set it to null)."""
        rank = self.peers[k]
        self.departed[rank] = [int(c) for c in self.inboxes[rank]]

    def leave(self) -> None:
        """At exit: stop listening and tell every other rank how far this one got (and the
        sentinel that this process ends through Python's exit, as MPI expects)."""
        self.tell_sentinel("leaving\n")
        if self.MPI.Is_finalized():
            return
        for receive in self.listening:
            if receive != self.MPI.REQUEST_NULL:
                receive.Cancel()
        self.MPI.Request.Waitall(self.listening)
        note = np.array(self.started, np.int64)
        sends = [self.comm.Isend(note, dest=r, tag=_LEAVING_TAG) for r in range(self.size) if r != self.rank]
        self.MPI.Request.Waitall(sends)

    def tell_sentinel(self, line: str) -> None:
        if self.sentinel is not None:
            try:
                os.write(self.sentinel, line.encode())
            except OSError:
                pass


_watch: Optional[_Watch] = None
_sentinels: list = []


def start(MPI: Any, world: Any, abort: Callable[[str], None]) -> None:
    """Starts this rank's sentinel and listens for departures (a job of several ranks only)."""
    global _watch
    _watch = _Watch(MPI, world, abort)
    host = MPI.Get_processor_name()
    everyone = world.allgather((host, os.getpid()))  # (host, pid) of every rank
    # A marker name that every rank of the job on a host agrees on: rank 0's host and pid.
    job = re.sub(r"[^A-Za-z0-9_.-]", "_", "%s-%d" % everyone[0])
    marker = os.path.join(tempfile.gettempdir(), "tapegrad-fault-" + job)
    _watch.marker = marker
    peers = ",".join(str(pid) for r, (h, pid) in enumerate(everyone) if h == host and r != _watch.rank)
    _watch.sentinel = _start_sentinel(f"rank {_watch.rank} {_watch.size} {_safe(host)} {marker}\n"
                                      f"peers {peers}\n")
    atexit.register(_watch.leave)


def _safe(word: str) -> str:
    return re.sub(r"\s", "_", word) or "?"


def _start_sentinel(identity: str) -> Optional[int]:
    """The write end of the pipe to a new sentinel (None where there is no /proc to read)."""
    if not os.path.isdir(f"/proc/{os.getpid()}"):
        return None
    read_end, write_end = os.pipe()  # both close-on-exec: no child of the rank holds them
    held = [read_end]
    pmi = os.environ.get("PMI_FD", "")
    if pmi.isdigit():  # MPICH's PMI socket: the sentinel's copy delays the launcher (_sentinel)
        try:
            os.fstat(int(pmi))
            held.append(int(pmi))
        except OSError:
            pass
    try:
        # Kept for the process's life: a dropped Popen of a running child warns when collected.
        _sentinels.append(subprocess.Popen([sys.executable, "-S", "-E", _SENTINEL, str(read_end), str(os.getpid())],
                                           pass_fds=held, stdin=subprocess.DEVNULL, start_new_session=True))
    except OSError:
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    os.write(write_end, identity.encode())
    return write_end


def begin(channel: int) -> int:
    """The number of the collective about to start on ``channel`` (1, 2, ...), counted."""
    return _watch.begin(channel) if _watch is not None else 0


def wait(request: Any, channel: int, number: int, what: str) -> None:
    """``request.Wait()``, except that it aborts the job, naming the rank, when a rank that
    will never join this collective has left."""
    if _watch is None:
        request.Wait()
    else:
        _watch.wait(request, channel, number, what)


# The longest an abort waits for the launcher to take this rank's last output.
OUTPUT_SECONDS = 2.0


def wait_until_output_is_read() -> None:
    """Returns once the launcher has read what this rank wrote to its stdout and stderr pipes
    (or after ``OUTPUT_SECONDS``). MPICH's launcher handles a rank's MPI_Abort before output it
    reads in the same round, and ``mpiexec`` ends at the abort: output still in a pipe is lost."""
    try:
        import fcntl
        import termios
    except ImportError:
        return
    deadline = time.monotonic() + OUTPUT_SECONDS
    for fd in (1, 2):
        while time.monotonic() < deadline:
            waiting = array.array("i", [0])
            try:
                fcntl.ioctl(fd, termios.FIONREAD, waiting)
            except OSError:
                break  # not a pipe: nothing waits in it
            if waiting[0] == 0:
                break
            time.sleep(0.001)


def reporting_own_failure() -> None:
    """Called before this rank prints its own failure and aborts: its sentinel stays silent, and so
    do the sentinels of the ranks the launcher's clean-up then kills."""
    if _watch is None or _watch.sentinel is None:
        return
    try:
        os.close(os.open(_watch.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError:
        pass  # another rank's failure came first
    _watch.tell_sentinel("reported\n")
