"""The network's output for many rows: the compiled prediction pass."""

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
            width = W.shape[1]
            if layer + 1 < n_layers:
                Z = matrix_view(buffers[layer % 2], 0, rows, width)
                np.dot(A, W, Z)
                bias_activation(Z, intercepts[layer], activation, smooth)
                A = Z
            else:
                Z = out[start:stop]
                np.dot(A, W, Z)
                bias_output_activation(Z, intercepts[layer], loss)
    return True
