"""Estimators on many threads: results never depend on the threads at hand.

A fit's weights and a prediction are bitwise the same for any Numba and BLAS
thread counts, in epochs on several threads, and while other threads fit.
"""

import threading
import warnings

import numba
import numpy as np
import pytest
from _models import FAST, equal_models, split_batches, spy_on_workers
from sklearn.base import clone
from sklearn.datasets import (
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skreg import (
    RegularizedMLPClassifier,
    _epoch,
    _parallel,
    _prediction,
)


@pytest.mark.blas_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_do_not_depend_on_the_thread_count(dtype, monkeypatch):
    # Layers wide enough that BLAS splits its work over threads, and batches large
    # enough that each is split in parts, computed by up to four threads or, when
    # Numba's or the BLAS's thread count is 1, by one.
    # The last batch, of 52 rows, splits in smaller parts.
    X, y = make_classification(2100, 40, n_informative=10, n_classes=3, random_state=0)
    X = X.astype(dtype)
    assert _epoch.part_count(1024, 40 * 256 + 256 * 128 + 128 * 3) >= 4
    workers = spy_on_workers(monkeypatch)
    fits = []
    for blas, numba_threads in [(1, 1), (2, 2), (2, 1), (1, 2), (3, 3), (4, 4)]:
        monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", numba_threads)
        workers.clear()
        # Several threads from the first epoch on, whatever an earlier fit saw.
        _parallel._known.clear()
        with threadpool_limits(blas):
            clf = RegularizedMLPClassifier(
                hidden_layer_sizes=(256, 128),
                batch_size=1024,
                max_iter=2,
                dropout=0.1,
                penalty="elasticnet",
                random_state=0,
            ).fit(X, y)
            fits.append((clf, clf.predict_proba(X)))
        threads = min(blas, numba_threads)
        expected = list(range(threads)) if threads > 1 else [-1]
        assert sorted(workers) == sorted(expected * 2)
    first, p1 = fits[0]
    for other, p2 in fits[1:]:
        assert equal_models(first, other)
        np.testing.assert_array_equal(p1, p2)
        assert first.loss_curve_ == other.loss_curve_


@pytest.mark.parametrize("threads", [2, 3])
def test_a_fit_on_several_threads_starts_its_helpers_once_and_ends_them(
    data, monkeypatch, threads
):
    # The helpers wait between epochs: threads for the whole fit, none left
    # running once the fit returns or fails.
    X, y = data
    split_batches(monkeypatch, 4)
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", threads)
    served = []
    serve = _parallel.EpochWorkers._serve

    def spy(self, number):
        served.append(threading.current_thread())
        return serve(self, number)

    monkeypatch.setattr(_parallel.EpochWorkers, "_serve", spy)
    params = dict(FAST, max_iter=4, tol=0.0, n_iter_no_change=10)
    with threadpool_limits(threads):
        clf = RegularizedMLPClassifier(**params).fit(X, y)
        assert clf.n_iter_ == 4
        assert len(served) == threads - 1
        assert not any(thread.is_alive() for thread in served)

        epoch = _parallel.EpochWorkers.epoch
        epochs = []

        def failing(self, arguments):
            epochs.append(arguments)
            if len(epochs) == 3:
                raise RuntimeError("stop here")
            return epoch(self, arguments)

        monkeypatch.setattr(_parallel.EpochWorkers, "epoch", failing)
        served.clear()
        # Without the first fit's timings, this one starts on several threads.
        _parallel._known.clear()
        with pytest.raises(RuntimeError, match="stop here"):
            RegularizedMLPClassifier(**params).fit(X, y)
        assert len(served) == threads - 1
        assert not any(thread.is_alive() for thread in served)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_fit_in_parts_is_close_to_a_fit_in_whole_batches(data, solver, monkeypatch):
    # The parts take the same steps, with sums taken in another order.
    X, y = data
    params = dict(
        FAST,
        max_iter=5,
        tol=0.0,
        n_iter_no_change=10,
        solver=solver,
        penalty="sparse_group_lasso",
        dropout=0.2,
        max_norm=2.0,
    )
    whole = RegularizedMLPClassifier(**params).fit(X, y)
    split_batches(monkeypatch, 3)
    parts = RegularizedMLPClassifier(**params).fit(X, y)
    assert whole.n_iter_ == parts.n_iter_
    pairs = zip(whole.coefs_ + whole.intercepts_, parts.coefs_ + parts.intercepts_)
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(whole.loss_curve_, parts.loss_curve_, rtol=1e-9)


@pytest.mark.blas_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictions_do_not_depend_on_the_thread_count(dtype, monkeypatch):
    # Large enough that the BLAS would split its products over threads, and that
    # the chunks of rows are shared among threads of skreg's own.
    X, y = make_classification(6000, 40, n_informative=10, n_classes=3, random_state=0)
    X = X.astype(dtype)
    clf = RegularizedMLPClassifier(
        hidden_layer_sizes=(256, 128), max_iter=1, random_state=0
    ).fit(X[:600], y[:600])
    assert X.shape[0] * sum(W.size for W in clf.coefs_) >= 2 * _prediction._THREAD_WORK
    threads = []
    kernel = _prediction.forward

    def spy(*arguments):
        threads.append(threading.get_ident())
        return kernel(*arguments)

    monkeypatch.setattr(_prediction, "forward", spy)
    results = []
    for blas, numba_threads in [(1, 1), (2, 2), (2, 1), (4, 4)]:
        monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", numba_threads)
        threads.clear()
        with threadpool_limits(blas):
            results.append(clf.predict_proba(X))
        # One call of the kernel per thread (a finished thread's id may be reused).
        assert len(threads) == min(blas, numba_threads)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def _fit_config(k):
    X = np.random.RandomState(k).randn(600, 12).astype(np.float32 if k % 2 else None)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    hidden = (96,) if k % 3 == 0 else (24, 12)
    # Batches of 200 on (96,): two-thread epochs; (24, 12): one thread.
    return (
        RegularizedMLPClassifier(
            hidden, max_iter=4, batch_size=200, random_state=k, dropout=0.1 * (k % 2)
        ),
        X,
        y,
    )


@pytest.mark.blas_kernels
def test_parallel_fits_and_predictions_equal_sequential_ones(monkeypatch):
    # Fits that run at once in threads of one process, one of them holding the
    # two-thread mode, and predictions made meanwhile, give the results of the
    # same calls run one by one on a quiet process.
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    configs = [_fit_config(k) for k in range(6)]
    X_big = np.random.RandomState(9).randn(4000, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone = [clone(m).fit(X, y) for m, X, y in configs]
        quiet = [m.predict_proba(X_big) for m in alone]
        for _ in range(2):
            fitted = [None] * len(configs)
            predicted = [None] * len(configs)

            def fit(k, fitted=fitted, predicted=predicted):
                m, X, y = configs[k]
                fitted[k] = clone(m).fit(X, y)
                predicted[k] = alone[k].predict_proba(X_big)

            threads = [threading.Thread(target=fit, args=(k,)) for k in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for k in range(len(configs)):
                assert equal_models(fitted[k], alone[k]), k
                assert np.array_equal(predicted[k], quiet[k]), k
