"""One whole epoch in a kernel: every minibatch's gradient and optimizer step.

Numba owns one epoch; Python owns the loop over epochs (``_mlp``). Adam's second
moments (None for SGD) and the weight constraints are passed as None when off, so
that a fit compiles only the code it runs. ``run_epoch_halves`` splits every batch
in two halves that two workers share (``_parallel.EpochWorkers``), meeting at the
barriers of ``_barrier``.
"""

import numpy as np
from numba import njit

from ._barrier import STRIDE, barrier
from ._compile import JIT as _JIT
from ._gradient import data_gradient, finish_gradient
from ._optimizers import adam_step, block_part, constrain_weights, sgd_step

# Fits whose batches take at least this many multiply-adds in their products
# (batch size times the number of weights) split every batch in two halves, which
# two threads can share. The choice depends on the problem alone, never on the
# threads at hand, so a fit's results do not depend on them. Below it, the two
# threads' meetings cost more than the second core saves; the measurements that
# set it are on the performance page ("Two threads per batch").
HALVES_MIN_WORK = 1 << 17


@njit(**_JIT)
def run_epoch(
    X,
    csr,
    targets,
    epoch,
    params,
    grad,
    velocity,
    moments,
    layers,
    dropout,
    workspace,
    cfg,
    constraints,
):
    """One pass over the data in minibatches, each followed by an optimizer step.

    ``X``, ``csr``, ``targets``, ``layers``, ``dropout`` and ``workspace`` are
    ``_gradient.data_gradient``'s. ``epoch`` is ``(order, n_samples, batch_size,
    rows, step, learning_rate)``: the samples in the order to take them (empty
    for ``0..n_samples``), the batch size, an int64 buffer of ``batch_size``
    entries, the number of steps taken so far and the learning rate. The
    optimizer's buffers say which optimizer steps: SGD takes ``velocity``
    (``moments`` None), Adam ``moments = (first, second)`` (``velocity`` None).
    ``constraints`` is None, or ``(max_norm, weight_decay)`` applied after each
    step (``max_norm <= 0`` for no cap). The arguments that may be None stay
    apart, so that Numba prunes the code they switch off. Returns the sum over
    batches of ``objective * batch size`` and the new step count.
    """
    order, n_samples, batch_size, rows, step, learning_rate = epoch
    accumulated = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        step += 1
        # batch_objective_gradient's body, written out: an inlined function that
        # inlines another costs more compile time than one level of inlining.
        batch = (order, start, stop, np.int64(0), rows, step)
        loss_sum, weight_sum = data_gradient(
            X, csr, targets, batch, params, grad, layers, dropout, workspace, cfg
        )
        normalizer = weight_sum if weight_sum > 0.0 else 1.0
        inverse = params.dtype.type(1.0 / normalizer)
        penalty = finish_gradient(grad, params, layers, cfg, inverse, None)
        objective = loss_sum / normalizer + penalty
        accumulated += objective * (stop - start)
        if velocity is not None:
            sgd_step(params, grad, velocity, learning_rate, layers, cfg, None)
        if moments is not None:
            adam_step(params, grad, moments, step, layers, cfg, None)
        if constraints is not None:
            max_norm, weight_decay = constraints
            rate = learning_rate if moments is None else cfg.learning_rate_init
            # The gradient is spent once the step is taken: its buffer is the
            # scratch space of the constraints.
            constrain_weights(params, layers, max_norm, rate * weight_decay, grad)
    return accumulated, step


@njit(**_JIT)
def _add_part(grad, other, units, coef_offsets, part):
    """``grad += other`` on the entries of ``part`` (``_optimizers.block_part``)."""
    for block in range(coef_offsets.shape[0]):
        start, stop = block_part(grad, units, coef_offsets, block, part)
        for i in range(start, stop):
            grad[i] += other[i]


def half_rows(batch_size):
    """Rows of the first half of a batch of ``batch_size`` rows: even, at least half.

    Even, so that the second half's dropout factors start on a whole random word
    (``_activations.dropout_derivative``).
    """
    return min(batch_size, (batch_size + 3) // 4 * 2)


_half_rows = njit(**_JIT)(half_rows)


@njit(**_JIT)
def run_epoch_halves(
    X,
    csr,
    targets,
    epoch,
    params,
    grads,
    velocity,
    moments,
    layers,
    dropout,
    workspaces,
    cfg,
    constraints,
    team,
):
    """``run_epoch`` with every batch split in two halves, for one or two workers.

    Each batch's first ``half_rows(size)`` samples are one half, the rest the
    other. A step computes each half's data gradient (``data_gradient``) into its
    own row of ``rows`` (in ``epoch``), ``grads`` and ``works`` (``workspaces =
    (works, work_offsets)``, each planned for ``half_rows(batch_size)`` samples);
    then, over each part of the parameters (``_optimizers.block_part``), adds the
    two, finishes the gradient and takes the optimizer step; then the
    constraints.

    ``team`` is ``(worker, flags, shared)``. ``worker`` is -1 to do both halves
    and both parts in this thread, or 0 or 1 to do one of each while another
    thread calls this kernel with the other number and the same arrays: the two
    meet at ``_parallel.barrier`` on ``flags`` (``_parallel.FLAGS_SIZE`` zeros),
    and exchange each half's sums through ``shared`` (float64, ``2 *
    _parallel.STRIDE`` entries). Every sum is taken in the same order either way,
    so the results do not depend on the number of threads. Returns what
    ``run_epoch`` returns.
    """
    order, n_samples, batch_size, rows, step, learning_rate = epoch
    units, coef_offsets, _, _ = layers
    works, work_offsets = workspaces
    worker, flags, shared = team
    accumulated = 0.0
    first_part = 1 if worker == 1 else 0
    last_part = 0 if worker == 0 else 1
    count = 0
    grad = grads[0]
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        step += 1
        middle = start + _half_rows(stop - start)
        for part in range(first_part, last_part + 1):
            low = start if part == 0 else middle
            high = middle if part == 0 else stop
            loss_sum = 0.0
            weight_sum = 0.0
            if high > low:
                batch = (order, low, high, np.int64(low - start), rows[part], step)
                loss_sum, weight_sum = data_gradient(
                    X,
                    csr,
                    targets,
                    batch,
                    params,
                    grads[part],
                    layers,
                    dropout,
                    (works[part], work_offsets),
                    cfg,
                )
            else:
                grads[part][:] = 0
            shared[part * STRIDE] = loss_sum
            shared[part * STRIDE + 1] = weight_sum
        if worker >= 0:
            count += 1
            barrier(flags, worker, count)
        loss_sum = shared[0] + shared[STRIDE]
        weight_sum = shared[1] + shared[STRIDE + 1]
        normalizer = weight_sum if weight_sum > 0.0 else 1.0
        inverse = params.dtype.type(1.0 / normalizer)
        for part in range(first_part, last_part + 1):
            _add_part(grad, grads[1], units, coef_offsets, part)
            shared[part * STRIDE + 2] = finish_gradient(
                grad, params, layers, cfg, inverse, part
            )
            if velocity is not None:
                sgd_step(params, grad, velocity, learning_rate, layers, cfg, part)
            if moments is not None:
                adam_step(params, grad, moments, step, layers, cfg, part)
        if constraints is not None:
            # A unit's norm spans both parts' rows: one worker takes this step
            # once both have updated their parts.
            if worker >= 0:
                count += 1
                barrier(flags, worker, count)
            if worker <= 0:
                max_norm, weight_decay = constraints
                rate = learning_rate if moments is None else cfg.learning_rate_init
                constrain_weights(params, layers, max_norm, rate * weight_decay, grad)
        if worker >= 0:
            count += 1
            barrier(flags, worker, count)
        objective = loss_sum / normalizer + (shared[2] + shared[STRIDE + 2])
        accumulated += objective * (stop - start)
    return accumulated, step
