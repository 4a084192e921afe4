"""The training kernels: one minibatch's objective and gradient, one whole epoch.

Numba owns one epoch (or, for lbfgs, one full-batch evaluation of the objective and
its gradient); Python owns the loop over epochs. A network is described by plain
arrays: ``params`` is the flat buffer of every weight matrix then every intercept
vector (``Layout`` gives the offsets), ``work`` is one buffer that holds each layer's
activations, back-propagated errors and dropout factors for the largest batch,
allocated once per fit. Scalars reach the kernels in a ``TrainConfig`` namedtuple.

``X`` reaches the kernels either dense (``X`` 2-D; ``indptr``, ``indices`` and
``data`` None) or as the three arrays of a CSR matrix (``X`` None). Options that a fit
may not use are passed as None when off: the CSR arrays, Adam's second moments (None
for SGD) and the weight constraints. Numba prunes a branch on ``x is None`` when it
compiles, so a fit compiles only the code paths it runs.
"""

import gc
import os
import threading
from collections import namedtuple

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, event
from numba.extending import intrinsic
from threadpoolctl import ThreadpoolController

from ._activations import (
    RELU,
    bias_activation,
    dropout_derivative,
    multiply_derivative,
    multiply_relu_kept,
    relu_dropout,
)
from ._interrupts import deferred_interrupts
from ._losses import bias_output_activation, loss_and_delta
from ._math import matrix_view
from ._optimizers import adam_step, block_part, constrain_weights, sgd_step
from ._parallel import FLAGS_SIZE, STRIDE, barrier
from ._penalties import group_norms, group_share, l2_share, value_from_sums
from ._penalties import value as penalty_value
from ._random import dropout_factor, normal, stream_key

_JIT = dict(cache=True, nogil=True, error_model="numpy")

TrainConfig = namedtuple(
    "TrainConfig",
    [
        "activation",  # int code, see _activations.ACTIVATIONS
        "smooth",  # _activations.smooth_marker(activation): None or True
        "loss",  # int code, see _losses.LOSSES
        "penalty",  # int code, see _penalties.PENALTIES
        "grouped",  # _penalties.group_marker(penalty): None or True
        "l1_ratio",
        "solver",  # int code, see _optimizers.OPTIMIZERS
        "momentum",
        "nesterov",
        "learning_rate_init",
        "beta_1",
        "beta_2",
        "epsilon",
        "input_dropout",
        "seed",  # key of the dropout / noise streams
        "eps",  # machine epsilon of the training dtype
        "noise_std",  # Gaussian input noise
    ],
    defaults=(0.0,),
)

# Stream number of the input noise, past the dropout streams (one per layer).
_NOISE_STREAM = 1 << 20


class Layout:
    """Offsets of each layer's weights, intercepts and work blocks in flat buffers.

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    """

    def __init__(self, layer_units):
        self.units = np.asarray(layer_units, dtype=np.int64)
        sizes = self.units[:-1] * self.units[1:]
        self.coef_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n_coefs = int(self.coef_offsets[-1])
        self.intercept_offsets = (
            n_coefs + np.concatenate([[0], np.cumsum(self.units[1:])])
        ).astype(np.int64)
        self.n_params = int(self.intercept_offsets[-1])

    @property
    def n_layers(self):
        return len(self.units)

    def work_offsets(self, batch_size, gather_input, dropout):
        """Offsets of the activation, error and dropout blocks, and the total size.

        Row 0 holds activation blocks (layer 0 is the gathered input batch, empty
        when the input is used in place), row 1 error blocks, row 2 dropout blocks
        (only for hidden layers with a positive rate).
        """
        n_layers = self.n_layers
        offsets = np.zeros((3, n_layers + 1), dtype=np.int64)
        position = 0
        for kind in range(3):
            for layer in range(n_layers):
                offsets[kind, layer] = position
                if kind == 0:
                    used = layer > 0 or gather_input
                elif kind == 1:
                    used = layer > 0
                else:
                    used = 0 < layer < n_layers - 1 and dropout[layer - 1] > 0
                if used:
                    position += batch_size * int(self.units[layer])
            offsets[kind, n_layers] = position
        return offsets, position

    def unpack(self, params):
        """Per-layer views ``(coefs, intercepts)`` into a flat parameter buffer."""
        coefs, intercepts = [], []
        for layer in range(self.n_layers - 1):
            start, end = self.coef_offsets[layer], self.coef_offsets[layer + 1]
            shape = (self.units[layer], self.units[layer + 1])
            coefs.append(params[start:end].reshape(shape))
            start, end = self.intercept_offsets[layer : layer + 2]
            intercepts.append(params[start:end])
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype):
        """A new flat buffer holding copies of ``coefs`` and ``intercepts``."""
        return np.concatenate(
            [np.ravel(c) for c in coefs] + [np.ravel(b) for b in intercepts]
        ).astype(dtype, copy=True)


@intrinsic
def _prefetch(typingctx, array, row, column):
    """A hint to fetch the cache line of ``array[row, column]`` (2-D) into cache.

    Only a hint: it never faults, whatever the address, and changes no result.
    """
    if not (isinstance(array, types.Array) and array.ndim == 2):
        return None

    def codegen(context, builder, signature, args):
        kind = signature.args[0]
        view = context.make_array(kind)(context, builder, args[0])
        indices = [
            context.cast(builder, value, signature.args[i + 1], types.intp)
            for i, value in enumerate(args[1:])
        ]
        pointer = cgutils.get_item_pointer(context, builder, kind, view, indices)
        i32 = ir.IntType(32)
        hint = ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32])
        fetch = cgutils.get_or_insert_function(builder.module, hint, "llvm.prefetch.p0")
        # A read, kept in every cache level, of data (not instructions).
        builder.call(fetch, [pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, row, column), codegen


# Rows a gather runs ahead of its copy with prefetches: enough for a row read from
# memory to arrive before its turn, few enough to leave it in the nearest cache.
_AHEAD = 32


# Reassociation lets LLVM vectorize the two sums of the penalty value, which change
# in their last bits only; the gradient's arithmetic has nothing to reassociate.
@njit(fastmath={"reassoc"}, **_JIT)
def _scale_add(g, scale, w, alpha):
    """``g = g * scale + alpha * w``; returns ``(sum(w**2), sum(|w|))``.

    The data term's mean, the smooth penalty's gradient and the sums the penalty's
    value needs, in one vectorized pass over the weights.
    """
    squares = 0.0
    absolutes = 0.0
    for i in range(g.shape[0]):
        v = w[i]
        g[i] = g[i] * scale + alpha * v
        x = float(v)
        squares += x * x
        absolutes += abs(x)
    return squares, absolutes


# Numba prunes a branch on ``x is None`` only where ``x`` is an argument, not a field
# of one: the marker is passed on as an argument here.
@njit(**_JIT)
def _group_norms(W, grouped):
    """``group_norms(W)``; compiled only when ``grouped`` is not None."""
    if grouped is not None:
        return group_norms(W)
    return 0.0


# The helpers below hold the code paths that only some fits take (CSR input, input
# dropout and noise, hidden dropout). Called under a guard on an argument that is
# None when the path is off, they are compiled only by the fits that take it, and
# they keep the inlined ``data_gradient`` small: Numba copies an inlined function's
# code for each caller, at a cost that grows faster than its length.


@njit(**_JIT)
def _sparse_input(data, k, dropout, rate, key, index):
    """Entry ``k`` of the CSR data, times its input-dropout factor when inputs drop.

    The forward and the backward pass draw the same factor for the same entry.
    """
    v = data[k]
    if dropout is not None:
        if rate > 0.0:
            v *= dropout_factor(key, index, rate)
    return v


@njit(**_JIT)
def _sparse_product(indptr, indices, data, rows, W, Z, dropout, rate, key, first):
    """``Z = X[rows] @ W`` for CSR ``X``; input dropout as ``_sparse_input``.

    Entry ``(r, j)`` of the batch has the dropout index ``first + r * n_in + j``.
    """
    n_in, n_out = W.shape
    Z[:] = 0.0
    for r in range(Z.shape[0]):
        row = rows[r]
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            v = _sparse_input(data, k, dropout, rate, key, first + r * n_in + j)
            for h in range(n_out):
                Z[r, h] += v * W[j, h]


@njit(**_JIT)
def _sparse_transposed_product(
    indptr, indices, data, rows, delta, G, dropout, rate, key, first
):
    """``G = X[rows].T @ delta`` for CSR ``X``, with ``_sparse_product``'s factors."""
    n_in, n_out = G.shape
    G[:] = 0.0
    for r in range(delta.shape[0]):
        row = rows[r]
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            v = _sparse_input(data, k, dropout, rate, key, first + r * n_in + j)
            for h in range(n_out):
                G[j, h] += v * delta[r, h]


@njit(**_JIT)
def _perturb_input(A0, rate, key, noise_std, noise_key, first):
    """In place: input dropout (``rate > 0``), then Gaussian noise (``noise_std``).

    Entry ``(r, j)`` of the batch draws index ``first + r * n_in + j`` of each
    stream.
    """
    size, n_in = A0.shape
    if rate > 0.0:
        for r in range(size):
            for j in range(n_in):
                A0[r, j] *= dropout_factor(key, first + r * n_in + j, rate)
    if noise_std > 0.0:
        for r in range(size):
            for j in range(n_in):
                A0[r, j] += noise_std * normal(noise_key, first + r * n_in + j)


@njit(**_JIT)
def _drop_hidden(Z, work, factors, activation, rate, key, offset):
    """Dropout on a hidden layer's output ``Z``, in place (``rate > 0``).

    Relu units need no stored factors (``relu_dropout``); the others keep ``f'(z)``
    times the dropout factor in the block of ``work`` that starts at ``factors``,
    so the backward pass needs neither the mask nor the activation before dropout
    (``dropout_derivative``).
    """
    if activation == RELU:
        relu_dropout(Z, rate, key, offset)
    else:
        D = matrix_view(work, factors, Z.shape[0], Z.shape[1])
        dropout_derivative(Z, D, activation, rate, key, offset)


@njit(**_JIT)
def _multiply_dropped(A, delta, work, factors, activation, rate, sums):
    """``multiply_derivative`` behind ``_drop_hidden``: ``delta *= factor * f'``."""
    if activation == RELU:
        keep = A.dtype.type(1.0 / (1.0 - rate))
        multiply_relu_kept(A, delta, keep, sums)
    else:
        D = matrix_view(work, factors, delta.shape[0], delta.shape[1])
        sums[:] = 0
        for r in range(delta.shape[0]):
            for h in range(delta.shape[1]):
                d = delta[r, h] * D[r, h]
                delta[r, h] = d
                sums[h] += d


# Inlined into its jitted callers (the epoch kernels) before typing: compiled as a
# callee of its own, its code was optimised and turned into machine code twice,
# once on its own and once inside the epoch kernel, about a sixth of a cold first
# fit. Inlining the smaller kernels as well costs more typing than it saves: Numba
# types every inlined copy anew.
@njit(inline="always", **_JIT)
def data_gradient(
    X,
    indptr,
    indices,
    data,
    Y,
    sample_weight,
    order,
    start,
    stop,
    offset,
    rows,
    params,
    grad,
    units,
    coef_offsets,
    intercept_offsets,
    dropout,
    work,
    work_offsets,
    cfg,
    step,
):
    """Weighted loss sum of some samples of a batch, and its gradient's sums.

    The samples are ``order[start:stop]`` (or ``start:stop`` when ``order`` is
    empty), the rows ``offset`` onwards of their batch: ``offset`` (even) places
    them in the batch's dropout and noise streams. ``rows`` is an int64 buffer of at
    least ``stop - start`` entries that receives their indices. Returns ``(loss
    sum, sum of sample weights)`` and writes into ``grad`` the data term's gradient
    before it is divided by the batch's weight: each weight matrix's ``A.T @
    delta`` and each intercept's column sums of ``delta``. ``step`` keys the
    dropout streams.
    Dense input is read in place (rows ``start:stop`` of ``X``) when ``work`` has no
    input block: the caller plans one whenever ``order`` is non-empty, or input
    dropout or noise is on (``Layout.work_offsets(..., gather_input=True, ...)``).
    """
    n_layers = units.shape[0]
    size = stop - start
    shuffled = order.shape[0] > 0
    # The sample index of each batch row, written into a buffer the caller
    # allocated once, so no batch allocates.
    for r in range(size):
        rows[r] = order[start + r] if shuffled else start + r

    # ---- input layer: the first product, dense or CSR
    n_in = units[0]
    n_hidden = units[1]
    W0 = matrix_view(params, coef_offsets[0], n_in, n_hidden)
    Z1 = matrix_view(work, work_offsets[0, 1], size, n_hidden)
    # Stream and block arguments are passed as int64 values, not constants: a
    # constant argument compiles a specialization of its own.
    # ``dropout`` is None when the fit draws no random numbers at all (no dropout
    # of any kind, no input noise): then none of that code is compiled.
    input_rate = cfg.input_dropout
    input_key = np.uint64(0)
    if dropout is not None:
        input_key = stream_key(cfg.seed, step, np.int64(0))
    first = offset * n_in
    gathered = work_offsets[0, 1] > work_offsets[0, 0]
    # Two guards rather than if / else: Numba prunes a branch only on a None
    # argument, so each path is guarded by the argument that is None without it.
    if indptr is not None:
        _sparse_product(
            indptr, indices, data, rows, W0, Z1, dropout, input_rate, input_key, first
        )
    if X is not None:
        if gathered:
            A0 = matrix_view(work, work_offsets[0, 0], size, n_in)
            # An explicit loop: a row-slice assignment costs about three times as
            # much.
            for r in range(size):
                row = rows[r]
                # Shuffled rows are scattered over X: read in turn, each would
                # wait for memory. Fetched some rows ahead (into the next batch
                # near the end), they arrive before their turn. Three hints cover
                # a row of up to three cache lines; a loop or a helper kernel
                # would add to a cold fit's compile time.
                if shuffled and start + r + _AHEAD < order.shape[0]:
                    ahead = order[start + r + _AHEAD]
                    _prefetch(X, ahead, 0)
                    _prefetch(X, ahead, n_in // 2)
                    _prefetch(X, ahead, n_in - 1)
                for j in range(n_in):
                    A0[r, j] = X[row, j]
            if dropout is not None:
                noise_key = stream_key(cfg.seed, step, np.int64(_NOISE_STREAM))
                _perturb_input(
                    A0, input_rate, input_key, cfg.noise_std, noise_key, first
                )
        else:
            A0 = X[start:stop]
        np.dot(A0, W0, Z1)

    # ---- forward through the layers
    for layer in range(n_layers - 1):
        n_out = units[layer + 1]
        Z = matrix_view(work, work_offsets[0, layer + 1], size, n_out)
        if layer > 0:
            A = matrix_view(work, work_offsets[0, layer], size, units[layer])
            W = matrix_view(params, coef_offsets[layer], units[layer], n_out)
            np.dot(A, W, Z)
        b = params[intercept_offsets[layer] : intercept_offsets[layer + 1]]
        if layer + 1 < n_layers - 1:
            bias_activation(Z, b, cfg.activation, cfg.smooth)
            # Nested, so that a fit without dropout compiles none of it.
            if dropout is not None:
                rate = dropout[layer]
                if rate > 0.0:
                    key = stream_key(cfg.seed, step, layer + 1)
                    factors = work_offsets[2, layer + 1]
                    _drop_hidden(
                        Z, work, factors, cfg.activation, rate, key, offset * n_out
                    )
        else:
            bias_output_activation(Z, b, cfg.loss)

    # ---- loss and the error at the output
    n_outputs = units[n_layers - 1]
    P = matrix_view(work, work_offsets[0, n_layers - 1], size, n_outputs)
    delta = matrix_view(work, work_offsets[1, n_layers - 1], size, n_outputs)
    loss_sum = loss_and_delta(P, Y, sample_weight, rows, delta, cfg.loss, cfg.eps)
    weight_sum = 0.0
    for r in range(size):
        weight_sum += sample_weight[rows[r]]

    # ---- backward
    for layer in range(n_layers - 2, -1, -1):
        n_out = units[layer + 1]
        delta = matrix_view(work, work_offsets[1, layer + 1], size, n_out)
        G = matrix_view(grad, coef_offsets[layer], units[layer], n_out)
        if layer == 0:
            if indptr is not None:
                _sparse_transposed_product(
                    indptr,
                    indices,
                    data,
                    rows,
                    delta,
                    G,
                    dropout,
                    input_rate,
                    input_key,
                    first,
                )
            if X is not None:
                np.dot(A0.T, delta, G)
        else:
            A = matrix_view(work, work_offsets[0, layer], size, units[layer])
            np.dot(A.T, delta, G)
        if layer == n_layers - 2:
            # Hidden layers' intercept gradients are summed in the pass that
            # applies the activation's derivative, below.
            gb = grad[intercept_offsets[layer] : intercept_offsets[layer + 1]]
            gb[:] = 0
            for r in range(size):
                for h in range(n_out):
                    gb[h] += delta[r, h]
        if layer > 0:
            previous = matrix_view(work, work_offsets[1, layer], size, units[layer])
            W = matrix_view(params, coef_offsets[layer], units[layer], n_out)
            np.dot(delta, W.T, previous)
            sums = grad[intercept_offsets[layer - 1] : intercept_offsets[layer]]
            rate = 0.0 if dropout is None else dropout[layer - 1]
            A = matrix_view(work, work_offsets[0, layer], size, units[layer])
            if rate > 0.0:
                # Pruned when the fit compiles without dropout.
                if dropout is not None:
                    factors = work_offsets[2, layer]
                    _multiply_dropped(
                        A, previous, work, factors, cfg.activation, rate, sums
                    )
            else:
                multiply_derivative(A, previous, cfg.activation, sums)
    return loss_sum, weight_sum


# Inlined as data_gradient is: compiled on its own, it cost a cold first fit about
# a tenth more compile time.
@njit(inline="always", **_JIT)
def finish_gradient(grad, params, units, coef_offsets, alphas, cfg, inverse, part):
    """From ``data_gradient``'s sums to the objective's gradient; the penalty value.

    Multiplies the sums by ``inverse`` (one over the batch's weight) and adds the
    smooth part of the penalty's gradient, on the entries of ``part`` (None for
    all, or 0 or 1: ``_optimizers.block_part``), and returns the penalty of that
    part's weights (the two parts' penalties add up to the whole).
    """
    cast = params.dtype.type
    l2 = l2_share(cfg.penalty, cfg.l1_ratio)
    group = group_share(cfg.penalty, cfg.l1_ratio)
    penalty = 0.0
    n_matrices = coef_offsets.shape[0] - 1
    for layer in range(n_matrices - 1, -1, -1):
        if part is None:
            start, stop = coef_offsets[layer], coef_offsets[layer + 1]
        else:
            start, stop = block_part(params, units, coef_offsets, layer, part)
        g = grad[start:stop]
        w = params[start:stop]
        squares, absolutes = _scale_add(g, inverse, w, cast(alphas[layer] * l2))
        groups = 0.0
        if group > 0.0:
            n_out = units[layer + 1]
            W = matrix_view(params, start, (stop - start) // n_out, n_out)
            groups = _group_norms(W, cfg.grouped)
        penalty += value_from_sums(
            squares, absolutes, groups, alphas[layer], cfg.penalty, cfg.l1_ratio
        )
    if part is None:
        start, stop = coef_offsets[n_matrices], grad.size
    else:
        start, stop = block_part(params, units, coef_offsets, n_matrices, part)
    for i in range(start, stop):
        grad[i] *= inverse
    return penalty


@njit(**_JIT)
def batch_objective_gradient(
    X,
    indptr,
    indices,
    data,
    Y,
    sample_weight,
    order,
    start,
    stop,
    rows,
    params,
    grad,
    units,
    coef_offsets,
    intercept_offsets,
    alphas,
    dropout,
    work,
    work_offsets,
    cfg,
    step,
):
    """Objective of one batch and its gradient, written into ``grad``.

    The batch is samples ``order[start:stop]`` (or ``start:stop`` when ``order`` is
    empty), as in ``data_gradient``. Returns ``(mean_loss + penalty, sum of sample
    weights)``, the objective being that batch's weighted mean loss plus the whole
    penalty, and ``grad`` its gradient (smooth part of the penalty only). ``step``
    keys the dropout streams.
    """
    loss_sum, weight_sum = data_gradient(
        X,
        indptr,
        indices,
        data,
        Y,
        sample_weight,
        order,
        start,
        stop,
        np.int64(0),
        rows,
        params,
        grad,
        units,
        coef_offsets,
        intercept_offsets,
        dropout,
        work,
        work_offsets,
        cfg,
        step,
    )
    # A batch whose samples all weigh zero has no data term (its loss and errors are
    # zero): it contributes the penalty alone, instead of 0 / 0.
    normalizer = weight_sum if weight_sum > 0.0 else 1.0
    inverse = params.dtype.type(1.0 / normalizer)
    penalty = finish_gradient(
        grad, params, units, coef_offsets, alphas, cfg, inverse, None
    )
    return loss_sum / normalizer + penalty, weight_sum


@njit(**_JIT)
def total_penalty(params, units, coef_offsets, alphas, cfg):
    """Penalty value summed over the weight matrices."""
    total = 0.0
    for layer in range(coef_offsets.shape[0] - 1):
        W = matrix_view(params, coef_offsets[layer], units[layer], units[layer + 1])
        total += penalty_value(W, alphas[layer], cfg.penalty, cfg.l1_ratio)
    return total


@njit(**_JIT)
def run_epoch(
    X,
    indptr,
    indices,
    data,
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
    second,
    step,
    learning_rate,
    units,
    coef_offsets,
    intercept_offsets,
    alphas,
    dropout,
    work,
    work_offsets,
    cfg,
    constraints,
):
    """One pass over the data in minibatches, each followed by an optimizer step.

    ``rows`` is an int64 buffer of ``batch_size`` entries. The optimizer's buffers
    say which optimizer steps: SGD takes ``velocity`` (``first`` and ``second``
    None), Adam the moments ``first`` and ``second`` (``velocity`` None). ``step`` is
    the number of steps taken so far. ``constraints`` is None, or
    ``(max_norm, weight_decay)`` applied after each step (``max_norm <= 0`` for no
    cap). Returns the sum over batches of ``objective * batch size`` and the new
    step count.
    """
    accumulated = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        step += 1
        # batch_objective_gradient's body, written out: an inlined function that
        # inlines another costs more compile time than one level of inlining.
        loss_sum, weight_sum = data_gradient(
            X,
            indptr,
            indices,
            data,
            Y,
            sample_weight,
            order,
            start,
            stop,
            np.int64(0),
            rows,
            params,
            grad,
            units,
            coef_offsets,
            intercept_offsets,
            dropout,
            work,
            work_offsets,
            cfg,
            step,
        )
        normalizer = weight_sum if weight_sum > 0.0 else 1.0
        inverse = params.dtype.type(1.0 / normalizer)
        penalty = finish_gradient(
            grad, params, units, coef_offsets, alphas, cfg, inverse, None
        )
        objective = loss_sum / normalizer + penalty
        accumulated += objective * (stop - start)
        if velocity is not None:
            sgd_step(
                params,
                grad,
                velocity,
                learning_rate,
                cfg.momentum,
                cfg.nesterov,
                units,
                coef_offsets,
                alphas,
                cfg.penalty,
                cfg.l1_ratio,
                cfg.grouped,
                None,
            )
        if second is not None:
            adam_step(
                params,
                grad,
                first,
                second,
                step,
                cfg.learning_rate_init,
                cfg.beta_1,
                cfg.beta_2,
                cfg.epsilon,
                units,
                coef_offsets,
                alphas,
                cfg.penalty,
                cfg.l1_ratio,
                cfg.grouped,
                None,
            )
        if constraints is not None:
            max_norm, weight_decay = constraints
            rate = learning_rate if second is None else cfg.learning_rate_init
            # The gradient is spent once the step is taken: its buffer is the
            # scratch space of the constraints.
            constrain_weights(
                params, units, coef_offsets, max_norm, rate * weight_decay, grad
            )
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
    indptr,
    indices,
    data,
    Y,
    sample_weight,
    order,
    n_samples,
    batch_size,
    rows,
    params,
    grads,
    velocity,
    first,
    second,
    step,
    learning_rate,
    units,
    coef_offsets,
    intercept_offsets,
    alphas,
    dropout,
    works,
    work_offsets,
    cfg,
    constraints,
    worker,
    flags,
    shared,
):
    """``run_epoch`` with every batch split in two halves, for one or two workers.

    Each batch's first ``half_rows(size)`` samples are one half, the rest the
    other. A step computes each half's data gradient (``data_gradient``) into its
    own row of ``rows``, ``grads`` and ``works`` (each planned for
    ``half_rows(batch_size)`` samples); then, over each part of the parameters
    (``_optimizers.block_part``), adds the two, finishes the gradient and takes
    the optimizer step; then the constraints.

    ``worker`` is -1 to do both halves and both parts in this thread, or 0 or 1 to
    do one of each while another thread calls this kernel with the other number
    and the same arrays: the two meet at ``_parallel.barrier`` on ``flags``
    (``_parallel.FLAGS_SIZE`` zeros), and exchange each half's sums through
    ``shared`` (float64, ``2 * _parallel.STRIDE`` entries). Every sum is taken in the
    same order either way, so the results do not depend on the number of threads.
    Returns what ``run_epoch`` returns.
    """
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
                loss_sum, weight_sum = data_gradient(
                    X,
                    indptr,
                    indices,
                    data,
                    Y,
                    sample_weight,
                    order,
                    low,
                    high,
                    np.int64(low - start),
                    rows[part],
                    params,
                    grads[part],
                    units,
                    coef_offsets,
                    intercept_offsets,
                    dropout,
                    works[part],
                    work_offsets,
                    cfg,
                    step,
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
                grad, params, units, coef_offsets, alphas, cfg, inverse, part
            )
            if velocity is not None:
                sgd_step(
                    params,
                    grad,
                    velocity,
                    learning_rate,
                    cfg.momentum,
                    cfg.nesterov,
                    units,
                    coef_offsets,
                    alphas,
                    cfg.penalty,
                    cfg.l1_ratio,
                    cfg.grouped,
                    np.int64(part),
                )
            if second is not None:
                adam_step(
                    params,
                    grad,
                    first,
                    second,
                    step,
                    cfg.learning_rate_init,
                    cfg.beta_1,
                    cfg.beta_2,
                    cfg.epsilon,
                    units,
                    coef_offsets,
                    alphas,
                    cfg.penalty,
                    cfg.l1_ratio,
                    cfg.grouped,
                    np.int64(part),
                )
        if constraints is not None:
            # A unit's norm spans both parts' rows: one worker takes this step
            # once both have updated their parts.
            if worker >= 0:
                count += 1
                barrier(flags, worker, count)
            if worker <= 0:
                max_norm, weight_decay = constraints
                rate = learning_rate if second is None else cfg.learning_rate_init
                constrain_weights(
                    params, units, coef_offsets, max_norm, rate * weight_decay, grad
                )
        if worker >= 0:
            count += 1
            barrier(flags, worker, count)
        objective = loss_sum / normalizer + (shared[2] + shared[STRIDE + 2])
        accumulated += objective * (stop - start)
    return accumulated, step


# Reassociation (and nothing more: infinities and NaN keep their meaning) lets the
# sum vectorize; x - x is 0 for a finite x and NaN otherwise.
@njit(fastmath={"reassoc"}, **_JIT)
def all_finite(X):
    """Whether every entry of a 2-D array is finite."""
    n, m = X.shape
    total = 0.0
    for i in range(n):
        for j in range(m):
            total += X[i, j] - X[i, j]
    return total == 0.0


@njit(**_JIT)
def forward(X, coefs, intercepts, activation, smooth, loss, chunk, out, check_finite):
    """``out`` = the network's output for the rows of a C-contiguous ``X``.

    ``coefs`` and ``intercepts`` are tuples of C-contiguous arrays in ``X``'s dtype.
    Rows are taken ``chunk`` at a time, so that each layer's block is still in cache
    when its activation is applied and the next product reads it, and so that the
    extra memory is two blocks of ``chunk`` rows whatever the number of rows. With
    ``check_finite``, each chunk of ``X`` is checked first, and False is returned at
    the first one that holds a NaN or an infinity.
    """
    n = X.shape[0]
    n_layers = len(coefs)
    widest = 1
    for layer in range(n_layers - 1):
        widest = max(widest, coefs[layer].shape[1])
    size = min(chunk, n) * widest
    buffers = (np.empty(size, dtype=X.dtype), np.empty(size, dtype=X.dtype))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        A = X[start:stop]
        if check_finite and not all_finite(A):
            return False
        rows = stop - start
        for layer in range(n_layers):
            W = coefs[layer]
            width = W.shape[1]
            if layer + 1 < n_layers:
                Z = matrix_view(buffers[layer % 2], 0, rows, width)
                np.dot(A, W, Z)
                bias_activation(Z, intercepts[layer], activation, smooth)
                A = Z
            else:
                Z = out[start:stop]
                np.dot(A, W, Z)
                bias_output_activation(Z, intercepts[layer], loss)
    return True


# Fits whose batches take at least this many multiply-adds in their products
# (batch size times the number of weights) split every batch in two halves, which
# two threads can share. The choice depends on the problem alone, never on the
# threads at hand, so a fit's results do not depend on them. Below it, measured
# here, the two threads' meetings cost more than the second core saves (10,000 x
# 20 with layers (32, 16) and batches of 64, 77,000 multiply-adds: a third slower
# in float32); above it (460,000 with layers (100,) and batches of 200, 1.5
# million on digits) the split saves a fifth to a third of an epoch.
HALVES_MIN_WORK = 1 << 17

_threads = {"lock": threading.Lock(), "busy": False, "blas": None, "libraries": None}
# Blocks of ``one_blas_thread`` under way in this process, and the BLAS's thread
# counts from before the first of them, restored when the last one ends.
_single = {"lock": threading.Lock(), "blocks": 0, "saved": None}
_per_thread = threading.local()


def _blas_controller():
    """A cached ``ThreadpoolController`` of the BLAS libraries of the process."""
    if _threads["blas"] is None:
        # Numba's np.dot calls the BLAS behind scipy's Cython bindings: load it
        # before the controller lists the libraries it can limit.
        import scipy.linalg.cython_blas  # noqa: F401

        _threads["blas"] = ThreadpoolController().select(user_api="blas")
    return _threads["blas"]


def _set_threads(controller, count):
    # threadpoolctl ignores a thread's request for a process-wide pool while
    # another thread "controls" it; the blocks below share the count by
    # reference counting instead, so any thread may set it.
    getattr(controller, "_real_set_num_threads", controller.set_num_threads)(count)


def _kernels_blas(controllers):
    """The controllers of the BLAS that Numba's ``np.dot`` calls: scipy's.

    NumPy's wheels bring a BLAS of their own, which the kernels never call, so a
    fit leaves its thread count alone. Where no library lies within scipy's
    installation (one BLAS shared by the environment), all of them.
    """
    import scipy

    root = os.path.realpath(os.path.dirname(scipy.__file__))
    # "scipy.libs" (Linux, Windows) and "scipy/.dylibs" (macOS) both start so.
    ours = [c for c in controllers if os.path.realpath(c.filepath).startswith(root)]
    return ours or list(controllers)


def _blas_libraries():
    if _threads.get("libraries") is None:
        controllers = _kernels_blas(_blas_controller().lib_controllers)
        # A BLAS on OpenMP takes its count per thread; the others, one for the
        # process.
        _threads["libraries"] = (
            [c for c in controllers if c.threading_layer != "openmp"],
            [c for c in controllers if c.threading_layer == "openmp"],
        )
    return _threads["libraries"]


def _blas_threads():
    shared, local = _blas_libraries()
    counts = _single["saved"]  # one read, atomic: no lock a Ctrl-C could keep
    if counts is None:
        counts = [c.num_threads for c in shared]
    counts = counts + getattr(_per_thread, "saved", [c.num_threads for c in local])
    return min(counts, default=1)


class one_blas_thread:
    """Within the block, the BLAS calls of the kernels run on one thread.

    A multi-threaded BLAS may split a product's work by its thread count, and
    some of its kernels (OpenBLAS's Haswell and Prescott ones among them) then
    round some entries differently, so results would depend on the machine's
    threads. Blocks may overlap, in one thread or in several: the counts from
    before the first are restored when the last ends, so that one fit's block
    never ends another's early. Entering and leaving cannot be cut short by a
    Ctrl-C, which would leave the BLAS at one thread for the rest of the process.
    """

    __slots__ = ("_counted", "_local")

    def __init__(self):
        self._counted = self._local = False

    def __enter__(self):
        try:
            self._enter()
            return self
        except BaseException:
            # Also a Ctrl-C that waited for the end of the entry: the block is
            # not entered, so its exit would never run.
            self.__exit__(None, None, None)
            raise

    def _enter(self):
        shared, local = _blas_libraries()
        with deferred_interrupts():
            with _single["lock"]:
                if _single["blocks"] == 0:
                    saved = [c.num_threads for c in shared]
                    for c, n in zip(shared, saved):
                        if n != 1:
                            _set_threads(c, 1)
                    _single["saved"] = saved
                _single["blocks"] += 1
                self._counted = True
            # The outermost block of this thread sets its per-thread counts.
            if local and getattr(_per_thread, "saved", None) is None:
                _per_thread.saved = [c.num_threads for c in local]
                self._local = True
                for c in local:
                    _set_threads(c, 1)

    def __exit__(self, kind, value, traceback):
        shared, local = _blas_libraries()
        with deferred_interrupts():
            if self._local:
                self._local = False
                for c, n in zip(local, _per_thread.saved):
                    _set_threads(c, n)
                del _per_thread.saved
            if self._counted:
                self._counted = False
                with _single["lock"]:
                    _single["blocks"] -= 1
                    if _single["blocks"] == 0:
                        for c, n in zip(shared, _single["saved"]):
                            if n != 1:
                                _set_threads(c, n)
                        _single["saved"] = None


def available_threads():
    """Threads an epoch or a prediction may use: the fewer of Numba's and the BLAS's.

    joblib lowers both in its worker processes, Dask's workers the BLAS's, and
    ``threadpoolctl.threadpool_limits`` the BLAS's within its block. Inside
    ``one_blas_thread``, the BLAS's count is the one from before the block.
    """
    return min(numba.config.NUMBA_NUM_THREADS, _blas_threads())


def _helper(arguments, flags, shared, errors):
    try:
        run_epoch_halves(*arguments, 1, flags, shared)
    except BaseException as error:  # pragma: no cover - the kernel does not raise
        errors.append(error)
        # Past every barrier of the epoch, so the other worker cannot wait forever.
        flags[STRIDE] = np.iinfo(np.int64).max


class EpochWorkers:
    """Runs the ``run_epoch_halves`` epochs of one fit on one or two threads.

    ``epoch(arguments)`` is ``run_epoch_halves(*arguments, worker, flags, shared)``
    on two threads when ``threads >= 2`` and no other fit of this process runs its
    epoch on two threads at this moment (two such fits would spin against each
    other for the cores): each then calls the BLAS single-threaded. The result is
    the same either way. The helper thread is started at the first epoch on two
    threads and waits for the next one, so that an epoch does not pay for the
    start of a thread (about 80 microseconds, a twentieth of a small epoch);
    ``close()`` ends it.
    """

    def __init__(self, threads=1):
        self.threads = threads
        self._helper = None
        self._job = None
        self._start = threading.Semaphore(0)
        self._done = threading.Semaphore(0)
        self._errors = []

    def _serve(self):
        while True:
            self._start.acquire()
            if self._job is None:
                return
            with one_blas_thread():
                _helper(*self._job, self._errors)
            self._done.release()

    def close(self):
        """End the helper thread, if one was started."""
        with deferred_interrupts():
            if self._helper is not None:
                self._job = None
                self._start.release()
                self._helper.join()
                self._helper = None

    def epoch(self, arguments):
        """One epoch: what ``run_epoch`` returns.

        A Ctrl-C waits for the epoch's end: cut short, the hand-over could leave
        the helper at a barrier for ever, or the two-thread mode held.
        """
        flags = np.zeros(FLAGS_SIZE, dtype=np.int64)
        shared = np.zeros(2 * STRIDE)
        with deferred_interrupts():
            with _threads["lock"]:
                alone = self.threads >= 2 and not _threads["busy"]
                if alone:
                    _threads["busy"] = True
            if not alone:
                return run_epoch_halves(*arguments, -1, flags, shared)
            try:
                return self._epoch_on_two_threads(arguments, flags, shared)
            finally:
                with _threads["lock"]:
                    _threads["busy"] = False

    def _epoch_on_two_threads(self, arguments, flags, shared):
        if self._helper is None:
            helper = threading.Thread(target=self._serve, daemon=True)
            try:
                helper.start()
            except RuntimeError:  # no thread to be had: one does it all
                return run_epoch_halves(*arguments, -1, flags, shared)
            self._helper = helper
        self._job = (arguments, flags, shared)
        self._start.release()
        try:
            result = run_epoch_halves(*arguments, 0, flags, shared)
        finally:
            flags[0] = np.iinfo(np.int64).max
            self._done.acquire()
        if self._errors:  # pragma: no cover
            raise self._errors[0]
        return result


# While Numba compiles a kernel it creates and drops hundreds of thousands of
# Python objects, and the garbage collector's full collections, each a walk over
# every object of the process, took about a seventh of a cold fit's compile time
# here (more in a process that holds more objects). During the compiles that a fit
# starts, only the young generations are collected: their garbage is freed as
# usual, and what reaches the old generation waits for the next full collection.
_collections = {"lock": threading.Lock(), "compiles": 0, "thresholds": None}


def _hold_full_collections(listener):
    # Idempotent per listener, and whole or not at all under a Ctrl-C: the
    # thresholds are the process's.
    with deferred_interrupts(), _collections["lock"]:
        if listener.held:
            return
        if _collections["compiles"] == 0:
            thresholds = gc.get_threshold()
            _collections["thresholds"] = thresholds
            gc.set_threshold(thresholds[0], thresholds[1], 1 << 30)
        _collections["compiles"] += 1
        listener.held = True


def _release_full_collections(listener):
    with deferred_interrupts(), _collections["lock"]:
        if not listener.held:
            return
        listener.held = False
        _collections["compiles"] -= 1
        if _collections["compiles"] == 0:
            gc.set_threshold(*_collections["thresholds"])


class _CompileListener(event.Listener):
    """Holds full collections from the start of a compile to its end."""

    def __init__(self):
        self.depth = 0
        self.held = False
        self.registered = False

    def on_start(self, compile_event):
        self.depth += 1
        if self.depth == 1:
            _hold_full_collections(self)

    def on_end(self, compile_event):
        self.depth -= 1
        if self.depth == 0:
            _release_full_collections(self)


class collecting_young_while_compiling:
    """Within the block, the compiles of Numba collect only young garbage.

    Compiles already started elsewhere are unaffected; one still under way when
    the block ends gets the full collections back then. Leaving is idempotent, so
    a caller whose ``with`` a Ctrl-C cut short can leave again.
    """

    __slots__ = ("_listener",)

    def __init__(self):
        self._listener = _CompileListener()

    def __enter__(self):
        with deferred_interrupts():
            event.register("numba:compile", self._listener)
            self._listener.registered = True
        return self

    def __exit__(self, kind, value, traceback):
        listener = self._listener
        with deferred_interrupts():
            if listener.registered:
                listener.registered = False
                event.unregister("numba:compile", listener)
            _release_full_collections(listener)
