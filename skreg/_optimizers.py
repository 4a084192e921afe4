"""Stochastic optimizers as fused update kernels, and the learning-rate schedules.

Weights and intercepts live in one flat buffer (all weight matrices first, then all
intercepts, as scikit-learn packs them for lbfgs), so one update is one loop over
memory. The loop applies the optimizer step exactly as scikit-learn's
``SGDOptimizer`` / ``AdamOptimizer`` compute it, then, on weight-matrix entries, the
proximal step of the penalty's non-smooth part with the step size the optimizer
applied to that coordinate: the learning rate for SGD (with or without momentum), and
``lr_t / (sqrt(v) + epsilon)`` for Adam, ``lr_t`` being Adam's bias-corrected rate.
"""

import numpy as np
from numba import njit

from ._penalties import prox_1d

SGD = 0
ADAM = 1

OPTIMIZERS = {"sgd": SGD, "adam": ADAM}

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def sgd_step(
    params,
    grad,
    velocity,
    lr,
    momentum,
    nesterov,
    coef_offsets,
    alphas,
    penalty,
    l1_ratio,
):
    """One SGD step with (Nesterov) momentum, then the proximal step on the weights."""
    n_coefs = coef_offsets[-1]
    layer = 0
    for i in range(params.shape[0]):
        update = momentum * velocity[i] - lr * grad[i]
        velocity[i] = update
        if nesterov:
            update = momentum * update - lr * grad[i]
        w = params[i] + update
        if i < n_coefs:
            while i >= coef_offsets[layer + 1]:
                layer += 1
            w = prox_1d(w, lr * alphas[layer], penalty, l1_ratio)
        params[i] = w


@njit(**_JIT)
def adam_step(
    params,
    grad,
    first,
    second,
    t,
    lr_init,
    beta_1,
    beta_2,
    epsilon,
    coef_offsets,
    alphas,
    penalty,
    l1_ratio,
):
    """Adam step number ``t`` (from 1), then the proximal step on the weights."""
    lr = lr_init * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    n_coefs = coef_offsets[-1]
    layer = 0
    for i in range(params.shape[0]):
        g = grad[i]
        m = beta_1 * first[i] + (1.0 - beta_1) * g
        v = beta_2 * second[i] + (1.0 - beta_2) * (g * g)
        first[i] = m
        second[i] = v
        denominator = np.sqrt(v) + epsilon
        w = params[i] + -lr * m / denominator
        if i < n_coefs:
            while i >= coef_offsets[layer + 1]:
                layer += 1
            w = prox_1d(w, lr / denominator * alphas[layer], penalty, l1_ratio)
        params[i] = w
    return lr


def invscaling_rate(learning_rate_init, power_t, time_step):
    """The ``"invscaling"`` rate after ``time_step`` samples, as scikit-learn's."""
    return float(learning_rate_init) / (time_step + 1) ** power_t


def adaptive_decrease(learning_rate):
    """The ``"adaptive"`` schedule on a plateau: the next rate, or None to stop."""
    if learning_rate <= 1e-6:
        return None
    return learning_rate / 5.0


@njit(**_JIT)
def constrain_weights(params, units, coef_offsets, max_norm, decay):
    """After a step: cap each unit's incoming weight norm, then decay the weights.

    Column ``j`` of weight matrix ``l`` (all weights into unit ``j``) is rescaled to
    L2 norm at most ``max_norm`` (no cap when ``max_norm <= 0``), then every weight
    is multiplied by ``1 - decay``, ``decay`` being the learning rate times the
    decoupled weight decay. Intercepts are left alone.
    """
    for layer in range(coef_offsets.shape[0] - 1):
        n_in = units[layer]
        n_out = units[layer + 1]
        W = params[coef_offsets[layer] : coef_offsets[layer + 1]].reshape((n_in, n_out))
        for j in range(n_out):
            scale = 1.0 - decay
            if max_norm > 0.0:
                squares = 0.0
                for i in range(n_in):
                    squares += W[i, j] * W[i, j]
                norm = np.sqrt(squares)
                if norm > max_norm:
                    scale *= max_norm / norm
            if scale != 1.0:
                for i in range(n_in):
                    W[i, j] *= scale
