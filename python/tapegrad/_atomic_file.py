"""Crash-safe file replacement: the file at ``path`` is either the old one or the complete new one.

The new contents go to a temporary file in the same directory (so the rename stays on one file
system), which is flushed and fsynced, renamed over ``path`` (atomic on POSIX), and then the
directory is fsynced so the rename itself survives a power loss. A process killed at any moment
leaves at most a stray temporary file, never a partial ``path``.
"""
from __future__ import annotations

import os
import secrets
from typing import BinaryIO, Callable

__all__ = ["write_atomically", "TEMP_SUFFIX"]

#: Temporary files are named ``.<final name>.<random>.tmp``.
TEMP_SUFFIX = ".tmp"


def write_atomically(path: str, write: Callable[[BinaryIO], None], who: str) -> None:
    """Replace ``path`` by what ``write(file)`` writes, crash-safe.

    Raises:
        OSError (of the original subclass: PermissionError, ...): the directory is not writable,
            the disk is full, ...; the message starts with ``who`` and names ``path``. ``path`` is
            unchanged and no temporary file is left.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        # O_EXCL on a random name (as mkstemp) but with the usual permissions (0666 & ~umask).
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        fsync_directory(directory)
    except OSError as e:
        raise type(e)(e.errno, f"{who}: could not write {path}: {e.strerror or e}") from e
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def fsync_directory(directory: str) -> None:
    """Make the directory's entries (a rename, an unlink) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
