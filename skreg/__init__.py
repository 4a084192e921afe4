"""Regularized multi-layer perceptrons for scikit-learn, trained by Numba kernels."""

from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._version import __version__

__all__ = ["RegularizedMLPClassifier", "RegularizedMLPRegressor", "__version__"]
