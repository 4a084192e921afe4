"""Ctrl-C at every point of a fit: no hang, nothing left behind, a consistent model.

Random signals find the races of an interrupt rarely. Here a SIGINT is raised at
the k-th line that the interpreter runs in skreg's code or in ``threading``
(where a fit starts and meets its second thread), for every k of a fit, and the
signal reaches the code as a real one would: through the SIGINT handler installed
at that moment, at the next point where CPython runs handlers. After each:

- nothing hangs (a watchdog ends the process and prints every thread's stack);
- no thread is left, and the BLAS's thread counts, the garbage collector's
  thresholds, the SIGINT handler and skreg's module-level flags are as before;
- the estimator is either as it was or exactly the model of a completed epoch:
  weights, optimizer moments, step count, ``n_iter_``, ``t_`` and the curves equal
  those of an uninterrupted fit of that many epochs.

``SKREG_INTERRUPT_STRIDE`` (default 1 for the single fits, more for the searches,
whose fits repeat the same lines) sets which points are tried; with
``SKREG_INTERRUPT_REPORT`` set, each test prints its count of points and outcomes.
"""

import copy
import faulthandler
import gc
import os
import signal
import sys
import threading
import warnings
from collections import Counter

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import skreg
from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    _compile,
    _epoch,
    _interrupts,
    _parallel,
    regularization_path,
)

_SKREG = os.path.dirname(skreg.__file__) + os.sep
_THREADING = threading.__file__
_WATCHDOG_SECONDS = 120


def _stride(default):
    return int(os.environ.get("SKREG_INTERRUPT_STRIDE", default))


def _traced(code):
    name = code.co_filename
    return name.startswith(_SKREG) or name == _THREADING


class _Injector:
    """Raises SIGINT at the ``at``-th traced line (counting from 1); 0 counts only."""

    def __init__(self, at=0):
        self.at = at
        self.lines = 0

    def _global(self, frame, event, arg):
        return self._local if _traced(frame.f_code) else None

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines += 1
            if self.lines == self.at:
                # As the kernel's signal would: the handler runs at CPython's
                # next check, in whatever state the code is then.
                signal.raise_signal(signal.SIGINT)
        return self._local

    def run(self, call):
        sys.settrace(self._global)
        try:
            return call()
        finally:
            sys.settrace(None)


def _process_state():
    return {
        "threads": sorted(t.ident for t in threading.enumerate()),
        "blas": [(i["filepath"], i["num_threads"]) for i in threadpool_info()],
        "gc": gc.get_threshold(),
        "sigint": signal.getsignal(signal.SIGINT),
        "busy": _parallel._threads["busy"],
        "blocks": (_parallel._single["blocks"], _parallel._single["saved"]),
        "compiles": _compile._collections["compiles"],
        "deferral": dict(_interrupts._deferral),
    }


def _model_state(estimator):
    """What an interrupted fit must leave consistent, as comparable values."""
    state = {}
    for name, value in vars(estimator).items():
        if name in ("coefs_", "intercepts_"):
            state[name] = [np.array(a) for a in value]
        elif name == "_optimizer_state" and value is not None:
            state[name] = {
                k: np.array(v) if isinstance(v, np.ndarray) else v
                for k, v in value.items()
            }
        elif name in ("n_iter_", "t_", "loss_", "best_loss_", "loss_curve_"):
            state[name] = value if not isinstance(value, list) else list(value)
    return state


def _same(a, b):
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b or (a is None and b is None)


def _sweep(make, call, allowed, default_stride):
    """Interrupt ``call(make())`` at every stride-th traced line; returns outcomes.

    ``allowed(estimator)`` is the list of states the estimator may be left in.
    """
    counter = _Injector()
    estimator = make()
    counter.run(lambda: call(estimator))
    total = counter.lines
    stride = _stride(default_stride)
    before = _process_state()
    outcomes = Counter()
    faulthandler.dump_traceback_later(_WATCHDOG_SECONDS, exit=True)
    try:
        for at in range(1, total + 1, stride):
            estimator = make()
            states = allowed(estimator)
            injector = _Injector(at)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    injector.run(lambda: call(estimator))  # noqa: B023
                outcome = "returned"
            except KeyboardInterrupt:
                outcome = "interrupted"
            after = _process_state()
            assert after == before, (at, outcome)
            state = _model_state(estimator)
            kept = [k for k, s in enumerate(states) if _same(state, s)]
            assert kept, (at, outcome)
            outcomes[outcome, kept[0]] += 1
            faulthandler.dump_traceback_later(_WATCHDOG_SECONDS, exit=True)
    finally:
        faulthandler.cancel_dump_traceback_later()
    if os.environ.get("SKREG_INTERRUPT_REPORT"):
        print(f"\n{total} points, stride {stride}: {dict(outcomes)}")
    return total, outcomes


def _data(n=60, d=4):
    X = np.random.RandomState(0).randn(n, d)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def _reference_states(make, fit, epochs):
    """The states of uninterrupted fits of 1..epochs epochs, after ``make()``."""
    states = []
    for n in range(1, epochs + 1):
        estimator = make()
        estimator.set_params(max_iter=n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit(estimator)
        states.append(_model_state(estimator))
    return states


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    with threadpool_limits(2):
        yield


def _check_outcomes(outcomes):
    # Interrupts landed before any epoch (estimator as it was) and after some.
    kept = {k for _, k in outcomes}
    assert 0 in kept and any(k >= 1 for k in kept)


@pytest.mark.parametrize("parts", [False, True], ids=["one-thread", "two-thread"])
def test_an_interrupted_fit_keeps_a_completed_epoch(parts, two_threads):
    X, y = _data(400, 10) if parts else _data()
    hidden = (128,) if parts else (6,)
    batch = 200 if parts else 20
    epochs = 3

    def make():
        return RegularizedMLPClassifier(
            hidden, max_iter=epochs, batch_size=batch, random_state=0
        )

    if parts:
        # The fit runs its epochs on two threads.
        assert _epoch.part_count(batch, 10 * 128 + 128 * 1) >= 2
    reference = _reference_states(make, lambda e: e.fit(X, y), epochs)

    def allowed(estimator):
        return [_model_state(estimator), *reference]

    total, outcomes = _sweep(make, lambda e: e.fit(X, y), allowed, 1)
    assert total > 500
    _check_outcomes(outcomes)


def _fitted(epochs=2, **params):
    X, y = _data()
    estimator = RegularizedMLPClassifier(
        (6,), max_iter=epochs, batch_size=20, random_state=0, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y), X, y


def test_an_interrupted_partial_fit_keeps_the_model_or_its_epoch():
    base, X, y = _fitted()
    after = copy.deepcopy(base).partial_fit(X, y)
    states = [_model_state(base), _model_state(after)]
    total, outcomes = _sweep(
        lambda: copy.deepcopy(base), lambda e: e.partial_fit(X, y), lambda e: states, 1
    )
    assert total > 300
    # One epoch: interrupted before its end, it is discarded whole.
    assert outcomes["interrupted", 0] > 0
    assert set(outcomes) <= {("interrupted", 0), ("returned", 1)}


def test_an_interrupted_warm_start_keeps_the_model_or_a_completed_epoch():
    base, X, y = _fitted(warm_start=True)

    def make():
        return copy.deepcopy(base).set_params(max_iter=3)

    reference = _reference_states(make, lambda e: e.fit(X, y), 3)
    total, outcomes = _sweep(
        make, lambda e: e.fit(X, y), lambda e: [_model_state(e), *reference], 1
    )
    assert total > 500
    _check_outcomes(outcomes)


def test_an_interrupted_lbfgs_fit_leaves_the_estimator_as_it_was():
    # L-BFGS has no epochs to keep: as scikit-learn's, an interrupt propagates,
    # and the estimator stays as it was.
    X, y = _data()

    def make():
        return RegularizedMLPClassifier(
            (6,), solver="lbfgs", max_iter=3, random_state=0
        )

    done = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done.fit(X, y)
    total, outcomes = _sweep(
        make, lambda e: e.fit(X, y), lambda e: [_model_state(e), _model_state(done)], 1
    )
    assert total > 300
    assert outcomes["interrupted", 0] > 0
    assert not any(o == "returned" and k == 0 for o, k in outcomes)


def test_an_interrupted_search_stops_and_leaves_the_estimator_as_it_was():
    # A search is the user's long job: a Ctrl-C in any of its fits stops it
    # (KeyboardInterrupt), instead of a search on truncated fits.
    X, y = _data()

    def make():
        return RegularizedMLPClassifierCV(
            (6,), alphas=2, cv=2, max_iter=3, batch_size=20, random_state=0
        )

    done = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done.fit(X, y)
    total, outcomes = _sweep(
        make,
        lambda e: e.fit(X, y),
        lambda e: [_model_state(e), _model_state(done)],
        25,
    )
    assert total > 5000
    # Returned only when the interrupt came after the search's last fit, with
    # the complete result.
    assert outcomes["interrupted", 0] > 0
    assert set(outcomes) <= {("interrupted", 0), ("interrupted", 1), ("returned", 1)}


def test_an_interrupted_path_stops():
    X, y = _data()
    estimator = RegularizedMLPClassifier(
        (6,), max_iter=3, batch_size=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        complete = regularization_path(estimator, X, y, alphas=3).n_iter
    results = []

    def call(e):
        results.append(None)
        results[-1] = regularization_path(e, X, y, alphas=3).n_iter

    total, outcomes = _sweep(lambda: estimator, call, lambda e: [{}], 9)
    assert total > 2000
    assert outcomes["interrupted", 0] > 0
    # Every path that returned holds every point's complete fit.
    finished = [r for r in results[1:] if r is not None]
    assert all(np.array_equal(r, complete) for r in finished)
