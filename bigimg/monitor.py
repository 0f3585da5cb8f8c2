"""Memory figures: the peak of a whole job (this process and every process it
started), and how a byte count is written."""

from __future__ import annotations

import math
import threading
import time
from types import TracebackType

import psutil

__all__ = ["PeakMemory", "size_text"]


def size_text(n: float) -> str:
    """A byte count as text, in binary units.

    Examples
    --------
    >>> size_text(512), size_text(44_236_800), size_text(2**40)
    ('512 B', '42.2 MiB', '1.0 TiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class PeakMemory:
    """Sample the summed RSS of this process and its descendants in a thread.

    Distributed workers of a ``LocalCluster`` are child processes, so the
    peak covers the scheduler, the workers and the client. A remote
    cluster's processes are not seen.

    Examples
    --------
    >>> with PeakMemory() as mem:
    ...     data = bytearray(50 * 2**20)
    >>> mem.peak >= 50 * 2**20
    True
    """

    def __init__(self, interval: float = 0.02, rescan: float = 1.0) -> None:
        self.interval = interval
        self.rescan = rescan
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._me = psutil.Process()
        self._procs: list[psutil.Process] = [self._me]
        self._scanned = -math.inf

    def sample(self) -> int:
        """The summed RSS now (the peak updated). The list of descendant
        processes is looked up again every ``rescan`` seconds: finding them
        reads every process's status, which at each sample cost a busy
        client several per cent of a core."""
        now = time.monotonic()
        if now - self._scanned >= self.rescan:
            try:
                self._procs = [self._me, *self._me.children(recursive=True)]
            except psutil.Error:
                pass
            self._scanned = now
        total = 0
        for proc in self._procs:
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
