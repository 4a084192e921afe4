"""A layer's output, and the network's output for many rows (the prediction pass).

``activate`` is the one definition of what a layer does after its product:
training (``_gradient``), prediction and ``prune()`` all take a layer's output
from it.
"""

import numpy as np
from numba import njit

from ._activations import (
    bias_activation,
)
from ._compile import JIT as _JIT
from ._losses import bias_output_activation
from ._math import matrix_view


# Reassociation (and nothing more: infinities and NaN keep their meaning) lets the
# sum vectorize; x - x is 0 for a finite x and NaN otherwise.
@njit(fastmath={"reassoc"}, **_JIT)
def all_finite(X):
    """Whether every entry of a 2-D array is finite."""
    n, m = X.shape
    total = 0.0
    for i in range(n):
        for j in range(m):
            total += X[i, j] - X[i, j]
    return total == 0.0


@njit(**_JIT)
def activate(Z, intercept, last, activation, smooth, loss):
    """In place: a layer's output from its product ``Z = A @ W``.

    ``Z + intercept`` through the hidden ``activation`` (``smooth`` is
    ``_activations.smooth_marker(activation)``), or, for the ``last`` layer,
    through the output activation of the ``loss``.
    """
    if last:
        bias_output_activation(Z, intercept, loss)
    else:
        bias_activation(Z, intercept, activation, smooth)


@njit(**_JIT)
def forward(X, coefs, intercepts, activation, smooth, loss, chunk, out, check_finite):
    """``out`` = the network's output for the rows of a C-contiguous ``X``.

    ``coefs`` and ``intercepts`` are tuples of C-contiguous arrays in ``X``'s dtype.
    Rows are taken ``chunk`` at a time, so that each layer's block is still in cache
    when its activation is applied and the next product reads it, and so that the
    extra memory is two blocks of ``chunk`` rows whatever the number of rows. With
    ``check_finite``, each chunk of ``X`` is checked first, and False is returned at
    the first one that holds a NaN or an infinity.
    """
    n = X.shape[0]
    n_layers = len(coefs)
    widest = 1
    for layer in range(n_layers - 1):
        widest = max(widest, coefs[layer].shape[1])
    size = min(chunk, n) * widest
    buffers = (np.empty(size, dtype=X.dtype), np.empty(size, dtype=X.dtype))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        A = X[start:stop]
        if check_finite and not all_finite(A):
            return False
        rows = stop - start
        for layer in range(n_layers):
            W = coefs[layer]
            last = layer + 1 == n_layers
            if last:
                Z = out[start:stop]
            else:
                Z = matrix_view(buffers[layer % 2], 0, rows, W.shape[1])
            np.dot(A, W, Z)
            activate(Z, intercepts[layer], last, activation, smooth, loss)
            A = Z
    return True
