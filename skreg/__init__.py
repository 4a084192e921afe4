"""Regularized multi-layer perceptrons for scikit-learn, trained by Numba kernels."""

from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._path import (
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressorCV,
    regularization_path,
)
from ._version import __version__

__all__ = [
    "RegularizedMLPClassifier",
    "RegularizedMLPClassifierCV",
    "RegularizedMLPRegressor",
    "RegularizedMLPRegressorCV",
    "regularization_path",
    "__version__",
]
