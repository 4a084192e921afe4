"""Tests of skreg._training: one minibatch's objective and gradient, one epoch.

The gradient written by ``batch_objective_gradient`` is checked against central
finite differences of the objective it returns, for every activation, loss, penalty,
dtype and input format; the objective itself against a plain NumPy forward pass;
``run_epoch`` against a loop of ``batch_objective_gradient`` calls followed by a
NumPy optimizer step, and ``run_epoch_halves`` against the same loop, and its two
workers, in two threads, against one. The networks are tiny (4 features, hidden
layers (5, 3)), so every finite-difference test runs in milliseconds once the
kernels are compiled.
"""

import gc
import threading

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from _reference import SHARES, group_norms, numpy_prox
from numba import njit
from numba.core import event
from numba.core.errors import TypingError
from numba.extending import overload
from numpy.linalg import norm
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax, xlogy
from threadpoolctl import threadpool_limits

from skreg import _training
from skreg._activations import ACTIVATIONS, smooth_marker
from skreg._losses import LOSSES
from skreg._optimizers import OPTIMIZERS
from skreg._parallel import FLAGS_SIZE, STRIDE
from skreg._penalties import PENALTIES, group_marker, penalty_code
from skreg._random import dropout_scale, stream_key
from skreg._training import (
    Layout,
    TrainConfig,
    available_threads,
    batch_objective_gradient,
    collecting_young_while_compiling,
    half_rows,
    one_blas_thread,
    run_epoch,
    run_epoch_halves,
)

N_SAMPLES = 7
N_FEATURES = 4
HIDDEN = (5, 3)
ALPHAS = np.array([0.1, 0.3, 0.2])  # one per weight matrix, all different
L1_RATIO = 0.3
EMPTY_INT = np.zeros(0, dtype=np.int64)

# (loss, n_outputs): single and multi-output for each loss that has both; the
# multiclass log-loss has a softmax over >= 3 outputs, the binary log-loss is the
# binary (1 output) and the multilabel (3 outputs) case.
LOSS_CASES = [
    ("squared_error", 1),
    ("squared_error", 3),
    ("poisson", 1),
    ("poisson", 3),
    ("log_loss", 3),
    ("binary_log_loss", 1),
    ("binary_log_loss", 3),
]
PENALTY_NAMES = [None, *PENALTIES]

# The API's split of each penalty: shares of alpha in its smooth, L1 and group parts.
PENALTY_SHARES = {name: shares(L1_RATIO) for name, shares in SHARES.items()}


NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def _numpy_loss_per_sample(loss, Y, Z):
    """Per-sample loss from the output pre-activation Z (API.md), summed on outputs."""
    if loss == "squared_error":
        return 0.5 * ((Y - Z) ** 2).sum(axis=1)
    if loss == "poisson":
        P = np.exp(Z)
        return (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    if loss == "log_loss":
        return -xlogy(Y, softmax(Z, axis=1)).sum(axis=1)
    P = expit(Z)
    return -(xlogy(Y, P) + xlogy(1 - Y, 1 - P)).sum(axis=1)


def _numpy_penalty(coefs, alphas, penalty):
    smooth, l1, group = PENALTY_SHARES[penalty]
    return sum(
        alpha
        * (0.5 * smooth * np.sum(W**2) + l1 * np.abs(W).sum() + group * group_norms(W))
        for W, alpha in zip(coefs, alphas)
    )


def _nonsmooth_part(params, layout, alphas, penalty):
    """The non-smooth part h(W), whose gradient the kernel leaves out of ``grad``."""
    _, l1, group = PENALTY_SHARES[penalty]
    coefs, _ = layout.unpack(params)
    return sum(
        alpha * (l1 * np.abs(W).sum() + group * group_norms(W))
        for W, alpha in zip(coefs, alphas)
    )


def _central_differences(f, params, h):
    fd = np.empty_like(params)
    for i in range(params.shape[0]):
        shift = np.zeros_like(params)
        shift[i] = h
        fd[i] = (f(params + shift) - f(params - shift)) / (2 * h)
    return fd


def _make_data(loss, n_outputs, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    X[rng.uniform(size=X.shape) < 0.3] = 0.0  # so that the CSR matrix is sparse
    if loss == "squared_error":
        Y = rng.normal(size=(N_SAMPLES, n_outputs))
    elif loss == "poisson":
        Y = rng.poisson(1.5, size=(N_SAMPLES, n_outputs)).astype(np.float64)
    elif loss == "log_loss":
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=N_SAMPLES)]
    else:
        Y = rng.randint(2, size=(N_SAMPLES, n_outputs)).astype(np.float64)
    sample_weight = rng.uniform(0.2, 2.0, size=N_SAMPLES)
    return X, Y, sample_weight


class Network:
    """A tiny network with two hidden layers, its data, and the kernels' arguments."""

    def __init__(
        self,
        activation="tanh",
        loss="squared_error",
        n_outputs=3,
        penalty="l2",
        dtype=np.float64,
        sparse=False,
        dropout=(0.0, 0.0),
        input_dropout=0.0,
        alphas=ALPHAS,
        solver="sgd",
        momentum=0.0,
        nesterov=False,
        learning_rate_init=0.1,
        seed=0,
    ):
        X, Y, sample_weight = _make_data(loss, n_outputs, seed)
        self.X = X.astype(dtype)
        self.Y = Y.astype(dtype)
        self.sample_weight = sample_weight.astype(dtype)
        self.sparse = sparse
        self.layout = Layout([N_FEATURES, *HIDDEN, n_outputs])
        rng = np.random.RandomState(seed + 1)
        self.params = (0.7 * rng.normal(size=self.layout.n_params)).astype(dtype)
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.dropout = np.asarray(dropout, dtype=np.float64)
        self.activation, self.loss, self.penalty = activation, loss, penalty
        self.cfg = TrainConfig(
            activation=ACTIVATIONS[activation],
            smooth=smooth_marker(ACTIVATIONS[activation]),
            loss=LOSSES[loss],
            penalty=penalty_code(penalty),
            grouped=group_marker(penalty_code(penalty)),
            l1_ratio=L1_RATIO,
            solver=OPTIMIZERS[solver],
            momentum=float(momentum),
            nesterov=bool(nesterov),
            learning_rate_init=float(learning_rate_init),
            beta_1=0.9,
            beta_2=0.999,
            epsilon=1e-8,
            input_dropout=float(input_dropout),
            seed=12345,
            eps=float(np.finfo(dtype).eps),
        )

    def astype(self, dtype):
        """The same network, data and parameters, in another dtype."""
        copy = Network.__new__(Network)
        copy.__dict__.update(self.__dict__)
        copy.X, copy.Y = self.X.astype(dtype), self.Y.astype(dtype)
        copy.sample_weight = self.sample_weight.astype(dtype)
        copy.params = self.params.astype(dtype)
        copy.cfg = self.cfg._replace(eps=float(np.finfo(dtype).eps))
        return copy

    def kernel_X(self):
        """``(X, indptr, indices, data)``, as ``BaseRegularizedMLP._kernel_input``."""
        if self.sparse:
            csr = sp.csr_matrix(self.X)
            return (
                None,
                csr.indptr.astype(np.int64),
                csr.indices.astype(np.int64),
                np.ascontiguousarray(csr.data),
            )
        return np.ascontiguousarray(self.X), None, None, None

    def work(self, batch_size, gather):
        offsets, size = self.layout.work_offsets(
            batch_size, gather and not self.sparse, self.dropout
        )
        return np.empty(size, dtype=self.X.dtype), offsets

    def evaluate(self, params, order=None, start=0, stop=N_SAMPLES, step=0):
        """``(objective, grad, weight_sum)`` of the batch ``order[start:stop]``."""
        # The estimator gathers the input batch when it shuffles or drops inputs.
        gather = order is not None or self.cfg.input_dropout > 0
        work, offsets = self.work(stop - start, gather)
        grad = np.full_like(params, np.nan)
        objective, weight_sum = batch_objective_gradient(
            *self.kernel_X(),
            self.Y,
            self.sample_weight,
            EMPTY_INT if order is None else order,
            start,
            stop,
            np.empty(stop - start, dtype=np.int64),
            params,
            grad,
            self.layout.units,
            self.layout.coef_offsets,
            self.layout.intercept_offsets,
            self.alphas,
            self.dropout,
            work,
            offsets,
            self.cfg,
            step,
        )
        return objective, grad, weight_sum

    def smooth_objective(self, params, **kwargs):
        """The objective minus its non-smooth part: what ``grad`` is the gradient of."""
        objective, _, _ = self.evaluate(params, **kwargs)
        return objective - _nonsmooth_part(
            params, self.layout, self.alphas, self.penalty
        )

    def numpy_objective(self, params, input_mask=None, masks=None):
        """The objective by a plain NumPy forward pass (dropout factors optional)."""
        coefs, intercepts = self.layout.unpack(params)
        A = self.X if input_mask is None else self.X * input_mask
        for layer, (W, b) in enumerate(zip(coefs[:-1], intercepts[:-1])):
            A = NUMPY_ACTIVATIONS[self.activation](A @ W + b)
            if masks is not None:
                A = A * masks[layer]
        Z = A @ coefs[-1] + intercepts[-1]
        per_sample = _numpy_loss_per_sample(self.loss, self.Y, Z)
        mean_loss = np.average(per_sample, weights=self.sample_weight)
        return mean_loss + _numpy_penalty(coefs, self.alphas, self.penalty)


# ----------------------------------------------------------- objective value


@pytest.mark.parametrize("penalty", PENALTY_NAMES)
@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_objective_equals_numpy_forward_pass(activation, loss, n_outputs, penalty):
    net = Network(activation, loss, n_outputs, penalty)
    objective, _, _ = net.evaluate(net.params)
    assert_allclose(objective, net.numpy_objective(net.params), rtol=1e-12)


@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
def test_objective_is_the_same_for_dense_and_csr_input(loss, n_outputs):
    dense = Network("relu", loss, n_outputs, "elasticnet")
    csr = Network("relu", loss, n_outputs, "elasticnet", sparse=True)
    objective_dense, grad_dense, _ = dense.evaluate(dense.params)
    objective_csr, grad_csr, _ = csr.evaluate(csr.params)
    assert_allclose(objective_csr, objective_dense, rtol=1e-13)
    assert_allclose(grad_csr, grad_dense, rtol=1e-12, atol=1e-15)


def test_weight_sum_is_the_sum_of_the_batch_sample_weights():
    net = Network()
    order = np.array([6, 2, 0, 5, 1, 4, 3], dtype=np.int64)
    _, _, weight_sum = net.evaluate(net.params, order=order, start=2, stop=5)
    assert_allclose(weight_sum, net.sample_weight[order[2:5]].sum(), rtol=1e-14)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_shuffled_batch_is_the_gathered_subset(sparse):
    # The batch order[start:stop] must be the same problem as the data restricted
    # to those rows, for the objective and for every gradient entry.
    net = Network("logistic", "binary_log_loss", 3, "elasticnet", sparse=sparse)
    order = np.array([3, 0, 6, 2, 5, 1, 4], dtype=np.int64)
    objective, grad, _ = net.evaluate(net.params, order=order, start=2, stop=6)

    rows = order[2:6]
    subset = Network("logistic", "binary_log_loss", 3, "elasticnet", sparse=sparse)
    subset.X, subset.Y = net.X[rows], net.Y[rows]
    subset.sample_weight = net.sample_weight[rows]
    expected_objective, expected_grad, _ = subset.evaluate(net.params, stop=4)
    assert_allclose(objective, expected_objective, rtol=1e-13)
    assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_unshuffled_dense_batch_uses_rows_start_to_stop():
    net = Network("tanh", "poisson", 3, "l2")
    objective, grad, _ = net.evaluate(net.params, start=3, stop=7)

    subset = Network("tanh", "poisson", 3, "l2")
    subset.X, subset.Y = net.X[3:7], net.Y[3:7]
    subset.sample_weight = net.sample_weight[3:7]
    expected_objective, expected_grad, _ = subset.evaluate(net.params, stop=4)
    assert_allclose(objective, expected_objective, rtol=1e-13)
    assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_batch_of_zero_weight_samples_contributes_only_the_penalty(sparse):
    # Sample weight 0 is legitimate (sklearn: the sample is ignored), so with small
    # batches a minibatch can have weights summing to 0. Its weighted mean loss is
    # an empty sum: the objective and gradient must be the penalty's, not 0 / 0.
    net = Network("tanh", "squared_error", 3, "elasticnet", sparse=sparse)
    net.sample_weight[[1, 4]] = 0.0
    order = np.array([1, 4, 0, 2, 3, 5, 6], dtype=np.int64)
    objective, grad, weight_sum = net.evaluate(net.params, order=order, stop=2)
    assert weight_sum == 0.0

    coefs, _ = net.layout.unpack(net.params)
    assert_allclose(objective, _numpy_penalty(coefs, ALPHAS, "elasticnet"))
    expected = np.zeros_like(net.params)
    for layer, alpha in enumerate(ALPHAS):
        sl = slice(net.layout.coef_offsets[layer], net.layout.coef_offsets[layer + 1])
        expected[sl] = alpha * (1 - L1_RATIO) * net.params[sl]
    assert_allclose(grad, expected, rtol=1e-14)


# ------------------------------------------------------ finite differences


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("penalty", PENALTY_NAMES)
@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences_float64(
    activation, loss, n_outputs, penalty, sparse
):
    net = Network(activation, loss, n_outputs, penalty, sparse=sparse)
    _, grad, _ = net.evaluate(net.params)
    fd = _central_differences(net.smooth_objective, net.params, h=1e-6)
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("penalty", PENALTY_NAMES)
@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences_float32(
    activation, loss, n_outputs, penalty, sparse
):
    # Finite differences are meaningless in float32: differentiate the float64
    # objective of the same (float32-representable) data and parameters instead.
    net = Network(activation, loss, n_outputs, penalty, np.float32, sparse)
    _, grad, _ = net.evaluate(net.params)
    assert grad.dtype == np.float32

    net64 = net.astype(np.float64)
    fd = _central_differences(net64.smooth_objective, net64.params, h=1e-6)
    assert_allclose(grad, fd, rtol=1e-4, atol=1e-5 * np.abs(fd).max())


@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
def test_float32_objective_matches_float64(loss, n_outputs):
    net = Network("tanh", loss, n_outputs, "elasticnet", np.float32)
    objective, _, _ = net.evaluate(net.params)
    net64 = net.astype(np.float64)
    expected, _, _ = net64.evaluate(net64.params)
    assert_allclose(objective, expected, rtol=1e-5)


@pytest.mark.parametrize("penalty", ["l1", "group_lasso", "sparse_group_lasso"])
def test_nonsmooth_part_is_in_the_objective_but_not_in_the_gradient(penalty):
    # Same network under a penalty without a smooth part and under no penalty: the
    # objectives differ by exactly h(W) (sum_l alpha_l ||W_l||_1 for l1, the rows'
    # norms for the group penalties), the gradients not at all.
    net = Network("tanh", "squared_error", 3, penalty)
    none = Network("tanh", "squared_error", 3, None)
    objective, grad, _ = net.evaluate(net.params)
    objective_none, grad_none, _ = none.evaluate(none.params)
    coefs, _ = net.layout.unpack(net.params)
    _, l1, group = PENALTY_SHARES[penalty]
    expected = sum(
        a * (l1 * np.abs(W).sum() + group * np.sqrt(W.shape[1]) * sum(map(norm, W)))
        for W, a in zip(coefs, ALPHAS)
    )
    assert_allclose(objective - objective_none, expected, rtol=1e-12)
    assert_array_equal(grad, grad_none)


# ------------------------------------------------------------------ dropout

DROPOUT_CASES = {
    "hidden": dict(dropout=(0.3, 0.5), input_dropout=0.0),
    "input": dict(dropout=(0.0, 0.0), input_dropout=0.25),
    "both": dict(dropout=(0.4, 0.0), input_dropout=0.25),
}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(DROPOUT_CASES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_dropout_gradient_matches_finite_differences(activation, case, sparse):
    # With the step and seed fixed the masks are fixed, so the objective is a
    # deterministic, differentiable function of the parameters.
    net = Network(
        activation, "squared_error", 3, "l2", sparse=sparse, **DROPOUT_CASES[case]
    )
    _, grad, _ = net.evaluate(net.params, step=3)
    fd = _central_differences(
        lambda p: net.smooth_objective(p, step=3), net.params, h=1e-6
    )
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_dropout_gradient_matches_finite_differences_float32(activation, sparse):
    net = Network(
        activation,
        "log_loss",
        3,
        "elasticnet",
        np.float32,
        sparse,
        **DROPOUT_CASES["both"],
    )
    _, grad, _ = net.evaluate(net.params, step=3)
    net64 = net.astype(np.float64)
    fd = _central_differences(
        lambda p: net64.smooth_objective(p, step=3), net64.params, h=1e-6
    )
    assert_allclose(grad, fd, rtol=1e-4, atol=1e-5 * np.abs(fd).max())


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_dropout_objective_equals_numpy_forward_pass_with_the_masks(activation, sparse):
    # Inverted dropout after each hidden activation, and on the inputs, with the
    # factors of the stream keyed by (seed, step, layer): layer 0 is the input.
    step = 5
    net = Network(
        activation,
        "log_loss",
        3,
        "l2",
        sparse=sparse,
        dropout=(0.3, 0.5),
        input_dropout=0.25,
    )
    seed = net.cfg.seed
    input_mask = np.empty((N_SAMPLES, N_FEATURES))
    dropout_scale(input_mask, 0.25, np.uint64(stream_key(seed, step, 0)))
    masks = []
    for layer, (units, rate) in enumerate(zip(HIDDEN, (0.3, 0.5))):
        mask = np.empty((N_SAMPLES, units))
        dropout_scale(mask, rate, np.uint64(stream_key(seed, step, layer + 1)))
        masks.append(mask)

    objective, _, _ = net.evaluate(net.params, step=step)
    expected = net.numpy_objective(net.params, input_mask, masks)
    assert_allclose(objective, expected, rtol=1e-12)


def test_dropout_changes_the_objective():
    without = Network("tanh", "squared_error", 3, "l2")
    with_dropout = Network("tanh", "squared_error", 3, "l2", dropout=(0.5, 0.5))
    objective_without, _, _ = without.evaluate(without.params, step=1)
    objective_with, _, _ = with_dropout.evaluate(with_dropout.params, step=1)
    assert objective_with != pytest.approx(objective_without, rel=1e-3)


def _dropout_network(sparse):
    """A net with hidden and input dropout: its masks depend on the step alone."""
    return Network(
        "relu",
        "squared_error",
        3,
        "l2",
        sparse=sparse,
        dropout=(0.5, 0.5),
        input_dropout=0.3,
    )


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_same_step_gives_the_same_masks(sparse):
    net = _dropout_network(sparse)
    objective_a, grad_a, _ = net.evaluate(net.params, step=7)
    objective_b, grad_b, _ = net.evaluate(net.params, step=7)
    assert objective_a == objective_b
    assert_array_equal(grad_a, grad_b)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_another_step_gives_other_masks(sparse):
    net = _dropout_network(sparse)
    objective_a, _, _ = net.evaluate(net.params, step=7)
    objective_b, _, _ = net.evaluate(net.params, step=8)
    assert objective_a != pytest.approx(objective_b, rel=1e-6)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_input_dropout_is_the_same_for_dense_and_csr(activation):
    order = np.array([4, 1, 6, 0, 2, 5, 3], dtype=np.int64)
    results = []
    for sparse in (False, True):
        net = Network(
            activation,
            "poisson",
            3,
            "elasticnet",
            sparse=sparse,
            dropout=(0.2, 0.0),
            input_dropout=0.4,
        )
        results.append(net.evaluate(net.params, order=order, start=1, stop=6, step=2))
    (objective_dense, grad_dense, _), (objective_csr, grad_csr, _) = results
    assert_allclose(objective_csr, objective_dense, rtol=1e-13)
    assert_allclose(grad_csr, grad_dense, rtol=1e-12, atol=1e-15)


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
    if net.cfg.solver == OPTIMIZERS["sgd"]:
        buffers = (state_1, None, None)
    else:
        buffers = (None, state_1, state_2)
    work, offsets = net.work(batch_size, gather)
    grad = np.empty_like(params)
    return run_epoch(
        *net.kernel_X(),
        net.Y,
        net.sample_weight,
        order,
        N_SAMPLES,
        batch_size,
        np.empty(batch_size, dtype=np.int64),
        params,
        grad,
        *buffers,
        step,
        lr,
        net.layout.units,
        net.layout.coef_offsets,
        net.layout.intercept_offsets,
        net.alphas,
        net.dropout,
        work,
        offsets,
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


# ---------------------------------------------------------- run_epoch_halves


def _run_halves(
    net, params, order, batch_size, lr, state_1, state_2, workers, constraints=None
):
    """``run_epoch_halves`` with one worker (``workers=1``) or two threads."""
    gather = order.shape[0] > 0 or net.cfg.input_dropout > 0
    if net.cfg.solver == OPTIMIZERS["sgd"]:
        buffers = (state_1, None, None)
    else:
        buffers = (None, state_1, state_2)
    half = half_rows(batch_size)
    work, offsets = net.work(half, gather)
    works = np.empty((2, work.size), dtype=work.dtype)
    # NaN in the buffers: a half that read what it did not write would show.
    grads = np.full((2, params.size), np.nan, dtype=params.dtype)
    rows = np.empty((2, half), dtype=np.int64)
    flags = np.zeros(FLAGS_SIZE, dtype=np.int64)
    shared = np.zeros(2 * STRIDE)

    def call(worker):
        return run_epoch_halves(
            *net.kernel_X(),
            net.Y,
            net.sample_weight,
            order,
            N_SAMPLES,
            batch_size,
            rows,
            params,
            grads,
            *buffers,
            0,
            lr,
            net.layout.units,
            net.layout.coef_offsets,
            net.layout.intercept_offsets,
            net.alphas,
            net.dropout,
            works,
            offsets,
            net.cfg,
            constraints,
            worker,
            flags,
            shared,
        )

    if workers == 1:
        return call(-1)
    helper = threading.Thread(target=call, args=(1,))
    helper.start()
    result = call(0)
    helper.join()
    return result


@pytest.mark.parametrize("batch_size", [3, 4, N_SAMPLES])
def test_half_rows_are_even_and_at_least_half(batch_size):
    for size in range(1, batch_size + 1):
        half = half_rows(size)
        assert half == size or half % 2 == 0
        assert size / 2 <= half <= size


HALVES_CASES = {
    **EPOCH_CASES,
    "adam-group": dict(solver="adam", learning_rate_init=0.05, penalty="group_lasso"),
    "sgd-sparse-group": dict(
        solver="sgd", momentum=0.9, penalty="sparse_group_lasso", dropout=(0.3, 0.2)
    ),
}


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("batch_size", [3, 4])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(HALVES_CASES))
def test_halves_epoch_is_a_sequence_of_minibatch_steps(
    case, sparse, batch_size, activation
):
    # As test_epoch_is_a_sequence_of_minibatch_steps, each batch split in two
    # halves (the last batch of 3 samples in 2 + 1, of 1 sample in 1 + nothing):
    # the same steps and the same dropout draws as whole batches, summed in
    # another order. Relu units drop without storing their factors.
    options = dict(HALVES_CASES[case])
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
    accumulated, step = _run_halves(
        net, params, order, batch_size, lr, state_1, state_2, 1
    )
    assert step == len(range(0, N_SAMPLES, batch_size))
    assert_allclose(accumulated, expected_accumulated, rtol=1e-12)
    assert_allclose(params, expected, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("constraints", [None, (0.8, 0.5), (0.0, 0.5)])
@pytest.mark.parametrize("case", ["sgd-momentum", "adam", "adam-group"])
def test_halves_constraints_equal_run_epoch(case, constraints):
    options = dict(HALVES_CASES[case])
    penalty = options.pop("penalty", "l1")
    net = Network("relu", "log_loss", 3, penalty, **options)
    results = []
    for halves in (False, True):
        params = net.params.copy()
        state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
        if halves:
            _run_halves(
                net, params, EMPTY_INT, 4, 0.1, state_1, state_2, 1, constraints
            )
        else:
            _run_epoch(net, params, EMPTY_INT, 4, 0.1, state_1, state_2, 0, constraints)
        results.append(params)
    assert_allclose(results[1], results[0], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(HALVES_CASES))
def test_two_workers_equal_one_bit_for_bit(case, sparse, dtype):
    options = dict(HALVES_CASES[case])
    penalty = options.pop("penalty", "sparse_group_lasso")
    net = Network("logistic", "log_loss", 3, penalty, dtype, sparse=sparse, **options)
    order = np.array([5, 2, 6, 0, 3, 1, 4], dtype=np.int64)
    results = []
    for workers in (1, 2):
        params = net.params.copy()
        state_1, state_2 = np.zeros_like(params), np.zeros_like(params)
        accumulated, _ = _run_halves(
            net, params, order, 3, 0.1, state_1, state_2, workers, (1.5, 0.01)
        )
        results.append((accumulated, params, state_1, state_2))
    assert results[0][0] == results[1][0]
    for one, two in zip(results[0][1:], results[1][1:]):
        assert_array_equal(one, two)
    # The epoch took steps.
    assert not np.array_equal(results[0][1], net.params)


# ------------------------------------------- collections during a compile


def _fresh_kernel(seen, valid=True):
    """A new jitted function, never compiled: calling it compiles it.

    Its compile appends the collector's thresholds to ``seen``, from the typing of a
    new overloaded function.
    """

    def probe():
        pass

    @overload(probe)
    def probe_typing():
        seen.append(gc.get_threshold())
        return lambda: None

    if valid:
        return njit(lambda: probe())
    return njit(lambda: probe() + "a string")


def test_compiles_in_the_block_hold_full_collections_only():
    before = gc.get_threshold()
    seen = []
    with collecting_young_while_compiling():
        _fresh_kernel(seen)()
    _fresh_kernel(seen)()
    during, outside = seen
    assert during[:2] == before[:2]
    assert during[2] > 1000 * max(before[2], 1)
    assert outside == before
    assert gc.get_threshold() == before


def test_a_failed_compile_gives_the_thresholds_back():
    before = gc.get_threshold()
    with collecting_young_while_compiling(), pytest.raises(TypingError):
        _fresh_kernel([], valid=False)()
    assert gc.get_threshold() == before


def test_a_compile_under_way_at_the_end_of_the_block_gives_them_back():
    before = gc.get_threshold()
    with collecting_young_while_compiling():
        event.start_event("numba:compile")
        assert gc.get_threshold()[2] > before[2]
    assert gc.get_threshold() == before
    event.end_event("numba:compile")
    assert gc.get_threshold() == before


def test_blocks_in_two_threads_give_the_thresholds_back():
    before = gc.get_threshold()
    inside = threading.Barrier(2)

    def fit():
        with collecting_young_while_compiling():
            inside.wait()
            _fresh_kernel([])()
            inside.wait()

    workers = [threading.Thread(target=fit) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert gc.get_threshold() == before


def _blas_thread_counts():
    """The thread counts of the BLAS the kernels call (scipy's)."""
    shared, local = _training._blas_libraries()
    return [c.num_threads for c in shared + local]


def _other_blas_thread_counts():
    """Those of the process's other BLAS libraries (NumPy's own, in wheels)."""
    ours = {id(c) for c in sum(_training._blas_libraries(), [])}
    controllers = _training._blas_controller().lib_controllers
    return [c.num_threads for c in controllers if id(c) not in ours]


def test_one_blas_thread_leaves_the_other_blas_libraries_alone():
    # NumPy's wheels carry a BLAS of their own, which the kernels never call: a
    # fit must not change the threads of a product in the user's other threads.
    with threadpool_limits(2):
        others = _other_blas_thread_counts()
        assert _blas_thread_counts()
        with one_blas_thread():
            assert set(_blas_thread_counts()) == {1}
            assert _other_blas_thread_counts() == others


def test_one_blas_thread_limits_every_blas_until_the_last_block_ends(monkeypatch):
    # Two fits in two threads: the first to end its block must not give the
    # other's products their threads back.
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 8)
    with threadpool_limits(2):
        before = _blas_thread_counts()
        assert before and set(before) == {2}
        entered, leave = threading.Event(), threading.Event()

        def other_fit():
            with one_blas_thread():
                entered.set()
                leave.wait()

        worker = threading.Thread(target=other_fit)
        with one_blas_thread():
            assert set(_blas_thread_counts()) == {1}
            # The threads a fit may take are those from before the block.
            assert available_threads() == 2
            worker.start()
            entered.wait()
        assert set(_blas_thread_counts()) == {1}
        leave.set()
        worker.join()
        assert _blas_thread_counts() == before
        assert available_threads() == 2


def test_one_blas_thread_restores_the_counts_after_an_error():
    with threadpool_limits(2):
        before = _blas_thread_counts()
        with pytest.raises(RuntimeError, match="inside"):
            with one_blas_thread():
                with one_blas_thread():
                    raise RuntimeError("inside")
        assert _blas_thread_counts() == before
    with threadpool_limits(1):
        with one_blas_thread():
            assert available_threads() == 1


def test_one_blas_thread_limits_from_any_thread():
    # The thread that set the BLAS's count last (here this one) is the only one
    # threadpoolctl lets set it; a fit in another thread must still get one
    # BLAS thread, and give the count back.
    with threadpool_limits(2):
        before = _blas_thread_counts()
        seen = []

        def fit_in_a_thread():
            with one_blas_thread():
                seen.append(_blas_thread_counts())
            seen.append(_blas_thread_counts())

        worker = threading.Thread(target=fit_in_a_thread)
        worker.start()
        worker.join()
        assert seen == [[1] * len(before), before]
