"""Regularized multi-layer perceptrons for scikit-learn, trained by Numba kernels."""

from ._cv import RegularizedMLPClassifierCV, RegularizedMLPRegressorCV
from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._onnx import register_onnx_converters
from ._path import regularization_path
from ._plotting import plot_training_curves
from ._selection import RegularizedMLPSelector
from ._version import __version__

__all__ = [
    "RegularizedMLPClassifier",
    "RegularizedMLPClassifierCV",
    "RegularizedMLPRegressor",
    "RegularizedMLPRegressorCV",
    "RegularizedMLPSelector",
    "plot_training_curves",
    "register_onnx_converters",
    "regularization_path",
    "__version__",
]
