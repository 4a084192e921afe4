"""Tests of skreg._barrier: the spin barrier that training workers meet at."""

import threading
import time

import numpy as np
import pytest
from numba import njit

from skreg._barrier import STRIDE, barrier, flags_size


@njit(nogil=True)
def _lockstep(flags, worker, n_workers, n_rounds, board, misses):
    # Each round: write this worker's entry, meet, read the others'. Without the
    # barrier's ordering another's entry of this round could still be missing.
    for k in range(1, n_rounds + 1):
        board[k, worker] = k
        barrier(flags, worker, 2 * k - 1, n_workers)
        for other in range(n_workers):
            if board[k, other] != k:
                misses[worker] += 1
        # The second barrier of a round: no worker writes the next round's entry
        # while another still reads this one.
        barrier(flags, worker, 2 * k, n_workers)


@pytest.mark.parametrize("n_workers", [2, 3, 4])
@pytest.mark.parametrize("late", [0.0, 0.05], ids=["together", "one-late"])
def test_barrier_orders_the_workers_writes_and_reads(late, n_workers):
    n_rounds = 1000
    flags = np.zeros(flags_size(n_workers), dtype=np.int64)
    board = np.zeros((n_rounds + 1, n_workers), dtype=np.int64)
    misses = np.zeros(n_workers, dtype=np.int64)
    _lockstep(np.zeros(flags_size(1), dtype=np.int64), 0, 1, 0, board, misses)

    def worker(number):
        # The last worker arrives late: the others spin, then yield.
        if number == n_workers - 1:
            time.sleep(late)
        _lockstep(flags, number, n_workers, n_rounds, board, misses)

    helpers = [threading.Thread(target=worker, args=(w,)) for w in range(1, n_workers)]
    for helper in helpers:
        helper.start()
    worker(0)
    for helper in helpers:
        helper.join()
    assert misses.tolist() == [0] * n_workers
    for w in range(n_workers):
        np.testing.assert_array_equal(board[1:, w], np.arange(1, n_rounds + 1))
        assert flags[w * STRIDE] == 2 * n_rounds


def test_counters_are_a_cache_line_apart():
    assert STRIDE * np.dtype(np.int64).itemsize >= 64
    assert flags_size(3) == 3 * STRIDE
