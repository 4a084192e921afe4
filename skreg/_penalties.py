"""Penalties on the weight matrices: their shares, value and proximal step.

A penalty with strength ``alpha`` and mixing ``rho`` splits into a smooth part
``s(W) = alpha * (1 - rho) / 2 * ||W||^2``, which goes into the gradient, and a
non-smooth part ``h(W) = alpha * rho * ||W||_1``, which is applied by its proximal
operator right after the optimizer step, so weights become exactly zero. ``rho`` is
0 for ``"l2"``, 1 for ``"l1"`` and ``l1_ratio`` for ``"elasticnet"``; ``None`` is no
penalty at all. The kernels take the shares and the soft threshold from here: the
gradient pass adds ``alpha * (1 - rho) * W``, the optimizers apply the proximal step
``prox_1d`` defines. ``PENALTIES`` maps the user's name to the integer code the
kernels dispatch on.
"""

from numba import njit

NONE = 0
L2 = 1
L1 = 2
ELASTICNET = 3

PENALTIES = {
    "l2": L2,
    "l1": L1,
    "elasticnet": ELASTICNET,
}

_JIT = dict(cache=True, nogil=True, error_model="numpy")


def penalty_code(penalty):
    """Integer code of the penalty name (``None`` is no penalty)."""
    return NONE if penalty is None else PENALTIES[penalty]


def is_smooth(penalty, l1_ratio):
    """Whether the penalty has no non-smooth (proximal) part."""
    return penalty in (None, "l2") or (penalty == "elasticnet" and l1_ratio == 0)


@njit(**_JIT)
def l1_share(code, l1_ratio):
    """The share ``rho`` of ``alpha`` that goes to the L1 norm."""
    if code == L1:
        return 1.0
    if code == ELASTICNET:
        return l1_ratio
    return 0.0


@njit(**_JIT)
def l2_share(code, l1_ratio):
    """The share ``1 - rho`` of ``alpha`` that goes to half the squared L2 norm."""
    if code == L2:
        return 1.0
    if code == ELASTICNET:
        return 1.0 - l1_ratio
    return 0.0


# Reassociation lets LLVM vectorize the two sums; it changes them in their last bits
# only.
@njit(fastmath={"reassoc"}, **_JIT)
def value(W, alpha, code, l1_ratio):
    """Penalty value ``s(W) + h(W)`` of one flattened weight matrix."""
    squares = 0.0
    absolutes = 0.0
    for i in range(W.shape[0]):
        w = float(W[i])
        squares += w * w
        absolutes += abs(w)
    return value_from_sums(squares, absolutes, alpha, code, l1_ratio)


@njit(**_JIT)
def value_from_sums(squares, absolutes, alpha, code, l1_ratio):
    """Penalty value from ``sum(w**2)`` and ``sum(|w|)`` of a weight matrix."""
    return alpha * (
        0.5 * l2_share(code, l1_ratio) * squares + l1_share(code, l1_ratio) * absolutes
    )


@njit(**_JIT)
def soft_threshold(w, threshold):
    """``sign(w) * max(|w| - threshold, 0)``: the proximal operator of ``|.|``.

    Written ``w - clip(w, -threshold, threshold)``: selects, not branches, so the
    optimizers' loops that call it vectorize, and the identity when the threshold
    is 0. ``w - w`` is exactly 0 inside the threshold.
    """
    return w - min(max(w, -threshold), threshold)


@njit(**_JIT)
def prox_1d(w, step_alpha, code, l1_ratio):
    """Proximal step of ``step * h`` at one weight; ``step_alpha = step * alpha``.

    The soft threshold at ``step_alpha * rho``, the identity for a smooth penalty
    (``rho = 0``). The optimizers apply exactly this step, with ``alpha * rho``
    computed once per weight matrix.
    """
    return soft_threshold(w, step_alpha * l1_share(code, l1_ratio))
