"""One minibatch's objective and gradient: the forward and backward pass of training.

``X`` reaches the kernels either dense (``X`` 2-D; ``indptr``, ``indices`` and
``data`` None) or as the three arrays of a CSR matrix (``X`` None). Options that a fit
may not use are passed as None when off: the CSR arrays and the dropout rates. Numba
prunes a branch on ``x is None`` when it compiles, so a fit compiles only the code
paths it runs.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._activations import (
    dropout_derivative,
    multiply_derivative,
    multiply_relu_kept,
    relu_dropout,
)
from ._compile import JIT as _JIT
from ._forward import activate
from ._losses import loss_and_delta
from ._math import matrix_view
from ._optimizers import block_part
from ._penalties import (
    first_layer_open,
    first_layer_smooth_gradient,
    first_layer_value,
    group_norms,
    group_share,
    l2_share,
    nonconvex_value,
    value_from_sums,
)
from ._penalties import value as penalty_value
from ._random import dropout_factor, normal, stream_key

# Stream number of the input noise, past the dropout streams (one per layer).
_NOISE_STREAM = 1 << 20


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
# they keep the inlined ``forward_backward`` small: Numba copies an inlined function's
# code for each caller, at a cost that grows faster than its length.


@njit(**_JIT)
def _gather(X, rows, order, start, A0):
    """Rows ``rows`` of ``X`` into ``A0``; they are ``order[start:]`` if shuffled."""
    n_in = X.shape[1]
    shuffled = order.shape[0] > 0
    # An explicit loop: a row-slice assignment costs about three times as much.
    for r in range(A0.shape[0]):
        row = rows[r]
        # Shuffled rows are scattered over X: read in turn, each would wait for
        # memory. Fetched some rows ahead (into the next batch near the end),
        # they arrive before their turn. Three hints cover a row of up to three
        # cache lines; a loop of hints would add to a cold fit's compile time.
        if shuffled and start + r + _AHEAD < order.shape[0]:
            ahead = order[start + r + _AHEAD]
            _prefetch(X, ahead, 0)
            _prefetch(X, ahead, n_in // 2)
            _prefetch(X, ahead, n_in - 1)
        for j in range(n_in):
            A0[r, j] = X[row, j]


@njit(**_JIT)
def _sparse_input(data, k, perturbed, rate, key, index):
    """Entry ``k`` of the CSR data, times its input-dropout factor when inputs drop.

    The forward and the backward pass draw the same factor for the same entry;
    ``perturbed`` is None when no input drops, and nothing is drawn.
    """
    v = data[k]
    if perturbed is not None:
        if rate > 0.0:
            v *= dropout_factor(key, index, rate)
    return v


@njit(**_JIT)
def _sparse_product(
    indptr, indices, data, rows, W, Z, perturbed, rate, key, base_index
):
    """``Z = X[rows] @ W`` for CSR ``X``; input dropout as ``_sparse_input``.

    Entry ``(r, j)`` of the batch has the dropout index ``base_index + r * n_in + j``.
    """
    n_in, n_out = W.shape
    Z[:] = 0.0
    for r in range(Z.shape[0]):
        row = rows[r]
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            v = _sparse_input(data, k, perturbed, rate, key, base_index + r * n_in + j)
            for h in range(n_out):
                Z[r, h] += v * W[j, h]


@njit(**_JIT)
def _sparse_transposed_product(
    indptr, indices, data, rows, delta, G, perturbed, rate, key, base_index
):
    """``G = X[rows].T @ delta`` for CSR ``X``, with ``_sparse_product``'s factors."""
    n_in, n_out = G.shape
    G[:] = 0.0
    for r in range(delta.shape[0]):
        row = rows[r]
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            v = _sparse_input(data, k, perturbed, rate, key, base_index + r * n_in + j)
            for h in range(n_out):
                G[j, h] += v * delta[r, h]


@njit(**_JIT)
def _perturb_input(A0, rate, key, noise_std, noise_key, base_index, perturbed):
    """In place: input dropout (``rate > 0``), then Gaussian noise (``noise_std``).

    Entry ``(r, j)`` of the batch draws index ``base_index + r * n_in + j`` of each
    stream. ``perturbed`` is None when neither is on: nothing is compiled.
    """
    if perturbed is None:
        return
    size, n_in = A0.shape
    if rate > 0.0:
        for r in range(size):
            for j in range(n_in):
                A0[r, j] *= dropout_factor(key, base_index + r * n_in + j, rate)
    if noise_std > 0.0:
        for r in range(size):
            for j in range(n_in):
                A0[r, j] += noise_std * normal(noise_key, base_index + r * n_in + j)


@njit(**_JIT)
def _drop_hidden(Z, work, factors, activation, rate, key, offset, relu):
    """Dropout on a hidden layer's output ``Z``, in place (``rate > 0``).

    Relu units need no stored factors (``relu_dropout``); the others keep ``f'(z)``
    times the dropout factor in the block of ``work`` that starts at ``factors``,
    so the backward pass needs neither the mask nor the activation before dropout
    (``dropout_derivative``). ``relu`` is ``relu_marker(activation)``: a fit
    compiles one of the two.
    """
    if relu is not None:
        relu_dropout(Z, rate, key, offset)
    else:
        D = matrix_view(work, factors, Z.shape[0], Z.shape[1])
        dropout_derivative(Z, D, activation, rate, key, offset)


@njit(**_JIT)
def _multiply_dropped(A, delta, work, factors, rate, sums, relu):
    """``multiply_derivative`` behind ``_drop_hidden``: ``delta *= factor * f'``."""
    if relu is not None:
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
# callee of its own, its code would be optimised and turned into machine code
# twice, once on its own and once inside the epoch kernel. Inlining the smaller
# kernels as well costs more typing than it saves: Numba types every inlined copy
# anew.
@njit(inline="always", **_JIT)
def forward_backward(
    X, csr, targets, batch, params, biases, layers, dropout, workspace, cfg
):
    """Forward and backward pass of some rows of a batch: their errors, not ``dW``.

    The input is ``X`` (2-D, ``csr`` None) or ``csr = (indptr, indices, data)``
    (``X`` None); ``targets`` is ``(Y, sample_weight)``. ``batch`` is ``(order,
    start, stop, offset, rows, step)``: the samples are ``order[start:stop]`` (or
    ``start:stop`` when ``order`` is empty), rows ``offset`` onwards of their
    batch: ``offset`` (even) places them in the batch's dropout and noise streams
    and in the rows of the work blocks, and ``step`` keys those streams. ``rows``
    is an int64 buffer of the batch's sample indices, of which these samples
    write entries ``offset`` to ``offset + stop - start``. ``layers`` is ``(units,
    coef_offsets, intercept_offsets, alphas)`` (``_layout.Layout``), ``workspace``
    ``(work, work_offsets)``: the work blocks hold the whole batch, these samples
    their rows. Returns ``(loss sum, sum of sample weights)``; leaves in ``work``
    each layer's output and error (``delta``) for these rows, and writes into
    ``biases`` (one entry per intercept) the column sums of the errors, which are
    the intercepts' gradient before it is divided by the batch's weight.
    Dense input is read in place (rows ``start:stop`` of ``X``) when ``work`` has no
    input block: the caller plans one whenever ``order`` is non-empty, or input
    dropout or noise is on (``Layout.work_offsets(..., gather_input=True, ...)``).
    """
    Y, sample_weight = targets
    order, start, stop, offset, batch_rows, step = batch
    units, coef_offsets, intercept_offsets, _ = layers
    work, work_offsets = workspace
    n_layers = units.shape[0]
    size = stop - start
    shuffled = order.shape[0] > 0
    # The sample index of each batch row, written into a buffer the caller
    # allocated once, so no batch allocates.
    rows = batch_rows[offset : offset + size]
    for r in range(size):
        rows[r] = order[start + r] if shuffled else start + r
    first_bias = intercept_offsets[0]

    # ---- input layer: the first product, dense or CSR
    n_in = units[0]
    n_hidden = units[1]
    W0 = matrix_view(params, coef_offsets[0], n_in, n_hidden)
    Z1 = matrix_view(work, work_offsets[0, 1] + offset * n_hidden, size, n_hidden)
    # Stream and block arguments are passed as int64 values, not constants: a
    # constant argument compiles a specialization of its own.
    # ``dropout`` is None when the fit draws no random numbers at all (no dropout
    # of any kind, no input noise): then none of that code is compiled.
    input_rate = cfg.input_dropout
    input_key = np.uint64(0)
    if dropout is not None:
        input_key = stream_key(cfg.seed, step, np.int64(0))
    base_index = offset * n_in
    gathered = work_offsets[0, 1] > work_offsets[0, 0]
    # Two guards rather than if / else: Numba prunes a branch only on a None
    # argument, so each path is guarded by the argument that is None without it.
    if csr is not None:
        indptr, indices, data = csr
        _sparse_product(
            indptr,
            indices,
            data,
            rows,
            W0,
            Z1,
            cfg.perturbed,
            input_rate,
            input_key,
            base_index,
        )
    if X is not None:
        if gathered:
            A0 = matrix_view(work, work_offsets[0, 0] + offset * n_in, size, n_in)
            _gather(X, rows, order, start, A0)
            if dropout is not None:
                noise_key = stream_key(cfg.seed, step, np.int64(_NOISE_STREAM))
                _perturb_input(
                    A0,
                    input_rate,
                    input_key,
                    cfg.noise_std,
                    noise_key,
                    base_index,
                    cfg.perturbed,
                )
        else:
            A0 = X[start:stop]
        np.dot(A0, W0, Z1)

    # ---- forward through the layers
    for layer in range(n_layers - 1):
        n_out = units[layer + 1]
        Z = matrix_view(work, work_offsets[0, layer + 1] + offset * n_out, size, n_out)
        if layer > 0:
            n_prev = units[layer]
            A = matrix_view(
                work, work_offsets[0, layer] + offset * n_prev, size, n_prev
            )
            W = matrix_view(params, coef_offsets[layer], n_prev, n_out)
            np.dot(A, W, Z)
        b = params[intercept_offsets[layer] : intercept_offsets[layer + 1]]
        last = layer + 1 == n_layers - 1
        activate(Z, b, last, cfg.activation, cfg.smooth, cfg.loss)
        if not last:
            # Nested, so that a fit without dropout compiles none of it.
            if dropout is not None:
                rate = dropout[layer]
                if rate > 0.0:
                    key = stream_key(cfg.seed, step, layer + 1)
                    factors = work_offsets[2, layer + 1] + offset * n_out
                    _drop_hidden(
                        Z,
                        work,
                        factors,
                        cfg.activation,
                        rate,
                        key,
                        offset * n_out,
                        cfg.relu,
                    )

    # ---- loss and the error at the output
    n_outputs = units[n_layers - 1]
    last_rows = offset * n_outputs
    P = matrix_view(work, work_offsets[0, n_layers - 1] + last_rows, size, n_outputs)
    delta = matrix_view(
        work, work_offsets[1, n_layers - 1] + last_rows, size, n_outputs
    )
    loss_sum = loss_and_delta(P, Y, sample_weight, rows, delta, cfg.loss, cfg.eps)
    weight_sum = 0.0
    for r in range(size):
        weight_sum += sample_weight[rows[r]]
    gb = biases[intercept_offsets[n_layers - 2] - first_bias :]
    gb[:] = 0
    for r in range(size):
        for h in range(n_outputs):
            gb[h] += delta[r, h]

    # ---- backward: each layer's error; the intercepts' sums on the way
    for layer in range(n_layers - 2, 0, -1):
        n_out = units[layer + 1]
        n_prev = units[layer]
        delta = matrix_view(
            work, work_offsets[1, layer + 1] + offset * n_out, size, n_out
        )
        previous = matrix_view(
            work, work_offsets[1, layer] + offset * n_prev, size, n_prev
        )
        W = matrix_view(params, coef_offsets[layer], n_prev, n_out)
        np.dot(delta, W.T, previous)
        A = matrix_view(work, work_offsets[0, layer] + offset * n_prev, size, n_prev)
        loss_sum += _activity_penalty(
            A, previous, sample_weight, rows, layer, cfg.activity
        )
        sums = biases[
            intercept_offsets[layer - 1] - first_bias : intercept_offsets[layer]
            - first_bias
        ]
        rate = 0.0 if dropout is None else dropout[layer - 1]
        if rate > 0.0:
            # Pruned when the fit compiles without dropout.
            if dropout is not None:
                factors = work_offsets[2, layer] + offset * n_prev
                _multiply_dropped(A, previous, work, factors, rate, sums, cfg.relu)
        else:
            multiply_derivative(A, previous, cfg.activation, sums)
    return loss_sum, weight_sum


@njit(**_JIT)
def _activity_penalty(A, previous, sample_weight, rows, layer, activity):
    """The activity penalty of hidden layer ``layer``'s outputs ``A``, summed
    over the rows with their sample weights; its gradient is added to the
    errors ``previous`` (the loss's gradient with respect to ``A``, also
    weighted sums), before the activation's derivative multiplies them.

    ``activity`` is None (nothing is compiled) or ``(l1, alphas)``: the L1 norm
    (``l1`` True; at 0 the subgradient 0, so a unit that is off gets no push)
    or half the squared L2 norm of each row's outputs, times the layer's alpha.
    """
    if activity is None:
        return 0.0
    l1, alphas = activity
    alpha = alphas[layer - 1]
    if alpha == 0.0:
        return 0.0
    cast = A.dtype.type
    total = 0.0
    for r in range(A.shape[0]):
        weight = float(sample_weight[rows[r]]) * alpha
        scale = cast(weight)
        row = 0.0
        for j in range(A.shape[1]):
            a = A[r, j]
            if l1:
                row += abs(float(a))
                previous[r, j] += scale * np.sign(a)
            else:
                row += 0.5 * float(a) * float(a)
                previous[r, j] += scale * a
        total += weight * row
    return total


# Not inlined: a few products, little to optimise twice, and each inlined copy is
# typed anew; inlined into both epoch kernels, it made a cold first fit about 0.3
# seconds longer (measured), the epochs no faster.
@njit(**_JIT)
def weight_gradient(X, csr, batch, grad, layers, dropout, workspace, cfg):
    """The weight matrices' ``A.T @ delta`` over some rows of a batch.

    ``batch`` is the ``forward_backward`` call's whose outputs and errors are in
    ``work``: the sums run over its rows alone (rows ``offset`` onwards of the
    work blocks), and go into each weight matrix's block of ``grad``; the
    intercepts' sums are ``forward_backward``'s.
    """
    order, start, stop, offset, batch_rows, step = batch
    units, coef_offsets, _, _ = layers
    work, work_offsets = workspace
    n_layers = units.shape[0]
    size = stop - start
    for layer in range(n_layers - 2, -1, -1):
        n_in = units[layer]
        n_out = units[layer + 1]
        delta = matrix_view(
            work, work_offsets[1, layer + 1] + offset * n_out, size, n_out
        )
        G = matrix_view(grad, coef_offsets[layer], n_in, n_out)
        if layer == 0 and csr is not None:
            indptr, indices, data = csr
            input_key = np.uint64(0)
            if dropout is not None:
                input_key = stream_key(cfg.seed, step, np.int64(0))
            _sparse_transposed_product(
                indptr,
                indices,
                data,
                batch_rows[offset : offset + size],
                delta,
                G,
                cfg.perturbed,
                cfg.input_dropout,
                input_key,
                offset * n_in,
            )
            continue
        if layer == 0:
            if X is not None:
                if work_offsets[0, 1] > work_offsets[0, 0]:
                    A = matrix_view(
                        work, work_offsets[0, 0] + offset * n_in, size, n_in
                    )
                else:
                    A = X[start:stop]
                np.dot(A.T, delta, G)
        else:
            A = matrix_view(work, work_offsets[0, layer] + offset * n_in, size, n_in)
            np.dot(A.T, delta, G)


# Inlined as forward_backward is, for the same reason.
@njit(inline="always", **_JIT)
def finish_gradient(grad, params, layers, cfg, inverse, part):
    """From the data term's sums to the objective's gradient; the penalty value.

    Multiplies the sums (``forward_backward``'s and ``weight_gradient``'s) by
    ``inverse`` (one over the batch's weight) and adds the smooth part of the
    penalty's gradient, on the entries of ``part`` (None for all, or ``(index,
    count)``: ``_optimizers.block_part``), and returns the penalty of that part's
    weights (the parts' penalties add up to the whole). ``layers`` as
    ``forward_backward``'s.
    """
    units, coef_offsets, _, alphas = layers
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
        n_out = units[layer + 1]
        if layer == 0 and first_layer_open(0, cfg.first) == 0.0:
            # Each feature's factor weighs its row; the value is the whole
            # matrix's, which one part adds (run_epoch_parts).
            row = (start - coef_offsets[0]) // n_out
            first_layer_smooth_gradient(
                g, inverse, w, alphas[0] * l2, n_out, row, cfg.first
            )
            if part is None:
                penalty += first_penalty(params, layers, cfg)
            continue
        squares, absolutes = _scale_add(g, inverse, w, cast(alphas[layer] * l2))
        W = matrix_view(params, start, (stop - start) // n_out, n_out)
        groups = 0.0
        if group > 0.0:
            groups = _group_norms(W, cfg.grouped)
        penalty += value_from_sums(
            squares, absolutes, groups, alphas[layer], cfg.penalty, cfg.l1_ratio
        )
        penalty += nonconvex_value(
            W, alphas[layer], cfg.penalty, cfg.gamma, cfg.nonconvex
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
    X, csr, targets, batch, params, grad, layers, dropout, workspace, cfg
):
    """Objective of one batch and its gradient, written into ``grad``.

    The arguments are ``forward_backward``'s, but ``grad``: the whole gradient.
    Returns ``(mean_loss + penalty, sum of sample weights)``, the objective being
    the batch's weighted mean loss plus the whole penalty, and ``grad`` its
    gradient (smooth part of the penalty only).
    """
    biases = grad[layers[1][-1] :]
    loss_sum, weight_sum = forward_backward(
        X, csr, targets, batch, params, biases, layers, dropout, workspace, cfg
    )
    weight_gradient(X, csr, batch, grad, layers, dropout, workspace, cfg)
    # A batch whose samples all weigh zero has no data term (its loss and errors are
    # zero): it contributes the penalty alone, instead of 0 / 0.
    normalizer = weight_sum if weight_sum > 0.0 else 1.0
    inverse = params.dtype.type(1.0 / normalizer)
    penalty = finish_gradient(grad, params, layers, cfg, inverse, None)
    return loss_sum / normalizer + penalty, weight_sum


@njit(**_JIT)
def total_penalty(params, layers, cfg):
    """Penalty value summed over the weight matrices."""
    units, coef_offsets, _, alphas = layers
    total = 0.0
    for layer in range(coef_offsets.shape[0] - 1):
        if layer == 0 and first_layer_open(0, cfg.first) == 0.0:
            total += first_penalty(params, layers, cfg)
            continue
        W = matrix_view(params, coef_offsets[layer], units[layer], units[layer + 1])
        total += penalty_value(W, alphas[layer], cfg.penalty, cfg.l1_ratio)
        total += nonconvex_value(
            W, alphas[layer], cfg.penalty, cfg.gamma, cfg.nonconvex
        )
    return total


@njit(**_JIT)
def first_penalty(params, layers, cfg):
    """The first weight matrix's penalty with its factors and groups
    (``cfg.first``; 0 without them)."""
    return _first_penalty(params, layers, cfg, cfg.first)


# ``first`` is an argument, so that Numba prunes the code when it is None.
@njit(**_JIT)
def _first_penalty(params, layers, cfg, first):
    if first is None:
        return 0.0
    units, _, _, alphas = layers
    W = matrix_view(params, 0, units[0], units[1])
    return first_layer_value(W, alphas[0], cfg.penalty, cfg.l1_ratio, cfg.gamma, first)
