"""Tests of skreg._parallel: the BLAS at one thread, the threads at hand."""

import threading

import numba
import pytest
from threadpoolctl import threadpool_limits

from skreg import _parallel
from skreg._parallel import available_threads, one_blas_thread


def _blas_thread_counts():
    """The thread counts of the BLAS the kernels call (scipy's)."""
    shared, local = _parallel._blas_libraries()
    return [c.num_threads for c in shared + local]


def _other_blas_thread_counts():
    """Those of the process's other BLAS libraries (NumPy's own, in wheels)."""
    ours = {id(c) for c in sum(_parallel._blas_libraries(), [])}
    controllers = _parallel._blas_controller().lib_controllers
    return [c.num_threads for c in controllers if id(c) not in ours]


def test_one_blas_thread_leaves_the_other_blas_libraries_alone():
    # NumPy's wheels carry a BLAS of their own, which the kernels never call: a
    # fit must not change the threads of a product in the user's other threads.
    with threadpool_limits(2):
        others = _other_blas_thread_counts()
        assert _blas_thread_counts()
        with one_blas_thread():
            assert set(_blas_thread_counts()) == {1}
            assert _other_blas_thread_counts() == others


def test_one_blas_thread_limits_every_blas_until_the_last_block_ends(monkeypatch):
    # Two fits in two threads: the first to end its block must not give the
    # other's products their threads back.
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 8)
    with threadpool_limits(2):
        before = _blas_thread_counts()
        assert before and set(before) == {2}
        entered, leave = threading.Event(), threading.Event()

        def other_fit():
            with one_blas_thread():
                entered.set()
                leave.wait()

        worker = threading.Thread(target=other_fit)
        with one_blas_thread():
            assert set(_blas_thread_counts()) == {1}
            # The threads a fit may take are those from before the block.
            assert available_threads() == 2
            worker.start()
            entered.wait()
        assert set(_blas_thread_counts()) == {1}
        leave.set()
        worker.join()
        assert _blas_thread_counts() == before
        assert available_threads() == 2


def test_one_blas_thread_restores_the_counts_after_an_error():
    with threadpool_limits(2):
        before = _blas_thread_counts()
        with pytest.raises(RuntimeError, match="inside"):
            with one_blas_thread():
                with one_blas_thread():
                    raise RuntimeError("inside")
        assert _blas_thread_counts() == before
    with threadpool_limits(1):
        with one_blas_thread():
            assert available_threads() == 1


def test_one_blas_thread_limits_from_any_thread():
    # The thread that set the BLAS's count last (here this one) is the only one
    # threadpoolctl lets set it; a fit in another thread must still get one
    # BLAS thread, and give the count back.
    with threadpool_limits(2):
        before = _blas_thread_counts()
        seen = []

        def fit_in_a_thread():
            with one_blas_thread():
                seen.append(_blas_thread_counts())
            seen.append(_blas_thread_counts())

        worker = threading.Thread(target=fit_in_a_thread)
        worker.start()
        worker.join()
        assert seen == [[1] * len(before), before]
