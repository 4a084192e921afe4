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

MCP = 6
SCAD = 7
GROUP_MCP = 8
GROUP_SCAD = 9

PENALTIES = {
    "l2": L2,
    "l1": L1,
    "elasticnet": ELASTICNET,
    "group_lasso": GROUP_LASSO,
    "sparse_group_lasso": SPARSE_GROUP_LASSO,
}

# The concave penalties, which are not a mix of the three shares (theirs are all
# 0): the minimax concave penalty and the smoothly clipped absolute deviation, of
# each weight (``"mcp"``, ``"scad"``) or of each row's norm (``"group_mcp"``,
# ``"group_scad"``), with the concavity ``gamma``. Their own branches below give
# their value, proximal steps and ``alpha_max``.
NONCONVEX_PENALTIES = {
    "mcp": MCP,
    "scad": SCAD,
    "group_mcp": GROUP_MCP,
    "group_scad": GROUP_SCAD,
}

# Every penalty the estimators take.
ALL_PENALTIES = {**PENALTIES, **NONCONVEX_PENALTIES}

# ``gamma`` of a concave penalty: its default (Zhang 2010 for MCP, Fan and Li 2001
# for SCAD, as skglm) and the value it must exceed (MCP is concave only for a
# positive one, and 1 keeps its firm threshold well defined at a unit step; SCAD's
# middle piece needs more than 2 in Fan and Li's definition).
GAMMAS = {
    MCP: (3.0, 1.0),
    GROUP_MCP: (3.0, 1.0),
    SCAD: (3.7, 2.0),
    GROUP_SCAD: (3.7, 2.0),
}


def penalty_code(penalty):
    """Integer code of the penalty name (``None`` is no penalty)."""
    return NONE if penalty is None else ALL_PENALTIES[penalty]


def is_smooth(penalty, l1_ratio):
    """Whether the penalty has no non-smooth (proximal) part at this ``l1_ratio``."""
    code = penalty_code(penalty)
    if code in GAMMAS:
        return False
    l1 = l1_share.py_func(code, l1_ratio)
    return l1 == 0 and group_share.py_func(code, l1_ratio) == 0


def has_groups(penalty):
    """Whether the penalty can switch off whole rows of the weight matrices.

    Shares are linear in ``l1_ratio`` and non-negative on ``[0, 1]``, so the group
    share is positive for some ``l1_ratio`` if and only if it is at 0.5.
    """
    code = penalty_code(penalty)
    return code in (GROUP_MCP, GROUP_SCAD) or group_share.py_func(code, 0.5) > 0


def group_marker(code):
    """The ``grouped`` argument of the kernels for the penalty ``code``.

    None for the penalties without groups, True for the group penalties: Numba
    prunes a branch on ``grouped is None`` when it compiles, so a fit without a
    group penalty never compiles the row norms and shrinkages.
    """
    return (
        True
        if code in (GROUP_MCP, GROUP_SCAD) or group_share.py_func(code, 0.5) > 0
        else None
    )


def nonconvex_marker(code):
    """The ``nonconvex`` argument of the kernels: True for a concave penalty,
    else None, so that the other fits never compile its steps."""
    return True if code in GAMMAS else None


def check_gamma(penalty, gamma):
    """``gamma`` for the kernels: the penalty's default for None, checked.

    Raises ValueError for a concave penalty's ``gamma`` at or below its bound;
    other penalties ignore it.
    """
    code = penalty_code(penalty)
    if code not in GAMMAS:
        return 3.0 if gamma is None else float(gamma)
    default, bound = GAMMAS[code]
    if gamma is None:
        return default
    if not gamma > bound:
        raise ValueError(
            f"penalty={penalty!r} needs gamma > {bound:g}, got gamma={gamma!r}."
        )
    return float(gamma)


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
    # A concave penalty's slope at 0 is alpha, on each weight, or alpha *
    # sqrt(n_out) on each row's norm: the lasso's and the group lasso's.
    if code in (MCP, SCAD):
        return l1_scale
    if code in (GROUP_MCP, GROUP_SCAD):
        return group_scale
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


@njit(**_JIT)
def _is_scad(code):
    return code == SCAD or code == GROUP_SCAD


@njit(**_JIT)
def _on_rows(code):
    return code == GROUP_MCP or code == GROUP_SCAD


@njit(**_JIT)
def nonconvex_value_at(x, lam, gamma, scad):
    """MCP (``scad`` False) or SCAD of ``|x|``."""
    return scad_value(x, lam, gamma) if scad else mcp_value(x, lam, gamma)


@njit(**_JIT)
def nonconvex_prox_at(w, lam, step, gamma, scad):
    """``prox_mcp`` (``scad`` False) or ``prox_scad`` of ``w``."""
    return prox_scad(w, lam, step, gamma) if scad else prox_mcp(w, lam, step, gamma)


@njit(**_JIT)
def nonconvex_slope(x, lam, gamma, scad):
    """The derivative of MCP (``scad`` False) or SCAD at ``|x|``, from the right
    at 0: ``lam`` there, 0 from ``gamma * lam`` on."""
    a = abs(x)
    if scad:
        if a <= lam:
            return lam
        return max(gamma * lam - a, 0.0) / (gamma - 1.0)
    return max(lam - a / gamma, 0.0)


@njit(**_JIT)
def nonconvex_value(W, alpha, code, gamma, nonconvex):
    """The concave penalty of ``W`` at strength ``alpha`` (0 for the others).

    ``sum MCP(w)`` (or SCAD) over the weights for ``"mcp"`` and ``"scad"``, with
    ``lam = alpha``; ``sum_i MCP(||W[i, :]||_2)`` with ``lam = alpha *
    sqrt(n_out)`` for the group versions. ``nonconvex`` is
    ``nonconvex_marker(code)``: None compiles nothing.
    """
    if nonconvex is None:
        return 0.0
    scad = _is_scad(code)
    total = 0.0
    if _on_rows(code):
        lam = alpha * np.sqrt(W.shape[1])
        for i in range(W.shape[0]):
            total += nonconvex_value_at(_norm(W[i]), lam, gamma, scad)
    elif code == MCP or code == SCAD:
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                total += nonconvex_value_at(float(W[i, j]), alpha, gamma, scad)
    return total


@njit(**_JIT)
def prox_nonconvex(
    weights, second, scratch, n_out, lr, epsilon, alpha, code, gamma, nonconvex
):
    """In place: a concave penalty's proximal step on a block of rows.

    ``weights`` is a contiguous block of rows of ``n_out`` weights that took an
    optimizer step: ``lr`` for every coordinate after SGD (``second`` None), or
    ``lr / (sqrt(second) + epsilon)`` per coordinate after Adam. On each weight
    (``"mcp"``, ``"scad"``) the proximal operator in the metric of those steps is
    each coordinate's own closed form at its own step: exact for both
    optimizers. On each row's norm (the group versions, ``lam = alpha *
    sqrt(n_out)``): after SGD the closed form on the norm (``group_prox_nonconvex``);
    after Adam the proximal operator in the metric of per-coordinate steps has no
    closed form, and the row takes the group lasso's (``scaled_group_shrink``)
    at the penalty's slope at the row's norm before the step: the local linear
    approximation of Zou and Li (2008), which agrees with the proximal step to
    first order in the steps, zeroes rows near 0 and leaves rows beyond ``gamma *
    lam`` unshrunk. ``scratch`` (a block as large as ``weights``) is overwritten.
    ``nonconvex`` is ``nonconvex_marker(code)``: None compiles nothing.
    """
    if nonconvex is None:
        return
    if alpha <= 0.0:
        return
    scad = _is_scad(code)
    shape = (weights.size // n_out, n_out)
    W = weights.reshape(shape)
    if _on_rows(code):
        lam = alpha * np.sqrt(n_out)
        for i in range(W.shape[0]):
            if second is None:
                group_prox_nonconvex(W[i], lam, lr, gamma, scad)
            else:
                slope = nonconvex_slope(_norm(W[i]), lam, gamma, scad)
                if slope > 0.0:
                    V = second.reshape(shape)
                    T = scratch.reshape(shape)
                    for j in range(n_out):
                        T[i, j] = lr / (np.sqrt(float(V[i, j])) + epsilon) * slope
                    scaled_group_shrink(W[i], T[i])
    elif code == MCP or code == SCAD:
        for i in range(W.shape[0]):
            for j in range(n_out):
                step = lr
                if second is not None:
                    step = lr / (np.sqrt(float(second[i * n_out + j])) + epsilon)
                W[i, j] = nonconvex_prox_at(W[i, j], alpha, step, gamma, scad)


# ---------------------------------------------------------------- first layer
# Feature groups and penalty factors weigh the first weight matrix's penalty.
# Its rows are the input features; ``first`` is None when neither is given, or
# ``(factors, starts, members, group_factors, scratch)``: each feature's factor
# (float64), the groups as ``members[starts[g]:starts[g + 1]]`` (every feature in
# exactly one group, in order), each group's factor and a buffer of twice the
# largest group's weights, in the dtype of the weights. A feature's factor
# multiplies its row's share of the L2, L1 and per-weight concave parts; a
# group's factor multiplies its share of the group parts, whose norm is that of
# the group's rows together, weighted by ``sqrt(size * n_out)``. The first layer
# then takes its proximal steps in ``prox_first_layer``, once the optimizer has
# stepped on every part of the network, and its value in ``first_layer_value``.


@njit(**_JIT)
def first_layer_open(block, first):
    """1 where the optimizers take the penalty's proximal steps on weight matrix
    ``block`` themselves, 0 on the first when ``prox_first_layer`` takes them."""
    if first is None:
        return 1.0
    return 0.0 if block == 0 else 1.0


@njit(**_JIT)
def first_layer_smooth_gradient(g, inverse, w, alpha_l2, n_out, row, first):
    """``g = g * inverse + alpha_l2 * factor * w`` on rows ``row, row + 1, ...``
    of the first weight matrix, each with its feature's factor."""
    if first is None:
        return
    factors = first[0]
    cast = g.dtype.type
    for r in range(g.size // n_out):
        low = r * n_out
        factor = cast(alpha_l2 * factors[row + r])
        for j in range(low, low + n_out):
            g[j] = g[j] * inverse + factor * w[j]


@njit(**_JIT)
def _gather_group(W, members, low, high, out):
    """The rows ``members[low:high]`` of ``W`` into ``out``, one after the other."""
    n_out = W.shape[1]
    for k in range(low, high):
        i = members[k]
        base = (k - low) * n_out
        for j in range(n_out):
            out[base + j] = W[i, j]


@njit(**_JIT)
def _scatter_group(W, members, low, high, values):
    n_out = W.shape[1]
    for k in range(low, high):
        i = members[k]
        base = (k - low) * n_out
        for j in range(n_out):
            W[i, j] = values[base + j]


@njit(**_JIT)
def first_layer_value(W, alpha, code, l1_ratio, gamma, first):
    """The penalty of the first weight matrix ``W`` with its factors and groups."""
    if first is None:
        return 0.0
    factors, starts, members, group_factors, scratch = first
    n_out = W.shape[1]
    l2 = l2_share(code, l1_ratio)
    l1 = l1_share(code, l1_ratio)
    group = group_share(code, l1_ratio)
    scad = _is_scad(code)
    per_weight = code == MCP or code == SCAD
    total = 0.0
    for i in range(W.shape[0]):
        row = 0.0
        for j in range(n_out):
            w = float(W[i, j])
            row += 0.5 * l2 * alpha * w * w + l1 * alpha * abs(w)
            if per_weight:
                row += nonconvex_value_at(w, alpha, gamma, scad)
        total += factors[i] * row
    if group > 0.0 or _on_rows(code):
        for g in range(starts.shape[0] - 1):
            low, high = starts[g], starts[g + 1]
            size = (high - low) * n_out
            values = scratch[:size]
            _gather_group(W, members, low, high, values)
            norm = _norm(values)
            weight = np.sqrt(size)
            part = group * alpha * weight * norm
            if _on_rows(code):
                part += nonconvex_value_at(norm, alpha * weight, gamma, scad)
            total += group_factors[g] * part
    return total


@njit(**_JIT)
def prox_first_layer(W, second, lr, epsilon, alpha, code, l1_ratio, gamma, first):
    """In place: the penalty's proximal steps on the first weight matrix ``W``.

    As the optimizers take them on the other matrices (``prox_coordinate`` and
    ``prox_nonconvex`` on each weight, then ``prox_rows``, ``prox_rows_adam`` or
    ``prox_nonconvex`` on each row), with each step multiplied by the feature's
    or the group's factor, and each group's rows shrunk together. ``second`` is
    None after SGD, whose coordinates all took the step ``lr``, or Adam's second
    moments of ``W`` (same shape), whose steps are ``lr / (sqrt(second) +
    epsilon)``. A factor of 0 leaves its weights alone.
    """
    if first is None:
        return
    if alpha <= 0.0:
        return
    factors, starts, members, group_factors, scratch = first
    n_out = W.shape[1]
    l1 = l1_share(code, l1_ratio)
    group = group_share(code, l1_ratio)
    scad = _is_scad(code)
    per_weight = code == MCP or code == SCAD
    if l1 > 0.0 or per_weight:
        for i in range(W.shape[0]):
            factor = factors[i]
            if factor == 0.0:
                continue
            for j in range(n_out):
                step = lr
                if second is not None:
                    step = lr / (np.sqrt(float(second[i, j])) + epsilon)
                step *= factor
                if per_weight:
                    W[i, j] = nonconvex_prox_at(W[i, j], alpha, step, gamma, scad)
                else:
                    W[i, j] = soft_threshold(W[i, j], W.dtype.type(step * alpha * l1))
    if group > 0.0 or _on_rows(code):
        for g in range(starts.shape[0] - 1):
            factor = group_factors[g]
            if factor == 0.0:
                continue
            low, high = starts[g], starts[g + 1]
            size = (high - low) * n_out
            values = scratch[:size]
            thresholds = scratch[size : 2 * size]
            _gather_group(W, members, low, high, values)
            lam = alpha * np.sqrt(size)
            # The row lasso's threshold per unit step, or the concave penalty's
            # slope at the group's norm (its local linear approximation).
            if _on_rows(code):
                slope = nonconvex_slope(_norm(values), lam, gamma, scad)
            else:
                slope = group * lam
            if second is None:
                if _on_rows(code):
                    group_prox_nonconvex(values, lam, lr * factor, gamma, scad)
                else:
                    group_shrink(values, lr * factor * slope)
            elif slope > 0.0:
                _gather_group(second, members, low, high, thresholds)
                for k in range(size):
                    step = lr / (np.sqrt(float(thresholds[k])) + epsilon)
                    thresholds[k] = step * factor * slope
                scaled_group_shrink(values, thresholds)
            _scatter_group(W, members, low, high, values)
