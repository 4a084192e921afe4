"""Data sets shared by the estimator-level tests, and a fresh thread choice."""

import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from skreg import _parallel


@pytest.fixture(autouse=True)
def _fresh_thread_choice(monkeypatch):
    """Each test starts without the epoch timings of the tests before it."""
    monkeypatch.setattr(_parallel, "_known", {})


@pytest.fixture(scope="module")
def data():
    """Three standardized classes, 200 samples, 10 features."""
    X, y = make_classification(200, 10, n_informative=5, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    """A linear target with unit variance, 200 samples, 10 features."""
    X, y = make_regression(200, 10, noise=1.0, random_state=0)
    return X, y / y.std()
