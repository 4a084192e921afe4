"""Tests of skreg._compile: full garbage collections held while Numba compiles."""

import gc
import threading

import pytest
from numba import njit
from numba.core import event
from numba.core.errors import TypingError
from numba.extending import overload

from skreg._compile import collecting_young_while_compiling

# ------------------------------------------- collections during a compile


def _fresh_kernel(seen, valid=True):
    """A new jitted function, never compiled: calling it compiles it.

    Its compile appends the collector's thresholds to ``seen``, from the typing of a
    new overloaded function.
    """

    def probe():
        pass

    @overload(probe)
    def probe_typing():
        seen.append(gc.get_threshold())
        return lambda: None

    if valid:
        return njit(lambda: probe())
    return njit(lambda: probe() + "a string")


def test_compiles_in_the_block_hold_full_collections_only():
    before = gc.get_threshold()
    seen = []
    with collecting_young_while_compiling():
        _fresh_kernel(seen)()
    _fresh_kernel(seen)()
    during, outside = seen
    assert during[:2] == before[:2]
    assert during[2] > 1000 * max(before[2], 1)
    assert outside == before
    assert gc.get_threshold() == before


def test_a_failed_compile_gives_the_thresholds_back():
    before = gc.get_threshold()
    with collecting_young_while_compiling(), pytest.raises(TypingError):
        _fresh_kernel([], valid=False)()
    assert gc.get_threshold() == before


def test_a_compile_under_way_at_the_end_of_the_block_gives_them_back():
    before = gc.get_threshold()
    with collecting_young_while_compiling():
        event.start_event("numba:compile")
        assert gc.get_threshold()[2] > before[2]
    assert gc.get_threshold() == before
    event.end_event("numba:compile")
    assert gc.get_threshold() == before


def test_blocks_in_two_threads_give_the_thresholds_back():
    before = gc.get_threshold()
    inside = threading.Barrier(2)

    def fit():
        with collecting_young_while_compiling():
            inside.wait()
            _fresh_kernel([])()
            inside.wait()

    workers = [threading.Thread(target=fit) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert gc.get_threshold() == before
