"""Hidden-layer activations and their derivatives, as Numba kernels.

Each activation has an integer code (``ACTIVATIONS`` maps sklearn's name to it), so a
kernel dispatches on a small integer instead of receiving a jitted function, which
would defeat Numba's on-disk cache. The forward kernel adds the bias and applies the
activation in place; the derivative is written, as in scikit-learn, in terms of the
activation's *output*, so the pre-activation never has to be stored.
"""

import numpy as np
from numba import njit

from ._compile import JIT as _JIT
from ._math import as_one_row, exp, tanh
from ._random import dropout_threshold, dropout_word

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


def smooth_marker(code):
    """The ``smooth`` argument of ``bias_activation`` for the activation ``code``."""
    return True if code in (LOGISTIC, TANH) else None


def relu_marker(code):
    """True for relu units, else None: the kernels' dropout compiles one way only."""
    return True if code == RELU else None


@njit(**_JIT)
def bias_activation(Z, intercept, code, smooth):
    """In place: ``Z = f(Z + intercept)`` for the activation ``code``.

    ``smooth`` is None for the piecewise-linear activations (identity and relu) and
    True for any (``smooth_marker(code)``). Numba prunes the branch on ``smooth`` when
    it compiles, so a network without logistic or tanh units never compiles
    ``exp`` and ``tanh``: they are a fifth of a cold fit's compile time.
    """
    if smooth is not None:
        if code == LOGISTIC or code == TANH:
            _bias_smooth(Z, intercept, code)
            return
    _bias_piecewise(Z, intercept, code)


@njit(**_JIT)
def _bias_piecewise(Z, intercept, code):
    n, m = Z.shape
    zero = Z.dtype.type(0)
    if code == RELU:
        for i in range(n):
            for j in range(m):
                Z[i, j] = max(Z[i, j] + intercept[j], zero)
    else:
        for i in range(n):
            for j in range(m):
                Z[i, j] += intercept[j]


@njit(**_JIT)
def _bias_smooth(Z, intercept, code):
    # One loop per activation, in the dtype of Z, so the inner loops vectorize: skreg's
    # exp and tanh are branch-free and inlined, where np.exp and np.tanh are calls.
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(n):
        for j in range(m):
            Z[i, j] += intercept[j]
    # Over the whole block when it is contiguous: the rows of a narrow layer are too
    # short for the vectorized loop.
    rows = as_one_row(Z)
    n_rows, length = rows.shape
    if code == LOGISTIC:
        for i in range(n_rows):
            for j in range(length):
                rows[i, j] = one / (one + exp(-rows[i, j]))
    else:
        for i in range(n_rows):
            for j in range(length):
                rows[i, j] = tanh(rows[i, j])


@njit(**_JIT)
def multiply_derivative(A, delta, code, column_sums):
    """In place: ``delta *= f'(z)``, with ``A = f(z)`` the forward output.

    ``column_sums`` receives the column sums of the result (the next layer's
    intercept gradient, before averaging), computed in the same pass.
    """
    n, m = delta.shape
    one = delta.dtype.type(1)
    zero = delta.dtype.type(0)
    one_if = delta.dtype.type
    column_sums[:] = 0
    for i in range(n):
        for j in range(m):
            a = A[i, j]
            d = delta[i, j]
            if code == LOGISTIC:
                # Two roundings, as scikit-learn's ``delta *= Z; delta *= 1 - Z``.
                d = d * a
                d = d * (one - a)
            elif code == TANH:
                d = d * (one - a * a)
            elif code == RELU:
                # A product with 0 or 1, not a select: LLVM turns a select on a
                # loaded value into a branch in the loop's scalar remainder, and
                # relu's zeros are too irregular for a branch predictor.
                d = d * one_if(a != zero)
            delta[i, j] = d
            column_sums[j] += d


@njit(**_JIT)
def _pair_factors(word, threshold, keep, zero):
    # The factors of the two entries that share one random word: the low half
    # decides the even entry, the high half the odd one.
    low = word & np.uint64(0xFFFFFFFF)
    high = word >> np.uint64(32)
    return (zero if low < threshold else keep), (zero if high < threshold else keep)


@njit(**_JIT)
def dropout_derivative(A, factors, code, rate, key, offset):
    """In place: draw dropout's factors, ``A *= factor``, ``factors = factor * f'``.

    ``A`` is the activation output ``f(z)``, a C-contiguous block; the factor of
    entry ``(i, j)`` is ``dropout_factor(key, offset + i * m + j, rate)``, the one
    ``dropout_scale`` draws when ``offset`` is 0. ``offset`` is even: a block that
    holds the later rows of a batch draws the factors those rows have in the whole
    batch. Afterwards ``A`` is the output after dropout and ``factors`` holds
    ``factor * f'(z)``, all the backward pass needs: neither the mask nor the
    activation before dropout has to be kept.
    """
    n, m = A.shape
    size = n * m
    flat_A = A.reshape(size)
    flat_factors = factors.reshape(size)
    threshold = dropout_threshold(rate)
    keep = A.dtype.type(1.0 / (1.0 - rate))
    zero = A.dtype.type(0)
    one = A.dtype.type(1)
    # Two passes that each vectorize: the factors, one random word for two
    # entries, then the scaling and the derivative.
    first_pair = offset // 2
    for pair in range(size // 2):
        word = dropout_word(key, first_pair + pair)
        even, odd = _pair_factors(word, threshold, keep, zero)
        flat_factors[2 * pair] = even
        flat_factors[2 * pair + 1] = odd
    if size % 2:
        word = dropout_word(key, first_pair + size // 2)
        flat_factors[size - 1] = _pair_factors(word, threshold, keep, zero)[0]
    for e in range(size):
        a = flat_A[e]
        factor = flat_factors[e]
        if code == LOGISTIC:
            slope = a * (one - a)
        elif code == TANH:
            slope = one - a * a
        elif code == RELU:
            slope = one if a != 0 else zero
        else:
            slope = one
        flat_factors[e] = factor * slope
        flat_A[e] = a * factor


@njit(**_JIT)
def relu_dropout(A, rate, key, offset):
    """In place: ``A *= factor`` for relu units, the factors ``dropout_derivative``
    draws.

    A relu unit's ``factor * f'(z)`` is ``1 / (1 - rate)`` where its output after
    dropout is non-zero and 0 elsewhere (``f'(0)`` is 0, as in scikit-learn), so
    the output after dropout is all the backward pass needs
    (``multiply_relu_kept``): no factor is stored, and the drawing and the scaling
    are one pass.
    """
    n, m = A.shape
    size = n * m
    flat_A = A.reshape(size)
    threshold = dropout_threshold(rate)
    keep = A.dtype.type(1.0 / (1.0 - rate))
    zero = A.dtype.type(0)
    first_pair = offset // 2
    for pair in range(size // 2):
        word = dropout_word(key, first_pair + pair)
        even, odd = _pair_factors(word, threshold, keep, zero)
        flat_A[2 * pair] *= even
        flat_A[2 * pair + 1] *= odd
    if size % 2:
        word = dropout_word(key, first_pair + size // 2)
        flat_A[size - 1] *= _pair_factors(word, threshold, keep, zero)[0]


@njit(**_JIT)
def multiply_relu_kept(A, delta, keep, column_sums):
    """In place: ``delta *= factor * f'(z)`` behind ``relu_dropout``.

    ``A`` is the relu output after dropout and ``keep`` is ``1 / (1 - rate)`` in
    the dtype of ``A``: the product is ``keep`` where ``A`` is non-zero and 0
    elsewhere. ``column_sums`` receives the column sums of the result, as in
    ``multiply_derivative``.
    """
    n, m = delta.shape
    zero = delta.dtype.type(0)
    one_if = delta.dtype.type
    column_sums[:] = 0
    for i in range(n):
        for j in range(m):
            # As in multiply_derivative: a product, not a select.
            d = delta[i, j] * (keep * one_if(A[i, j] != zero))
            delta[i, j] = d
            column_sums[j] += d
