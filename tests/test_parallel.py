"""Tests of skreg._parallel: the BLAS at one thread, the threads at hand."""

import threading

import numba
import pytest
from _models import split_batches, spy_on_workers
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


# --------------------------------------------- two threads or one, by the clock


def _run(choice, seconds):
    """Feed ``choice`` epochs timed by ``seconds(two)``; the ways they ran."""
    return _run_epochs(choice, seconds, 40)


def _run_epochs(choice, seconds, epochs):
    ways = []
    for _ in range(epochs):
        two = choice.two_threads()
        ways.append(two)
        choice.record(two, seconds(two))
    return ways


def test_the_faster_way_is_kept_after_one_epoch_of_each():
    ways = _run(_parallel._Choice(), lambda two: 1.0 if two else 1.5)
    # Untimed first epoch, one timed each way, then two threads throughout.
    assert ways[:3] == [True, True, False]
    assert all(ways[3:])


def test_one_thread_is_kept_when_faster_and_two_are_tried_ever_less_often():
    ways = _run(_parallel._Choice(), lambda two: 1.5 if two else 1.0)
    assert ways[:3] == [True, True, False]
    tries = [i for i, two in enumerate(ways) if two and i > 2]
    gaps = [b - a for a, b in zip(tries, tries[1:])]
    assert len(tries) >= 3 and gaps == sorted(gaps) and gaps[-1] > gaps[0]


def test_a_single_slow_epoch_does_not_switch_but_two_in_a_row_try_the_other_way():
    clock = iter([1.0, 1.0, 1.5, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 2.0] + [2.0] * 30)
    choice = _parallel._Choice()
    ways = []
    for _ in range(14):
        two = choice.two_threads()
        ways.append(two)
        seconds = next(clock)
        choice.record(two, 1.5 if not two else seconds)
    # Epochs 5 and 7 are slow alone: still two threads; 8 and 9 in a row: epoch
    # 10 tries one thread, faster now, which is kept until two are tried again.
    assert ways[:10] == [True, True, False] + [True] * 7
    assert ways[10:13] == [False] * 3


def test_a_later_fit_of_the_same_problem_starts_with_what_the_first_learned():
    first = _parallel._Choice()
    _run(first, lambda two: 2.0 if two else 1.0)
    latest, interval = first.known()
    assert latest == {True: 2.0, False: 1.0} and interval > 2
    ways = _run(_parallel._Choice(known=first.known()), lambda two: 2.0 if two else 1.0)
    # One thread from the start (timed: the kernels are compiled), and two tried
    # only once the interval is reached.
    assert ways[: interval + 1] == [False] * interval + [True]


def test_fits_too_short_to_try_both_ways_learn_one_fit_after_the_other():
    # Two epochs per fit: the first fit times two threads, the next tries one
    # at once, and the one after keeps the faster.
    known, ways = None, []
    for _ in range(3):
        choice = _parallel._Choice(known)
        ways.append(_run_epochs(choice, lambda two: 2.0 if two else 1.0, 2))
        known = choice.known()
    assert ways == [[True, True], [False, False], [False, False]]


def test_a_fit_follows_the_clock_and_its_results_do_not(data, monkeypatch):
    # On a clock where two-thread epochs are slow, a fit starts on two threads,
    # moves to one after its first probe, and ends with the weights of a fit
    # that ran on one thread throughout.
    from skreg import RegularizedMLPClassifier

    X, y = data
    split_batches(monkeypatch, 2)
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    params = dict(hidden_layer_sizes=(16,), max_iter=8, tol=0.0, random_state=0)
    workers = spy_on_workers(monkeypatch)
    with threadpool_limits(1):
        alone = RegularizedMLPClassifier(**params).fit(X, y)
    assert set(workers) == {-1}

    now = {"t": 0.0}

    def clock():
        # Time moves ten times faster while the last epoch ran on two threads.
        now["t"] += 10.0 if workers and workers[-1] >= 0 else 1.0
        return now["t"]

    workers.clear()
    monkeypatch.setattr(_parallel.time, "perf_counter", clock)
    with threadpool_limits(2):
        moved = RegularizedMLPClassifier(**params).fit(X, y)
    # Two threads for the untimed epoch, the timed one and one later probe.
    assert sorted(workers[:4]) == [0, 0, 1, 1] and workers.count(0) == 3
    assert workers[-2:] == [-1, -1]
    for a, b in zip(alone.coefs_ + alone.intercepts_, moved.coefs_ + moved.intercepts_):
        assert (a == b).all()
    assert alone.loss_curve_ == moved.loss_curve_
