"""Wall-clock timing for the chapters: a stopwatch around a block, and the best of a few repeats."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Lap:
    """The seconds a :func:`stopwatch` block took; ``nan`` until the block has ended."""

    seconds: float = float("nan")


@contextmanager
def stopwatch() -> Iterator[Lap]:
    """``with stopwatch() as lap: ...`` leaves the block's wall-clock seconds in ``lap.seconds``."""
    lap = Lap()
    began = time.perf_counter()
    try:
        yield lap
    finally:
        lap.seconds = time.perf_counter() - began


def best_of(function: Callable[[], object], repeats: int = 5) -> float:
    """The shortest wall-clock time, in seconds, of ``repeats`` calls of ``function``."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a whole number of at least 1, got {repeats!r}")
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)
