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

from ._math import as_one_row, exp, log

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

_JIT = dict(cache=True, nogil=True, error_model="numpy")


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
    # One loop per loss, each without branches: a test inside the loop (on the
    # loss, or on y == 0 to skip a logarithm) costs more than the arithmetic.
    if code == LOG_LOSS or code == BINARY_LOG_LOSS:
        binary = code == BINARY_LOG_LOSS
        # The logarithms in one flat pass, which vectorizes (rows have too few
        # outputs for it), over the clipped probabilities in float64; then the
        # sums row by row: one small allocation per batch, far cheaper than a
        # call into the C library and a mispredicted branch per output. y * log(q)
        # is xlogy(y, q): the clipped q is a positive normal number, so the
        # product is 0 where y is.
        size = n * m
        logs = np.empty(2 * size if binary else size)
        for i in range(n):
            for j in range(m):
                logs[i * m + j] = min(max(float(P[i, j]), eps), 1.0 - eps)
        if binary:
            for e in range(size):
                logs[size + e] = log(1.0 - logs[e])
        for e in range(size):
            logs[e] = log(logs[e])
        for i in range(n):
            sample = rows[i]
            w = sample_weight[sample]
            row = 0.0
            for j in range(m):
                y = float(Y[sample, j])
                term = y * logs[i * m + j]
                if binary:
                    term += (1.0 - y) * logs[size + i * m + j]
                row -= term
                if with_delta:
                    delta[i, j] = (P[i, j] - Y[sample, j]) * w
            total += w * row
        return total
    for i in range(n):
        w = sample_weight[rows[i]]
        row = 0.0
        for j in range(m):
            p = P[i, j]
            y = Y[rows[i], j]
            if code == SQUARED_ERROR:
                row += 0.5 * (y - p) ** 2
            else:
                row += _xlogy(y, y / p) - y + p
            if with_delta:
                delta[i, j] = (p - y) * w
        total += w * row
    return total
