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
    regularization_path,
)
from skreg import _interrupts, _training

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
        "busy": _training._threads["busy"],
        "blocks": (_training._single["blocks"], _training._single["saved"]),
        "compiles": _training._collections["compiles"],
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


def _check_outcomes(outcomes, epochs):
    # Interrupts landed before any epoch (estimator as it was) and after some.
    kept = {k for _, k in outcomes}
    assert 0 in kept and any(k >= 1 for k in kept)


@pytest.mark.parametrize("halves", [False, True], ids=["one-thread", "two-thread"])
def test_an_interrupted_fit_keeps_a_completed_epoch(halves, two_threads):
    X, y = _data(400, 10) if halves else _data()
    hidden = (128,) if halves else (6,)
    batch = 200 if halves else 20
    epochs = 3

    def make():
        return RegularizedMLPClassifier(
            hidden, max_iter=epochs, batch_size=batch, random_state=0
        )

    if halves:
        # The fit runs its epochs on two threads.
        assert batch * (10 * 128 + 128 + 128 + 1) >= _training.HALVES_MIN_WORK
    reference = _reference_states(make, lambda e: e.fit(X, y), epochs)

    def allowed(estimator):
        return [_model_state(estimator), *reference]

    total, outcomes = _sweep(make, lambda e: e.fit(X, y), allowed, 1)
    assert total > 500
    _check_outcomes(outcomes, epochs)
