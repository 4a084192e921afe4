"""Hidden-layer activations and their derivatives, as Numba kernels.

Each activation has an integer code (``ACTIVATIONS`` maps sklearn's name to it), so a
kernel dispatches on a small integer instead of receiving a jitted function, which
would defeat Numba's on-disk cache. The forward kernel fuses the bias addition with
the activation; the derivative is written, as in scikit-learn, in terms of the
activation's *output*, so the pre-activation never has to be stored.
"""

import numpy as np
from numba import njit

IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3

ACTIVATIONS = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "tanh": TANH,
    "relu": RELU,
}

# Glorot's uniform bound is sqrt(factor / (fan_in + fan_out)); sklearn uses 2 for the
# logistic and 6 otherwise, and the initial weights must be drawn as sklearn draws them.
INIT_FACTORS = {"identity": 6.0, "logistic": 2.0, "tanh": 6.0, "relu": 6.0}

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def bias_activation(Z, intercept, code):
    """In place: ``Z = f(Z + intercept)`` for the activation ``code``."""
    n, m = Z.shape
    for i in range(n):
        for j in range(m):
            z = Z[i, j] + intercept[j]
            if code == LOGISTIC:
                z = 1.0 / (1.0 + np.exp(-z))
            elif code == TANH:
                z = np.tanh(z)
            elif code == RELU:
                z = max(z, 0.0)
            Z[i, j] = z


@njit(**_JIT)
def derivative_from_output(A, code, i, j):
    """f'(z) at one entry, written with the activation output ``a = f(z)``."""
    a = A[i, j]
    if code == LOGISTIC:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if a != 0.0 else 0.0
    return 1.0


@njit(**_JIT)
def multiply_derivative(A, delta, code):
    """In place: ``delta *= f'(z)``, with ``A = f(z)`` the forward output."""
    if code == IDENTITY:
        return
    n, m = delta.shape
    for i in range(n):
        for j in range(m):
            a = A[i, j]
            if code == LOGISTIC:
                delta[i, j] *= a
                delta[i, j] *= 1.0 - a
            elif code == TANH:
                delta[i, j] *= 1.0 - a * a
            elif a == 0.0:
                delta[i, j] = 0.0
