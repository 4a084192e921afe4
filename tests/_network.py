"""The tiny networks the kernel tests share: data, NumPy references, a ``Network``."""

import numpy as np
import scipy.sparse as sp
from _reference import SHARES, group_norms
from scipy.special import expit, softmax, xlogy

from skreg._activations import ACTIVATIONS, relu_marker, smooth_marker
from skreg._gradient import batch_objective_gradient
from skreg._layout import Layout, TrainConfig
from skreg._losses import LOSSES
from skreg._optimizers import OPTIMIZERS
from skreg._penalties import PENALTIES, group_marker, penalty_code

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
        self.solver = OPTIMIZERS[solver]
        self.cfg = TrainConfig(
            activation=ACTIVATIONS[activation],
            smooth=smooth_marker(ACTIVATIONS[activation]),
            loss=LOSSES[loss],
            penalty=penalty_code(penalty),
            grouped=group_marker(penalty_code(penalty)),
            relu=relu_marker(ACTIVATIONS[activation]),
            perturbed=True if input_dropout > 0 else None,
            l1_ratio=L1_RATIO,
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
        """``(X, csr)``, as ``BaseRegularizedMLP._kernel_input``."""
        if self.sparse:
            csr = sp.csr_matrix(self.X)
            arrays = (
                csr.indptr.astype(np.int64),
                csr.indices.astype(np.int64),
                np.ascontiguousarray(csr.data),
            )
            return None, arrays
        return np.ascontiguousarray(self.X), None

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
        order = EMPTY_INT if order is None else order
        rows = np.empty(stop - start, dtype=np.int64)
        objective, weight_sum = batch_objective_gradient(
            *self.kernel_X(),
            (self.Y, self.sample_weight),
            (order, start, stop, 0, rows, step),
            params,
            grad,
            self.layout.layers(self.alphas),
            self.dropout,
            (work, offsets),
            self.cfg,
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


def step_config(
    code,
    rho,
    grouped,
    momentum=0.0,
    nesterov=False,
    lr_init=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-8,
):
    """The ``TrainConfig`` an optimizer step reads: its constants and the penalty."""
    return TrainConfig(
        activation=0,
        smooth=None,
        loss=0,
        penalty=code,
        grouped=grouped,
        relu=None,
        perturbed=None,
        l1_ratio=float(rho),
        momentum=float(momentum),
        nesterov=bool(nesterov),
        learning_rate_init=float(lr_init),
        beta_1=float(beta_1),
        beta_2=float(beta_2),
        epsilon=float(epsilon),
        input_dropout=0.0,
        seed=0,
        eps=float(np.finfo(np.float64).eps),
    )
