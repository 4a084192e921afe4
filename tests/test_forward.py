"""Tests of skreg._forward: one layer definition for training, prediction and prune().

``activate`` is checked against NumPy; the training pass (``_gradient``) and the
prediction pass (``forward``) are checked to give the same network output, since
both take every layer's output from ``activate``.
"""

import numpy as np
import pytest
from _network import LOSS_CASES, N_SAMPLES, NUMPY_ACTIVATIONS, Network
from numpy.testing import assert_allclose
from scipy.special import expit, softmax

from skreg._activations import ACTIVATIONS, smooth_marker
from skreg._forward import activate, all_finite, forward
from skreg._gradient import batch_objective_gradient
from skreg._losses import LOSSES

OUTPUTS = {
    "squared_error": lambda z: z,
    "poisson": np.exp,
    "log_loss": lambda z: softmax(z, axis=1),
    "binary_log_loss": expit,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_activate_is_the_hidden_or_the_output_activation(activation, loss, last, dtype):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, 4)).astype(dtype)
    intercept = rng.normal(size=4).astype(dtype)
    code = ACTIVATIONS[activation]
    result = Z.copy()
    activate(result, intercept, last, code, smooth_marker(code), LOSSES[loss])
    reference = OUTPUTS[loss] if last else NUMPY_ACTIVATIONS[activation]
    expected = reference(Z.astype(np.float64) + intercept)
    assert result.dtype == dtype
    assert_allclose(result, expected, rtol=4 * np.finfo(dtype).eps, atol=1e-7)


def _training_output(net):
    """The network output that the training pass leaves in its work buffer."""
    work, offsets = net.work(N_SAMPLES, gather=False)
    grad = np.empty_like(net.params)
    rows = np.empty(N_SAMPLES, dtype=np.int64)
    batch_objective_gradient(
        *net.kernel_X(),
        (net.Y, net.sample_weight),
        (np.zeros(0, dtype=np.int64), 0, N_SAMPLES, 0, rows, 0),
        net.params,
        grad,
        net.layout.layers(net.alphas),
        None,
        (work, offsets),
        net.cfg,
    )
    n_layers = net.layout.n_layers
    start = offsets[0, n_layers - 1]
    n_outputs = net.layout.units[-1]
    return work[start : start + N_SAMPLES * n_outputs].reshape(N_SAMPLES, n_outputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_training_and_prediction_give_the_same_output(
    activation, loss, n_outputs, dtype
):
    net = Network(activation=activation, loss=loss, n_outputs=n_outputs)
    net = net.astype(dtype)
    coefs, intercepts = net.layout.unpack(net.params)
    coefs = tuple(np.ascontiguousarray(W) for W in coefs)
    out = np.empty((N_SAMPLES, n_outputs), dtype=dtype)
    finite = forward(
        np.ascontiguousarray(net.X),
        coefs,
        tuple(intercepts),
        net.cfg.activation,
        net.cfg.smooth,
        net.cfg.loss,
        3,
        out,
        True,
    )
    assert finite
    # Chunks of 3 rows against one batch of 7: the same products but for the
    # BLAS's blocking, so the two agree to rounding.
    eps = np.finfo(dtype).eps
    scale = np.abs(out).max()
    assert_allclose(_training_output(net), out, rtol=8 * eps, atol=8 * eps * scale)


def test_forward_stops_at_the_first_chunk_with_a_non_finite_value():
    net = Network()
    coefs, intercepts = net.layout.unpack(net.params)
    X = net.X.copy()
    X[5, 1] = np.nan
    out = np.zeros((N_SAMPLES, 3))
    args = (net.cfg.activation, net.cfg.smooth, net.cfg.loss, 2, out)
    assert not forward(X, tuple(coefs), tuple(intercepts), *args, True)
    # The chunks before the one with the NaN were computed; the rest were not.
    assert out[:4].any() and not out[4:].any()
    assert not all_finite(X) and all_finite(net.X)
