"""NumPy references for the penalties, shared by the kernel tests.

Written from the API's definitions, independently of the kernels: the shares of
each penalty, the soft threshold, and each row's group shrinkage in the metric of
per-coordinate step sizes, found by bracketing the result's norm (the kernels use
Newton's method).
"""

import numpy as np
from scipy.optimize import brentq

# Shares of alpha in the smooth part alpha * share / 2 * ||W||^2, the L1 part
# alpha * share * ||W||_1 and the group part
# alpha * share * sqrt(n_out) * sum_i ||W[i, :]||_2, as functions of l1_ratio.
SHARES = {
    None: lambda rho: (0.0, 0.0, 0.0),
    "l2": lambda rho: (1.0, 0.0, 0.0),
    "l1": lambda rho: (0.0, 1.0, 0.0),
    "elasticnet": lambda rho: (1.0 - rho, rho, 0.0),
    "group_lasso": lambda rho: (0.0, 0.0, 1.0),
    "sparse_group_lasso": lambda rho: (0.0, rho, 1.0 - rho),
}


def soft_threshold(w, t):
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def group_norms(W):
    """sqrt(n_out) * sum_i ||W[i, :]||_2."""
    return np.sqrt(W.shape[1]) * sum(norm(row) for row in W)


def norm(v):
    """||v||_2 scaled by its largest entry, so that no square underflows."""
    largest = np.abs(v).max() if v.size else 0.0
    return largest * np.linalg.norm(v / largest) if largest > 0 else 0.0


def scaled_group_prox(u, thresholds):
    """argmin_x sum (x - u)**2 / (2 t) + ||x||_2, by bracketing the norm of x.

    x = 0 iff sum (u / t)**2 <= 1; otherwise x = u * r / (r + t) with r the root of
    sum u**2 / (r + t)**2 = 1, which lies in [||u|| - max(t), ||u|| - min(t)].
    """
    u = np.asarray(u, dtype=np.float64)
    t = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), u.shape)
    if np.sum((u / t) ** 2) <= 1.0:
        return np.zeros_like(u)

    def excess(r):
        # 1 / sqrt(sum u**2 / (r + t)**2) - 1: increasing, finite where the sum
        # overflows.
        with np.errstate(over="ignore", divide="ignore"):
            return 1.0 / np.sqrt(np.sum((u / (r + t)) ** 2)) - 1.0

    low = max(norm(u) - t.max(), 0.0)
    high = max(norm(u) - t.min(), low)
    if excess(low) >= 0.0:
        r = low
    elif excess(high) <= 0.0:
        r = high
    else:
        r = brentq(excess, low, high, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    return u * r / (r + t)


def numpy_prox(params, layout, alphas, penalty, rho, step):
    """The non-smooth part's proximal step on every weight matrix (not intercepts).

    The L1 part's soft threshold at ``step * alpha * l1_share``, then each row's
    group shrinkage at ``step * alpha * group_share * sqrt(n_out)`` per coordinate.
    ``step`` is a scalar or one step per entry of the flat buffer.
    """
    _, l1, group = SHARES[penalty](rho)
    out = params.copy()
    step = np.broadcast_to(step, params.shape)
    for layer, alpha in enumerate(alphas):
        sl = slice(layout.coef_offsets[layer], layout.coef_offsets[layer + 1])
        out[sl] = soft_threshold(out[sl], step[sl] * alpha * l1)
        if group > 0 and alpha > 0:
            shape = (layout.units[layer], layout.units[layer + 1])
            W = out[sl].reshape(shape)
            T = step[sl].reshape(shape) * alpha * group * np.sqrt(shape[1])
            for i in range(shape[0]):
                W[i] = scaled_group_prox(W[i], T[i])
            out[sl] = W.ravel()
    return out
