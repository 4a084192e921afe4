"""The epoch loop of sgd and adam: Python owns the loop, a kernel each epoch.

Convergence (``tol``, ``n_iter_no_change``), early stopping, learning-rate
schedules, verbose output, callbacks, the non-finite check and Ctrl-C live here;
one epoch is ``_epoch.run_epoch`` (or its two halves on two threads,
``_parallel.EpochWorkers``).
"""

import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from . import _parallel
from ._epoch import HALVES_MIN_WORK, half_rows, run_epoch
from ._full_batch import objective
from ._gradient import total_penalty
from ._interrupts import deferred_interrupts
from ._optimizers import adaptive_decrease, invscaling_rate
from ._parallel import EpochWorkers
from ._prediction import forward_output

_EMPTY_INT = np.zeros(0, dtype=np.int64)

# scikit-learn's line for each epoch, and what verbose >= 2 adds to it.
_EPOCH_LINE = "Iteration %d, loss = %.8f"
_EPOCH_DETAILS = (
    ", penalty = %.4e, validation loss = %s, zero fraction = %.4f, "
    "active units = %s, learning rate = %.4g, time = %.4f s"
)


def _weight_sparsity(params, layout):
    """``(fraction of zero weights, active hidden units, hidden units)``.

    The fraction is over the entries of every weight matrix, intercepts excluded.
    A hidden unit is active when its incoming column and its outgoing row both
    hold a nonzero weight; the counts are summed over the hidden layers.
    """
    n_coefs = int(layout.coef_offsets[-1])
    zero_fraction = 1.0 - np.count_nonzero(params[:n_coefs]) / max(n_coefs, 1)
    coefs, _ = layout.unpack(params)
    active = sum(
        int(np.count_nonzero(W_in.any(axis=0) & W_out.any(axis=1)))
        for W_in, W_out in zip(coefs[:-1], coefs[1:])
    )
    return zero_fraction, active, int(layout.units[1:-1].sum())


def fit_stochastic(
    estimator,
    X,
    Y,
    y_labels,
    sample_weight,
    params,
    layout,
    alphas,
    dropout,
    random_state,
    incremental,
    keep_optimizer=False,
    hooks=None,
    early_stopping_warmup=0,
    reraise_interrupt=False,
    workers=None,
):
    if estimator.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if estimator.noise_std > 0 and sp.issparse(X):
        raise ValueError(
            "noise_std > 0 needs dense X: Gaussian noise on every entry would make "
            "a sparse X dense. Convert X with X.toarray(), or use input_dropout, "
            "which keeps zeros at zero."
        )
    early_stopping = estimator.early_stopping
    if early_stopping:
        # Split indices with sklearn's call, so the split is sklearn's.
        should_stratify = is_classifier(estimator) and estimator.n_outputs_ == 1
        stratify = Y.astype(bool) if should_stratify else None
        train, val = train_test_split(
            np.arange(X.shape[0]),
            random_state=random_state,
            test_size=estimator.validation_fraction,
            stratify=stratify,
        )
        if val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        X_val, Y_val, y_val = X[val], Y[val], y_labels[val]
        sample_weight_val = sample_weight[val]
        X, Y, sample_weight = X[train], Y[train], sample_weight[train]
        if hooks is not None:
            hooks.use_data(X, y_labels[train], sample_weight)

    n_samples = X.shape[0]
    if estimator.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if estimator.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped",
                stacklevel=4,
            )
        batch_size = int(np.clip(estimator.batch_size, 1, n_samples))

    stochastic = bool(
        np.any(dropout > 0) or estimator.input_dropout > 0 or estimator.noise_std > 0
    )
    seed = random_state.randint(np.iinfo(np.int32).max) if stochastic else 0
    cfg = estimator._config(X.dtype, seed)
    gather = bool(
        estimator.shuffle or estimator.input_dropout > 0 or estimator.noise_std > 0
    )
    kernel_X = estimator._kernel_input(X)
    # A fit whose batches are not tiny splits each in two halves, which two
    # threads share (``_epoch.run_epoch_halves``); each half has buffers of
    # its own.
    halves = batch_size * int(layout.coef_offsets[-1]) >= HALVES_MIN_WORK
    planned = half_rows(batch_size) if halves else batch_size
    # Relu units keep no dropout factors: their outputs after dropout give
    # the backward pass all it needs (``_activations.relu_dropout``).
    stored = np.zeros_like(dropout) if estimator.activation == "relu" else dropout
    offsets, size = layout.work_offsets(planned, gather and not sp.issparse(X), stored)
    copies = (2,) if halves else ()
    work = np.empty((*copies, size), dtype=X.dtype)
    grad = np.empty((*copies, params.size), dtype=params.dtype)
    rows = np.empty((*copies, planned), dtype=np.int64)
    if workers is None:
        workers = EpochWorkers()
    workers.threads = _parallel.available_threads() if halves else 1

    state = estimator._optimizer_state
    if state is not None and (state["second"] is None) == (estimator.solver == "adam"):
        # Saved by the other solver (``solver`` changed between calls): its
        # moments mean nothing to this one, which starts afresh.
        state = None
    if not (incremental or keep_optimizer) or state is None:
        state = {
            "first": np.zeros_like(params),
            "second": np.zeros_like(params) if estimator.solver == "adam" else None,
            "step": 0,
            "learning_rate": float(estimator.learning_rate_init),
        }
    else:  # copies, so an interrupted or failed call leaves the old state intact
        state = {
            k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()
        }
    constraints = estimator._constraints()
    kernel_dropout = estimator._kernel_dropout(dropout)
    # The velocity of SGD and the first moment of Adam share the "first" slot.
    adam = state["second"] is not None
    velocity = None if adam else state["first"]
    first = state["first"] if adam else None

    # A fresh convergence state on every call of fit (sklearn keeps the old one
    # on warm starts, so a refit with a new alpha stops after one epoch).
    loss_curve = list(getattr(estimator, "loss_curve_", None) or [])
    validation_scores = list(getattr(estimator, "validation_scores_", None) or [])
    validation_losses = list(getattr(estimator, "validation_loss_curve_", None) or [])
    best_loss = np.inf
    best_validation_score = -np.inf
    best_params = params.copy()
    no_improvement = 0
    n_iter = 0
    t = estimator.t_
    sample_index = np.arange(n_samples, dtype=np.int64)
    loss = getattr(estimator, "loss_", None)

    # The state at the end of the last completed epoch. A kernel updates the
    # weights and the optimizer's moments in place, batch by batch, so an epoch
    # that overflows or is interrupted is undone from these copies.
    last_good = params.copy()
    last_moments = [
        m.copy() for m in (state["first"], state["second"]) if m is not None
    ]

    def commit():
        last_good[:] = params
        for saved, m in zip(last_moments, (state["first"], state["second"])):
            saved[:] = m
        return dict(
            n_iter=n_iter,
            t=t,
            loss=loss,
            step=state["step"],
            learning_rate=state["learning_rate"],
            best_loss=best_loss,
            best_validation_score=best_validation_score,
            best_params=best_params,
            no_improvement=no_improvement,
            lengths=(
                len(loss_curve),
                len(validation_scores),
                len(validation_losses),
            ),
        )

    def rollback(committed):
        params[:] = last_good
        for saved, m in zip(last_moments, (state["first"], state["second"])):
            m[:] = saved
        state["step"] = committed["step"]
        state["learning_rate"] = committed["learning_rate"]
        for curve, length in zip(
            (loss_curve, validation_scores, validation_losses),
            committed["lengths"],
        ):
            del curve[length:]

    # verbose >= 2 adds the penalty, the validation loss, the sparsity, the
    # learning rate and the time to scikit-learn's "Iteration" line, which
    # scripts read, and keeps its other lines.
    details = estimator.verbose >= 2

    with deferred_interrupts():
        committed = commit()
    try:
        for _ in range(estimator.max_iter):
            # Whole or not at all: a Ctrl-C half-way would pair the weights
            # of one epoch with the bookkeeping of another.
            with deferred_interrupts():
                committed = commit()
            if hooks is not None:
                hooks.begin("epoch", params)
            if details:
                epoch_start = time.perf_counter()
                epoch_rate = state["learning_rate"]
            if estimator.shuffle:
                # The draw of sklearn.utils.shuffle (a permutation of arange
                # applied to the current order), without its input checks,
                # which cost a tenth of an epoch on small data. Shuffling the
                # order in place makes the same swaps on it as on arange.
                random_state.shuffle(sample_index)
                order = sample_index
            else:
                order = _EMPTY_INT
            arguments = (
                *kernel_X,
                Y,
                sample_weight,
                order,
                n_samples,
                batch_size,
                rows,
                params,
                grad,
                velocity,
                first,
                state["second"],
                state["step"],
                state["learning_rate"],
                layout.units,
                layout.coef_offsets,
                layout.intercept_offsets,
                alphas,
                kernel_dropout,
                work,
                offsets,
                cfg,
                constraints,
            )
            if halves:
                accumulated, state["step"] = workers.epoch(arguments)
            else:
                accumulated, state["step"] = run_epoch(*arguments)
            epoch_loss = accumulated / n_samples
            if not (np.isfinite(epoch_loss) and np.all(np.isfinite(params))):
                rollback(committed)
                if hooks is not None:
                    hooks.abandon()
                if n_iter == 0:
                    # No epoch of this call gave a finite model to keep:
                    # scikit-learn's error, and the estimator stays as it was.
                    raise ValueError(
                        "Solver produced non-finite parameter weights. The input "
                        "data may contain large values and need to be "
                        "preprocessed."
                    )
                warnings.warn(
                    f"The training loss became {epoch_loss} at epoch {n_iter + 1}; "
                    "training stopped there and the weights of the last finite "
                    "epoch were kept. Lower learning_rate_init, scale the input "
                    "features, or increase alpha.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
                break
            n_iter += 1
            loss = epoch_loss
            t += n_samples
            loss_curve.append(loss)
            if estimator.verbose and not details:
                print(_EPOCH_LINE % (n_iter, loss))

            if early_stopping:
                # On this thread alone: a fit's memory stays that of a few
                # chunks, whatever the threads at hand.
                output = forward_output(
                    estimator, X_val, *layout.unpack(params), threads=1
                )
                score = estimator._score_output(y_val, output, sample_weight_val)
                validation_scores.append(score)
                validation_losses.append(
                    objective(
                        estimator,
                        output,
                        Y_val,
                        sample_weight_val,
                        params,
                        layout,
                        alphas,
                        cfg,
                    )
                )
            if details:
                _print_epoch_details(
                    n_iter,
                    loss,
                    params,
                    layout,
                    alphas,
                    cfg,
                    validation_losses[-1] if early_stopping else None,
                    epoch_rate,
                    time.perf_counter() - epoch_start,
                )
            if early_stopping and n_iter <= early_stopping_warmup:
                if estimator.verbose:
                    print("Validation score: %f" % score)
            elif early_stopping:
                if estimator.verbose:
                    print("Validation score: %f" % score)
                if score < best_validation_score + estimator.tol:
                    no_improvement += 1
                else:
                    no_improvement = 0
                if score > best_validation_score:
                    best_validation_score = score
                    best_params = params.copy()
            else:
                if loss > best_loss - estimator.tol:
                    no_improvement += 1
                else:
                    no_improvement = 0
                best_loss = min(best_loss, loss)

            # A callback's request to stop ends the training at this epoch.
            if hooks is not None and hooks.end(params):
                break

            if estimator.solver == "sgd" and estimator.learning_rate == "invscaling":
                state["learning_rate"] = invscaling_rate(
                    estimator.learning_rate_init, estimator.power_t, t
                )

            if no_improvement > estimator.n_iter_no_change:
                if early_stopping:
                    msg = (
                        "Validation score did not improve more than "
                        "tol=%f for %d consecutive epochs."
                        % (estimator.tol, estimator.n_iter_no_change)
                    )
                else:
                    msg = (
                        "Training loss did not improve more than tol=%f"
                        " for %d consecutive epochs."
                        % (estimator.tol, estimator.n_iter_no_change)
                    )
                new_rate = None
                if estimator.solver == "sgd" and estimator.learning_rate == "adaptive":
                    new_rate = adaptive_decrease(state["learning_rate"])
                if new_rate is not None:
                    state["learning_rate"] = new_rate
                    no_improvement = 0
                    if estimator.verbose:
                        print(msg + " Setting learning rate to %f" % new_rate)
                else:
                    if estimator.verbose:
                        small = estimator.solver == "sgd" and (
                            estimator.learning_rate == "adaptive"
                        )
                        print(
                            msg
                            + (" Learning rate too small." if small else "")
                            + " Stopping."
                        )
                    break

            if incremental:
                break
            if n_iter == estimator.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) "
                    "reached and the optimization hasn't converged yet."
                    % estimator.max_iter,
                    ConvergenceWarning,
                    stacklevel=4,
                )
    except KeyboardInterrupt:
        # The interrupted epoch is discarded, bookkeeping included: the model
        # is that of the last completed epoch. With none completed, the
        # interrupt propagates and the call leaves the estimator as it was.
        if hooks is not None:
            hooks.abandon()
        rollback(committed)
        n_iter, t, loss = committed["n_iter"], committed["t"], committed["loss"]
        best_loss = committed["best_loss"]
        best_validation_score = committed["best_validation_score"]
        best_params = committed["best_params"]
        if n_iter == 0 or reraise_interrupt:
            raise
        warnings.warn(
            f"Training interrupted by user after {n_iter} completed epochs; "
            "the model of the last completed epoch was kept.",
            stacklevel=4,
        )
    finally:
        workers.close()

    if early_stopping and np.isfinite(best_validation_score):
        params = best_params
    estimator.n_iter_ = n_iter
    estimator.t_ = t
    estimator.loss_ = loss
    estimator.loss_curve_ = loss_curve
    estimator._optimizer_state = state
    if early_stopping:
        estimator.validation_scores_ = validation_scores
        estimator.validation_loss_curve_ = validation_losses
        estimator.best_validation_score_ = best_validation_score
        estimator.best_loss_ = None
    else:
        estimator.best_loss_ = best_loss
    return params


def _print_epoch_details(
    epoch,
    loss,
    params,
    layout,
    alphas,
    cfg,
    validation_loss,
    learning_rate,
    seconds,
):
    """Print an epoch's line at verbose >= 2 (see ``_EPOCH_DETAILS``)."""
    penalty = total_penalty(params, layout.units, layout.coef_offsets, alphas, cfg)
    zero_fraction, active, n_hidden = _weight_sparsity(params, layout)
    print(
        _EPOCH_LINE % (epoch, loss)
        + _EPOCH_DETAILS
        % (
            penalty,
            "-" if validation_loss is None else "%.8f" % validation_loss,
            zero_fraction,
            "%d/%d" % (active, n_hidden),
            learning_rate,
            seconds,
        )
    )
