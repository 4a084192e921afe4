"""Full-batch evaluations: L-BFGS, the objective of an output, the initial gradient.

The initial gradient and the penalty value give a path its largest useful alpha
and its objective (``_path``).
"""

import numpy as np
import scipy.optimize
from sklearn.base import (
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils.optimize import _check_optimize_result

from ._gradient import batch_objective_gradient, total_penalty
from ._layout import Layout
from ._losses import LOSSES, loss_and_delta
from ._parallel import with_one_blas_thread
from ._prediction import forward_output

try:  # scipy renamed L-BFGS-B's verbosity option; sklearn keeps the shim
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover

    def _get_additional_lbfgs_options_dict(key, value):
        return {key: value}


# Rows per chunk when a gradient is summed over the whole data set.
_GRADIENT_CHUNK = 4096

_EMPTY_INT = np.zeros(0, dtype=np.int64)


def fit_lbfgs(
    estimator, X, Y, sample_weight, params, layout, alphas, dropout, hooks=None
):
    cfg = estimator._config(X.dtype, 0)
    n_samples = X.shape[0]
    kernel_X = estimator._kernel_input(X)
    offsets, size = layout.work_offsets(n_samples, False, dropout)
    work = np.empty(size, dtype=X.dtype)
    grad = np.empty_like(params)
    rows = np.empty(n_samples, dtype=np.int64)

    def objective_and_gradient(packed):
        params[:] = packed
        objective, _ = batch_objective_gradient(
            *kernel_X,
            (Y, sample_weight),
            (_EMPTY_INT, 0, n_samples, 0, rows, 0),
            params,
            grad,
            layout.layers(alphas),
            estimator._kernel_dropout(dropout),
            (work, offsets),
            cfg,
        )
        return objective, grad.astype(np.float64)

    callback = None
    if hooks is not None:
        # scipy calls ``callback`` at the end of each step: it ends that step
        # and begins the next, so the step begun last never runs.
        hooks.begin("iteration", params)

        def callback(xk):
            hooks.end(xk)
            hooks.begin("iteration", xk)

    iprint = 1 if (estimator.verbose is True or estimator.verbose >= 1) else -1
    result = scipy.optimize.minimize(
        objective_and_gradient,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        options={
            "maxfun": estimator.max_fun,
            "maxiter": estimator.max_iter,
            "gtol": estimator.tol,
            **_get_additional_lbfgs_options_dict("iprint", iprint),
        },
        callback=callback,
    )
    if hooks is not None:
        hooks.abandon()
    estimator.n_iter_ = _check_optimize_result("lbfgs", result, estimator.max_iter)
    estimator.loss_ = float(result.fun)
    params = result.x.astype(X.dtype)
    if not np.all(np.isfinite(params)):
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may"
            " contain large values and need to be preprocessed."
        )
    return params


def objective(estimator, output, Y, sample_weight, params, layout, alphas, cfg):
    """Weighted mean loss of a forward output plus the penalty."""
    rows = np.arange(output.shape[0], dtype=np.int64)
    empty = np.zeros((0, output.shape[1]), dtype=output.dtype)
    loss_sum = loss_and_delta(output, Y, sample_weight, rows, empty, cfg.loss, cfg.eps)
    penalty = total_penalty(params, layout.layers(alphas), cfg)
    return float(loss_sum / sample_weight.sum() + penalty)


def initial_gradient(estimator, X, y, sample_weight=None):
    """Gradient of the weighted mean loss per weight matrix, at the initial weights.

    The initial weights are those a fit of this estimator would draw from its
    ``random_state``. The estimator itself is left untouched. Rows are taken in
    chunks, so the memory needed is that of a few training batches.
    """
    estimator = clone(estimator).set_params(warm_start=False)
    hidden_sizes = estimator._hidden_sizes()
    _, dropout = estimator._check_options(hidden_sizes)
    X, y_labels, Y = estimator._validate_input(X, y, False, reset=True)
    sample_weight = estimator._sample_weight(sample_weight, X, y_labels, False)
    layer_units = [X.shape[1], *hidden_sizes, Y.shape[1]]
    layout = Layout(layer_units)
    random_state = check_random_state(estimator.random_state)
    estimator._initialize(Y, layer_units, X.dtype, random_state)
    params = layout.pack(estimator.coefs_, estimator.intercepts_, X.dtype)
    cfg = estimator._config(X.dtype, 0)
    n_samples = X.shape[0]
    chunk = min(n_samples, _GRADIENT_CHUNK)
    no_dropout = np.zeros_like(dropout)
    offsets, size = layout.work_offsets(chunk, False, no_dropout)
    work = np.empty(size, dtype=X.dtype)
    grad = np.empty_like(params)
    rows = np.empty(chunk, dtype=np.int64)
    kernel_X = estimator._kernel_input(X)
    alphas = np.zeros(len(layer_units) - 1)

    def summed():
        total = np.zeros(params.shape, dtype=np.float64)
        weight = 0.0
        for start in range(0, n_samples, chunk):
            stop = min(start + chunk, n_samples)
            _, chunk_weight = batch_objective_gradient(
                *kernel_X,
                (Y, sample_weight),
                (_EMPTY_INT, start, stop, 0, rows, 0),
                params,
                grad,
                layout.layers(alphas),
                None,
                (work, offsets),
                cfg,
            )
            # Each chunk's gradient is of its own weighted mean.
            total += chunk_weight * grad
            weight += chunk_weight
        return total / weight

    coefs, _ = layout.unpack(with_one_blas_thread(summed))
    return coefs


def penalty_value(estimator):
    """The penalty of the fitted weights at the current ``alpha``."""
    alphas, _ = estimator._check_options(estimator._hidden_sizes())
    layout = Layout(estimator._layer_units())
    dtype = estimator.coefs_[0].dtype
    params = layout.pack(estimator.coefs_, estimator.intercepts_, dtype)
    cfg = estimator._config(dtype, 0)
    return float(total_penalty(params, layout.layers(alphas), cfg))


def mean_loss(estimator, X, y, sample_weight=None):
    """Weighted mean loss of the fitted model on ``X, y``, without the penalty."""
    X, y_labels, Y = estimator._validate_input(X, y, True, reset=False)
    sample_weight = estimator._sample_weight(sample_weight, X, y_labels, False)
    dtype = estimator.coefs_[0].dtype
    output = forward_output(
        estimator, X.astype(dtype, copy=False), estimator.coefs_, estimator.intercepts_
    )
    rows = np.arange(output.shape[0], dtype=np.int64)
    empty = np.zeros((0, output.shape[1]), dtype=dtype)
    loss_sum = loss_and_delta(
        output,
        Y.astype(dtype, copy=False),
        sample_weight.astype(dtype, copy=False),
        rows,
        empty,
        LOSSES[estimator._loss_name()],
        float(np.finfo(dtype).eps),
    )
    return float(loss_sum / sample_weight.sum())
