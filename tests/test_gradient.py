"""Tests of skreg._gradient: one minibatch's objective and gradient.

The gradient written by ``batch_objective_gradient`` is checked against central
finite differences of the objective it returns, for every activation, loss, penalty,
dtype and input format; the objective itself against a plain NumPy forward pass.
The networks are tiny (``_network``), so every finite-difference test runs in
milliseconds once the kernels are compiled.
"""

import numpy as np
import pytest
from _network import (
    ALPHAS,
    HIDDEN,
    L1_RATIO,
    LOSS_CASES,
    N_FEATURES,
    N_SAMPLES,
    PENALTY_NAMES,
    PENALTY_SHARES,
    Network,
    _central_differences,
    _numpy_penalty,
)
from numpy.linalg import norm
from numpy.testing import assert_allclose, assert_array_equal

from skreg._activations import ACTIVATIONS
from skreg._random import dropout_scale, stream_key

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
