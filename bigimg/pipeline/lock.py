"""One run of a job at a time: a lock in the job's work directory.

A run holds an exclusive ``flock`` on ``<work dir>/lock`` from before it
checks its targets again until it ends. A second run of the same job (same
output folder) is refused at once with :class:`JobRunningError`, naming the
running one (process id, host, start time, command), and changes nothing.
The operating system releases the lock when the holder's process ends in any
way, ``kill -9`` included, so a killed run never leaves it stuck: the lock
file stays, as a note of the last run, and is simply locked again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bigimg.errors import BigimgError

__all__ = ["JobRunningError", "job_lock"]


class JobRunningError(BigimgError):
    """Another run of the same job holds its lock; nothing was done."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return (
            f"process {info['pid']} on {info['host']}, started "
            f"{info['started']}: {info['command']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def job_lock(work_dir: Path) -> Iterator[None]:
    """Hold the lock of the job whose work directory is ``work_dir``.

    Raises
    ------
    JobRunningError
        Another process holds it (the message names that run).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> work = pathlib.Path(tempfile.mkdtemp()) / ".bigimg-job"
    >>> with job_lock(work):
    ...     try:
    ...         with job_lock(work):
    ...             pass
    ...     except JobRunningError as exc:
    ...         print("refused")
    refused
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobRunningError(
                f"this job is already running ({_holder(path)}); its lock is "
                f"{str(path)!r}. Wait for that run to finish (or stop it), then run "
                "again: it resumes where that run stopped"
            ) from None
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
