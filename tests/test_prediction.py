"""Tests of skreg._prediction: the lean and the validated prediction paths.

The lean path (a float ndarray, checked chunk by chunk) is compared with the
validated one for every memory layout, a row alone with the same row in a batch
within the documented tolerance, and chunked predictions with a NumPy forward pass;
both paths raise scikit-learn's errors and warnings.
"""

import warnings

import numpy as np
import pytest
from _models import FAST
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
)


class _Validated(np.ndarray):
    """An ndarray subclass: prediction takes the validated path for it."""


@pytest.mark.blas_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lean_prediction_path_equals_validated_path(data, dtype):
    # A finite float ndarray skips scikit-learn's validation; a subclass of
    # ndarray takes it. Both must give the same numbers, for every memory layout.
    X, y = data
    clf = RegularizedMLPClassifier(**FAST).fit(X.astype(dtype), y)
    expected = clf.predict_proba(X.astype(dtype).view(_Validated))
    if dtype == np.float64:  # a list of lists is read as float64
        np.testing.assert_array_equal(clf.predict_proba(X.tolist()), expected)
    for layout in (
        X.astype(dtype),
        np.asfortranarray(X.astype(dtype)),
        X.astype(dtype)[::-1][::-1],
        np.repeat(X.astype(dtype), 2, axis=1)[:, ::2],
    ):
        np.testing.assert_array_equal(clf.predict_proba(layout), expected)
    # A row alone is a one-row product, for which the BLAS may take another kernel
    # (see test_a_row_alone_is_predicted_as_in_a_batch_within_the_tolerance).
    one = clf.predict_proba(X[:1].astype(dtype))
    _assert_row_tolerance(one, expected[:1])
    # A float64 row on a float32 model (or the reverse) is predicted in float64,
    # as validated input.
    other = np.float64 if dtype == np.float32 else np.float32
    np.testing.assert_array_equal(
        clf.predict_proba(X.astype(other)), clf.predict_proba(X.astype(other).tolist())
    )


def _assert_row_tolerance(alone, in_batch):
    # The documented tolerance: 16 machine epsilons of the model's dtype, relative
    # to 1 + |output|.
    eps = np.finfo(alone.dtype).eps
    assert alone.dtype == in_batch.dtype
    assert np.all(np.abs(alone - in_batch) <= 16 * eps * (1 + np.abs(in_batch)))


@pytest.mark.blas_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_a_row_alone_is_predicted_as_in_a_batch_within_the_tolerance(kind, dtype):
    # Bit for bit on some BLAS kernels, not on all (OpenBLAS's Haswell and Prescott
    # kernels compute a one-row product in another order than a larger one).
    X, y = make_classification(300, 30, n_informative=10, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X).astype(dtype)
    params = dict(hidden_layer_sizes=(64, 32), max_iter=20, random_state=0)
    if kind == "regressor":
        model = RegularizedMLPRegressor(**params).fit(X, X[:, :2] @ [1.0, -2.0])
        predict = model.predict
    else:
        model = RegularizedMLPClassifier(**params).fit(X, y)
        predict = model.predict_proba
    batch = predict(X)
    alone = np.concatenate([predict(X[i : i + 1]) for i in range(X.shape[0])])
    _assert_row_tolerance(alone, batch)
    # Rows in any batch of any size are predicted alike: only one row alone
    # may take another kernel.
    for start, stop in [(0, 7), (5, 300), (100, 133)]:
        _assert_row_tolerance(predict(X[start:stop]), batch[start:stop])


def _numpy_forward(model, X):
    hidden = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[model.activation]
    A = X
    for layer, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        A = A @ W + b
        if layer < len(model.coefs_) - 1:
            A = hidden(A)
    return A


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunked_prediction_matches_a_numpy_forward_pass(activation, dtype):
    # Several chunks, the last one partial, through layers of unequal widths that
    # share the two alternating buffers; C-ordered input takes the compiled path,
    # Fortran-ordered input the interpreted one.
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=1)
    clf = RegularizedMLPClassifier(
        hidden_layer_sizes=(7, 30, 5),
        activation=activation,
        max_iter=5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X.astype(dtype), y)
    many = np.random.default_rng(0).normal(size=(1300, 6)).astype(dtype)
    logits = _numpy_forward(clf, many.astype(np.float64))
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for X_pred in (many, np.asfortranarray(many)):
        proba = clf.predict_proba(X_pred)
        assert proba.dtype == dtype
        np.testing.assert_allclose(proba, expected, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_lean_prediction_path_raises_sklearn_errors(data, bad):
    X, y = data
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    row = X[:1].copy()
    row[0, 3] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict_proba(row)
    # Values are checked chunk by chunk: a bad value in the last chunk of many
    # still raises, after good chunks were predicted.
    many = np.resize(X, (5000, X.shape[1]))
    many[4999, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict_proba(many)
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(X[:1, :-1])
    with pytest.raises(ValueError, match="minimum of 1 is required"):
        clf.predict_proba(X[:0])


def test_lean_prediction_path_keeps_the_feature_name_warning(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = RegularizedMLPClassifier(**FAST).fit(frame, y)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict_proba(X[:1])
