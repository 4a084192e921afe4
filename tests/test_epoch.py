"""Tests of skreg._epoch: one whole epoch in a kernel.

``run_epoch`` is checked against a loop of ``batch_objective_gradient`` calls
followed by a NumPy optimizer step, and ``run_epoch_parts`` against the same loop,
and its workers, in two to four threads, against one.
"""

import threading

import numpy as np
import pytest
from _network import EMPTY_INT, L1_RATIO, N_SAMPLES, Network
from _reference import numpy_prox
from numpy.testing import assert_allclose, assert_array_equal

from skreg._barrier import STRIDE, flags_size
from skreg._epoch import (
    MAX_PARTS,
    PART_ROWS,
    SPLIT_WORK,
    part_count,
    part_rows,
    run_epoch,
    run_epoch_parts,
)
from skreg._optimizers import OPTIMIZERS

# ---------------------------------------------------------------- run_epoch


class NumpyOptimizer:
    """scikit-learn's SGD / Adam update on the flat buffer, then the L1 prox."""

    def __init__(self, net, solver, lr):
        self.net, self.solver, self.lr = net, solver, lr
        self.first = np.zeros_like(net.params)
        self.second = np.zeros_like(net.params)
        self.t = 0

    def step(self, params, grad):
        cfg = self.net.cfg
        if self.solver == "sgd":
            update = cfg.momentum * self.first - self.lr * grad
            self.first = update
            if cfg.nesterov:
                update = cfg.momentum * self.first - self.lr * grad
            step = self.lr
        else:
            self.t += 1
            self.first = cfg.beta_1 * self.first + (1 - cfg.beta_1) * grad
            self.second = cfg.beta_2 * self.second + (1 - cfg.beta_2) * grad**2
            lr_t = (
                cfg.learning_rate_init
                * np.sqrt(1 - cfg.beta_2**self.t)
                / (1 - cfg.beta_1**self.t)
            )
            step = lr_t / (np.sqrt(self.second) + cfg.epsilon)
            update = -step * self.first
        net = self.net
        return numpy_prox(
            params + update, net.layout, net.alphas, net.penalty, L1_RATIO, step
        )


def _reference_epoch(net, solver, lr, order, batch_size):
    """One epoch of ``batch_objective_gradient`` calls and NumPy optimizer steps.

    Returns the parameters after it and the epoch's accumulated objective. Batch
    ``k`` (from 0) is evaluated with step number ``k + 1``: Adam's ``t`` and the
    dropout key.
    """
    reference = NumpyOptimizer(net, solver, lr)
    expected = net.params.copy()
    accumulated = 0.0
    for k, start in enumerate(range(0, N_SAMPLES, batch_size)):
        stop = min(start + batch_size, N_SAMPLES)
        objective, grad, _ = net.evaluate(
            expected, order=order, start=start, stop=stop, step=k + 1
        )
        accumulated += objective * (stop - start)
        expected = reference.step(expected, grad)
    return expected, accumulated


def _run_epoch(
    net, params, order, batch_size, lr, state_1, state_2, step=0, constraints=None
):
    # The estimator gathers the input batch when it shuffles or drops inputs.
    gather = order.shape[0] > 0 or net.cfg.input_dropout > 0
    # SGD steps with a velocity, Adam with two moments.
    if net.solver == OPTIMIZERS["sgd"]:
        buffers = (state_1, None)
    else:
        buffers = (None, (state_1, state_2))
    work, offsets = net.work(batch_size, gather)
    grad = np.empty_like(params)
    rows = np.empty(batch_size, dtype=np.int64)
    return run_epoch(
        *net.kernel_X(),
        (net.Y, net.sample_weight),
        (order, N_SAMPLES, batch_size, rows, step, lr),
        params,
        grad,
        *buffers,
        net.layout.layers(net.alphas),
        net.dropout,
        (work, offsets),
        net.cfg,
        constraints,
    )


def test_one_full_batch_sgd_epoch_is_one_gradient_step():
    net = Network("tanh", "squared_error", 3, "l2", solver="sgd", momentum=0.0)
    objective, grad, _ = net.evaluate(net.params)
    expected = net.params - 0.1 * grad

    params = net.params.copy()
    velocity = np.zeros_like(params)
    accumulated, step = _run_epoch(
        net, params, EMPTY_INT, N_SAMPLES, 0.1, velocity, None
    )
    assert_allclose(params, expected, rtol=1e-13, atol=1e-15)
    assert step == 1
    assert_allclose(accumulated, objective * N_SAMPLES, rtol=1e-13)


EPOCH_CASES = {
    "sgd": dict(solver="sgd", momentum=0.0),
    "sgd-momentum": dict(solver="sgd", momentum=0.9, nesterov=False),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, nesterov=True),
    "adam": dict(solver="adam", learning_rate_init=0.05),
    "adam-dropout": dict(
        solver="adam", learning_rate_init=0.05, dropout=(0.3, 0.0), input_dropout=0.2
    ),
}


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(EPOCH_CASES))
def test_epoch_is_a_sequence_of_minibatch_steps(case, sparse, shuffle):
    # Batches of 3 (the last one of 1 sample), each evaluated with step number
    # k = 1, 2, 3 (Adam's t and the dropout key), then one optimizer step with the
    # elastic net's proximal step.
    net = Network(
        "tanh", "binary_log_loss", 3, "elasticnet", sparse=sparse, **EPOCH_CASES[case]
    )
    solver = EPOCH_CASES[case]["solver"]
    lr = 0.1
    order = np.array([5, 2, 6, 0, 3, 1, 4], dtype=np.int64) if shuffle else None

    expected, expected_accumulated = _reference_epoch(net, solver, lr, order, 3)

    params = net.params.copy()
    state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
    kernel_order = EMPTY_INT if order is None else order
    accumulated, step = _run_epoch(net, params, kernel_order, 3, lr, state_1, state_2)
    assert step == 3
    assert_allclose(accumulated, expected_accumulated, rtol=1e-12)
    assert_allclose(params, expected, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("solver", list(OPTIMIZERS))
def test_l1_with_large_alpha_makes_every_weight_exactly_zero(solver):
    net = Network(
        "relu", "squared_error", 3, "l1", alphas=[50.0, 50.0, 50.0], solver=solver
    )
    params = net.params.copy()
    state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
    _run_epoch(net, params, EMPTY_INT, N_SAMPLES, 0.1, state_1, state_2)
    n_coefs = net.layout.coef_offsets[-1]
    assert np.all(params[:n_coefs] == 0.0)
    # Intercepts are not penalized.
    assert np.all(params[n_coefs:] != 0.0)


@pytest.mark.parametrize("solver", list(OPTIMIZERS))
def test_float32_epoch_matches_float64(solver):
    net = Network(
        "logistic",
        "log_loss",
        3,
        "elasticnet",
        np.float32,
        solver=solver,
        momentum=0.9,
        nesterov=True,
        dropout=(0.2, 0.2),
    )
    order = np.array([5, 2, 6, 0, 3, 1, 4], dtype=np.int64)
    results = []
    for current in (net, net.astype(np.float64)):
        params = current.params.copy()
        state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
        _run_epoch(current, params, order, 3, 0.1, state_1, state_2)
        results.append(params)
    assert results[0].dtype == np.float32
    assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------- run_epoch_parts


def _run_parts(
    net,
    params,
    order,
    batch_size,
    lr,
    state_1,
    state_2,
    count,
    workers=1,
    constraints=None,
):
    """``run_epoch_parts`` in ``count`` parts, on one thread or ``workers``."""
    gather = order.shape[0] > 0 or net.cfg.input_dropout > 0
    if net.solver == OPTIMIZERS["sgd"]:
        buffers = (state_1, None)
    else:
        buffers = (None, (state_1, state_2))
    work, offsets = net.work(batch_size, gather)
    # NaN in the buffers: a part that read what no part wrote would show.
    work[:] = np.nan
    grads = np.full((count, params.size), np.nan, dtype=params.dtype)
    rows = np.empty(batch_size, dtype=np.int64)
    flags = np.zeros(flags_size(workers), dtype=np.int64)
    shared = np.zeros(count * STRIDE)

    def call(worker, results):
        results[worker] = run_epoch_parts(
            *net.kernel_X(),
            (net.Y, net.sample_weight),
            (order, N_SAMPLES, batch_size, rows, 0, lr),
            params,
            grads[0],
            *buffers,
            net.layout.layers(net.alphas),
            net.dropout,
            (work, offsets),
            net.cfg,
            constraints,
            (count, grads),
            (worker, workers, flags, shared),
        )

    results = {}
    if workers == 1:
        call(-1, results)
        return results[-1]
    helpers = [
        threading.Thread(target=call, args=(w, results)) for w in range(1, workers)
    ]
    for helper in helpers:
        helper.start()
    call(0, results)
    for helper in helpers:
        helper.join()
    # Every worker added up the same sums in the same order.
    assert len(set(results.values())) == 1
    return results[0]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 16])
def test_part_rows_are_even_and_cover_the_batch(count):
    for size in range(1, 40):
        chunk = part_rows(size, count)
        assert chunk % 2 == 0
        assert chunk * count >= size
        # No part is more than two rows longer than an even share.
        assert chunk < size / count + 2


def test_part_count_depends_on_the_work_alone():
    assert part_count(200, 100) == 1
    assert part_count(32, SPLIT_WORK // 32) == 2
    assert part_count(32, SPLIT_WORK // 32 - 1) == 1
    assert part_count(512, 1 << 20) == 512 // PART_ROWS
    assert part_count(1 << 16, 1 << 20) == MAX_PARTS
    # Every part keeps PART_ROWS rows beyond two parts.
    for b in range(2 * PART_ROWS, 20 * PART_ROWS, 37):
        count = part_count(b, 1 << 20)
        assert count == 2 or b // count >= PART_ROWS
    counts = [part_count(b, w) for b in (16, 64, 200, 512) for w in (10**3, 10**5)]
    assert all(1 <= c <= MAX_PARTS for c in counts)
    # More work never means fewer parts.
    for b in (64, 256, 1024):
        series = [part_count(b, w) for w in range(1000, 400_000, 7000)]
        assert series == sorted(series)


PARTS_CASES = {
    **EPOCH_CASES,
    "adam-group": dict(solver="adam", learning_rate_init=0.05, penalty="group_lasso"),
    "sgd-sparse-group": dict(
        solver="sgd", momentum=0.9, penalty="sparse_group_lasso", dropout=(0.3, 0.2)
    ),
}


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("batch_size", [3, 4])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(PARTS_CASES))
def test_parts_epoch_is_a_sequence_of_minibatch_steps(
    case, sparse, batch_size, count, activation
):
    # As test_epoch_is_a_sequence_of_minibatch_steps, each batch split in parts
    # (a batch of 3 samples in 2 + 1, or 2 + 1 + nothing; of 1 sample in 1 +
    # nothing): the same steps and the same dropout draws as whole batches, the
    # sums taken in another order. Relu units drop without storing their factors.
    options = dict(PARTS_CASES[case])
    penalty = options.pop("penalty", "elasticnet")
    net = Network(activation, "binary_log_loss", 3, penalty, sparse=sparse, **options)
    solver = options["solver"]
    lr = 0.1
    order = np.array([5, 2, 6, 0, 3, 1, 4], dtype=np.int64)

    expected, expected_accumulated = _reference_epoch(
        net, solver, lr, order, batch_size
    )

    params = net.params.copy()
    state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
    accumulated, step = _run_parts(
        net, params, order, batch_size, lr, state_1, state_2, count
    )
    assert step == len(range(0, N_SAMPLES, batch_size))
    assert_allclose(accumulated, expected_accumulated, rtol=1e-12)
    assert_allclose(params, expected, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", ["adam", "sgd-sparse-group"])
def test_one_part_is_run_epoch_bit_for_bit(case, sparse):
    # Split or not, every entry of the gradient is the same sum: one part is a
    # whole batch.
    options = dict(PARTS_CASES[case])
    penalty = options.pop("penalty", "l1")
    net = Network("relu", "log_loss", 3, penalty, sparse=sparse, **options)
    order = np.array([5, 2, 6, 0, 3, 1, 4], dtype=np.int64)
    results = []
    for parts in (False, True):
        params = net.params.copy()
        state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
        if parts:
            result = _run_parts(net, params, order, 3, 0.1, state_1, state_2, 1)
        else:
            result = _run_epoch(net, params, order, 3, 0.1, state_1, state_2)
        results.append((result, params))
    assert results[0][0] == results[1][0]
    assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("constraints", [None, (0.8, 0.5), (0.0, 0.5)])
@pytest.mark.parametrize("case", ["sgd-momentum", "adam", "adam-group"])
def test_parts_constraints_equal_run_epoch(case, constraints):
    options = dict(PARTS_CASES[case])
    penalty = options.pop("penalty", "l1")
    net = Network("relu", "log_loss", 3, penalty, **options)
    results = []
    for parts in (False, True):
        params = net.params.copy()
        state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
        if parts:
            _run_parts(
                net, params, EMPTY_INT, 4, 0.1, state_1, state_2, 2, 1, constraints
            )
        else:
            _run_epoch(net, params, EMPTY_INT, 4, 0.1, state_1, state_2, 0, constraints)
        results.append(params)
    assert_allclose(results[1], results[0], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(PARTS_CASES))
def test_any_number_of_workers_equals_one_bit_for_bit(case, sparse, dtype):
    options = dict(PARTS_CASES[case])
    penalty = options.pop("penalty", "sparse_group_lasso")
    net = Network("logistic", "log_loss", 3, penalty, dtype, sparse=sparse, **options)
    order = np.array([5, 2, 6, 0, 3, 1, 4], dtype=np.int64)
    results = []
    for workers in (1, 2, 3, 4):
        params = net.params.copy()
        state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
        accumulated, _ = _run_parts(
            net, params, order, 4, 0.1, state_1, state_2, 4, workers, (1.5, 0.01)
        )
        results.append((accumulated, params, state_1, state_2))
    for other in results[1:]:
        assert other[0] == results[0][0]
        for one, many in zip(results[0][1:], other[1:]):
            assert_array_equal(one, many)
    # The epoch took steps.
    assert not np.array_equal(results[0][1], net.params)
