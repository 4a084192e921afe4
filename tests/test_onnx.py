"""Export to ONNX: skreg's models converted by skl2onnx, run by onnxruntime.

Every converted model is run on its training data and compared with the fitted
model: the same labels, and probabilities or predictions within 1e-5, alone and
after a ``StandardScaler`` in a ``Pipeline``.
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    RegularizedMLPRegressorCV,
    register_onnx_converters,
)

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

FAST = dict(hidden_layer_sizes=(8, 5), max_iter=30, random_state=0)
TOL = 1e-5
DTYPES = [np.float32, np.float64]


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_onnx_converters()


def _classification(kind, dtype):
    if kind == "multilabel":
        X, y = make_multilabel_classification(90, 6, n_classes=3, random_state=0)
    else:
        n_classes = 2 if kind == "binary" else 3
        X, y = make_classification(
            90, 6, n_informative=4, n_classes=n_classes, random_state=0
        )
        if kind == "strings":
            y = np.array(["setosa", "versicolor", "virginica"])[y]
    return X.astype(dtype), y


def _regression(n_targets, dtype):
    X, y = make_regression(90, 6, n_targets=n_targets, noise=1.0, random_state=0)
    return X.astype(dtype), y / y.std(axis=0)


def _fit(model, X, y, pipeline):
    if pipeline:
        model = make_pipeline(StandardScaler(), model)
    return model.fit(X, y)


def _session(model, X, options=None):
    onx = skl2onnx.to_onnx(model, X[:1], options=options)
    return ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _assert_classifier_matches(model, X):
    session = _session(model, X, options={"zipmap": False})
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    labels, probabilities = session.run(None, {"X": X})
    assert probabilities.dtype == X.dtype
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=TOL)


def _assert_regressor_matches(model, X, n_outputs):
    session = _session(model, X)
    assert [o.name for o in session.get_outputs()] == ["variable"]
    (predictions,) = session.run(None, {"X": X})
    # A regressor's output is a matrix, one column per output.
    assert predictions.shape == (len(X), n_outputs)
    assert predictions.dtype == X.dtype
    expected = model.predict(X).reshape(len(X), n_outputs)
    np.testing.assert_allclose(predictions, expected, rtol=TOL, atol=TOL)


# ---------------------------------------------------------------- classifiers


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "strings", "multilabel"])
def test_classifier_predictions_match(kind, dtype, pipeline):
    X, y = _classification(kind, dtype)
    model = _fit(RegularizedMLPClassifier(**FAST), X, y, pipeline)
    assert model.predict_proba(X).dtype == dtype
    _assert_classifier_matches(model, X)


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_hidden_activations(activation, pipeline):
    X, y = _classification("multiclass", np.float32)
    model = RegularizedMLPClassifier(activation=activation, **FAST)
    _assert_classifier_matches(_fit(model, X, y, pipeline), X)
    X, y = _regression(1, np.float32)
    model = RegularizedMLPRegressor(activation=activation, **FAST)
    _assert_regressor_matches(_fit(model, X, y, pipeline), X, 1)


def test_zipmap_and_label_options():
    X, y = _classification("strings", np.float32)
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    expected = model.predict_proba(X)

    # skl2onnx's default: one dictionary of probabilities per row.
    labels, rows = _session(model, X).run(None, {"X": X})
    np.testing.assert_array_equal(labels, model.predict(X))
    assert list(rows[0]) == list(model.classes_)
    np.testing.assert_allclose(
        [[row[c] for c in model.classes_] for row in rows], expected, atol=TOL
    )

    options = {"zipmap": False, "output_class_labels": True}
    *_, classes = _session(model, X, options).run(None, {"X": X})
    np.testing.assert_array_equal(classes, model.classes_)

    # nocl: class indices in place of the labels.
    options = {"zipmap": False, "nocl": True}
    indices, _ = _session(model, X, options).run(None, {"X": X})
    np.testing.assert_array_equal(model.classes_[indices], model.predict(X))


def test_integer_input_is_cast():
    X, y = _classification("multiclass", np.float64)
    X = np.round(4 * X).astype(np.int64)
    model = RegularizedMLPClassifier(**FAST).fit(X, y)
    labels, probabilities = _session(model, X, {"zipmap": False}).run(None, {"X": X})
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=TOL)


# ----------------------------------------------------------------- regressors


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_predictions_match(n_outputs, dtype, pipeline):
    X, y = _regression(n_outputs, dtype)
    model = _fit(RegularizedMLPRegressor(**FAST), X, y, pipeline)
    _assert_regressor_matches(model, X, n_outputs)


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_poisson_regressor_exports_the_exponential(dtype, pipeline):
    X, y = _regression(1, dtype)
    model = _fit(
        RegularizedMLPRegressor(loss="poisson", **FAST), X, np.abs(y), pipeline
    )
    mlp = model[-1] if pipeline else model
    assert mlp.out_activation_ == "exp"
    onx = skl2onnx.to_onnx(model, X[:1])
    assert [n.op_type for n in onx.graph.node][-1] == "Exp"
    _assert_regressor_matches(model, X, 1)


# ------------------------------------------------------------- pruned models


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_pruned_model_exports_its_pruned_widths(dtype, pipeline):
    X, y = _classification("multiclass", dtype)
    model = _fit(RegularizedMLPClassifier(**FAST), X, y, pipeline)
    mlp = model[-1] if pipeline else model
    # Units 0-2 of the first hidden layer reach nothing, unit 4 reads nothing
    # (prune folds its constant output into the next intercepts).
    mlp.coefs_[1][:3] = 0
    mlp.coefs_[0][:, 4] = 0
    mlp.prune()
    assert [c.shape for c in mlp.coefs_] == [(6, 4), (4, 5), (5, 3)]
    # The converter reads the weights, not hidden_layer_sizes, which
    # set_params can change on a fitted model.
    mlp.set_params(hidden_layer_sizes=(8, 5))
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    weights = [list(t.dims) for t in onx.graph.initializer if "coefficient" in t.name]
    assert weights == [list(c.shape) for c in mlp.coefs_]
    _assert_classifier_matches(model, X)


# ------------------------------------------------------ cross-validated models


_SEARCH = dict(hidden_layer_sizes=(8,), alphas=3, cv=2, path_max_iter=5, random_state=0)


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
def test_cross_validated_classifier(pipeline):
    X, y = _classification("multiclass", np.float32)
    model = _fit(RegularizedMLPClassifierCV(**_SEARCH), X, y, pipeline)
    _assert_classifier_matches(model, X)


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
def test_cross_validated_regressor(pipeline):
    X, y = _regression(2, np.float64)
    model = _fit(RegularizedMLPRegressorCV(**_SEARCH), X, y, pipeline)
    _assert_regressor_matches(model, X, 2)


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "Estimator", [RegularizedMLPClassifier, RegularizedMLPRegressor]
)
def test_unfitted_model_raises_not_fitted(Estimator):
    X, _ = _regression(1, np.float32)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(Estimator(**FAST), X[:1])


@pytest.mark.parametrize(
    "Search", [RegularizedMLPClassifierCV, RegularizedMLPRegressorCV]
)
def test_search_without_refit_raises_not_fitted(Search):
    # Without a refit, a search holds its scores but no model to convert.
    X, y = _regression(1, np.float32)
    if Search is RegularizedMLPClassifierCV:
        y = y > 0
    search = Search(refit=False, **_SEARCH).fit(X, y)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(search, X[:1])


def test_registration_without_skl2onnx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "skreg\[onnx\]"'):
        register_onnx_converters()


def test_import_skreg_leaves_onnx_unimported():
    code = (
        "import sys, skreg; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('skl2onnx', 'onnx', 'onnxruntime')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
