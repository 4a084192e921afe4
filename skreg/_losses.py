"""Output activations and losses, as Numba kernels.

Each loss is paired with its canonical output activation (identity for the squared
error, exp for the Poisson deviance, softmax for the multiclass log-loss, the logistic
for the binary and multilabel log-loss), so the gradient with respect to the output
layer's pre-activation is always ``prediction - target``. ``LOSSES`` maps the loss name
to its integer code; ``OUT_ACTIVATIONS`` gives sklearn's name for the output activation.

Losses are summed over outputs and averaged over samples: the squared error of a
multi-output regressor is ``0.5 * sum_k (y_k - p_k)**2`` per sample, the quantity whose
gradient is ``p - y`` (scikit-learn reports the mean over outputs but follows the
gradient of the sum).
"""

import numpy as np
from numba import njit

from ._compile import JIT as _JIT
from ._math import as_one_row, exp

SQUARED_ERROR = 0
POISSON = 1
LOG_LOSS = 2
BINARY_LOG_LOSS = 3

LOSSES = {
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "log_loss": LOG_LOSS,
    "binary_log_loss": BINARY_LOG_LOSS,
}

OUT_ACTIVATIONS = {
    SQUARED_ERROR: "identity",
    POISSON: "exp",
    LOG_LOSS: "softmax",
    BINARY_LOG_LOSS: "logistic",
}


@njit(**_JIT)
def bias_output_activation(Z, intercept, code):
    """In place: add the intercept and apply the output activation of ``code``."""
    # Arithmetic in the dtype of Z, as scikit-learn's.
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(n):
        if code == LOG_LOSS:
            # Shift by the row maximum, as scipy and sklearn do, so exp cannot overflow.
            top = Z.dtype.type(-np.inf)
            for j in range(m):
                Z[i, j] += intercept[j]
                top = max(top, Z[i, j])
            for j in range(m):
                Z[i, j] -= top
        else:
            for j in range(m):
                Z[i, j] += intercept[j]
    # An output layer has few columns: exp is applied in a separate pass, over the
    # whole block when it is contiguous, so that the loop is long enough to vectorize.
    rows = as_one_row(Z)
    n_rows, length = rows.shape
    if code == LOG_LOSS or code == POISSON:
        for i in range(n_rows):
            for j in range(length):
                rows[i, j] = exp(rows[i, j])
    elif code == BINARY_LOG_LOSS:
        for i in range(n_rows):
            for j in range(length):
                rows[i, j] = one / (one + exp(-rows[i, j]))
    if code == LOG_LOSS:
        # A sum in column order, kept out of the exp loop: a floating-point reduction
        # does not vectorize without reordering the additions.
        for i in range(n):
            total = Z.dtype.type(0)
            for j in range(m):
                total += Z[i, j]
            for j in range(m):
                Z[i, j] /= total


@njit(**_JIT)
def _xlogy(x, y):
    if x == 0.0:
        return 0.0
    return x * np.log(y)


@njit(**_JIT)
def loss_and_delta(P, Y, sample_weight, rows, delta, code, eps):
    """Weighted loss sum over the rows of ``P``; ``delta = (P - Y) * w`` if non-empty.

    Row ``i`` of ``P`` (the output activation) is sample ``rows[i]`` of ``Y`` and
    ``sample_weight``. ``eps`` is the dtype's machine epsilon: probabilities are
    clipped to ``[eps, 1 - eps]`` for the loss value only, as in scikit-learn. Pass a
    ``delta`` with zero rows to skip the gradient.
    """
    n, m = P.shape
    with_delta = delta.shape[0] > 0
    total = 0.0
    for i in range(n):
        w = sample_weight[rows[i]]
        row = 0.0
        for j in range(m):
            p = P[i, j]
            y = Y[rows[i], j]
            if code == SQUARED_ERROR:
                row += 0.5 * (y - p) ** 2
            elif code == POISSON:
                row += _xlogy(y, y / p) - y + p
            elif code == LOG_LOSS:
                row -= _xlogy(y, min(max(p, eps), 1.0 - eps))
            else:
                q = min(max(p, eps), 1.0 - eps)
                row -= _xlogy(y, q) + _xlogy(1.0 - y, 1.0 - q)
            if with_delta:
                delta[i, j] = (p - y) * w
        total += w * row
    return total
