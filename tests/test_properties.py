"""Property-based tests of the Numba kernels, on random shapes and settings.

- ``batch_objective_gradient``: on networks of random depth and widths, with random
  data, sample weights, batches, losses, activations, penalties, per-layer strengths,
  dropout rates and input formats, the gradient it writes is compared with central
  finite differences of the objective it returns minus the penalty's non-smooth part
  (computed in NumPy), and its float32 gradient with its float64 gradient at the same
  point. The objective is compared with a plain NumPy forward pass.
- The proximal operators of ``_penalties``: firm non-expansiveness (in the metric of
  the per-coordinate steps for ``scaled_group_shrink``), shrinkage towards zero
  coordinate by coordinate, and an exact zero inside the threshold, on its boundary
  included.
- The factors ``dropout_derivative`` draws: the fraction of dropped entries against
  the binomial distribution of the rate, and the mean of the inverted scaling and of
  the activations after dropout against their expectations.
- ``sgd_step`` and ``adam_step``, over several consecutive steps: scikit-learn's SGD
  and Adam updates written in NumPy, then the penalty's proximal step with the step
  size of each coordinate (``_reference.numpy_prox``); float32 against float64.
"""

import copy
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from _network import step_config
from _reference import SHARES, numpy_prox
from _reference import norm as reference_norm
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose
from scipy.special import expit, softmax, xlogy

from skreg._activations import (
    ACTIVATIONS,
    IDENTITY,
    dropout_derivative,
    relu_marker,
    smooth_marker,
)
from skreg._gradient import batch_objective_gradient
from skreg._layout import Layout, TrainConfig
from skreg._losses import LOSSES
from skreg._optimizers import adam_step, sgd_step
from skreg._penalties import (
    PENALTIES,
    group_marker,
    group_shrink,
    penalty_code,
    scaled_group_shrink,
    soft_threshold,
)
from skreg._random import dropout_scale, stream_key

PENALTY_NAMES = [None, *PENALTIES]
DTYPES = [np.float64, np.float32]
EMPTY_INT = np.zeros(0, dtype=np.int64)
EPS = np.finfo(np.float64).eps


def floats(low, high):
    # Finite and without subnormals, for which relative tolerances are meaningless.
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


# Strengths of 0, or from 1e-3 up: steps times tiny strengths that underflow are
# test_penalties.py's business.
strengths = st.one_of(st.just(0.0), floats(1e-3, 2.0))


def _as_float32_values(a):
    """``a`` rounded to float32 and back: both dtypes then start from one point."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


# ===================================================== objective and gradient

# Loss case: (kernel loss, number of outputs). The multiclass log-loss is a softmax
# over >= 3 classes; the binary log-loss has one output, the multilabel case several.
LOSS_CASES = {
    "squared_error": ("squared_error", st.integers(1, 3)),
    "poisson": ("poisson", st.integers(1, 3)),
    "multiclass": ("log_loss", st.integers(3, 5)),
    "binary": ("binary_log_loss", st.just(1)),
    "multilabel": ("binary_log_loss", st.integers(2, 3)),
}

NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}
# The size of f'(z) as computed from a = f(z), its rounding error included:
# 1 - a * a and a * (1 - a) lose ulps of a * a, however small the derivative.
SLOPE_MAGNITUDES = {
    "identity": lambda z: np.ones_like(z),
    "logistic": expit,  # a * (1 - a) + a * a
    "tanh": lambda z: 1 + np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(np.float64),
}
OUTPUT_ACTIVATIONS = {
    "squared_error": lambda z: z,
    "poisson": np.exp,
    "log_loss": lambda z: softmax(z, axis=1),
    "binary_log_loss": expit,
}


def _targets(rng, loss, n_samples, n_outputs):
    if loss == "squared_error":
        return rng.normal(size=(n_samples, n_outputs))
    if loss == "poisson":
        return rng.poisson(1.5, size=(n_samples, n_outputs)).astype(np.float64)
    if loss == "log_loss":
        return np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    return rng.randint(2, size=(n_samples, n_outputs)).astype(np.float64)


def _numpy_loss_per_sample(loss, Y, Z, eps):
    """Per-sample loss from the output pre-activation ``Z``, summed on outputs.

    Probabilities are clipped to ``[eps, 1 - eps]`` in the value, as scikit-learn's.
    """
    if loss == "squared_error":
        return 0.5 * ((Y - Z) ** 2).sum(axis=1)
    if loss == "poisson":
        P = np.exp(Z)
        return (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    if loss == "log_loss":
        P = np.clip(softmax(Z, axis=1), eps, 1 - eps)
        return -xlogy(Y, P).sum(axis=1)
    P = np.clip(expit(Z), eps, 1 - eps)
    return -(xlogy(Y, P) + xlogy(1 - Y, 1 - P)).sum(axis=1)


def _loss_magnitude(loss, Y, Z):
    """Per sample, the size of the terms the loss value is computed from.

    The value's absolute rounding error is a few eps times this, not times the
    value: the Poisson deviance subtracts terms of the size of y and exp(z), and the
    binary log-loss, as scikit-learn's, takes log(1 - p), which loses eps / (1 - p)
    to the cancellation in 1 - p.
    """
    if loss == "squared_error":
        return ((np.abs(Y) + np.abs(Z)) ** 2).sum(axis=1)
    if loss == "poisson":
        return (
            Y * (1 + np.abs(np.log(np.maximum(Y, 1.0))) + np.abs(Z)) + np.exp(Z)
        ).sum(axis=1)
    if loss == "log_loss":
        return (1 + np.abs(Z)).sum(axis=1)
    return (1 + np.exp(np.abs(Z))).sum(axis=1)


def _group_norms(W):
    # sqrt(n_out) * sum_i ||W[i, :]||, vectorized: the entries here are of order 1.
    return np.sqrt(W.shape[1]) * np.linalg.norm(W, axis=1).sum()


class RandomNetwork:
    """A network, its data and one batch, passed to the kernel as the estimator does.

    Data and parameters are drawn from ``seed``; ``astype`` gives the same network
    in another dtype, with the same (float32-representable) values.
    """

    def __init__(self, n_samples, units, dtype, **spec):
        self.spec = dict(n_samples=n_samples, units=units, dtype=dtype, **spec)
        self.__dict__.update(spec)
        self.layout = Layout(units)
        self.order = EMPTY_INT if self.order is None else np.asarray(self.order)
        self.order = self.order.astype(np.int64)
        rng = np.random.RandomState(self.seed)
        X = rng.normal(size=(n_samples, units[0]))
        X[rng.uniform(size=X.shape) < 0.3] = 0.0  # so that the CSR matrix is sparse
        Y = _targets(rng, self.loss, n_samples, units[-1])
        sample_weight = rng.uniform(0.1, 2.0, size=n_samples)
        # Weight 0 ignores a sample; a batch may hold no other.
        sample_weight[rng.uniform(size=n_samples) < 0.15] = 0.0
        params = 0.6 * rng.normal(size=self.layout.n_params)
        if dtype == np.float32:
            X, Y, sample_weight, params = map(
                _as_float32_values, (X, Y, sample_weight, params)
            )
        self._values = X, Y, sample_weight, params
        self._set_dtype(dtype)

    def __repr__(self):
        spec = ", ".join(f"{key}={value!r}" for key, value in self.spec.items())
        return f"RandomNetwork({spec})"

    def _set_dtype(self, dtype):
        X, Y, sample_weight, params = (v.astype(dtype) for v in self._values)
        self.dtype = dtype
        self.X, self.Y, self.sample_weight, self.params = X, Y, sample_weight, params
        if self.sparse:
            csr = sp.csr_matrix(X)
            self.kernel_X = (
                None,
                (
                    csr.indptr.astype(np.int64),
                    csr.indices.astype(np.int64),
                    np.ascontiguousarray(csr.data),
                ),
            )
        else:
            self.kernel_X = (np.ascontiguousarray(X), None)
        code = ACTIVATIONS[self.activation]
        self.cfg = TrainConfig(
            activation=code,
            smooth=smooth_marker(code),
            loss=LOSSES[self.loss],
            penalty=penalty_code(self.penalty),
            grouped=group_marker(penalty_code(self.penalty)),
            relu=relu_marker(code),
            perturbed=True if self.input_dropout > 0 else None,
            l1_ratio=float(self.l1_ratio),
            momentum=0.0,
            nesterov=False,
            learning_rate_init=0.1,
            beta_1=0.9,
            beta_2=0.999,
            epsilon=1e-8,
            input_dropout=float(self.input_dropout),
            seed=int(self.seed),
            eps=float(np.finfo(dtype).eps),
        )

    def astype(self, dtype):
        twin = copy.copy(self)
        twin._set_dtype(dtype)
        return twin

    def rows(self):
        """The sample indices of the batch."""
        if self.order.shape[0] > 0:
            return self.order[self.start : self.stop]
        return np.arange(self.start, self.stop)

    def evaluate(self, params):
        """``(objective, grad, weight_sum)`` from the kernel."""
        size = self.stop - self.start
        # The estimator gathers the dense input batch when it shuffles or drops
        # inputs; without dropout it passes None, which compiles no random numbers.
        gather = (self.order.shape[0] > 0 or self.input_dropout > 0) and not self.sparse
        n_hidden = self.layout.n_layers - 2
        rates = np.zeros(n_hidden) if self.dropout is None else self.dropout
        offsets, total = self.layout.work_offsets(size, gather, rates)
        grad = np.full_like(params, np.nan)  # every entry must be written
        rows = np.empty(size, dtype=np.int64)
        objective, weight_sum = batch_objective_gradient(
            *self.kernel_X,
            (self.Y, self.sample_weight),
            (self.order, self.start, self.stop, 0, rows, self.step),
            params,
            grad,
            self.layout.layers(self.alphas),
            self.dropout,
            (np.empty(total, dtype=params.dtype), offsets),
            self.cfg,
        )
        return objective, grad, weight_sum

    def nonsmooth_part(self, params):
        """The penalty's non-smooth part, which the kernel leaves out of ``grad``."""
        _, l1, group = SHARES[self.penalty](self.l1_ratio)
        coefs, _ = self.layout.unpack(params)
        total = 0.0
        for W, alpha in zip(coefs, self.alphas):
            total += alpha * l1 * np.abs(W).sum()
            if group > 0:
                total += alpha * group * _group_norms(W)
        return total

    def smooth_objective(self, params):
        objective, _, _ = self.evaluate(params)
        return objective - self.nonsmooth_part(params)

    def _mask(self, layer, shape, rate):
        # The factors of the stream keyed by (seed, step, layer), layer 0 the input.
        mask = np.empty(shape)
        dropout_scale(mask, rate, np.uint64(stream_key(self.seed, self.step, layer)))
        return mask

    def numpy_forward(self, params):
        """The forward pass in NumPy, as a namespace.

        ``hidden``: the hidden pre-activations; ``Z`` and ``P``: the output's
        pre-activation and activation; ``objective``; ``magnitude``: the size of the
        terms the objective is computed from (see ``_loss_magnitude``). For the
        bound of ``gradient_magnitude``: ``sizes``, a bound on each weight
        matrix's input and on its rounding error, in ulps; ``slopes``, each hidden
        layer's ``SLOPE_MAGNITUDES`` times its dropout factors; ``Z_size``, the
        same bound on the output pre-activation.
        """
        coefs, intercepts = self.layout.unpack(params.astype(np.float64))
        rows = self.rows()
        A = self.X[rows].astype(np.float64)
        if self.input_dropout > 0:
            A = A * self._mask(0, A.shape, self.input_dropout)
        hidden, sizes, slopes = [], [np.abs(A)], []
        for layer, (W, b) in enumerate(zip(coefs[:-1], intercepts[:-1])):
            Z = A @ W + b
            # The error of z is ulps of |A| @ |W| + |b|, plus the error of A
            # carried through; the activations are 1-Lipschitz.
            size = sizes[-1] @ np.abs(W) + np.abs(b)
            A = NUMPY_ACTIVATIONS[self.activation](Z)
            size = np.maximum(size, np.abs(A))
            slope = SLOPE_MAGNITUDES[self.activation](Z)
            if self.dropout is not None and self.dropout[layer] > 0:
                mask = self._mask(layer + 1, A.shape, self.dropout[layer])
                A, size, slope = A * mask, size * mask, slope * mask
            hidden.append(Z)
            sizes.append(size)
            slopes.append(slope)
        Z = A @ coefs[-1] + intercepts[-1]

        Y = self.Y[rows].astype(np.float64)
        weights = self.sample_weight[rows].astype(np.float64)
        per_sample = _numpy_loss_per_sample(self.loss, Y, Z, self.cfg.eps)
        # A batch of zero weights has no data term: the objective is the penalty.
        normalizer = weights.sum() if weights.sum() > 0 else 1.0
        smooth, l1, group = SHARES[self.penalty](self.l1_ratio)
        penalty = sum(
            alpha
            * (
                0.5 * smooth * np.sum(W**2)
                + l1 * np.abs(W).sum()
                + group * _group_norms(W)
            )
            for W, alpha in zip(coefs, self.alphas)
        )
        objective = (weights * per_sample).sum() / normalizer + penalty
        magnitude = (weights * _loss_magnitude(self.loss, Y, Z)).sum() / normalizer
        return SimpleNamespace(
            hidden=hidden,
            sizes=sizes,
            slopes=slopes,
            Z=Z,
            Z_size=sizes[-1] @ np.abs(coefs[-1]) + np.abs(intercepts[-1]),
            P=OUTPUT_ACTIVATIONS[self.loss](Z),
            Y=Y,
            weights=weights / normalizer,
            objective=objective,
            magnitude=magnitude + abs(objective),
        )

    def gradient_magnitude(self, params):
        """The gradient with every factor of the backward pass replaced by its size.

        Each entry's rounding error in the kernel is a few ulps of this, while the
        entry itself can be far smaller: P - Y is a cancellation.
        """
        forward = self.numpy_forward(params)
        coefs, _ = self.layout.unpack(np.abs(params.astype(np.float64)))
        P = np.abs(forward.P)
        # The output activation's slope: 1 for the identity, at most P otherwise.
        out_slope = 1.0 if self.loss == "squared_error" else P
        delta = P + np.abs(forward.Y) + out_slope * forward.Z_size
        delta = delta * forward.weights[:, None]
        smooth, _, _ = SHARES[self.penalty](self.l1_ratio)
        coef_parts, intercept_parts = [], []
        for layer in range(len(coefs) - 1, -1, -1):
            coef = forward.sizes[layer].T @ delta
            coef_parts.append(coef + self.alphas[layer] * smooth * coefs[layer])
            intercept_parts.append(delta.sum(axis=0))
            if layer > 0:
                delta = (delta @ coefs[layer].T) * forward.slopes[layer - 1]
        return self.layout.pack(coef_parts[::-1], intercept_parts[::-1], np.float64)


@st.composite
def networks(draw, dtypes=DTYPES):
    n_samples = draw(st.integers(1, 12))
    hidden = draw(st.lists(st.integers(1, 7), min_size=1, max_size=3))
    loss, outputs = LOSS_CASES[draw(st.sampled_from(sorted(LOSS_CASES)))]
    units = [draw(st.integers(1, 6)), *hidden, draw(outputs)]
    if draw(st.booleans()):
        rates = st.one_of(st.just(0.0), floats(0.05, 0.8))
        dropout = draw(arrays(np.float64, len(hidden), elements=rates))
        input_dropout = draw(rates)
    else:
        dropout, input_dropout = None, 0.0
    start = draw(st.integers(0, n_samples - 1))
    return RandomNetwork(
        n_samples,
        units,
        draw(st.sampled_from(dtypes)),
        activation=draw(st.sampled_from(sorted(ACTIVATIONS))),
        loss=loss,
        penalty=draw(st.sampled_from(PENALTY_NAMES)),
        l1_ratio=draw(floats(0.0, 1.0)),
        alphas=draw(arrays(np.float64, len(units) - 1, elements=strengths)),
        dropout=dropout,
        input_dropout=input_dropout,
        sparse=draw(st.booleans()),
        order=draw(st.one_of(st.none(), st.permutations(range(n_samples)))),
        start=start,
        stop=draw(st.integers(start + 1, n_samples)),
        step=draw(st.integers(1, 10**6)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def _central_differences(f, params, h):
    fd = np.empty_like(params)
    shifted = params.copy()
    for i in range(params.shape[0]):
        shifted[i] = params[i] + h
        plus = f(shifted)
        shifted[i] = params[i] - h
        minus = f(shifted)
        shifted[i] = params[i]
        fd[i] = (plus - minus) / (2 * h)
    return fd


@settings(max_examples=200, deadline=None)
@given(net=networks())
def test_gradient_matches_finite_differences(net):
    net64 = net.astype(np.float64)
    forward = net64.numpy_forward(net64.params)
    if net.activation == "relu":
        # A step of 1e-6 moves a pre-activation by far less than 1e-3: no finite
        # difference then straddles the kink, where relu has no derivative.
        assume(min(np.abs(H).min() for H in forward.hidden) > 1e-3)
    # The loss value clips probabilities at eps, the gradient P - Y does not: stay
    # where the clip changes nothing (and exp(Z) is moderate).
    assume(np.abs(forward.Z).max() < 15)

    _, grad, _ = net64.evaluate(net64.params)
    h = 1e-6
    fd = _central_differences(net64.smooth_objective, net64.params, h)
    # The rounding of the objective, divided by the step, bounds the absolute error
    # of the differences; the truncation error, of order h**2, is far below it.
    atol = 100 * EPS * (1 + forward.magnitude) / h
    assert_allclose(grad, fd, rtol=1e-6, atol=atol)

    if net.dtype == np.float32:
        # Finite differences are meaningless in float32: the float32 gradient is
        # compared with the float64 gradient at the same point instead.
        _, grad32, _ = net.evaluate(net.params)
        assert grad32.dtype == np.float32
        # Up to about 100 float32 ulps of the terms each entry is summed from.
        bound = 100 * np.finfo(np.float32).eps * net64.gradient_magnitude(net64.params)
        assert np.all(np.abs(grad32 - grad) <= bound)


@settings(max_examples=200, deadline=None)
@given(net=networks(dtypes=[np.float64]))
def test_objective_matches_numpy_forward_pass(net):
    objective, _, weight_sum = net.evaluate(net.params)
    forward = net.numpy_forward(net.params)
    assert_allclose(
        objective, forward.objective, rtol=1e-12, atol=100 * EPS * forward.magnitude
    )
    assert_allclose(weight_sum, net.sample_weight[net.rows()].sum(), rtol=1e-14)


# ======================================================== proximal operators


@st.composite
def row_pairs(draw):
    """Two rows of one length, either far apart or close to each other."""
    n = draw(st.integers(1, 12))
    u = draw(arrays(np.float64, n, elements=floats(-10, 10)))
    direction = draw(arrays(np.float64, n, elements=floats(-1, 1)))
    distance = draw(st.one_of(floats(1e-6, 1e-2), floats(1e-2, 20)))
    return u, u + distance * direction


def _firm_slack(pu, pv, u, v, metric=1.0):
    """``<p(u) - p(v), u - v> - ||p(u) - p(v)||**2`` in the metric, and its rounding.

    A proximal operator is firmly non-expansive in the metric it is defined in:
    the slack is non-negative.
    """
    d, e = pu - pv, u - v
    slack = np.sum(d * e * metric) - np.sum(d * d * metric)
    size = np.sqrt(np.sum(u * u * metric)) + np.sqrt(np.sum(v * v * metric))
    distances = np.sqrt(np.sum(e * e * metric)) + np.sqrt(np.sum(d * d * metric))
    return slack, 1e-12 * size * distances


@settings(max_examples=100, deadline=None)
@given(pair=row_pairs(), t=floats(0, 30))
def test_soft_threshold_is_firmly_non_expansive(pair, t):
    u, v = pair
    pu = np.array([soft_threshold(x, t) for x in u])
    pv = np.array([soft_threshold(x, t) for x in v])
    slack, rounding = _firm_slack(pu, pv, u, v)
    assert slack >= -rounding


@settings(max_examples=100, deadline=None)
@given(pair=row_pairs(), t=floats(0, 30))
def test_group_shrink_is_firmly_non_expansive(pair, t):
    u, v = pair
    pu, pv = u.copy(), v.copy()
    group_shrink(pu, t)
    group_shrink(pv, t)
    slack, rounding = _firm_slack(pu, pv, u, v)
    assert slack >= -rounding
    # Firm non-expansiveness implies non-expansiveness, checked on its own: up to
    # the rounding of each shrunk entry, a few ulps of the rows' norms.
    size = np.linalg.norm(u) + np.linalg.norm(v)
    assert np.linalg.norm(pu - pv) <= np.linalg.norm(u - v) + 8 * EPS * size


@settings(max_examples=100, deadline=None)
@given(pair=row_pairs(), data=st.data())
def test_scaled_group_shrink_is_firmly_non_expansive_in_its_metric(pair, data):
    # The proximal operator of ||.|| in the metric sum_j x_j**2 / t_j.
    u, v = pair
    t = data.draw(arrays(np.float64, u.shape, elements=floats(1e-3, 10)))
    pu, pv = u.copy(), v.copy()
    scaled_group_shrink(pu, t.copy())
    scaled_group_shrink(pv, t.copy())
    slack, rounding = _firm_slack(pu, pv, u, v, metric=1.0 / t)
    # Newton's iterations stop at a relative change of 1e-15 in the norm.
    assert slack >= -1e3 * rounding


@settings(max_examples=100, deadline=None)
@given(
    u=arrays(np.float64, st.integers(1, 12), elements=floats(-10, 10)),
    data=st.data(),
)
def test_scaled_group_shrink_shrinks_more_where_the_step_is_larger(u, data):
    # x_j = u_j * r / (r + t_j): every coordinate keeps its sign, moves towards 0,
    # and by a fraction that grows with its step t_j.
    t = data.draw(arrays(np.float64, u.shape, elements=floats(1e-3, 10)))
    x = u.copy()
    scaled_group_shrink(x, t.copy())
    assert np.all(np.sign(x) * np.sign(u) >= 0)
    assert np.all(np.abs(x) <= np.abs(u))
    nonzero = u != 0
    kept = x[nonzero] / u[nonzero]
    by_step = np.argsort(t[nonzero], kind="stable")
    assert np.all(np.diff(kept[by_step]) <= 1e-12)


# Rows whose norm every summation order computes exactly: multiples, by a power of
# two, of integer rows whose largest entry is a power of two.
EXACT_ROWS = [
    ((3, 4), 5),
    ((1, 2, 2), 3),
    ((1, 4, 8), 9),
    ((2, 4, 4), 6),
    ((1,) * 4, 2),
]


@st.composite
def rows_within_the_threshold(draw):
    """A row and a threshold at least its norm, sometimes exactly its norm."""
    if draw(st.booleans()):
        base, norm = draw(st.sampled_from(EXACT_ROWS))
        scale = 2.0 ** draw(st.integers(-30, 30))
        signs = draw(
            st.lists(st.sampled_from([-1, 1]), min_size=len(base), max_size=len(base))
        )
        zeros = draw(st.integers(0, 12 - len(base)))
        row = [b * s * scale for b, s in zip(base, signs)] + [0.0] * zeros
        return np.array(draw(st.permutations(row))), norm * scale
    u = draw(arrays(np.float64, st.integers(1, 12), elements=floats(-10, 10)))
    u = _as_float32_values(u)
    # The margin covers the rounding of the norm (and of the threshold to float32).
    return u, reference_norm(u) * draw(floats(1.001, 100))


@settings(max_examples=100, deadline=None)
@given(problem=rows_within_the_threshold(), dtype=st.sampled_from(DTYPES))
def test_group_shrink_within_the_threshold_is_exactly_zero(problem, dtype):
    u, t = problem
    x = u.astype(dtype)
    group_shrink(x, t)
    assert x.dtype == dtype
    assert np.all(x == 0.0)


@st.composite
def scaled_rows_within_the_threshold(draw):
    """A row and steps t with sum_j (u_j / t_j)**2 <= 1, sometimes exactly 1."""
    if draw(st.booleans()):
        # k nonzero entries with t_j = sqrt(k) * |u_j|: each ratio is exactly
        # 1 / sqrt(k) for k in (1, 4), the sum exactly 1.
        k = draw(st.sampled_from([1, 4]))
        nonzero = draw(arrays(np.float64, k, elements=floats(1e-3, 10)))
        signs = draw(arrays(np.float64, k, elements=st.sampled_from([-1.0, 1.0])))
        zeros = draw(st.integers(0, 8))
        u = np.concatenate([signs * nonzero, np.zeros(zeros)])
        # Any positive step on the zero entries: they do not count.
        t = np.concatenate(
            [
                np.sqrt(k) * nonzero,
                draw(arrays(np.float64, zeros, elements=floats(1e-3, 10))),
            ]
        )
        order = np.array(draw(st.permutations(range(u.shape[0]))), dtype=np.int64)
        return u[order], t[order]
    u = draw(arrays(np.float64, st.integers(1, 12), elements=floats(-10, 10)))
    t = draw(arrays(np.float64, u.shape, elements=floats(1e-3, 10)))
    inside = np.sqrt(np.sum((u / t) ** 2))
    if inside > 0:
        t = t * inside * draw(floats(1.001, 100))
    u, t = _as_float32_values(u), _as_float32_values(t)
    # Rounded to float32, a subnormal step can fall back below the row's ratio.
    while np.sum((u / t) ** 2) > 1.0:
        t = _as_float32_values(2.0 * t)
    return u, t


@settings(max_examples=100, deadline=None)
@given(problem=scaled_rows_within_the_threshold(), dtype=st.sampled_from(DTYPES))
def test_scaled_group_shrink_within_the_threshold_is_exactly_zero(problem, dtype):
    u, t = problem
    x = u.astype(dtype)
    scaled_group_shrink(x, t.astype(dtype))
    assert x.dtype == dtype
    assert np.all(x == 0.0)


# ===================================================================== dropout


@settings(max_examples=50, deadline=None)
@given(
    rate=floats(0.05, 0.9),
    shape=st.tuples(st.integers(100, 400), st.integers(50, 250)),
    seed=st.integers(0, 2**32 - 1),
    step=st.integers(1, 10**6),
    layer=st.integers(0, 5),
    dtype=st.sampled_from(DTYPES),
)
def test_dropout_keeps_the_rate_and_the_expected_activation(
    rate, shape, seed, step, layer, dtype
):
    # The identity's derivative is 1: the kernel's factors are the dropout factors.
    rng = np.random.RandomState(seed % 2**31)
    before = rng.uniform(0.1, 2.0, size=shape).astype(dtype)
    A, factors = before.copy(), np.full_like(before, np.nan)
    key = np.uint64(stream_key(seed, step, layer))
    dropout_derivative(A, factors, IDENTITY, rate, key, 0)
    n = factors.size
    dropped = factors == 0.0

    assert np.all(dropped | (factors == dtype(1.0 / (1.0 - rate))))
    # Five binomial standard deviations: each fails by chance w.p. ~6e-7.
    assert abs(dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    # Each inverted factor has mean 1 and variance rate / (1 - rate).
    spread = rate / (1 - rate)
    mean = factors.astype(np.float64).mean()
    assert abs(mean - 1.0) < 5 * np.sqrt(spread / n)
    # So the activations after dropout keep their expectation.
    before, after = before.astype(np.float64), A.astype(np.float64)
    assert abs(after.sum() - before.sum()) < 5 * np.sqrt(spread * np.sum(before**2))


# ================================================================= optimizers


@st.composite
def optimizer_problems(draw):
    """A layout, a penalty, and a start point, states and gradients for a few steps.

    Every value is float32-representable, so float32 and float64 runs start alike.
    """
    units = draw(st.lists(st.integers(1, 7), min_size=2, max_size=4))
    layout = Layout(units)
    n_steps = draw(st.integers(1, 4))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    n = layout.n_params
    params = rng.normal(scale=draw(floats(1e-2, 10)), size=n)
    scale = draw(floats(1e-3, 10))
    grads = rng.normal(scale=scale, size=(n_steps, n))
    # Weights already pruned, coordinates without gradient.
    params[rng.uniform(size=n) < 0.2] = 0.0
    grads[rng.uniform(size=grads.shape) < 0.1] = 0.0
    # States of a run: moments of the gradients' size, sqrt(v) about |m|.
    first = rng.normal(scale=scale, size=n)
    second = first**2 * rng.uniform(0.5, 2.0, size=n) + (0.1 * scale) ** 2
    return (
        layout,
        draw(st.sampled_from(PENALTY_NAMES)),
        draw(floats(0.0, 1.0)),
        draw(arrays(np.float64, len(units) - 1, elements=strengths)),
        *map(_as_float32_values, (params, grads, first, second)),
    )


def _assert_steps_close(result, expected, scale, rtol):
    # Entries near 0 come out of cancellations (params + update, the thresholds):
    # their error is relative to the size of the terms, not to the result.
    assert_allclose(result, expected, rtol=rtol, atol=rtol * 1e-2 * scale)


@settings(max_examples=150, deadline=None)
@given(
    problem=optimizer_problems(),
    lr=floats(1e-4, 1.0),
    momentum=st.one_of(st.just(0.0), floats(0.0, 0.99)),
    nesterov=st.booleans(),
)
def test_sgd_steps_are_the_numpy_update_then_the_prox(problem, lr, momentum, nesterov):
    layout, penalty, rho, alphas, params, grads, _, _ = problem
    code = penalty_code(penalty)
    expected, expected_velocity = params.copy(), np.zeros_like(params)
    runs = {
        dtype: (params.astype(dtype), np.zeros(params.shape, dtype)) for dtype in DTYPES
    }
    scale = np.abs(params).max()
    for grad in grads:
        # SGDOptimizer._get_updates, then the prox at the step lr.
        update = momentum * expected_velocity - lr * grad
        expected_velocity = update
        if nesterov:
            update = momentum * expected_velocity - lr * grad
        before = expected + update
        expected = numpy_prox(before, layout, alphas, penalty, rho, lr)
        scale = max(scale, np.abs(before).max())

        for dtype, (result, velocity) in runs.items():
            sgd_step(
                result,
                grad.astype(dtype),
                velocity,
                lr,
                layout.layers(alphas),
                step_config(
                    code, rho, group_marker(code), momentum=momentum, nesterov=nesterov
                ),
                None,
            )
        result, velocity = runs[np.float64]
        _assert_steps_close(velocity, expected_velocity, scale, rtol=1e-10)
        _assert_steps_close(result, expected, scale, rtol=1e-10)

    result32, velocity32 = runs[np.float32]
    assert result32.dtype == np.float32
    _assert_steps_close(velocity32, expected_velocity, scale, rtol=1e-4)
    _assert_steps_close(result32, expected, scale, rtol=1e-4)


@settings(max_examples=150, deadline=None)
@given(
    problem=optimizer_problems(),
    t0=st.integers(0, 100),
    lr_init=floats(1e-4, 0.5),
    beta_1=floats(0.0, 0.99),
    beta_2=floats(0.9, 0.9999),
    epsilon=floats(1e-9, 1e-6),
)
def test_adam_steps_are_the_numpy_update_then_the_prox(
    problem, t0, lr_init, beta_1, beta_2, epsilon
):
    layout, penalty, rho, alphas, params, grads, first, second = problem
    if t0 == 0:
        # The first step of a fit starts from zero moments.
        first, second = np.zeros_like(first), np.zeros_like(second)
    code = penalty_code(penalty)
    expected, m, v = params.copy(), first.copy(), second.copy()
    runs = {
        dtype: tuple(a.astype(dtype) for a in (params, first, second))
        for dtype in DTYPES
    }
    scale = np.abs(params).max()
    for t, grad in enumerate(grads, start=t0 + 1):
        # AdamOptimizer._get_updates, then the prox at each coordinate's step.
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        lr_t = lr_init * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        step = lr_t / (np.sqrt(v) + epsilon)
        before = expected - step * m
        expected = numpy_prox(before, layout, alphas, penalty, rho, step)
        scale = max(scale, np.abs(before).max())

        for dtype, (result, result_m, result_v) in runs.items():
            returned = adam_step(
                result,
                grad.astype(dtype),
                (result_m, result_v),
                t,
                layout.layers(alphas),
                step_config(
                    code,
                    rho,
                    group_marker(code),
                    lr_init=lr_init,
                    beta_1=beta_1,
                    beta_2=beta_2,
                    epsilon=epsilon,
                ),
                None,
            )
            assert_allclose(returned, lr_t, rtol=1e-12)
        result, result_m, result_v = runs[np.float64]
        _assert_steps_close(result_m, m, np.abs(m).max(), rtol=1e-10)
        _assert_steps_close(result_v, v, np.abs(v).max(), rtol=1e-10)
        _assert_steps_close(result, expected, scale, rtol=1e-10)

    result32, m32, v32 = runs[np.float32]
    assert result32.dtype == np.float32
    _assert_steps_close(m32, m, np.abs(m).max(), rtol=1e-4)
    _assert_steps_close(v32, v, np.abs(v).max(), rtol=1e-4)
    _assert_steps_close(result32, expected, scale, rtol=1e-4)
