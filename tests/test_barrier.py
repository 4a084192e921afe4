"""Tests of skreg._barrier: the spin barrier that two training workers meet at."""

import threading
import time

import numpy as np
import pytest
from numba import njit

from skreg._barrier import FLAGS_SIZE, STRIDE, barrier


@njit(nogil=True)
def _lockstep(flags, worker, n_rounds, board, misses):
    # Each round: write this worker's entry, meet, read the other's. Without the
    # barrier's ordering the other's entry of this round could still be missing.
    for k in range(1, n_rounds + 1):
        board[k, worker] = k
        barrier(flags, worker, 2 * k - 1)
        if board[k, 1 - worker] != k:
            misses[worker] += 1
        # The second barrier of a round: no worker writes the next round's entry
        # while the other still reads this one.
        barrier(flags, worker, 2 * k)


@pytest.mark.parametrize("late", [0.0, 0.05], ids=["together", "one-late"])
def test_barrier_orders_the_workers_writes_and_reads(late):
    n_rounds = 2000
    flags = np.zeros(FLAGS_SIZE, dtype=np.int64)
    board = np.zeros((n_rounds + 1, 2), dtype=np.int64)
    misses = np.zeros(2, dtype=np.int64)
    _lockstep(np.zeros(FLAGS_SIZE, dtype=np.int64), 0, 0, board, misses)

    def late_worker():
        # A partner that arrives late: the first worker spins, then yields.
        time.sleep(late)
        _lockstep(flags, 1, n_rounds, board, misses)

    helper = threading.Thread(target=late_worker)
    helper.start()
    _lockstep(flags, 0, n_rounds, board, misses)
    helper.join()
    assert misses.tolist() == [0, 0]
    np.testing.assert_array_equal(board[1:, 0], np.arange(1, n_rounds + 1))
    np.testing.assert_array_equal(board[1:, 1], np.arange(1, n_rounds + 1))
    assert flags[0] == flags[STRIDE] == 2 * n_rounds


def test_counters_are_a_cache_line_apart():
    assert STRIDE * np.dtype(np.int64).itemsize >= 64
    assert FLAGS_SIZE >= 2 * STRIDE
