"""Reliability: faults during training, bad input, determinism, persistence, memory.

Faults are injected for real: learning rates and inputs that make the loss overflow,
and a ``KeyboardInterrupt`` raised between the kernels of an epoch and the
bookkeeping around them. Each check compares the estimator with an independent
fit that ran exactly the epochs that completed, bit for bit.
"""

import os
import pickle
import re
import subprocess
import sys
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from _models import FAST, split_batches
from sklearn.datasets import make_classification
from sklearn.exceptions import (
    ConvergenceWarning,
    InconsistentVersionWarning,
    NotFittedError,
)

import skreg
from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    _base,
    _stochastic,
)

ESTIMATORS = [RegularizedMLPClassifier, RegularizedMLPRegressor]


def _state(model, fitted_only):
    """Everything a fit sets (and the parameters, unless ``fitted_only``)."""
    state = pickle.loads(pickle.dumps(model)).__dict__
    if fitted_only:
        state = {k: v for k, v in state.items() if k not in model.get_params()}
    return state


def _assert_same_state(a, b, fitted_only=False):
    sa, sb = _state(a, fitted_only), _state(b, fitted_only)
    assert sa.keys() == sb.keys()
    for key in sa:
        _assert_equal(sa[key], sb[key], key)


def _assert_equal(x, y, where):
    if isinstance(x, dict):
        assert x.keys() == y.keys(), where
        for k in x:
            _assert_equal(x[k], y[k], f"{where}[{k!r}]")
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y), where
        for i, (p, q) in enumerate(zip(x, y)):
            _assert_equal(p, q, f"{where}[{i}]")
    elif isinstance(x, np.ndarray):
        np.testing.assert_array_equal(x, y, err_msg=where)
    elif hasattr(x, "__dict__") and not isinstance(x, type):
        _assert_equal(vars(x), vars(y), where)
    else:
        assert x == y or (x != x and y != y), where


def _finite(model):
    return all(np.isfinite(p).all() for p in model.coefs_ + model.intercepts_)


# -------------------------------------------------------------- divergence


def _diverging(**params):
    # Plain SGD at a rate far above 2 / L on inputs scaled by 100: the loss
    # grows by orders of magnitude per epoch and overflows after a few.
    defaults = dict(
        solver="sgd",
        learning_rate_init=0.05,
        momentum=0.0,
        max_iter=50,
        random_state=0,
    )
    return RegularizedMLPRegressor((16,), **{**defaults, **params})


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_divergence_keeps_the_weights_of_the_last_finite_epoch(regression, momentum):
    X, y = regression
    X = X * 100
    model = _diverging(momentum=momentum)
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(X, y)
    message = " ".join(str(w.message) for w in record)
    assert "became" in message and "learning_rate_init" in message
    assert _finite(model)
    assert np.isfinite(model.predict(X)).all()
    assert model.n_iter_ >= 1
    assert len(model.loss_curve_) == model.n_iter_
    assert np.isfinite(model.loss_curve_).all()
    # Exactly the model of a fit that stops before the epoch that overflowed,
    # optimizer state (the velocity) included.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = _diverging(momentum=momentum, max_iter=model.n_iter_).fit(X, y)
    _assert_same_state(model, reference, fitted_only=True)
    # The weights kept are those just before the overflow: continuing from them
    # overflows in the first epoch, which raises and keeps them.
    with pytest.raises(ValueError, match="non-finite"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, y)
    _assert_same_state(model, reference, fitted_only=True)


def test_float32_overflow_stops_with_a_warning(regression):
    X, y = regression
    X = (X * 100).astype(np.float32)
    model = _diverging()
    with pytest.warns(ConvergenceWarning, match="became"):
        model.fit(X, y)
    assert model.n_iter_ >= 1
    assert model.coefs_[0].dtype == np.float32
    assert _finite(model)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overflow_in_the_first_epoch_raises_sklearn_error(regression, dtype):
    # No epoch gave a finite model: scikit-learn's error (its test_nonfinite_params),
    # not a model that was never trained.
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    message = "Solver produced non-finite parameter weights"
    with pytest.raises(ValueError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        RegularizedMLPRegressor().fit(X, y)
    # A fitted model whose refit overflows at once stays as it was.
    X, y = regression
    model = RegularizedMLPRegressor((16,), max_iter=5, random_state=0)
    model.fit(X.astype(dtype), y)
    before = _state(model, fitted_only=False)
    for call in ("fit", "partial_fit"):
        model.set_params(warm_start=True)
        with pytest.raises(ValueError, match=message), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            huge = np.finfo(dtype).max / 4 / np.abs(X).max()
            getattr(model, call)((X * huge).astype(dtype), y)
        model.set_params(warm_start=False)
        _assert_equal(_state(model, fitted_only=False), before, "state")


def test_divergence_under_early_stopping_keeps_the_best_weights(regression):
    # The validation score falls for a few epochs before the loss overflows: the
    # model kept is that of the best epoch, not of the last finite one.
    X, y = regression
    params = dict(learning_rate_init=0.01, early_stopping=True, n_iter_no_change=100)
    model = _diverging(**params)
    with pytest.warns(ConvergenceWarning, match="became"):
        model.fit(X * 100, y)
    # The last finite epoch may score NaN (its predictions overflow): the best
    # epoch is that of the highest score that is a number.
    best_epoch = int(np.nanargmax(model.validation_scores_)) + 1
    assert best_epoch < model.n_iter_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = _diverging(**params, max_iter=best_epoch).fit(X * 100, y)
    for a, b in zip(
        model.coefs_ + model.intercepts_, reference.coefs_ + reference.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(model.predict(X)).all()


# ----------------------------------------------------------- interruptions


class _Interrupt:
    """Wraps a function of ``skreg._stochastic``: raises ``KeyboardInterrupt`` on call
    number ``at`` (from 1), after the real call when ``after`` is set, so the
    interrupted epoch has already changed the weights in place."""

    def __init__(self, function, at, after):
        self.function, self.at, self.after, self.calls = function, at, after, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at and not self.after:
            raise KeyboardInterrupt
        result = self.function(*args, **kwargs)
        if self.calls == self.at:
            raise KeyboardInterrupt
        return result


def _assert_interrupted_fit_keeps(params, X, y, monkeypatch, completed):
    """A fit with the interrupt patched in equals a fit of ``completed`` epochs."""
    model = RegularizedMLPClassifier(**params)
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X, y)
    monkeypatch.undo()
    assert model.n_iter_ == completed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = RegularizedMLPClassifier(**{**params, "max_iter": completed})
        reference.fit(X, y)
    _assert_same_state(model, reference, fitted_only=True)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("after", [False, True])
def test_interrupted_fit_keeps_the_last_completed_epoch(
    data, monkeypatch, solver, after
):
    X, y = data
    params = dict(FAST, solver=solver, penalty="l1", dropout=0.2, max_iter=6)
    monkeypatch.setattr(
        _stochastic, "run_epoch", _Interrupt(_stochastic.run_epoch, 4, after)
    )
    _assert_interrupted_fit_keeps(params, X, y, monkeypatch, completed=3)


def test_interrupt_during_validation_keeps_the_last_completed_epoch(data, monkeypatch):
    # Early stopping scores each epoch after its kernel ran: an interrupt there
    # leaves an epoch whose weights changed but whose bookkeeping did not.
    X, y = data
    params = dict(FAST, early_stopping=True, max_iter=5)
    score = _Interrupt(RegularizedMLPClassifier._score_output, 3, False)
    monkeypatch.setattr(
        RegularizedMLPClassifier, "_score_output", lambda *args: score(*args)
    )
    _assert_interrupted_fit_keeps(params, X, y, monkeypatch, completed=2)


@pytest.mark.parametrize("warm_start", [False, True])
def test_interrupt_before_any_epoch_leaves_the_model_as_it_was(
    data, monkeypatch, warm_start
):
    # With no epoch completed there is nothing to keep: the interrupt reaches the
    # caller, and a partial fit or a refit leaves the fitted model untouched.
    X, y = data
    model = RegularizedMLPClassifier(**FAST, warm_start=warm_start)
    model.partial_fit(X, y, classes=np.unique(y))
    model.partial_fit(X, y)
    before = pickle.dumps(model)
    for call in (lambda: model.partial_fit(X, y), lambda: model.fit(X, y)):
        monkeypatch.setattr(
            _stochastic, "run_epoch", _Interrupt(_stochastic.run_epoch, 1, True)
        )
        with pytest.raises(KeyboardInterrupt):
            call()
        monkeypatch.undo()
        _assert_same_state(model, pickle.loads(before))


# --------------------------------------------------------------- bad input

_BAD_INPUT = {
    "nan": (lambda X, y: (np.where(X > 2, np.nan, X), y), "NaN"),
    "inf": (lambda X, y: (np.where(X > 2, np.inf, X), y), "infinity"),
    "empty": (lambda X, y: (X[:0], y[:0]), "minimum of 1"),
    "1-d": (lambda X, y: (X[:, 0], y), "2D array"),
    "strings": (lambda X, y: (X.astype(str).astype(object) + "x", y), "convert"),
    "object": (lambda X, y: (np.array([[1, "a"]] * len(y), dtype=object), y), "'a'"),
    "complex": (lambda X, y: (X + 1j, y), "[Cc]omplex"),
    "y too short": (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
    "y with nan": (lambda X, y: (X, np.where(y == 0, np.nan, y)), "NaN"),
    "sample_weight": (None, "sample_weight"),
}


@pytest.mark.parametrize("case", list(_BAD_INPUT))
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_input_gets_a_clear_error_and_spares_the_fitted_model(
    data, case, Estimator
):
    X, y = data
    if Estimator is RegularizedMLPRegressor and case == "y with nan":
        y = y.astype(float)
    model = Estimator(**FAST).fit(X, y)
    before = pickle.dumps(model)
    make, match = _BAD_INPUT[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match) as info:
            if make is None:
                model.fit(X, y, sample_weight=np.ones(len(y) - 1))
            else:
                model.fit(*make(X, y))
    assert "numba" not in str(info.value).lower()
    _assert_same_state(model, pickle.loads(before))


def test_bad_input_at_predict(data):
    X, y = data
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    for bad, match in [
        (X[:, :-1], "features"),
        (X[:0], "minimum of 1"),
        (X[0], "2D array"),
        (np.full_like(X, np.inf), "infinity"),
        (X.astype(str).astype(object) + "x", "convert"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            model.predict_proba(bad)
        assert "numba" not in str(info.value).lower()
    with pytest.raises(NotFittedError):
        RegularizedMLPRegressor().predict(X)


def test_a_single_class_is_rejected_with_a_clear_message(data):
    X, _ = data
    with pytest.raises(ValueError, match="class"):
        RegularizedMLPClassifier(**FAST).fit(X, np.zeros(len(X)))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(dropout=[0.1, 0.2]), "one per hidden layer"),
        (dict(dropout=[[0.1]]), "dropout"),
        (dict(alpha=[1e-3]), "one per weight matrix"),
        (dict(alpha=[1e-3, -1.0]), "alpha"),
        (dict(max_norm=-1.0), "max_norm"),
        (dict(noise_std=-0.1), "noise_std"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
        (dict(solver="lbfgs", penalty="group_lasso"), "solver='adam' or"),
        (dict(solver="lbfgs", input_dropout=0.1), "input_dropout"),
    ],
)
def test_invalid_parameters_are_named_in_the_error(data, params, match):
    X, y = data
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    before = pickle.dumps(model)
    original = model.get_params()
    model.set_params(**params)
    with pytest.raises(ValueError, match=match) as info:
        model.fit(X, y)
    assert "numba" not in str(info.value).lower()
    _assert_same_state(model.set_params(**original), pickle.loads(before))


# ---------------------------------------------------- determinism, threads

_CONFIGS = [
    dict(FAST),
    dict(FAST, penalty="elasticnet", l1_ratio=0.5, dropout=0.2),
    dict(FAST, solver="sgd", penalty="group_lasso", alpha=1e-2, input_dropout=0.1),
    dict(FAST, noise_std=0.1, max_norm=1.0, weight_decay=1e-3, early_stopping=True),
]


def _fit(params, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return RegularizedMLPClassifier(**params).fit(X, y)


@pytest.mark.blas_kernels
@pytest.mark.parametrize("parts", [False, True], ids=["whole", "parts"])
def test_fits_in_parallel_threads_equal_sequential_fits(data, parts, monkeypatch):
    # With every batch in parts, one fit at a time takes more threads and the
    # others run every part on their own thread: all get the same models.
    if parts:
        split_batches(monkeypatch, 4)
    X, y = data
    sequential = [_fit(params, X, y) for params in _CONFIGS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda p: _fit(p, X, y), _CONFIGS * 2))
    for i, model in enumerate(threaded):
        _assert_same_state(model, sequential[i % len(_CONFIGS)])


_CHILD = """
import pickle, sys, warnings
import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from skreg import RegularizedMLPClassifier
X, y = make_classification(200, 10, n_informative=5, n_classes=3, random_state=0)
X = StandardScaler().fit_transform(X)
warnings.simplefilter("ignore")
params = pickle.loads(bytes.fromhex(sys.argv[1]))
model = RegularizedMLPClassifier(**params).fit(X, y)
result = [model.coefs_, model.intercepts_, model.loss_curve_]
sys.stdout.write(pickle.dumps(result).hex())
"""


@pytest.mark.blas_kernels
def test_same_random_state_gives_the_same_model_in_another_process(data):
    # Another process with one thread for BLAS and Numba: the model is the same,
    # bit for bit, as this process's.
    X, y = data
    params = _CONFIGS[1]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, pickle.dumps(params).hex()],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    coefs, intercepts, curve = pickle.loads(bytes.fromhex(out.stdout))
    model = _fit(params, X, y)
    _assert_equal(coefs + intercepts, model.coefs_ + model.intercepts_, "weights")
    assert curve == model.loss_curve_


# ------------------------------------------------------------- persistence


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_pickle_and_joblib_round_trips_are_identical(data, Estimator, tmp_path):
    X, y = data
    model = Estimator(**_CONFIGS[1]).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    for restored in (pickle.loads(pickle.dumps(model)), joblib.load(path)):
        _assert_same_state(restored, model)
        predict = getattr(model, "predict_proba", model.predict)
        np.testing.assert_array_equal(
            getattr(restored, predict.__name__)(X), predict(X)
        )
        # Training continues identically from the restored optimizer state.
        a = pickle.loads(pickle.dumps(model)).partial_fit(X, y)
        _assert_same_state(restored.partial_fit(X, y), a)


def test_saved_models_carry_the_skreg_version(data):
    X, y = data
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    assert model.__getstate__()["_skreg_version"] == skreg.__version__


def test_a_model_saved_by_an_older_version_loads(data):
    X, y = data
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    state = model.__getstate__()
    state["_skreg_version"] = "0.0.1"
    older = RegularizedMLPClassifier.__new__(RegularizedMLPClassifier)
    older.__setstate__(state)
    np.testing.assert_array_equal(older.predict_proba(X), model.predict_proba(X))


def test_a_model_saved_in_a_newer_format_fails_with_a_version_message(
    data, monkeypatch
):
    # A release that changes the saved layout raises the format number; the
    # saving side is simulated by raising it here while the model is pickled.
    X, y = data
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    monkeypatch.setattr(_base, "_STATE_FORMAT", _base._STATE_FORMAT + 1)
    monkeypatch.setattr(_base, "__version__", "99.0.0")
    saved = pickle.dumps(model)
    monkeypatch.undo()
    expected = r"saved by skreg 99\.0\.0.*cannot read.*refit it with skreg "
    with pytest.raises(ValueError, match=expected + re.escape(skreg.__version__)):
        pickle.loads(saved)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_skops_round_trip_trusts_only_skreg_types(data, Estimator, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = data
    model = Estimator(**_CONFIGS[1]).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(name.startswith("skreg.") for name in untrusted), untrusted
    restored = sio.load(path, trusted=untrusted)
    _assert_same_state(restored, model)
    predict = "predict_proba" if hasattr(model, "predict_proba") else "predict"
    np.testing.assert_array_equal(
        getattr(restored, predict)(X), getattr(model, predict)(X)
    )


_SAVED = sorted((Path(__file__).parent / "data").glob("skreg-*.*"))


@pytest.mark.parametrize("path", _SAVED, ids=[p.name for p in _SAVED])
def test_models_saved_by_released_versions_load(path):
    # Files written by tests/data/save_models.py with each release: the models
    # load and give the outputs they gave when they were saved.
    with warnings.catch_warnings():
        # scikit-learn warns when its own version changed since the save.
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        if path.suffix == ".skops":
            sio = pytest.importorskip("skops.io")
            untrusted = sio.get_untrusted_types(file=path)
            assert all(name.startswith("skreg.") for name in untrusted), untrusted
            saved = sio.load(path, trusted=untrusted)
        else:
            with open(path, "rb") as f:
                saved = pickle.load(f)
    assert path.name == f"skreg-{saved['version']}{path.suffix}"
    X = saved["X"]
    np.testing.assert_allclose(
        saved["classifier"].predict_proba(X), saved["predict_proba"], rtol=1e-12
    )
    np.testing.assert_allclose(
        saved["regressor"].predict(X), saved["predict"], rtol=1e-12, atol=1e-14
    )
    # A loaded model trains on.
    y = saved["classifier"].predict(X)
    saved["classifier"].partial_fit(X, y)
    assert len(saved["classifier"].loss_curve_) == 21


def test_saved_model_files_cover_the_current_version():
    # A release adds its files; a version bump without them fails here.
    names = {p.name for p in _SAVED}
    assert f"skreg-{skreg.__version__}.pkl" in names
    assert f"skreg-{skreg.__version__}.skops" in names


# ------------------------------------------------------------------ memory


def _peak(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_EARLY = dict(early_stopping=True)


def test_training_memory_does_not_grow_with_samples_times_hidden_units():
    # 20,000 samples and 512 hidden units: an array of samples x hidden would be
    # 82 MB. A fit allocates the model, its optimizer state and a few batches.
    X, y = make_classification(20_000, 20, n_informative=10, random_state=0)
    params = dict(hidden_layer_sizes=(512,), max_iter=2, tol=0.0, random_state=0)
    # Early stopping splits the data, which copies X once.
    for extra, data_copy in [({}, 0), (dict(dropout=0.5), 0), (_EARLY, X.nbytes)]:
        _fit(dict(params, max_iter=1, **extra), X[:300], y[:300])  # kernels loaded
        peak = _peak(_fit, dict(params, **extra), X, y)
        assert peak < data_copy + 0.1 * 20_000 * 512 * 8, extra


def test_prediction_memory_is_the_output_plus_a_few_chunks():
    X, y = make_classification(2_000, 20, n_informative=10, random_state=0)
    model = _fit(dict(hidden_layer_sizes=(512, 256), max_iter=1), X, y)
    big = np.repeat(X, 25, axis=0)  # 50,000 rows: 50,000 x 512 floats = 205 MB
    one_layer = big.shape[0] * 512 * 8
    for X_predict in (big, sp.csr_matrix(big), np.asfortranarray(big)):
        model.predict_proba(X_predict[:10])
        peak = _peak(model.predict_proba, X_predict)
        assert peak < 0.15 * one_layer, type(X_predict)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_new_regularizers_round_trip_through_pickle_and_skops(
    data, Estimator, tmp_path
):
    # Feature groups as index lists, penalty factors, a concave penalty and
    # activity regularization are parameters like any other: saved, restored,
    # refitted to the same weights.
    sio = pytest.importorskip("skops.io")
    X, y = data
    params = dict(
        FAST,
        penalty="group_mcp",
        gamma=4.0,
        alpha=1e-3,
        feature_groups=[[0, 1], [2, 3, 4]],
        penalty_factor=np.r_[0.0, np.ones(X.shape[1] - 1)],
        activity_penalty="l1",
        activity_alpha=1e-3,
    )
    model = Estimator(**params).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(name.startswith("skreg.") for name in untrusted), untrusted
    for restored in (
        sio.load(path, trusted=untrusted),
        pickle.loads(pickle.dumps(model)),
    ):
        _assert_same_state(restored, model)
        refitted = restored.fit(X, y)
        for a, b in zip(refitted.coefs_, model.coefs_):
            np.testing.assert_array_equal(a, b)
        assert refitted.get_params()["feature_groups"] == params["feature_groups"]
