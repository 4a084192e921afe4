"""One whole epoch in a kernel: every minibatch's gradient and optimizer step.

Numba owns one epoch; Python owns the loop over epochs (``_mlp``). Adam's second
moments (None for SGD) and the weight constraints are passed as None when off, so
that a fit compiles only the code it runs. ``run_epoch_parts`` splits every batch
in parts, fixed by the batch's work, that several workers share
(``_parallel.EpochWorkers``), meeting at the barriers of ``_barrier``.
"""

import numpy as np
from numba import njit

from ._barrier import STRIDE, barrier
from ._compile import JIT as _JIT
from ._gradient import (
    finish_gradient,
    first_penalty,
    forward_backward,
    weight_gradient,
)
from ._optimizers import (
    adam_step,
    block_part,
    constrain_weights,
    first_layer_step,
    sgd_step,
)
from ._penalties import first_layer_open

# A batch of at least ``SPLIT_WORK`` multiply-adds in its products (rows times
# the number of weights) is split in two parts, and in more, up to
# ``MAX_PARTS``, when each keeps at least ``PART_ROWS`` rows: the BLAS takes
# longer over the same products in smaller pieces (1.15 times over parts of 64
# rows, 1.3 times over 32, on one thread), which a machine of two cores would
# pay. The count depends on the problem alone, never on the threads at hand, so
# a fit's results do not depend on them; the measurements are on the
# performance page ("Parts of a batch").
SPLIT_WORK = 1 << 17
PART_ROWS = 256
MAX_PARTS = 16


def part_count(batch_size, n_weights):
    """The number of parts the batches of a fit are split in (1: not split)."""
    if batch_size * n_weights < SPLIT_WORK:
        return 1
    return int(max(2, min(MAX_PARTS, batch_size // PART_ROWS)))


def part_rows(size, count):
    """Rows of each part of a batch of ``size`` rows split in ``count`` (the last
    part may have fewer, or none): even, so that every part's dropout factors
    start on a whole random word (``_activations.dropout_derivative``)."""
    return 2 * -(-size // (2 * count))


_part_rows = njit(**_JIT)(part_rows)


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
    ``_gradient.forward_backward``'s. ``epoch`` is ``(order, n_samples, batch_size,
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
    biases = grad[layers[1][-1] :]
    accumulated = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        step += 1
        # batch_objective_gradient's body, written out: an inlined function that
        # inlines another costs more compile time than one level of inlining.
        batch = (order, start, stop, np.int64(0), rows, step)
        loss_sum, weight_sum = forward_backward(
            X, csr, targets, batch, params, biases, layers, dropout, workspace, cfg
        )
        weight_gradient(X, csr, batch, grad, layers, dropout, workspace, cfg)
        normalizer = weight_sum if weight_sum > 0.0 else 1.0
        inverse = params.dtype.type(1.0 / normalizer)
        penalty = finish_gradient(grad, params, layers, cfg, inverse, None)
        objective = loss_sum / normalizer + penalty
        accumulated += objective * (stop - start)
        if velocity is not None:
            sgd_step(params, grad, velocity, learning_rate, layers, cfg, None)
            first_layer_step(params, None, learning_rate, layers, cfg)
        if moments is not None:
            lr = adam_step(params, grad, moments, step, layers, cfg, None)
            first_layer_step(params, moments[1], lr, layers, cfg)
        if constraints is not None:
            max_norm, weight_decay = constraints
            rate = learning_rate if moments is None else cfg.learning_rate_init
            # The gradient is spent once the step is taken: its buffer is the
            # scratch space of the constraints.
            constrain_weights(params, layers, max_norm, rate * weight_decay, grad)
    return accumulated, step


@njit(**_JIT)
def _add_parts(grad, grads, units, coef_offsets, part):
    """``grad += grads[1] + ...`` on the entries of ``part``
    (``_optimizers.block_part``), one part after the other."""
    for block in range(coef_offsets.shape[0]):
        start, stop = block_part(grad, units, coef_offsets, block, part)
        for other in range(1, grads.shape[0]):
            for i in range(start, stop):
                grad[i] += grads[other, i]


@njit(**_JIT)
def run_epoch_parts(
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
    parts,
    team,
):
    """``run_epoch`` with every batch split in parts, for one or more workers.

    ``parts`` is ``(count, grads)``: each batch's rows are split in ``count``
    parts of ``part_rows(size, count)`` rows, and ``grads`` (``count`` rows of at
    least ``params.size`` entries) holds each part's gradient sums in its first
    ``params.size`` entries; those of its first row are ``grad``, the gradient the
    optimizer takes. A step takes three phases:

    1. each part's forward and backward pass (``forward_backward``), which writes
       the part's rows of the work blocks (planned for the whole batch), and its
       gradient sums (``weight_gradient``) into its row of ``grads``;
    2. a barrier: every part's sums are in ``grads``;
    3. over each of ``count`` parts of the parameters
       (``_optimizers.block_part``), the parts' sums added in the order of the
       parts, the gradient finished (``finish_gradient``) and the optimizer step;

    then the constraints, and a last barrier. Every sum is taken in an order that
    ``count`` fixes, and ``count`` depends on the problem alone: the results do not
    depend on the number of workers.

    ``team`` is ``(worker, n_workers, flags, shared)``. ``worker`` is -1 to do
    every part in this thread, or one of ``0 .. n_workers - 1`` to do parts
    ``worker, worker + n_workers, ...`` of each phase while other threads call
    this kernel with the other numbers and the same arrays (``n_workers <=
    count``). They meet at ``_barrier.barrier`` on ``flags``
    (``_barrier.flags_size(n_workers)`` zeros) and exchange each part's sums
    through ``shared`` (float64, ``count * _barrier.STRIDE`` entries), added up in
    the order of the parts. Returns what ``run_epoch`` returns.
    """
    order, n_samples, batch_size, rows, step, learning_rate = epoch
    units, coef_offsets, _, _ = layers
    count, grads = parts
    worker, n_workers, flags, shared = team
    first = max(worker, 0)
    stride = n_workers if worker >= 0 else 1
    first_bias = coef_offsets[-1]
    accumulated = 0.0
    meetings = 0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        step += 1
        chunk = _part_rows(stop - start, count)
        for part in range(first, count, stride):
            low = min(start + part * chunk, stop)
            high = min(low + chunk, stop)
            loss_sum = 0.0
            weight_sum = 0.0
            sums = grads[part][: params.size]
            if high > low:
                batch = (order, low, high, np.int64(low - start), rows, step)
                loss_sum, weight_sum = forward_backward(
                    X,
                    csr,
                    targets,
                    batch,
                    params,
                    sums[first_bias:],
                    layers,
                    dropout,
                    workspace,
                    cfg,
                )
                weight_gradient(X, csr, batch, sums, layers, dropout, workspace, cfg)
            else:
                sums[:] = 0
            shared[part * STRIDE] = loss_sum
            shared[part * STRIDE + 1] = weight_sum
            # The first layer's penalty with factors or groups spans the parts:
            # taken whole here, before any part steps.
            if part == 0:
                shared[3] = first_penalty(params, layers, cfg)
        if worker >= 0:
            meetings += 1
            barrier(flags, worker, meetings, n_workers)
        loss_sum = 0.0
        weight_sum = 0.0
        for part in range(count):
            loss_sum += shared[part * STRIDE]
            weight_sum += shared[part * STRIDE + 1]
        normalizer = weight_sum if weight_sum > 0.0 else 1.0
        inverse = params.dtype.type(1.0 / normalizer)
        lr = learning_rate
        for part in range(first, count, stride):
            share = (np.int64(part), np.int64(count))
            _add_parts(grad, grads, units, coef_offsets, share)
            shared[part * STRIDE + 2] = finish_gradient(
                grad, params, layers, cfg, inverse, share
            )
            if velocity is not None:
                sgd_step(params, grad, velocity, learning_rate, layers, cfg, share)
            if moments is not None:
                lr = adam_step(params, grad, moments, step, layers, cfg, share)
        if constraints is not None or first_layer_open(0, cfg.first) == 0.0:
            # A unit's norm, and a group of features, span every part's rows:
            # one worker takes these steps once all have updated their parts
            # (worker 0 took part 0, so it has Adam's rate).
            if worker >= 0:
                meetings += 1
                barrier(flags, worker, meetings, n_workers)
            if worker <= 0:
                if moments is not None:
                    first_layer_step(params, moments[1], lr, layers, cfg)
                else:
                    first_layer_step(params, None, learning_rate, layers, cfg)
                if constraints is not None:
                    max_norm, weight_decay = constraints
                    rate = learning_rate if moments is None else cfg.learning_rate_init
                    constrain_weights(
                        params, layers, max_norm, rate * weight_decay, grad
                    )
        if worker >= 0:
            meetings += 1
            barrier(flags, worker, meetings, n_workers)
        penalty = shared[3]
        for part in range(count):
            penalty += shared[part * STRIDE + 2]
        objective = loss_sum / normalizer + penalty
        accumulated += objective * (stop - start)
    return accumulated, step
