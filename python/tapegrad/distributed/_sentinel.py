"""The sentinel of one rank: a small process that reports how its rank ended when it ended badly.

Run as ``python -S -E _sentinel.py FD PID`` by ``_faults.start`` (it imports nothing of
tapegrad). It reads its rank's lines on pipe ``FD`` until end of file, which comes when the rank's
process ends, however it ends (``kill -9`` included). It then reads the rank's wait status from
``/proc/PID/stat`` (the kernel keeps a dead process there until its parent collects it) and,
unless the status is 0 or the rank reported its failure itself, prints
``tapegrad.distributed: rank R of P (pid N on HOST): killed by signal 9 (SIGKILL)`` or ``...:
exited with status 3`` on the stderr it shares with its rank.

Why the status is still there to read: MPICH's launcher (Hydra's proxy, the rank's parent)
collects statuses with ``waitpid`` after each event it handles (output from a rank, a socket
that closes). The sentinel holds copies of its rank's stdout, stderr and PMI socket (``PMI_FD``),
so the rank's death makes no event of its own. Once it has the status, the sentinel closes its
copy of the PMI socket, which the launcher takes for the rank's failure (it kills the other
ranks), then prints, then closes its copies of the output.

The sentinel runs in a session of its own, so the launcher's clean-up (``SIGKILL`` to every rank's
process group once one has failed) does not end it before it has printed. The clean-up ends the
healthy ranks with ``SIGKILL`` too; so that those ends are not reported as failures, the first
rank on a host to end creates the job's marker file (``O_EXCL``: exactly one creator, and it does
so before its copies of the PMI socket close, so before the clean-up starts), and a sentinel whose
rank was killed by ``SIGKILL`` while the marker exists stays silent.

Should the launcher collect the status before the PMI socket closes (an event of its own in
between), it would not end the job for a non-zero exit status; a sentinel whose rank ended
without Python's exit (so without ``MPI_Finalize``) therefore kills the rank's peers on its host
if they are still alive a few seconds later, and the launcher ends the job for that.

Lines the rank sends: ``rank R P HOST MARKER`` and ``peers PID,PID,...`` (the other ranks on this
host) once MPI is up (until then there is nothing to name); ``reported`` when the rank has
printed its own failure (an uncaught exception or ``abort``) and created the marker itself; and
``leaving`` when its Python exits.
"""
import os
import signal
import sys
import time

PREFIX = "tapegrad.distributed"
# How long the marker outlives a failure: the clean-up's SIGKILLs land within milliseconds.
MARKER_SECONDS = 10.0
# A dead process shows as a zombie microseconds after its files close; the sentinel releases the
# PMI socket soon after, zombie or not, since the launcher's clean-up waits for that.
SPIN_SECONDS, POLL_SECONDS, RELEASE_SECONDS, GIVE_UP_SECONDS = 0.01, 0.0005, 0.02, 2.0
# How long the launcher gets to end the other ranks on this host before the sentinel does.
CLEAN_UP_SECONDS = 5.0


def wait_status(stat_fd, seconds):
    """The rank's wait status as waitpid gives it, read from its open ``/proc/PID/stat``, or None
    when it is not there within ``seconds`` (still exiting, or its parent collected it)."""
    start = time.monotonic()
    while True:
        try:
            fields = os.pread(stat_fd, 4096, 0).decode().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        if fields[0] in ("Z", "X") and len(fields) > 49:
            return int(fields[49])  # field 52, exit_code, counted from field 3 (the state)
        waited = time.monotonic() - start
        if waited > seconds:
            return None
        if waited > SPIN_SECONDS:  # the launcher collects statuses at its next event: no pause at first
            time.sleep(POLL_SECONDS)


def describe(status, pid):
    if status is None:
        return f"ended (the launcher collected its status first; it reports pid {pid})"
    signal_number = status & 0x7F
    if signal_number:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {signal_number} ({name})"
    return f"exited with status {status >> 8}"


def claim(marker):
    """True when this call created the marker (this rank is the first on its host to end)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        return False
    except OSError:
        return True  # no marker possible: report rather than risk silence


def read_until_end(fd):
    """What the rank said: identity words (or None), notes seen, local peers' pids."""
    identity, notes, peers, pending = None, set(), [], b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return identity, notes, peers
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            words = line.decode().split(" ")
            if words[0] == "rank" and len(words) == 5:
                identity = words[1:]
            elif words[0] == "peers" and len(words) == 2:
                peers = [int(p) for p in words[1].split(",") if p]
            else:
                notes.add(words[0])


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def end_the_job(peers):
    """MPICH ends a job whose rank ended without MPI_Finalize; should its launcher have missed the
    end (it collected the status before the PMI socket closed), the peers on this host would wait
    forever. Kill them then: the launcher reacts to a killed rank in every case."""
    deadline = time.monotonic() + CLEAN_UP_SECONDS
    while time.monotonic() < deadline:
        if not any(alive(p) for p in peers):
            return
        time.sleep(0.05)
    for p in peers:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def main():
    fd, pid = int(sys.argv[1]), int(sys.argv[2])
    try:
        stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return
    identity, notes, peers = read_until_end(fd)
    reported = "reported" in notes
    if identity is None:
        return  # MPI never came up: no rank to name, and the launcher reports the process
    rank, size, host, marker = identity
    # A rank whose Python exited (its exit handler said "leaving") has left MPI properly, and its
    # PMI socket no longer matters: wait for its status. Any other end is a failure the launcher
    # must learn of soon.
    leaving = "leaving" in notes
    status = wait_status(stat_fd, GIVE_UP_SECONDS if leaving else RELEASE_SECONDS)
    if not reported and (status == 0 or (status is None and leaving)):
        return  # a normal end (or one whose status the launcher has and reports)
    first = reported or claim(marker)  # a rank that reported created the marker itself
    # The copy of the PMI socket goes first: MPICH's launcher takes its closing for the rank's
    # failure and ends the job, but only while it has not yet collected the rank's status,
    # which it does at the next event it sees (this sentinel's output would be one).
    os.closerange(3, stat_fd)
    os.closerange(stat_fd + 1, 1 << 16)
    if status is None:
        status = wait_status(stat_fd, GIVE_UP_SECONDS)
    if status == 0 and not reported:
        if first:
            os.unlink(marker)  # a normal end after all: nothing to mark
        return
    killed_after_first = not first and (status is None or status & 0x7F == signal.SIGKILL)
    if not reported and not killed_after_first:
        os.write(2, f"{PREFIX}: rank {rank} of {size} (pid {pid} on {host}): {describe(status, pid)}\n".encode())
    os.closerange(0, 3)  # the launcher finishes once every copy of the rank's output is closed
    if first and not reported and not leaving:
        end_the_job(peers)
    if first:
        time.sleep(MARKER_SECONDS)
        try:
            os.unlink(marker)
        except OSError:
            pass


if __name__ == "__main__":
    main()
