"""Penalties on the weight matrices: their shares, value and proximal steps.

A penalty of strength ``alpha`` on a weight matrix ``W`` of shape ``(n_in, n_out)``
has three shares:

- a smooth part ``alpha * l2_share / 2 * ||W||^2``, which goes into the gradient;
- an L1 part ``alpha * l1_share * ||W||_1``;
- a group part ``alpha * group_share * sqrt(n_out) * sum_i ||W[i, :]||_2``, whose
  groups are the rows of ``W``: all outgoing weights of one input feature or hidden
  unit.

The two non-smooth parts are applied by their proximal operators right after the
optimizer step, so weights, and whole rows, become exactly zero: first the soft
threshold on each weight (``prox_coordinate``), then the shrinkage of each row
(``prox_rows`` in the plain metric, ``prox_rows_adam`` in Adam's). That
composition is the proximal operator of their sum.

This module is the one place that knows a penalty: the optimizers, the gradient,
the penalty value, the estimators' checks and the path's largest alpha
(``alpha_max``) all ask it through the penalty's integer code and ``l1_ratio``.

=====================  ===============  ==============  ==================
penalty                ``l2_share``     ``l1_share``    ``group_share``
=====================  ===============  ==============  ==================
``"l2"``               1                0               0
``"l1"``               0                1               0
``"elasticnet"``       1 - rho          rho             0
``"group_lasso"``      0                0               1
``"sparse_group_lasso"``  0             rho             1 - rho
``None``               0                0               0
=====================  ===============  ==============  ==================

``rho`` is ``l1_ratio``. ``PENALTIES`` maps the user's name to the integer code the
kernels dispatch on.
"""

import numpy as np
from numba import njit

from ._compile import JIT as _JIT

NONE = 0
L2 = 1
L1 = 2
ELASTICNET = 3
GROUP_LASSO = 4
SPARSE_GROUP_LASSO = 5

PENALTIES = {
    "l2": L2,
    "l1": L1,
    "elasticnet": ELASTICNET,
    "group_lasso": GROUP_LASSO,
    "sparse_group_lasso": SPARSE_GROUP_LASSO,
}


def penalty_code(penalty):
    """Integer code of the penalty name (``None`` is no penalty)."""
    return NONE if penalty is None else PENALTIES[penalty]


def is_smooth(penalty, l1_ratio):
    """Whether the penalty has no non-smooth (proximal) part at this ``l1_ratio``."""
    code = penalty_code(penalty)
    l1 = l1_share.py_func(code, l1_ratio)
    return l1 == 0 and group_share.py_func(code, l1_ratio) == 0


def has_groups(penalty):
    """Whether the penalty can switch off whole rows of the weight matrices.

    Shares are linear in ``l1_ratio`` and non-negative on ``[0, 1]``, so the group
    share is positive for some ``l1_ratio`` if and only if it is at 0.5.
    """
    return group_share.py_func(penalty_code(penalty), 0.5) > 0


def group_marker(code):
    """The ``grouped`` argument of the kernels for the penalty ``code``.

    None for the penalties without groups, True for the group penalties: Numba
    prunes a branch on ``grouped is None`` when it compiles, so a fit without a
    group penalty never compiles the row norms and shrinkages.
    """
    return True if group_share.py_func(code, 0.5) > 0 else None


def alpha_max(penalty, l1_ratio, l1_scale, group_scale):
    """An ``alpha`` from which the proximal steps zero every weight.

    ``l1_scale`` is ``max |g|`` and ``group_scale`` ``max_i ||g[i, :]||_2 /
    sqrt(n_out)`` over the weight matrices' loss gradients ``g``: the L1 part
    outweighs every weight's gradient from ``alpha * l1_share >= l1_scale``, the
    group part every row's from ``alpha * group_share >= group_scale``; the
    smaller of the two switches the network off (exactly where it starts for a
    penalty with one non-smooth part; the two parts together start a little
    earlier). A penalty without a non-smooth part, which never zeroes a weight,
    takes the L1 scale.
    """
    code = penalty_code(penalty)
    l1 = l1_share.py_func(code, l1_ratio)
    group = group_share.py_func(code, l1_ratio)
    if l1 == 0 and group == 0:
        return l1_scale
    return min(
        l1_scale / l1 if l1 > 0 else np.inf,
        group_scale / group if group > 0 else np.inf,
    )


@njit(**_JIT)
def l1_share(code, l1_ratio):
    """The share of ``alpha`` that goes to the L1 norm."""
    if code == L1:
        return 1.0
    if code == ELASTICNET or code == SPARSE_GROUP_LASSO:
        return l1_ratio
    return 0.0


@njit(**_JIT)
def group_share(code, l1_ratio):
    """The share of ``alpha`` that goes to the sum of the rows' L2 norms."""
    if code == GROUP_LASSO:
        return 1.0
    if code == SPARSE_GROUP_LASSO:
        return 1.0 - l1_ratio
    return 0.0


@njit(**_JIT)
def l2_share(code, l1_ratio):
    """The share ``1 - rho`` of ``alpha`` that goes to half the squared L2 norm."""
    if code == L2:
        return 1.0
    if code == ELASTICNET:
        return 1.0 - l1_ratio
    return 0.0


@njit(**_JIT)
def value(W, alpha, code, l1_ratio):
    """Penalty value of one weight matrix ``W`` of shape ``(n_in, n_out)``."""
    squares, absolutes = _sums(W)
    groups = group_norms(W) if group_share(code, l1_ratio) > 0.0 else 0.0
    return value_from_sums(squares, absolutes, groups, alpha, code, l1_ratio)


# Reassociation lets LLVM vectorize the sums; it changes them in their last bits
# only. A fastmath function calls no other kernel: Numba would compile that kernel
# with these flags if this were its first caller, and every later caller would
# reuse it, so results would depend on what a process compiled first.
@njit(fastmath={"reassoc"}, **_JIT)
def _sums(W):
    """``(sum(w**2), sum(|w|))`` over the entries of ``W``, in float64."""
    squares = 0.0
    absolutes = 0.0
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = float(W[i, j])
            squares += w * w
            absolutes += abs(w)
    return squares, absolutes


@njit(**_JIT)
def group_norms(W):
    """``sqrt(n_out) * sum_i ||W[i, :]||_2``: the group part's norm of ``W``."""
    total = 0.0
    for i in range(W.shape[0]):
        total += _norm(W[i])
    return np.sqrt(W.shape[1]) * total


@njit(**_JIT)
def value_from_sums(squares, absolutes, groups, alpha, code, l1_ratio):
    """Penalty value from ``sum(w**2)``, ``sum(|w|)`` and ``group_norms(W)``."""
    return alpha * (
        0.5 * l2_share(code, l1_ratio) * squares
        + l1_share(code, l1_ratio) * absolutes
        + group_share(code, l1_ratio) * groups
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
def coordinate_threshold(step, alpha, code, l1_ratio):
    """``step * alpha * l1_share``: the threshold of ``prox_coordinate``.

    ``step`` is the step size the optimizer took on the weights (1 when the
    caller scales the threshold by each coordinate's step itself, as Adam does).
    """
    return step * alpha * l1_share(code, l1_ratio)


@njit(**_JIT)
def prox_coordinate(w, threshold):
    """Proximal step of the coordinate-wise (L1) part at one weight.

    The soft threshold at ``threshold`` (from ``coordinate_threshold``), the
    identity at 0. The optimizers call it in their update loops, which stay free
    of branches and vectorize; ``prox_rows`` or ``prox_rows_adam`` follow on each
    row for a penalty with groups.
    """
    return soft_threshold(w, threshold)


@njit(**_JIT)
def row_threshold(step, alpha, code, l1_ratio, n_out):
    """``step * alpha * group_share * sqrt(n_out)``: a row's group threshold."""
    return step * alpha * group_share(code, l1_ratio) * np.sqrt(n_out)


@njit(**_JIT)
def prox_rows(weights, n_out, step, alpha, code, l1_ratio, grouped):
    """In place: the group part's proximal step on each row of a weight block.

    ``weights`` is a contiguous block of rows of ``n_out`` weights. Every
    coordinate took the step ``step``, so each row gets ``group_shrink``'s closed
    form. ``grouped`` is ``group_marker(code)``: None compiles nothing.
    """
    if grouped is None:
        return
    threshold = row_threshold(step, alpha, code, l1_ratio, n_out)
    if threshold > 0.0:
        W = weights.reshape((weights.size // n_out, n_out))
        for i in range(W.shape[0]):
            group_shrink(W[i], threshold)


@njit(**_JIT)
def prox_rows_adam(
    weights, second, scratch, n_out, lr, epsilon, alpha, code, l1_ratio, grouped
):
    """In place: the group part's proximal step on each row of a block after Adam.

    ``weights``, Adam's second moments ``second`` and ``scratch`` (overwritten)
    are contiguous blocks of rows of ``n_out`` entries. Adam moved each
    coordinate by the step ``lr / (sqrt(second) + epsilon)``; each row gets the
    proximal operator of its norm in the metric of those steps
    (``scaled_group_shrink``). ``grouped`` is ``group_marker(code)``: None
    compiles nothing.
    """
    if grouped is None:
        return
    threshold = row_threshold(1.0, alpha, code, l1_ratio, n_out)
    if threshold > 0.0:
        shape = (weights.size // n_out, n_out)
        W = weights.reshape(shape)
        V = second.reshape(shape)
        T = scratch.reshape(shape)
        for i in range(W.shape[0]):
            # Each coordinate's threshold is its Adam step times the row's.
            for j in range(W.shape[1]):
                T[i, j] = lr / (np.sqrt(float(V[i, j])) + epsilon) * threshold
            scaled_group_shrink(W[i], T[i])


@njit(**_JIT)
def group_shrink(w, threshold):
    """In place: the proximal operator of ``threshold * ||.||_2`` on the row ``w``.

    ``w * max(0, 1 - threshold / ||w||_2)``: the whole row becomes exactly 0 when
    its norm is at most the threshold. With a step ``step``, the threshold of row
    ``i`` of a weight matrix is ``step * alpha * group_share * sqrt(n_out)``.
    """
    if threshold <= 0.0:
        return
    norm = _norm(w)
    factor = w.dtype.type(1.0 - threshold / norm if norm > threshold else 0.0)
    for j in range(w.shape[0]):
        w[j] *= factor


@njit(**_JIT)
def _norm(w):
    """``||w||_2`` in float64, scaled by the largest entry so that no square
    underflows or overflows."""
    largest = 0.0
    for j in range(w.shape[0]):
        largest = max(largest, abs(float(w[j])))
    if largest == 0.0:
        return 0.0
    inverse = 1.0 / largest
    squares = 0.0
    for j in range(w.shape[0]):
        v = float(w[j]) * inverse
        squares += v * v
    return largest * np.sqrt(squares)


# Safeguarded Newton iterations on the norm of the result: a row takes 1 to 6.
_MAX_ITERATIONS = 100


@njit(**_JIT)
def scaled_group_shrink(w, thresholds):
    """In place: ``group_shrink`` with a threshold per coordinate.

    The minimiser ``x`` of ``sum_j (x_j - w_j)**2 / (2 * t_j) + ||x||_2`` with
    ``t = thresholds`` (non-negative): the proximal operator of the row's norm in
    the metric of per-coordinate step sizes, as Adam takes them. ``x = 0`` when
    ``sum_j (w_j / t_j)**2 <= 1``; otherwise ``x_j = w_j * r / (r + t_j)``, where
    ``r = ||x||_2`` is the root of ``F(r) = sum_j w_j**2 / (r + t_j)**2 = 1``.
    Equal thresholds give ``group_shrink``'s closed form.

    The root lies in ``[||w|| - max(t), ||w|| - min(t)]``. It is found by Newton's
    method on ``F(r)**-0.5``, which is linear in ``r`` when the thresholds are
    equal, kept inside that bracket by bisection.
    """
    n = w.shape[0]
    inside = 0.0
    smallest = np.inf
    largest = 0.0
    for j in range(n):
        v = float(w[j])
        t = float(thresholds[j])
        if v != 0.0:
            inside += (v / t) ** 2
        smallest = min(smallest, t)
        largest = max(largest, t)
    if inside <= 1.0:
        w[:] = 0
        return
    norm = _norm(w)
    low = max(norm - largest, 0.0)
    high = max(norm - smallest, low)
    r = high
    for _ in range(_MAX_ITERATIONS):
        total = 0.0
        cubes = 0.0
        for j in range(n):
            inverse = 1.0 / (r + float(thresholds[j]))
            q = float(w[j]) * inverse
            total += q * q
            cubes += q * q * inverse
        g = 1.0 / np.sqrt(total)
        if g == 1.0:
            break
        if g < 1.0:
            low = r
        else:
            high = r
        # g' = total**-1.5 * cubes = g**3 * cubes.
        proposal = r - (g - 1.0) / (g * g * g * cubes)
        if not low < proposal < high:
            proposal = 0.5 * (low + high)
        done = abs(proposal - r) <= 1e-15 * r
        r = proposal
        if done:
            break
    for j in range(n):
        w[j] = w.dtype.type(float(w[j]) * (r / (r + float(thresholds[j]))))


# ---------------------------------------------------------------- non-convex
# The minimax concave penalty (MCP) and the smoothly clipped absolute deviation
# (SCAD) of a magnitude ``x >= 0`` at strength ``lam`` and concavity ``gamma``,
# and their proximal operators with a step ``step``: the minimiser of
# ``(x - w)**2 / 2 + step * penalty(x)``. Where ``gamma > step`` (MCP) or
# ``gamma > 1 + step`` (SCAD) that objective is strictly convex and the operators
# have their textbook closed forms; with larger steps (Adam's steps can be large
# for coordinates whose gradients were small) it is not, and the operators return
# its global minimiser, found among the few points where a piece of it can have
# its minimum. The group versions act on a row's norm, as the group lasso does.


@njit(**_JIT)
def mcp_value(x, lam, gamma):
    """MCP of ``|x|``: ``lam*|x| - x**2/(2*gamma)`` up to ``gamma*lam``, then
    ``gamma*lam**2/2``."""
    a = abs(x)
    if a <= gamma * lam:
        return lam * a - a * a / (2.0 * gamma)
    return 0.5 * gamma * lam * lam


@njit(**_JIT)
def scad_value(x, lam, gamma):
    """SCAD of ``|x|``: ``lam*|x|`` up to ``lam``, a quadratic up to
    ``gamma*lam``, then ``lam**2*(gamma+1)/2``."""
    a = abs(x)
    if a <= lam:
        return lam * a
    if a <= gamma * lam:
        return (2.0 * gamma * lam * a - a * a - lam * lam) / (2.0 * (gamma - 1.0))
    return 0.5 * lam * lam * (gamma + 1.0)


@njit(**_JIT)
def prox_mcp(w, lam, step, gamma):
    """The proximal operator of ``step * MCP`` at ``w``.

    For ``gamma > step``, firm thresholding: 0 up to ``step*lam``, then
    ``(|w| - step*lam) / (1 - step/gamma)`` with the sign of ``w`` up to
    ``gamma*lam``, then ``w`` itself: weights beyond ``gamma*lam`` are not shrunk
    at all. For ``gamma <= step``, hard thresholding at ``lam*sqrt(step*gamma)``
    (0 at the threshold itself).
    """
    a = abs(w)
    if gamma <= step:
        return w if a > lam * np.sqrt(step * gamma) else w - w
    if a <= step * lam:
        return w - w
    if a <= gamma * lam:
        return np.sign(w) * (a - step * lam) / (1.0 - step / gamma)
    return w


@njit(**_JIT)
def _scad_objective(x, a, lam, step, gamma):
    return 0.5 * (x - a) ** 2 + step * scad_value(x, lam, gamma)


@njit(**_JIT)
def prox_scad(w, lam, step, gamma):
    """The proximal operator of ``step * SCAD`` at ``w`` (``gamma > 1``).

    For ``gamma > 1 + step``, three pieces: the soft threshold at ``step*lam``
    up to ``(1 + step)*lam``; then ``((gamma - 1)*|w| - step*gamma*lam) /
    (gamma - 1 - step)`` with the sign of ``w`` up to ``gamma*lam``; then ``w``.
    For larger steps the middle piece of the objective is concave: the minimiser
    is the best of the soft threshold clipped to ``[0, lam]``, ``gamma*lam`` and
    ``max(|w|, gamma*lam)`` (the smaller magnitude on a tie).
    """
    a = abs(w)
    if gamma > 1.0 + step:
        if a <= (1.0 + step) * lam:
            return soft_threshold(w, step * lam)
        if a <= gamma * lam:
            return (
                np.sign(w)
                * ((gamma - 1.0) * a - step * gamma * lam)
                / (gamma - 1.0 - step)
            )
        return w
    best = min(max(a - step * lam, 0.0), lam)
    lowest = _scad_objective(best, a, lam, step, gamma)
    for x in (gamma * lam, max(a, gamma * lam)):
        f = _scad_objective(x, a, lam, step, gamma)
        if f < lowest:
            best, lowest = x, f
    if best == a:
        return w
    return np.sign(w) * best


@njit(**_JIT)
def group_prox_nonconvex(w, lam, step, gamma, scad):
    """In place: the proximal operator of ``step * P(||w||_2)`` on the row ``w``,
    with ``P`` the MCP (``scad`` False) or the SCAD.

    The row keeps its direction and its norm ``r`` becomes ``prox(r)``, the
    scalar operator's: 0 when ``r <= step*lam`` (or below the hard threshold),
    ``r`` itself beyond ``gamma*lam``.
    """
    r = _norm(w)
    if r == 0.0:
        return
    if scad:
        shrunk = prox_scad(r, lam, step, gamma)
    else:
        shrunk = prox_mcp(r, lam, step, gamma)
    factor = w.dtype.type(shrunk / r)
    for j in range(w.shape[0]):
        w[j] *= factor
