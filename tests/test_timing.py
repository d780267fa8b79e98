"""Claims about the chapters' wall-clock timing."""

import time

import pytest

from nninv_book.timing import best_of, stopwatch


def test_a_stopwatch_measures_its_block():
    with stopwatch() as lap:
        assert lap.seconds != lap.seconds  # nan while the block runs
        time.sleep(0.02)
    assert 0.02 <= lap.seconds < 1.0


def test_best_of_is_the_shortest_of_the_repeats():
    delays = iter([0.03, 0.0, 0.03])
    assert best_of(lambda: time.sleep(next(delays)), repeats=3) < 0.02
    with pytest.raises(ValueError, match="repeats.*at least 1"):
        best_of(lambda: None, repeats=0)
