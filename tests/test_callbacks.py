"""scikit-learn's callback API (``sklearn.callback``) on the estimators."""

import numpy as np
import pytest
from sklearn.callback import (
    AutoPropagatedCallback,
    CallbackContext,
    FitCallback,
    ProgressBar,
    ScoringMonitor,
)
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    return make_classification(120, 6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def data_reg():
    X, y = make_regression(120, 6, noise=5.0, random_state=0)
    return X, y / y.std()


def _clf(**params):
    # tol=0 and a large n_iter_no_change: every fit runs exactly max_iter epochs.
    params = {
        "hidden_layer_sizes": (5,),
        "max_iter": 4,
        "random_state": 0,
        "tol": 0.0,
        "n_iter_no_change": 100,
        "learning_rate_init": 0.01,
        **params,
    }
    return RegularizedMLPClassifier(**params)


class Recorder(FitCallback):
    """Records every hook call, and the weights of the model at each task's end."""

    def __init__(self, stop_at=None):
        self.events = []
        self.stop_at = stop_at

    def setup(self, estimator, context):
        self.events.append(("setup", None, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", None, None))

    def on_fit_task_begin(self, estimator, context, *, X=None):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
        coefs = None if fitted_estimator is None else fitted_estimator.coefs_
        self.events.append(("end", context.task_name, context.task_id, coefs, X))
        return context.task_name == "epoch" and context.task_id == self.stop_at

    def ends(self, task_name):
        return [e for e in self.events if e[0] == "end" and e[1] == task_name]


class PropagatedRecorder(Recorder, AutoPropagatedCallback):
    max_propagation_depth = None


def test_one_event_per_epoch(data):
    X, y = data
    rec = Recorder()
    est = _clf(max_iter=5).set_callbacks(rec)
    est.fit(X, y)
    assert est.n_iter_ == 5
    kinds = [e[:3] for e in rec.events]
    epochs = [e for i in range(5) for e in (("begin", "epoch", i), ("end", "epoch", i))]
    assert kinds == [
        ("setup", None, None),
        ("begin", "fit", 0),
        *epochs,
        ("end", "fit", 0),
        ("teardown", None, None),
    ]
    # The model handed to the last epoch's end is the final model, and each
    # epoch's model is a copy, not a view of the weights training goes on with.
    last = rec.ends("epoch")[-1][3]
    for a, b in zip(last, est.coefs_):
        np.testing.assert_array_equal(a, b)
    first = rec.ends("epoch")[0][3]
    assert not np.array_equal(first[0], est.coefs_[0])
    assert not hasattr(est, "_callback_fit_ctx")


def test_partial_fit_is_one_epoch(data):
    X, y = data
    rec = Recorder()
    est = _clf().set_callbacks(rec)
    est.partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X, y)
    assert [e[2] for e in rec.ends("epoch")] == [0, 0]
    assert len(rec.ends("fit")) == 2


def test_early_stopping_hooks_see_training_part(data):
    X, y = data
    rec = Recorder()
    _clf(early_stopping=True, validation_fraction=0.25).set_callbacks(rec).fit(X, y)
    assert {e[4].shape[0] for e in rec.ends("epoch")} == {90}
    assert rec.ends("fit")[0][4].shape[0] == 120


def test_lbfgs_one_event_per_iteration(data):
    X, y = data
    rec = Recorder()
    est = _clf(solver="lbfgs", max_iter=7).set_callbacks(rec)
    est.fit(X, y)
    ends = rec.ends("iteration")
    # One per step, then the step begun after the last, ended empty.
    assert [e[2] for e in ends] == list(range(est.n_iter_ + 1))
    assert all(e[3] is not None for e in ends[:-1]) and ends[-1][3] is None
    for a, b in zip(ends[-2][3], est.coefs_):
        np.testing.assert_array_equal(a, b)


def test_callback_can_stop_training(data):
    X, y = data
    rec = Recorder(stop_at=2)
    est = _clf(max_iter=10).set_callbacks(rec)
    est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert [e[2] for e in rec.ends("epoch")] == [0, 1, 2]


def test_failing_callback_leaves_estimator_as_it_was(data):
    X, y = data

    class Failing(Recorder):
        def on_fit_task_end(self, estimator, context, *, X=None):
            if context.task_name == "epoch" and context.task_id == 1:
                raise RuntimeError("callback failed")

    est = _clf().fit(X, y)
    before = {k: v for k, v in est.__dict__.items()}
    coefs = [c.copy() for c in est.coefs_]
    cb = Failing()
    est.set_callbacks(cb)
    with pytest.raises(RuntimeError, match="callback failed"):
        est.fit(X, y)
    assert cb.events[-1][0] == "teardown"
    assert est.n_iter_ == before["n_iter_"] and est.loss_curve_ is before["loss_curve_"]
    for a, b in zip(est.coefs_, coefs):
        np.testing.assert_array_equal(a, b)
    assert not hasattr(est, "_callback_fit_ctx")


@pytest.mark.parametrize(
    "solver, early_stopping",
    [("adam", False), ("adam", True), ("sgd", False), ("sgd", True), ("lbfgs", False)],
)
def test_callbacks_do_not_change_the_fit(data, solver, early_stopping):
    X, y = data
    params = dict(solver=solver, early_stopping=early_stopping)
    if solver != "lbfgs":  # random numbers drawn in the epochs
        params["dropout"] = 0.2
    plain = _clf(**params).fit(X, y)
    monitor = ScoringMonitor(scoring="accuracy")
    watched = _clf(**params).set_callbacks(Recorder(), monitor).fit(X, y)
    for a, b in zip(
        plain.coefs_ + plain.intercepts_, watched.coefs_ + watched.intercepts_
    ):
        np.testing.assert_array_equal(a, b)


def test_no_callbacks_no_context(data, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a callback context was built")

    monkeypatch.setattr(CallbackContext, "_from_estimator", classmethod(fail))
    X, y = data
    _clf().fit(X, y)
    _clf(solver="lbfgs").fit(X, y)
    _clf().partial_fit(X, y, classes=np.unique(y))


def test_scoring_monitor_scores_each_epoch(data):
    X, y = data
    monitor = ScoringMonitor(scoring="accuracy")
    est = _clf(max_iter=4).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [r for r in rows if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in epochs] == [0, 1, 2, 3]
    # The model at epoch k is that of a fit stopped after k + 1 epochs.
    for k, row in enumerate(epochs):
        stopped = _clf(max_iter=k + 1).fit(X, y)
        assert row["accuracy"] == accuracy_score(y, stopped.predict(X))
    (fit_row,) = [r for r in rows if r["task_name"] == "fit"]
    assert fit_row["accuracy"] == est.score(X, y) == epochs[-1]["accuracy"]


def test_scoring_monitor_regressor_lbfgs(data_reg):
    X, y = data_reg
    monitor = ScoringMonitor(scoring="r2")
    est = RegularizedMLPRegressor(
        (5,), solver="lbfgs", max_iter=15, random_state=0
    ).set_callbacks(monitor)
    est.fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "iteration"]
    assert len(rows) == est.n_iter_
    assert rows[-1]["r2"] == pytest.approx(r2_score(y, est.predict(X)), rel=1e-12)


def test_progress_bar(data, capsys):
    pytest.importorskip("rich")
    X, y = data
    _clf().set_callbacks(ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert "RegularizedMLPClassifier - fit" in out and "100%" in out


def test_grid_search_propagates(data, capsys):
    X, y = data
    rec = PropagatedRecorder()
    callbacks = [rec]
    try:
        callbacks.append(ProgressBar())
    except ImportError:  # ProgressBar needs rich
        pass
    # A ScoringMonitor does not propagate: it goes on the estimator searched,
    # whose clones keep it.
    monitor = ScoringMonitor(scoring="accuracy")
    est = _clf(max_iter=3).set_callbacks(monitor)
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(*callbacks).fit(X, y)
    # Set up and torn down once, by the search; 2 candidates x 2 folds + refit.
    assert [e[0] for e in rec.events].count("setup") == 1
    assert [e[0] for e in rec.events].count("teardown") == 1
    assert len(rec.ends("fit")) == 5 + 1  # and the search's own
    assert len(rec.ends("epoch")) == 5 * 3
    (log,) = monitor.get_logs(select="all")  # one run: the search's
    assert log.estimator_name == "GridSearchCV"
    epoch_rows = [r for r in log.data if r["task_name"] == "epoch"]
    assert len(epoch_rows) == 5 * 3
    # The propagated callbacks were lent to the clones, not left on them.
    assert search.best_estimator_._skl_callbacks == [monitor]
    if len(callbacks) == 2:
        assert "GridSearchCV - fit" in capsys.readouterr().out


def test_cv_estimators_do_not_take_callbacks():
    assert not hasattr(RegularizedMLPClassifierCV(), "set_callbacks")
