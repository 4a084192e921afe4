"""Stochastic optimizers as fused update kernels, and the learning-rate schedules.

Weights and intercepts live in one flat buffer (all weight matrices first, then all
intercepts, as scikit-learn packs them for lbfgs). An update is one loop over each
weight matrix and one over the intercepts, each without branches so that it
vectorizes, and in the dtype of the parameters. The loop applies the optimizer step
as scikit-learn's ``SGDOptimizer`` / ``AdamOptimizer`` compute it, then, on
weight-matrix entries, the proximal step of the penalty's non-smooth part with the
step size the optimizer applied to that coordinate: the learning rate for SGD (with
or without momentum), and ``lr_t / (sqrt(v) + epsilon)`` for Adam, ``lr_t`` being
Adam's bias-corrected rate.

The group penalties then shrink each row of each weight matrix, in the metric of
the steps the optimizer took: ``_penalties.prox_rows`` after SGD, whose
coordinates took the same step, ``_penalties.prox_rows_adam`` after Adam. The
optimizers never ask which penalty it is: the proximal steps and their thresholds
come from ``_penalties``.
"""

import numpy as np
from numba import njit

from ._compile import JIT as _JIT
from ._penalties import (
    coordinate_threshold,
    first_layer_open,
    prox_coordinate,
    prox_first_layer,
    prox_nonconvex,
    prox_rows,
    prox_rows_adam,
)

SGD = 0
ADAM = 1

OPTIMIZERS = {"sgd": SGD, "adam": ADAM}


@njit(**_JIT)
def _block_bounds(params, coef_offsets, block):
    start = coef_offsets[block]
    stop = coef_offsets[block + 1] if block + 1 < coef_offsets.shape[0] else params.size
    return start, stop


@njit(**_JIT)
def part_bounds(start, stop, row_length, part):
    """The entries of ``[start, stop)`` that ``part = (index, count)`` owns.

    The block holds ``rows`` rows of ``row_length`` entries; part ``index`` of
    ``count`` owns rows ``index * rows // count`` to ``(index + 1) * rows //
    count``. The training kernels split every weight matrix by rows (a row is a
    group of the group penalties) and the intercepts by entries, the same way in
    every phase of a step, so each part's entries are written by one worker only.
    """
    index, count = part
    rows = (stop - start) // row_length
    low = start + index * rows // count * row_length
    high = start + (index + 1) * rows // count * row_length
    return low, high


@njit(**_JIT)
def block_part(params, units, coef_offsets, block, part):
    """``part_bounds`` of a block: a weight matrix, or (the last one) the intercepts."""
    start, stop = _block_bounds(params, coef_offsets, block)
    row_length = units[block + 1] if block + 1 < coef_offsets.shape[0] else 1
    return part_bounds(start, stop, row_length, part)


@njit(**_JIT)
def _sgd_block(params, grad, velocity, lr, momentum, nesterov, threshold):
    # A loop without branches over contiguous views, so LLVM vectorizes it; the
    # soft threshold is the identity when the threshold is 0.
    for i in range(params.shape[0]):
        update = momentum * velocity[i] - lr * grad[i]
        velocity[i] = update
        if nesterov:
            update = momentum * update - lr * grad[i]
        params[i] = prox_coordinate(params[i] + update, threshold)


@njit(**_JIT)
def sgd_step(params, grad, velocity, lr, layers, cfg, part):
    """One SGD step with (Nesterov) momentum, then the proximal step on the weights.

    ``layers`` is ``(units, coef_offsets, intercept_offsets, alphas)``: the layer
    sizes, which give each weight matrix its rows, the offsets of the weight
    matrices in ``params`` and each one's ``alpha``. ``cfg`` (``TrainConfig``)
    gives the momentum and the penalty. ``part`` is None for every parameter, or
    the part ``(index, count)`` of ``block_part`` to update.
    """
    units, coef_offsets, _, alphas = layers
    momentum = cfg.momentum
    # Scalars in the dtype of the parameters, so float32 training runs in float32
    # arithmetic (as scikit-learn's) at twice the vector width.
    cast = params.dtype.type
    for block in range(coef_offsets.shape[0]):
        # Pruned when the fit compiles: a whole step never compiles the split.
        if part is None:
            start, stop = _block_bounds(params, coef_offsets, block)
        else:
            start, stop = block_part(params, units, coef_offsets, block, part)
        # The first layer's steps wait for prox_first_layer when it has factors
        # or groups.
        weights = block + 1 < coef_offsets.shape[0]
        weights = weights and first_layer_open(block, cfg.first) > 0.0
        threshold = 0.0
        if weights:
            threshold = coordinate_threshold(
                lr, alphas[block], cfg.penalty, cfg.l1_ratio
            )
        _sgd_block(
            params[start:stop],
            grad[start:stop],
            velocity[start:stop],
            cast(lr),
            cast(momentum),
            cfg.nesterov,
            cast(threshold),
        )
        if weights:
            prox_rows(
                params[start:stop],
                units[block + 1],
                lr,
                alphas[block],
                cfg.penalty,
                cfg.l1_ratio,
                cfg.grouped,
            )
            prox_nonconvex(
                params[start:stop],
                None,
                None,
                units[block + 1],
                lr,
                0.0,
                alphas[block],
                cfg.penalty,
                cfg.gamma,
                cfg.nonconvex,
            )


@njit(**_JIT)
def _adam_block(
    params, grad, first, second, lr, beta_1, beta_2, keep_1, keep_2, epsilon, threshold
):
    # As _sgd_block: vectorized, the threshold scaled by each coordinate's step.
    for i in range(params.shape[0]):
        g = grad[i]
        m = beta_1 * first[i] + keep_1 * g
        v = beta_2 * second[i] + keep_2 * (g * g)
        first[i] = m
        second[i] = v
        step = lr / (np.sqrt(v) + epsilon)
        params[i] = prox_coordinate(params[i] - step * m, step * threshold)


@njit(**_JIT)
def adam_step(params, grad, moments, t, layers, cfg, part):
    """Adam step number ``t`` (from 1), then the proximal step on the weights.

    Returns ``lr_t``, the bias-corrected learning rate of this step. ``moments``
    is ``(first, second)``, Adam's moment buffers; ``layers`` as ``sgd_step``'s;
    ``cfg`` (``TrainConfig``) gives Adam's constants and the penalty. ``grad`` is
    spent by the step and serves as scratch space. ``part`` is None for every
    parameter, or the part ``(index, count)`` of ``block_part`` to update.
    """
    first, second = moments
    units, coef_offsets, _, alphas = layers
    lr_init, beta_1, beta_2 = cfg.learning_rate_init, cfg.beta_1, cfg.beta_2
    epsilon = cfg.epsilon
    lr = lr_init * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    cast = params.dtype.type
    for block in range(coef_offsets.shape[0]):
        # Pruned when the fit compiles: a whole step never compiles the split.
        if part is None:
            start, stop = _block_bounds(params, coef_offsets, block)
        else:
            start, stop = block_part(params, units, coef_offsets, block, part)
        weights = block + 1 < coef_offsets.shape[0]
        weights = weights and first_layer_open(block, cfg.first) > 0.0
        # The threshold per unit step: each coordinate's loop scales it by its step.
        threshold = 0.0
        if weights:
            threshold = coordinate_threshold(
                1.0, alphas[block], cfg.penalty, cfg.l1_ratio
            )
        _adam_block(
            params[start:stop],
            grad[start:stop],
            first[start:stop],
            second[start:stop],
            cast(lr),
            cast(beta_1),
            cast(beta_2),
            cast(1.0 - beta_1),
            cast(1.0 - beta_2),
            cast(epsilon),
            cast(threshold),
        )
        if weights:
            prox_rows_adam(
                params[start:stop],
                second[start:stop],
                grad[start:stop],
                units[block + 1],
                lr,
                epsilon,
                alphas[block],
                cfg.penalty,
                cfg.l1_ratio,
                cfg.grouped,
            )
            prox_nonconvex(
                params[start:stop],
                second[start:stop],
                grad[start:stop],
                units[block + 1],
                lr,
                epsilon,
                alphas[block],
                cfg.penalty,
                cfg.gamma,
                cfg.nonconvex,
            )
    return lr


@njit(**_JIT)
def first_layer_step(params, second, lr, layers, cfg):
    """The penalty's proximal steps on the first weight matrix, when it has
    factors or groups (``cfg.first``), after an optimizer step on every part.

    ``second`` is None after SGD, whose step was ``lr``, or Adam's second
    moments after Adam, whose ``lr`` is the bias-corrected rate ``adam_step``
    returned.
    """
    _first_layer_step(params, second, lr, layers, cfg, cfg.first)


# ``first`` is an argument, so that Numba prunes the code when it is None.
@njit(**_JIT)
def _first_layer_step(params, second, lr, layers, cfg, first):
    if first is None:
        return
    units, coef_offsets, _, alphas = layers
    shape = (units[0], units[1])
    W = params[: coef_offsets[1]].reshape(shape)
    alpha, code, rho, gamma = alphas[0], cfg.penalty, cfg.l1_ratio, cfg.gamma
    if second is None:
        prox_first_layer(W, None, lr, 0.0, alpha, code, rho, gamma, first)
    else:
        V = second[: coef_offsets[1]].reshape(shape)
        prox_first_layer(W, V, lr, cfg.epsilon, alpha, code, rho, gamma, first)


def invscaling_rate(learning_rate_init, power_t, time_step):
    """The ``"invscaling"`` rate after ``time_step`` samples, as scikit-learn's."""
    return float(learning_rate_init) / (time_step + 1) ** power_t


def adaptive_decrease(learning_rate):
    """The ``"adaptive"`` schedule on a plateau: the next rate, or None to stop."""
    if learning_rate <= 1e-6:
        return None
    return learning_rate / 5.0


@njit(**_JIT)
def constrain_weights(params, layers, max_norm, decay, scratch):
    """After a step: cap each unit's incoming weight norm, then decay the weights.

    Column ``j`` of weight matrix ``l`` (all weights into unit ``j``) is rescaled to
    L2 norm at most ``max_norm`` (no cap when ``max_norm <= 0``), then every weight
    is multiplied by ``1 - decay``, ``decay`` being the learning rate times the
    decoupled weight decay. Intercepts are left alone. ``scratch`` holds at least
    ``max(units)`` entries and is overwritten, so no step allocates. ``layers`` as
    ``sgd_step``'s.
    """
    units, coef_offsets, _, _ = layers
    for layer in range(coef_offsets.shape[0] - 1):
        n_in = units[layer]
        n_out = units[layer + 1]
        W = params[coef_offsets[layer] : coef_offsets[layer + 1]].reshape((n_in, n_out))
        # Row by row, so memory is read in order and the inner loops vectorize.
        scale = scratch[:n_out]
        if max_norm > 0.0:
            scale[:] = 0
            for i in range(n_in):
                for j in range(n_out):
                    scale[j] += W[i, j] * W[i, j]
            for j in range(n_out):
                norm = np.sqrt(scale[j])
                factor = max_norm / norm if norm > max_norm else 1.0
                scale[j] = factor * (1.0 - decay)
        else:
            scale[:] = 1.0 - decay
        for i in range(n_in):
            for j in range(n_out):
                W[i, j] *= scale[j]
