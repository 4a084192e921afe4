"""The epoch loop of sgd and adam: Python owns the loop, a kernel each epoch.

Convergence (``tol``, ``n_iter_no_change``), early stopping, learning-rate
schedules, verbose output, callbacks, the non-finite check and Ctrl-C live here;
one epoch is ``_epoch.run_epoch`` (or its parts on several threads,
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
from ._epoch import part_count, run_epoch
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


def _check_call(estimator, X, incremental):
    if estimator.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if estimator.noise_std > 0 and sp.issparse(X):
        raise ValueError(
            "noise_std > 0 needs dense X: Gaussian noise on every entry would make "
            "a sparse X dense. Convert X with X.toarray(), or use input_dropout, "
            "which keeps zeros at zero."
        )


def _validation_split(estimator, X, Y, y_labels, sample_weight, random_state):
    """``(train, validation)``: each ``(X, Y, y_labels, sample_weight)``.

    The indices come from scikit-learn's own call, so the split is its split.
    """
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
    return tuple(
        tuple(a[part] for a in (X, Y, y_labels, sample_weight)) for part in (train, val)
    )


def _batch_size(estimator, n_samples):
    if estimator.batch_size == "auto":
        return min(200, n_samples)
    if estimator.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than "
            "sample size. It is going to be clipped",
            stacklevel=5,
        )
    return int(np.clip(estimator.batch_size, 1, n_samples))


def _optimizer_state(estimator, params, continued):
    """The optimizer's state: a copy of the saved one when ``continued``.

    A copy, so that an interrupted or failed call leaves the saved state intact.
    The velocity of SGD and the first moment of Adam share the "first" slot.
    """
    state = estimator._optimizer_state
    if state is not None and (state["second"] is None) == (estimator.solver == "adam"):
        # Saved by the other solver (``solver`` changed between calls): its
        # moments mean nothing to this one, which starts afresh.
        state = None
    if not continued or state is None:
        return {
            "first": np.zeros_like(params),
            "second": np.zeros_like(params) if estimator.solver == "adam" else None,
            "step": 0,
            "learning_rate": float(estimator.learning_rate_init),
        }
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}


class _Progress:
    """The bookkeeping of one call's epochs: counts, curves and the best so far.

    A fresh convergence state on every call of fit (scikit-learn keeps the old one
    on warm starts, so a refit with a new alpha stops after one epoch); the curves
    continue those of the estimator.
    """

    def __init__(self, estimator, params):
        self.n_iter = 0
        self.t = estimator.t_
        self.loss = getattr(estimator, "loss_", None)
        self.curves = tuple(
            list(getattr(estimator, name, None) or [])
            for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_")
        )
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_params = params.copy()
        self.no_improvement = 0

    _SCALARS = (
        "n_iter",
        "t",
        "loss",
        "best_loss",
        "best_validation_score",
        "best_params",
        "no_improvement",
    )

    def snapshot(self):
        scalars = tuple(getattr(self, name) for name in self._SCALARS)
        return scalars, tuple(len(curve) for curve in self.curves)

    def restore(self, snapshot):
        scalars, lengths = snapshot
        for name, value in zip(self._SCALARS, scalars):
            setattr(self, name, value)
        for curve, length in zip(self.curves, lengths):
            del curve[length:]

    def add(self, epoch_loss, n_samples):
        """Count a completed epoch of ``n_samples`` samples."""
        self.n_iter += 1
        self.loss = epoch_loss
        self.t += n_samples
        self.curves[0].append(epoch_loss)

    def record(self, estimator, score, params, scored_only):
        """Count an epoch towards a stop, and keep the best; see ``fit_stochastic``."""
        tol = estimator.tol
        if estimator.early_stopping:
            if estimator.verbose:
                print("Validation score: %f" % score)
            if scored_only:
                return
            if score < self.best_validation_score + tol:
                self.no_improvement += 1
            else:
                self.no_improvement = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                self.best_params = params.copy()
        else:
            if self.loss > self.best_loss - tol:
                self.no_improvement += 1
            else:
                self.no_improvement = 0
            self.best_loss = min(self.best_loss, self.loss)

    def write(self, estimator, state):
        estimator.n_iter_ = self.n_iter
        estimator.t_ = self.t
        estimator.loss_ = self.loss
        estimator.loss_curve_ = self.curves[0]
        estimator._optimizer_state = state
        if estimator.early_stopping:
            estimator.validation_scores_ = self.curves[1]
            estimator.validation_loss_curve_ = self.curves[2]
            estimator.best_validation_score_ = self.best_validation_score
            estimator.best_loss_ = None
        else:
            estimator.best_loss_ = self.best_loss


class _Checkpoint:
    """The state at the end of the last completed epoch.

    A kernel updates the weights and the optimizer's moments in place, batch by
    batch, so an epoch that overflows or is interrupted is undone from this copy.
    ``save`` is whole or not at all: a Ctrl-C half-way would pair the weights of
    one epoch with the bookkeeping of another.
    """

    def __init__(self, params, state, progress):
        self._params, self._state, self._progress = params, state, progress
        self._weights = params.copy()
        self._moments = [m.copy() for m in self._live_moments()]
        self.save()

    def _live_moments(self):
        return [
            m for m in (self._state["first"], self._state["second"]) if m is not None
        ]

    def save(self):
        with deferred_interrupts():
            self._weights[:] = self._params
            for saved, m in zip(self._moments, self._live_moments()):
                saved[:] = m
            self._scalars = (
                self._state["step"],
                self._state["learning_rate"],
                self._progress.snapshot(),
            )

    def restore(self):
        self._params[:] = self._weights
        for saved, m in zip(self._moments, self._live_moments()):
            m[:] = saved
        self._state["step"], self._state["learning_rate"], snapshot = self._scalars
        self._progress.restore(snapshot)


def _stop_message(estimator, state):
    """After too many epochs without progress: None to go on, else the message.

    Adaptive SGD lowers its learning rate instead, until the rate is too small.
    """
    if estimator.early_stopping:
        msg = (
            "Validation score did not improve more than "
            "tol=%f for %d consecutive epochs."
            % (estimator.tol, estimator.n_iter_no_change)
        )
    else:
        msg = (
            "Training loss did not improve more than tol=%f"
            " for %d consecutive epochs." % (estimator.tol, estimator.n_iter_no_change)
        )
    adaptive = estimator.solver == "sgd" and estimator.learning_rate == "adaptive"
    new_rate = adaptive_decrease(state["learning_rate"]) if adaptive else None
    if new_rate is not None:
        state["learning_rate"] = new_rate
        if estimator.verbose:
            print(msg + " Setting learning rate to %f" % new_rate)
        return None
    return msg + (" Learning rate too small." if adaptive else "") + " Stopping."


_LINE = 64


def _lines(size, dtype):
    """``np.empty(size, dtype)`` starting on a cache line."""
    dtype = np.dtype(dtype)
    raw = np.empty(size * dtype.itemsize + _LINE, dtype=np.uint8)
    skip = -raw.ctypes.data % _LINE
    return raw[skip : skip + size * dtype.itemsize].view(dtype)


class _EpochKernel:
    """One fit's epoch kernel with its buffers, planned once: ``run`` an epoch.

    A fit whose batches are not tiny splits each in parts, which several threads
    share (``_epoch.run_epoch_parts`` on ``workers``); the parts share the
    work buffers planned for a whole batch, each with gradient sums of its own.
    """

    def __init__(self, estimator, data, params, layout, alphas, dropout, plan):
        X, Y, sample_weight = data
        batch_size, random_state, state, workers = plan
        stochastic = bool(
            np.any(dropout > 0)
            or estimator.input_dropout > 0
            or estimator.noise_std > 0
        )
        seed = random_state.randint(np.iinfo(np.int32).max) if stochastic else 0
        self.cfg = estimator._config(X.dtype, seed)
        gather = bool(
            estimator.shuffle or estimator.input_dropout > 0 or estimator.noise_std > 0
        )
        n_parts = part_count(batch_size, int(layout.coef_offsets[-1]))
        self.split = n_parts > 1
        # Relu units keep no dropout factors: their outputs after dropout give
        # the backward pass all it needs (``_activations.relu_dropout``).
        stored = np.zeros_like(dropout) if estimator.activation == "relu" else dropout
        offsets, size = layout.work_offsets(
            batch_size, gather and not sp.issparse(X), stored
        )
        work = _lines(size, X.dtype)
        # Each part's gradient sums, the first part's in the gradient itself; the
        # parts' rows start on cache lines of their own, as the work buffer does:
        # two threads writing one line would pass it between their cores.
        width = -(-params.size * params.dtype.itemsize // _LINE) * _LINE
        grads = _lines(n_parts * width // params.dtype.itemsize, params.dtype)
        grads = grads.reshape(n_parts, -1)
        grad = grads[0, : params.size]
        self._rows = np.empty(batch_size, dtype=np.int64)
        threads = min(_parallel.available_threads(), n_parts)
        self._parts = (n_parts, grads)
        self.workers = EpochWorkers() if workers is None else workers
        self.workers.threads = threads
        self.workers.problem = (
            tuple(layout.units),
            batch_size,
            X.dtype.str,
            sp.issparse(X),
        )
        self.workers.samples = X.shape[0]
        adam = state["second"] is not None
        self._n_samples, self._batch_size = X.shape[0], batch_size
        self._shuffle, self._random_state = estimator.shuffle, random_state
        self._sample_index = np.arange(X.shape[0], dtype=np.int64)
        self._data = (*estimator._kernel_input(X), (Y, sample_weight))
        self._buffers = (
            params,
            grad,
            None if adam else state["first"],
            (state["first"], state["second"]) if adam else None,
            layout.layers(alphas),
            estimator._kernel_dropout(dropout),
            (work, offsets),
            self.cfg,
            estimator._constraints(),
        )

    def run(self, state):
        """One epoch; returns its mean objective and advances ``state["step"]``."""
        order = _EMPTY_INT
        if self._shuffle:
            # The draw of sklearn.utils.shuffle (a permutation of arange applied
            # to the current order), without its input checks.
            self._random_state.shuffle(self._sample_index)
            order = self._sample_index
        epoch = (
            order,
            self._n_samples,
            self._batch_size,
            self._rows,
            state["step"],
            state["learning_rate"],
        )
        arguments = (*self._data, epoch, *self._buffers)
        if self.split:
            accumulated, state["step"] = self.workers.epoch((*arguments, self._parts))
        else:
            accumulated, state["step"] = run_epoch(*arguments)
        return accumulated / self._n_samples


class _Reporter:
    """What ``verbose`` prints after each epoch.

    verbose >= 2 adds the penalty, the validation loss, the sparsity, the learning
    rate and the time to scikit-learn's "Iteration" line, which scripts read, and
    keeps its other lines.
    """

    def __init__(self, estimator, params, layout, alphas, cfg):
        self._verbose = estimator.verbose
        self._params, self._layout, self._alphas, self._cfg = (
            params,
            layout,
            alphas,
            cfg,
        )

    def start(self, state):
        if self._verbose >= 2:
            self._start = time.perf_counter()
            self._rate = state["learning_rate"]

    def end(self, progress, validated):
        if not self._verbose:
            return
        line = _EPOCH_LINE % (progress.n_iter, progress.loss)
        if self._verbose >= 2:
            penalty = total_penalty(
                self._params, self._layout.layers(self._alphas), self._cfg
            )
            zero_fraction, active, n_hidden = _weight_sparsity(
                self._params, self._layout
            )
            validation = "%.8f" % progress.curves[2][-1] if validated else "-"
            line += _EPOCH_DETAILS % (
                penalty,
                validation,
                zero_fraction,
                "%d/%d" % (active, n_hidden),
                self._rate,
                time.perf_counter() - self._start,
            )
        print(line)


class _Validation:
    """The held-out data of early stopping, scored after each epoch."""

    def __init__(self, estimator, data, layout, alphas, cfg):
        self._estimator, self._layout, self._alphas, self._cfg = (
            estimator,
            layout,
            alphas,
            cfg,
        )
        self._X, self._Y, self._y, self._sample_weight = data

    def score(self, params, progress):
        """The epoch's validation score; appends it and the loss to the curves."""
        estimator, layout = self._estimator, self._layout
        # On this thread alone: a fit's memory stays that of a few chunks,
        # whatever the threads at hand.
        output = forward_output(estimator, self._X, *layout.unpack(params), threads=1)
        score = estimator._score_output(self._y, output, self._sample_weight)
        _, validation_scores, validation_losses = progress.curves
        validation_scores.append(score)
        validation_losses.append(
            objective(
                estimator,
                output,
                self._Y,
                self._sample_weight,
                params,
                layout,
                self._alphas,
                self._cfg,
            )
        )
        return score


def _discard(epoch_loss, progress, checkpoint, hooks):
    """Undo an epoch whose loss or weights are not finite; raise if none is left."""
    checkpoint.restore()
    if hooks is not None:
        hooks.abandon()
    if progress.n_iter == 0:
        # No epoch of this call gave a finite model to keep: scikit-learn's
        # error, and the estimator stays as it was.
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may "
            "contain large values and need to be preprocessed."
        )
    warnings.warn(
        f"The training loss became {epoch_loss} at epoch {progress.n_iter + 1}; "
        "training stopped there and the weights of the last finite epoch were "
        "kept. Lower learning_rate_init, scale the input features, or increase "
        "alpha.",
        ConvergenceWarning,
        stacklevel=5,
    )


def _end_of_epoch(estimator, state, progress, incremental):
    """The learning-rate schedule and the stopping rules: True to stop."""
    if estimator.solver == "sgd" and estimator.learning_rate == "invscaling":
        state["learning_rate"] = invscaling_rate(
            estimator.learning_rate_init, estimator.power_t, progress.t
        )
    if progress.no_improvement > estimator.n_iter_no_change:
        message = _stop_message(estimator, state)
        if message is not None:
            if estimator.verbose:
                print(message)
            return True
        progress.no_improvement = 0
    if incremental:
        return True
    if progress.n_iter == estimator.max_iter:
        warnings.warn(
            "Stochastic Optimizer: Maximum iterations (%d) reached and the "
            "optimization hasn't converged yet." % estimator.max_iter,
            ConvergenceWarning,
            stacklevel=5,
        )
    return False


def fit_stochastic(
    estimator,
    data,
    params,
    layout,
    alphas,
    dropout,
    random_state,
    incremental,
    *,
    keep_optimizer=False,
    hooks=None,
    early_stopping_warmup=0,
    reraise_interrupt=False,
    workers=None,
):
    """Train ``params`` in place by sgd or adam; returns the weights to keep.

    ``data`` is ``(X, Y, y_labels, sample_weight)``. Under early stopping, the
    first ``early_stopping_warmup`` epochs are scored but never kept as the best,
    nor counted towards a stop. ``reraise_interrupt`` passes a Ctrl-C on even
    after completed epochs. Writes the fitted attributes of the epochs
    (``n_iter_``, ``loss_curve_``, ...) to ``estimator``.
    """
    X, Y, y_labels, sample_weight = data
    _check_call(estimator, X, incremental)
    validation = None
    if estimator.early_stopping:
        (X, Y, y_train, sample_weight), validation = _validation_split(
            estimator, X, Y, y_labels, sample_weight, random_state
        )
        if hooks is not None:
            hooks.use_data(X, y_train, sample_weight)
    batch_size = _batch_size(estimator, X.shape[0])
    state = _optimizer_state(estimator, params, incremental or keep_optimizer)
    plan = (batch_size, random_state, state, workers)
    kernel = _EpochKernel(
        estimator, (X, Y, sample_weight), params, layout, alphas, dropout, plan
    )
    if validation is not None:
        validation = _Validation(estimator, validation, layout, alphas, kernel.cfg)
    reporter = _Reporter(estimator, params, layout, alphas, kernel.cfg)
    progress = _Progress(estimator, params)
    checkpoint = _Checkpoint(params, state, progress)
    try:
        for _ in range(estimator.max_iter):
            checkpoint.save()
            if hooks is not None:
                hooks.begin("epoch", params)
            reporter.start(state)
            epoch_loss = kernel.run(state)
            if not (np.isfinite(epoch_loss) and np.all(np.isfinite(params))):
                _discard(epoch_loss, progress, checkpoint, hooks)
                break
            progress.add(epoch_loss, X.shape[0])
            score = None if validation is None else validation.score(params, progress)
            reporter.end(progress, validation is not None)
            scored_only = progress.n_iter <= early_stopping_warmup
            progress.record(estimator, score, params, scored_only)
            # A callback's request to stop ends the training at this epoch.
            if hooks is not None and hooks.end(params):
                break
            if _end_of_epoch(estimator, state, progress, incremental):
                break
    except KeyboardInterrupt:
        # The interrupted epoch is discarded, bookkeeping included: the model
        # is that of the last completed epoch. With none completed, the
        # interrupt propagates and the call leaves the estimator as it was.
        if hooks is not None:
            hooks.abandon()
        checkpoint.restore()
        if progress.n_iter == 0 or reraise_interrupt:
            raise
        warnings.warn(
            f"Training interrupted by user after {progress.n_iter} completed "
            "epochs; the model of the last completed epoch was kept.",
            stacklevel=4,
        )
    finally:
        kernel.workers.close()

    if validation is not None and np.isfinite(progress.best_validation_score):
        params = progress.best_params
    progress.write(estimator, state)
    return params
