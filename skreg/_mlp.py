"""The estimators: scikit-learn glue around the training kernels.

This module owns parameters and their validation, labels, sample and class weights,
the loop over epochs (convergence, early stopping, learning-rate schedules, verbose
output, the non-finite check) and the fitted attributes. It does no array arithmetic
of its own beyond bookkeeping: the maths is in the kernel modules (``_gradient``,
``_epoch``, ``_forward``).
"""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._activations import ACTIVATIONS, INIT_FACTORS, smooth_marker
from ._compile import collecting_young_while_compiling
from ._full_batch import fit_lbfgs
from ._layout import Layout, TrainConfig
from ._losses import LOSSES, OUT_ACTIVATIONS
from ._optimizers import OPTIMIZERS
from ._parallel import EpochWorkers, one_blas_thread
from ._penalties import PENALTIES, group_marker, is_smooth, penalty_code
from ._prediction import predict_output
from ._state import check_state, restore_state
from ._stochastic import fit_stochastic
from ._version import __version__

try:  # scikit-learn 1.9 added the callback API; before it, fits take no callbacks
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover

    class CallbackSupportMixin:
        pass


_STOCHASTIC_SOLVERS = ("sgd", "adam")

# The layout of a saved estimator's state. Raise it when a release changes what
# __getstate__ holds, and teach __setstate__ to read the older formats.
_STATE_FORMAT = 1
# The hidden activations in NumPy, for the constants prune() folds away.
_NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
}


def _scaled_sample_weight(sample_weight):
    """Sample weights whose sum is positive and finite, as the mean loss needs.

    The objective divides by the weights' sum, so only their ratios matter:
    weights far from 1 (1e-320 or 1e307) are scaled by a power of two, which is
    exact and changes no result, instead of underflowing or overflowing.
    """
    if not np.all(np.isfinite(sample_weight)):
        raise ValueError(
            "Sample weights, with the class weights folded in, must be finite."
        )
    largest = float(np.max(np.abs(sample_weight)))
    if largest >= 2.0**32 or largest < 2.0**-32:
        sample_weight = np.ldexp(sample_weight, -np.frexp(largest)[1])
    total = float(np.sum(sample_weight, dtype=np.float64))
    if not total > 0:
        raise ValueError(
            f"Sample weights, with the class weights folded in, sum to {total}: "
            "the weighted mean loss needs a positive sum. Negative weights are "
            "allowed only as long as the positive ones outweigh them."
        )
    return sample_weight


def _as_float_sequence(value, length, name, low, high, high_closed):
    """A float or a sequence of ``length`` floats in range, as a float64 array."""
    values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if values.ndim != 1:
        raise ValueError(f"{name} must be a float or a 1-D sequence of floats.")
    if values.shape[0] == 1 and np.ndim(value) == 0:
        values = np.full(length, values[0])
    if values.shape[0] != length:
        raise ValueError(
            f"{name} must be a float or a sequence of {length} floats (one per "
            f"{'weight matrix' if name == 'alpha' else 'hidden layer'}), got "
            f"{values.shape[0]} values."
        )
    upper_ok = values <= high if high_closed else values < high
    if not (np.all(np.isfinite(values)) and np.all(values >= low) and upper_ok.all()):
        interval = f"[{low}, {high}{']' if high_closed else ')'}"
        raise ValueError(f"Every value of {name} must be in {interval}, got {value!r}.")
    return values


class _IterationCallbacks:
    """The callbacks' hooks around a fit and each of its iterations.

    An iteration is an epoch of the stochastic solvers or a step of L-BFGS; each is
    a subtask of the fit's root task. Built only when callbacks are set, so a fit
    without callbacks pays nothing. The hooks see the training data (the training
    part under early stopping), the weights of the loss when ``sample_weight`` or
    ``class_weight`` was given, and, if they ask for it, a copy of the estimator
    holding the weights of that moment.
    """

    def __init__(self, context, estimator, layout, dtype, weighted):
        self._context = context
        self._estimator = estimator
        self._layout = layout
        self._dtype = dtype
        self._weighted = weighted
        self._task = None
        self._data = {}

    def use_data(self, X, y, sample_weight):
        metadata = {"sample_weight": sample_weight} if self._weighted else None
        self._data = {"X": X, "y": y, "metadata": metadata}

    def _weights(self, params):
        coefs, intercepts = self._layout.unpack(params.astype(self._dtype))
        return {"coefs_": coefs, "intercepts_": intercepts}

    def begin_fit(self):
        self._context.call_on_fit_task_begin(estimator=self._estimator, **self._data)

    def end_fit(self):
        self._context.call_on_fit_task_end(
            estimator=self._estimator, **self._data, reconstruction_attributes={}
        )

    def begin(self, task_name, params):
        self._task = self._context.subcontext(task_name=task_name)
        self._task.call_on_fit_task_begin(
            estimator=self._estimator,
            **self._data,
            reconstruction_attributes=lambda: self._weights(params),
        )

    def end(self, params):
        """End the current iteration; True when a callback asks to stop."""
        task, self._task = self._task, None
        return task.call_on_fit_task_end(
            estimator=self._estimator,
            **self._data,
            reconstruction_attributes=lambda: self._weights(params),
        )

    def abandon(self):
        """End an iteration that did not complete, as an empty task."""
        if self._task is not None:
            task, self._task = self._task, None
            task.call_on_fit_task_end(estimator=self._estimator)


class BaseRegularizedMLP(CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the regularized multi-layer perceptrons.

    Warning: this class should not be used directly. Use the derived classes.
    """

    # The HTML repr links each estimator to its page of the API reference, as
    # scikit-learn's estimators link to theirs.
    _doc_link_module = "skreg"
    _doc_link_template = (
        "https://skreg.readthedocs.io/en/stable/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", *OPTIMIZERS})],
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "penalty": [StrOptions(set(PENALTIES)), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        *,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        penalty,
        l1_ratio,
        dropout,
        input_dropout,
        noise_std,
        max_norm,
        weight_decay,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.noise_std = noise_std
        self.max_norm = max_norm
        self.weight_decay = weight_decay

    # ------------------------------------------------------------------ options

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) for s in sizes):
            # scikit-learn's MLP fails on such sizes too, with a TypeError; this
            # error is both a TypeError and a ValueError.
            raise InvalidParameterError(
                "The 'hidden_layer_sizes' parameter of %s must be an int in the "
                "range [1, inf) or an array-like of such ints. Got %r instead."
                % (type(self).__name__, self.hidden_layer_sizes)
            )
        if np.any(np.array(sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
        return [int(s) for s in sizes]

    def _check_options(self, hidden_sizes):
        """Per-layer values and the combinations the solver cannot honour."""
        n_matrices = len(hidden_sizes) + 1
        alphas = _as_float_sequence(
            self.alpha, n_matrices, "alpha", 0.0, np.inf, high_closed=True
        )
        dropout = _as_float_sequence(
            self.dropout, len(hidden_sizes), "dropout", 0.0, 1.0, high_closed=False
        )
        if self.solver == "lbfgs":
            unsupported = []
            if not is_smooth(self.penalty, self.l1_ratio):
                unsupported.append(f"penalty={self.penalty!r}")
            if np.any(dropout > 0):
                unsupported.append("dropout > 0")
            if self.input_dropout > 0:
                unsupported.append("input_dropout > 0")
            if self.noise_std > 0:
                unsupported.append("noise_std > 0")
            if self.max_norm is not None:
                unsupported.append("max_norm")
            if self.weight_decay > 0:
                unsupported.append("weight_decay > 0")
            if unsupported:
                raise ValueError(
                    f"solver='lbfgs' does not support {' and '.join(unsupported)}: "
                    "it minimises a smooth, deterministic objective without "
                    "per-step constraints. Use solver='adam' or solver='sgd', which "
                    "support every penalty, dropout, noise, max_norm and "
                    "weight_decay."
                )
        return alphas, dropout

    # ------------------------------------------------------------------ fitting

    def _init_callbacks(self, incremental):
        """The root callback context of a ``fit`` or ``partial_fit``, or None.

        Called by the public fitting methods (whose ``_fit_context`` tears the
        callbacks down), before the state a failed fit restores is saved.
        """
        if not getattr(self, "_skl_callbacks", None):
            return None
        if self.solver == "lbfgs":
            # One more than the steps: the step begun after the last is empty.
            max_subtasks = self.max_iter + 1
        else:
            max_subtasks = 1 if incremental else self.max_iter
        return self._init_callback_context(max_subtasks=max_subtasks)

    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        incremental=False,
        keep_optimizer=False,
        callback_ctx=None,
        early_stopping_warmup=0,
        reraise_interrupt=False,
    ):
        # A fit that fails, at any point, leaves the estimator as it was.
        # ``keep_optimizer`` continues a warm start with the optimizer's state (the
        # moments, the step count and the learning rate) instead of a fresh one.
        # Under early stopping, the first ``early_stopping_warmup`` epochs are
        # scored but never kept as the best, nor counted towards a stop: a path's
        # warm-started point thus keeps an epoch trained at its own alpha.
        # With ``reraise_interrupt``, a Ctrl-C ends the call with KeyboardInterrupt
        # (and the estimator as it was) instead of keeping the last completed
        # epoch: the fits of a search use it, so that the search stops too.
        saved = self.__dict__.copy()
        # Training never depends on the BLAS's threads: its products run on one
        # thread each, and a fit's own threads share the work in a fixed way.
        young, blas = collecting_young_while_compiling(), one_blas_thread()
        # The fit's second thread, if it starts one; ended here whatever happens.
        workers = EpochWorkers()
        try:
            with young, blas:
                return self._fit_unguarded(
                    X,
                    y,
                    sample_weight,
                    incremental,
                    keep_optimizer,
                    callback_ctx,
                    early_stopping_warmup,
                    reraise_interrupt,
                    workers,
                )
        except BaseException:
            # A Ctrl-C can cut a ``with`` short before its exit runs, or a
            # ``finally`` before its call: leave again (a no-op for what ended).
            workers.close()
            blas.__exit__(None, None, None)
            young.__exit__(None, None, None)
            restore_state(self, saved)
            raise

    def _fit_unguarded(
        self,
        X,
        y,
        sample_weight,
        incremental,
        keep_optimizer=False,
        callback_ctx=None,
        early_stopping_warmup=0,
        reraise_interrupt=False,
        workers=None,
    ):
        weighted = (
            sample_weight is not None or getattr(self, "class_weight", None) is not None
        )
        hidden_sizes = self._hidden_sizes()
        alphas, dropout = self._check_options(hidden_sizes)
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        if not first_pass:
            # Before the kernels continue from them: the arrays of a loaded or
            # edited model may not fit together.
            check_state(self)
        X, y_labels, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if not first_pass and X.dtype != self.coefs_[0].dtype:
            # As scikit-learn's MLP: the weights keep the dtype of the first fit.
            X = X.astype(self.coefs_[0].dtype)
            Y = Y.astype(X.dtype)
        n_samples, n_features = X.shape
        sample_weight = self._sample_weight(sample_weight, X, y_labels, incremental)

        layer_units = [n_features, *hidden_sizes, Y.shape[1]]
        if not first_pass and (
            len(self.coefs_) != len(layer_units) - 1
            or any(
                c.shape != (a, b)
                for c, a, b in zip(self.coefs_, layer_units[:-1], layer_units[1:])
            )
        ):
            raise ValueError(
                "hidden_layer_sizes or the number of outputs changed since the last "
                f"fit: the network has layers {self._layer_units()}, the new "
                f"parameters and data ask for {layer_units}. Refit with "
                "warm_start=False."
            )
        random_state = check_random_state(self.random_state)
        layout = Layout(layer_units)
        hooks = None
        if callback_ctx is not None:
            hooks = _IterationCallbacks(callback_ctx, self, layout, X.dtype, weighted)
            hooks.use_data(X, y_labels, sample_weight)
            hooks.begin_fit()
        if first_pass:
            self._initialize(Y, layer_units, X.dtype, random_state)
        params = layout.pack(self.coefs_, self.intercepts_, X.dtype)

        if self.solver == "lbfgs":
            params = fit_lbfgs(
                self, X, Y, sample_weight, params, layout, alphas, dropout, hooks
            )
        else:
            params = fit_stochastic(
                self,
                X,
                Y,
                y_labels,
                sample_weight,
                params,
                layout,
                alphas,
                dropout,
                random_state,
                incremental,
                keep_optimizer and not first_pass,
                hooks,
                early_stopping_warmup,
                reraise_interrupt,
                workers,
            )
        self.coefs_, self.intercepts_ = layout.unpack(params)
        if hooks is not None:
            hooks.use_data(X, y_labels, sample_weight)
            hooks.end_fit()
        return self

    def _layer_units(self):
        return [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]

    def _sample_weight(self, sample_weight, X, y_labels, incremental):
        """Sample weights with the class weights folded in."""
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            if self._label_binarizer.y_type_.startswith("multilabel"):
                raise ValueError("class_weight is not supported for multilabel y.")
            if incremental and isinstance(class_weight, str):
                raise ValueError(
                    "class_weight '{0}' is not supported for partial_fit. In order "
                    "to use 'balanced' weights, use compute_class_weight('{0}', "
                    "classes=classes, y=y). In place of y you can use a large enough "
                    "sample of the full training set target to properly estimate "
                    "the class frequency distributions. Pass the resulting weights "
                    "as the class_weight parameter.".format(class_weight)
                )
            weights = compute_class_weight(
                class_weight, classes=self.classes_, y=y_labels
            )
            if not np.all(np.isfinite(weights)):
                i = int(np.flatnonzero(~np.isfinite(weights))[0])
                raise ValueError(
                    f"class_weight must give every class a finite weight; class "
                    f"{self.classes_.tolist()[i]!r} has weight {weights[i]}."
                )
            index = np.searchsorted(self.classes_, y_labels)
            sample_weight = sample_weight * weights[index].astype(X.dtype)
        return _scaled_sample_weight(sample_weight)

    def _initialize(self, Y, layer_units, dtype, random_state):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = OUT_ACTIVATIONS[LOSSES[self._loss_name()]]
        # Glorot uniform, drawn weights then intercepts per layer, as sklearn draws
        # them, so a fit starts from sklearn's weights for the same random_state.
        bound_factor = INIT_FACTORS[self.activation]
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(bound_factor / (fan_in + fan_out))
            coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(coef.astype(dtype, copy=False))
            self.intercepts_.append(intercept.astype(dtype, copy=False))
        self._optimizer_state = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
            else:
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            self.best_loss_ = None

    def _config(self, dtype, seed):
        return TrainConfig(
            activation=ACTIVATIONS[self.activation],
            smooth=smooth_marker(ACTIVATIONS[self.activation]),
            loss=LOSSES[self._loss_name()],
            penalty=penalty_code(self.penalty),
            grouped=group_marker(penalty_code(self.penalty)),
            l1_ratio=float(self.l1_ratio),
            solver=OPTIMIZERS.get(self.solver, 0),
            momentum=float(self.momentum),
            nesterov=bool(self.nesterovs_momentum),
            learning_rate_init=float(self.learning_rate_init),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            input_dropout=float(self.input_dropout),
            seed=int(seed),
            eps=float(np.finfo(dtype).eps),
            noise_std=float(self.noise_std),
        )

    def _kernel_dropout(self, dropout):
        """The hidden dropout rates, or None when a step draws no random numbers.

        None (no dropout of any kind, no input noise) lets the kernels compile
        without the random-number code.
        """
        if np.any(dropout > 0) or self.input_dropout > 0 or self.noise_std > 0:
            return dropout
        return None

    def _constraints(self):
        """``(max_norm, weight_decay)`` for the kernels, or None when both are off."""
        if self.max_norm is None and self.weight_decay == 0:
            return None
        return float(self.max_norm or 0.0), float(self.weight_decay)

    @staticmethod
    def _kernel_input(X):
        """``(X, indptr, indices, data)`` as the kernels take dense or CSR input."""
        if sp.issparse(X):
            X = X.tocsr()
            return (
                None,
                X.indptr.astype(np.int64),
                X.indices.astype(np.int64),
                np.ascontiguousarray(X.data),
            )
        return np.ascontiguousarray(X), None, None, None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. The loss is the weighted mean over the samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        callback_ctx = self._init_callbacks(incremental=False)
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            incremental=False,
            callback_ctx=callback_ctx,
        )

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # --------------------------------------------------------------- prediction

    def _forward_checked(self, X):
        # A method, so that the CV estimators can put their own check first.
        return predict_output(self, X)

    # ------------------------------------------------------------ regularization

    def prune(self):
        """Remove the hidden units that cannot change a prediction.

        A hidden unit whose outgoing weights (its row of the next weight matrix)
        are all zero contributes nothing; one whose incoming weights (its column
        of its own weight matrix) are all zero outputs the constant
        ``activation(intercept)``, which is folded into the next layer's
        intercepts. Both are removed, repeatedly, until no such unit is left;
        a layer keeps at least one unit. Group penalties switch units off this
        way. Predictions are unchanged up to rounding; input features are never
        removed, so ``n_features_in_`` stays.

        ``hidden_layer_sizes`` is set to the pruned sizes and the optimizer's
        state is cut to match, so ``warm_start`` and ``partial_fit`` continue
        training the pruned network.

        Returns
        -------
        self : object
            The pruned estimator.
        """
        check_is_fitted(self)
        check_state(self)
        coefs = [c.copy() for c in self.coefs_]
        intercepts = [b.copy() for b in self.intercepts_]
        # Which entries of the flat parameter buffer survive, to cut the
        # optimizer's state the same way.
        kept_rows = [np.arange(c.shape[0]) for c in coefs]
        kept_cols = [np.arange(c.shape[1]) for c in coefs]
        activation = _NUMPY_ACTIVATIONS[self.activation]
        changed = True
        while changed:
            changed = False
            for layer in range(len(coefs) - 1):
                W_in, W_out = coefs[layer], coefs[layer + 1]
                silent = ~W_out.any(axis=1)
                constant = ~W_in.any(axis=0) & ~silent
                if constant.any():
                    outputs = activation(intercepts[layer][constant])
                    # Summed without the BLAS, whose threads could change the
                    # last bits.
                    intercepts[layer + 1] += (outputs[:, None] * W_out[constant]).sum(
                        axis=0
                    )
                keep = ~(silent | constant)
                if not keep.any():
                    # The layer's output no longer matters: keep one unit, cut off.
                    # Cutting its incoming weights can silence the layer below,
                    # which is then looked at again.
                    keep[0] = True
                    changed |= bool(W_in[:, 0].any())
                    W_in[:, 0] = 0
                    W_out[0] = 0
                    intercepts[layer][0] = 0
                if keep.all():
                    continue
                changed = True
                coefs[layer] = W_in[:, keep]
                intercepts[layer] = intercepts[layer][keep]
                coefs[layer + 1] = W_out[keep]
                kept_cols[layer] = kept_cols[layer][keep]
                kept_rows[layer + 1] = kept_rows[layer + 1][keep]

        state = getattr(self, "_optimizer_state", None)
        if state is not None:
            old = Layout(self._layer_units())
            mask = np.zeros(old.n_params, dtype=bool)
            for layer, (rows, cols) in enumerate(zip(kept_rows, kept_cols)):
                n_out = old.units[layer + 1]
                start = old.coef_offsets[layer]
                mask[start + (rows[:, None] * n_out + cols).ravel()] = True
                mask[old.intercept_offsets[layer] + cols] = True
            state = {
                k: v[mask] if isinstance(v, np.ndarray) else v for k, v in state.items()
            }
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self._optimizer_state = state
        self.hidden_layer_sizes = tuple(int(c.shape[1]) for c in coefs[:-1])
        return self

    @property
    def feature_importances_(self):
        """Per input feature, the L2 norm of its row of ``coefs_[0]``, summing to 1.

        All zeros when every row is zero. Used by
        :class:`~sklearn.feature_selection.SelectFromModel`.
        """
        check_is_fitted(self)
        norms = np.linalg.norm(self.coefs_[0].astype(np.float64), axis=1)
        total = norms.sum()
        return norms / total if total > 0 else norms

    @property
    def sparsity_(self):
        """Per weight matrix, the fraction of its entries that are exactly 0.0."""
        check_is_fitted(self)
        return [float(np.mean(c == 0)) for c in self.coefs_]

    def __getstate__(self):
        # A copy: scikit-learn's may be the instance's own __dict__.
        state = dict(super().__getstate__())
        state["_skreg_version"] = __version__
        state["_skreg_state_format"] = _STATE_FORMAT
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_skreg_version", "unknown")
        state_format = state.pop("_skreg_state_format", _STATE_FORMAT)
        if state_format > _STATE_FORMAT:
            raise ValueError(
                f"This {type(self).__name__} was saved by skreg {version}, in a "
                f"format (version {state_format}) that skreg {__version__} cannot "
                f"read. Load it with skreg {version} or later, or refit it with "
                f"skreg {__version__}."
            )
        super().__setstate__(state)
        if "coefs_" in state:
            # A pickle or a skops file holds arrays of any shape: refuse one whose
            # arrays do not fit together before a kernel reads them.
            check_state(self, values=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Gaussian noise on every entry would densify a sparse X.
        tags.input_tags.sparse = self.noise_std == 0
        return tags


_PARAMETERS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : {{'identity', 'logistic', 'tanh', 'relu'}}, default='relu'
        Activation function for the hidden layers: ``x``, ``1 / (1 + exp(-x))``,
        ``tanh(x)`` or ``max(0, x)``.

    solver : {{'lbfgs', 'sgd', 'adam'}}, default='adam'
        The solver for weight optimization: quasi-Newton full-batch L-BFGS,
        stochastic gradient descent, or Adam. 'lbfgs' minimises a smooth,
        deterministic objective, so it accepts only ``penalty='l2'`` or ``None``
        and no dropout; it raises a ``ValueError`` otherwise.

    alpha : float or array-like of shape (n_layers - 1,), default=0.0001
        Strength of the penalty, as in :class:`~sklearn.linear_model.SGDClassifier`:
        the penalty is added whole to the mean loss of every minibatch, so the
        objective does not depend on the solver or the batch size. A sequence
        gives each weight matrix its own strength. scikit-learn's MLP divides its
        L2 term by the batch size: its ``alpha=a`` with batch size ``B`` is
        ``alpha=a / B`` here (``a / n_samples`` with 'lbfgs').

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers. When set to "auto",
        ``batch_size=min(200, n_samples)``. Unused by 'lbfgs'.

    learning_rate : {{'constant', 'invscaling', 'adaptive'}}, default='constant'
        Learning rate schedule for weight updates, as in scikit-learn. Only used
        when ``solver='sgd'``.

    learning_rate_init : float, default=0.001
        The initial learning rate. Only used when solver='sgd' or 'adam'.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate. Only used when
        solver='sgd' and learning_rate='invscaling'.

    max_iter : int, default=200
        Maximum number of iterations: epochs for 'sgd' and 'adam', iterations of
        'lbfgs'.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration. Only used when solver='sgd'
        or 'adam'.

    random_state : int, RandomState instance, default=None
        Determines the initial weights, the train-validation split under early
        stopping, the batch order, and the seed of the dropout masks. The
        weights, split and batch order are drawn exactly as scikit-learn's MLP
        draws them. Pass an int for reproducible results.

    tol : float, default=1e-4
        Tolerance for the optimization: training stops when the loss (or the
        validation score) does not improve by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs.

    verbose : bool or int, default=False
        Whether to print progress messages to stdout. ``True`` (or 1) prints
        scikit-learn's messages, at every positive value: for 'sgd' and
        'adam', ``Iteration N, loss = L`` for each epoch, ``Validation score: S``
        with ``early_stopping``, and the message on stopping. At 2 or more, each
        ``Iteration`` line goes on with the penalty of the weights at the end of
        the epoch, the validation loss (with ``early_stopping``, '-'
        otherwise), the fraction of weights that are exactly zero, the active
        hidden units (nonzero incoming and outgoing weights) out of all hidden
        units, the learning rate of the epoch and its duration in seconds. As
        in scikit-learn, ``N`` counts the epochs of the call (each
        ``partial_fit`` prints ``Iteration 1``). 'lbfgs' prints the report of
        scipy's L-BFGS-B at any positive value.

    warm_start : bool, default=False
        When set to True, start from the weights of the previous call to fit.
        Each call starts a fresh convergence state, so a refit trains until it
        converges again.

    momentum : float, default=0.9
        Momentum for gradient descent update. Only used when solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when solver='sgd' and
        momentum > 0.

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training data and stop
        when the validation score stops improving. The best weights seen are
        kept (as a copy).

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for early
        stopping. Only used if early_stopping is True.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam.

    epsilon : float, default=1e-8
        Value for numerical stability in adam.

    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet ``tol`` improvement.

    max_fun : int, default=15000
        Only used when solver='lbfgs'. Maximum number of loss function calls.

    penalty : {{'l2', 'l1', 'elasticnet', 'group_lasso', \
            'sparse_group_lasso'}} or None, default='l2'
        The penalty on the weight matrices (never on the intercepts): half the
        squared L2 norm, the L1 norm, or their mix; or a group penalty, whose
        groups are the rows of ``coefs_[i]`` (all outgoing weights of one input
        feature or hidden unit): ``sqrt(n_out) * sum_i ||W[i, :]||_2``, alone or
        mixed with the L1 norm. The non-smooth parts are applied by their
        proximal operators after each optimizer step, so weights, and with the
        group penalties whole rows, become exactly zero: a zero row switches a
        feature or unit off (see :meth:`prune` and ``feature_importances_``).
        Under 'adam', the proximal steps use each weight's own step size; a
        row's shrinkage is then the proximal operator of its norm in the metric
        of those steps.

    l1_ratio : float, default=0.15
        The mixing parameter ``rho``, with ``0 <= rho <= 1``. For
        'elasticnet' the penalty is
        ``alpha * (rho * ||W||_1 + (1 - rho) / 2 * ||W||^2)``; for
        'sparse_group_lasso' it is
        ``alpha * (rho * ||W||_1 + (1 - rho) * sqrt(n_out) * sum_i ||W[i, :]||_2)``.
        Used only by those two penalties.

    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Probability of dropping each hidden unit during training (inverted
        dropout: kept units are scaled by ``1 / (1 - dropout)``), one value for
        all hidden layers or one per hidden layer. Prediction is deterministic.

    input_dropout : float, default=0.0
        Probability of dropping each input feature during training (inverted
        dropout).

    noise_std : float, default=0.0
        Standard deviation of the Gaussian noise added to every input of each
        training batch (after input dropout). Needs dense ``X``.

    max_norm : float or None, default=None
        After every update, each unit's incoming weight vector (a column of
        ``coefs_[i]``) is rescaled to L2 norm at most ``max_norm``.

    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW style): after each step and after
        ``max_norm``, ``W -= lr * weight_decay * W``, with ``lr`` the current
        learning rate for 'sgd' and ``learning_rate_init`` (without Adam's bias
        correction, as in AdamW) for 'adam'. Under 'sgd' without momentum it
        matches the L2 penalty with ``alpha = weight_decay`` up to a term in
        ``lr ** 2``. Under 'adam'
        the two differ: the L2 penalty's gradient ``alpha * W`` is divided by
        Adam's per-coordinate scale ``sqrt(v) + eps`` like the data gradient,
        so weights with large gradients are barely shrunk and weights with
        small ones are shrunk a lot; decoupled decay shrinks every weight by
        the same fraction ``lr * weight_decay`` per step.
"""

_ATTRIBUTES_DOC = """
    loss_ : float
        The objective (mean loss plus penalty) at the last epoch, averaged over its
        minibatches, or the final objective of 'lbfgs'.

    best_loss_ : float or None
        The minimum objective reached during training; None with early stopping.

    loss_curve_ : list of shape (`n_iter_`,)
        The objective at each epoch (stochastic solvers).

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score on the validation set at each epoch, with early stopping.

    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        The validation objective (mean loss plus penalty) at each epoch, with early
        stopping.

    best_validation_score_ : float or None
        The best validation score, with early stopping.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix between layer i and layer i + 1.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, if `X` has string feature names.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Per input feature, the L2 norm of its row of ``coefs_[0]``, normalised to
        sum to 1.

    sparsity_ : list of float
        Per weight matrix, the fraction of its entries that are exactly 0.0.
"""

_NOTES_DOC = """
    The objective, for every solver and batch size, is

    .. math::

        \\frac{{\\sum_i w_i \\ell_i}}{{\\sum_i w_i}}
        + \\sum_l \\alpha_l \\left(\\frac{{1 - \\rho}}{{2}} \\|W_l\\|_2^2
        + \\rho \\|W_l\\|_1\\right)

    with ``rho = 0`` for 'l2', 1 for 'l1' and ``l1_ratio`` for 'elasticnet'. Each
    minibatch step uses that batch's mean loss plus the whole penalty. The smooth
    part goes into the gradient; after the optimizer step, the L1 part is applied
    by soft-thresholding each weight at ``eta * alpha * rho``, ``eta`` being the
    step the optimizer applied to that weight: the learning rate for 'sgd', and
    ``lr_t / (sqrt(v) + epsilon)`` for 'adam'.
"""


class RegularizedMLPClassifier(ClassifierMixin, BaseRegularizedMLP):
    __doc__ = (
        """Multi-layer perceptron classifier with L1, L2, elastic net and dropout.

    A drop-in replacement for :class:`~sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults, attributes and methods, plus the regularizers below. It
    minimises the log-loss plus the penalty with L-BFGS, SGD or Adam, on Numba
    kernels.

    Parameters
    ----------"""
        + _PARAMETERS_DOC
        + """
    class_weight : dict, 'balanced' or None, default=None
        Weights associated with classes, as in
        :class:`~sklearn.linear_model.SGDClassifier`, multiplied into the sample
        weights. 'balanced' uses ``n_samples / (n_classes * np.bincount(y))``.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.
"""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    RegularizedMLPRegressor : Regularized multi-layer perceptron regressor.
    sklearn.neural_network.MLPClassifier : scikit-learn's multi-layer perceptron.

    Notes
    -----"""
        + _NOTES_DOC
        + """
    References
    ----------
    Glorot, Xavier, and Yoshua Bengio. "Understanding the difficulty of training
    deep feedforward neural networks." AISTATS 2010.

    Kingma, Diederik, and Jimmy Ba. "Adam: A method for stochastic optimization."
    arXiv:1412.6980 (2014).

    Srivastava, Nitish, et al. "Dropout: a simple way to prevent neural networks
    from overfitting." JMLR 15 (2014): 1929-1958.

    Examples
    --------
    >>> from skreg import RegularizedMLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = RegularizedMLPClassifier((20,), penalty="l1", alpha=1e-3,
    ...                                max_iter=300, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.sparsity_[0] > 0.1
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseRegularizedMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        input_dropout=0.0,
        noise_std=0.0,
        max_norm=None,
        weight_decay=0.0,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            penalty=penalty,
            l1_ratio=l1_ratio,
            dropout=dropout,
            input_dropout=input_dropout,
            noise_std=noise_std,
            max_norm=max_norm,
            weight_decay=weight_decay,
        )
        self.class_weight = class_weight

    def _loss_name(self):
        binary = getattr(self, "_label_binarizer", None)
        if binary is not None and binary.y_type_ != "multiclass":
            return "binary_log_loss"
        return "log_loss"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        # As sklearn: a new label binarizer on a first fit; on warm starts and
        # partial fits, the classes must match those already seen.
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self._check_two_classes(self._label_binarizer)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        return X, y, np.ascontiguousarray(Y)

    def _check_two_classes(self, binarizer):
        # One class gives nothing to learn, and a binarizer of one class a target
        # of zeros: say so rather than fit a constant.
        multilabel = binarizer.y_type_.startswith("multilabel")
        if not multilabel and len(binarizer.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                "data, but the data contains only one class: "
                f"{binarizer.classes_[0]!r}."
            )

    def _score_output(self, y, output, sample_weight):
        if not np.isfinite(output).all():
            return np.nan
        # accuracy_score validates its targets on every call, which costs more than
        # a training epoch on small data; early stopping scores every epoch. The
        # labels are those _labels gives, and the mean the same weighted mean.
        y_type = self._label_binarizer.y_type_
        if y_type in ("binary", "multiclass") and sample_weight.sum() > 0:
            if y_type == "binary":
                index = (output[:, 0] > 0.5).astype(np.intp)
            else:
                index = output.argmax(axis=1)
            match = self.classes_[index] == y
            return float(np.average(match, weights=sample_weight))
        return accuracy_score(y, self._labels(output), sample_weight=sample_weight)

    def _labels(self, output):
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return self._labels(self._forward_checked(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        y_pred = self._forward_checked(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit. Can be obtained via
            `np.unique(y_all)`, where `y_all` is the target vector of the entire
            dataset. This argument is required for the first call to
            partial_fit and can be omitted in the subsequent calls. Note that y
            doesn't need to contain all labels in `classes`.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        callback_ctx = self._init_callbacks(incremental=True)
        saved = self.__dict__.copy()
        try:
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
                self._check_two_classes(self._label_binarizer)
                self.classes_ = self._label_binarizer.classes_
        except BaseException:
            restore_state(self, saved)
            raise
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            incremental=True,
            callback_ctx=callback_ctx,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class RegularizedMLPRegressor(RegressorMixin, BaseRegularizedMLP):
    __doc__ = (
        """Multi-layer perceptron regressor with L1, L2, elastic net and dropout.

    A drop-in replacement for :class:`~sklearn.neural_network.MLPRegressor`: the same
    parameters, defaults, attributes and methods, plus the regularizers below. It
    minimises the half squared error (or half Poisson deviance) plus the penalty
    with L-BFGS, SGD or Adam, on Numba kernels. Unlike scikit-learn's, its first
    positional parameter is ``hidden_layer_sizes`` (``loss`` is keyword-only).

    Parameters
    ----------"""
        + _PARAMETERS_DOC
        + """
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss: half the squared error with an identity output, or half the
        Poisson deviance with an exponential output. Summed over outputs for
        multi-output targets.

    Attributes
    ----------"""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    RegularizedMLPClassifier : Regularized multi-layer perceptron classifier.
    sklearn.neural_network.MLPRegressor : scikit-learn's multi-layer perceptron.

    Notes
    -----"""
        + _NOTES_DOC
        + """
    References
    ----------
    Glorot, Xavier, and Yoshua Bengio. "Understanding the difficulty of training
    deep feedforward neural networks." AISTATS 2010.

    Kingma, Diederik, and Jimmy Ba. "Adam: A method for stochastic optimization."
    arXiv:1412.6980 (2014).

    Examples
    --------
    >>> from skreg import RegularizedMLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=10, noise=1.0,
    ...                        random_state=0)
    >>> reg = RegularizedMLPRegressor((32,), penalty="elasticnet", alpha=1e-3,
    ...                               learning_rate_init=0.01, max_iter=500,
    ...                               random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseRegularizedMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        input_dropout=0.0,
        noise_std=0.0,
        max_norm=None,
        weight_decay=0.0,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            penalty=penalty,
            l1_ratio=l1_ratio,
            dropout=dropout,
            input_dropout=input_dropout,
            noise_std=noise_std,
            max_norm=max_norm,
            weight_decay=weight_decay,
        )

    def _loss_name(self):
        return self.loss

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "Poisson regression."
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, y, np.ascontiguousarray(Y, dtype=X.dtype)

    def _score_output(self, y, output, sample_weight):
        if not np.isfinite(output).all():
            return np.nan
        if sample_weight.sum() <= 0:
            return r2_score(y, self._values(output), sample_weight=sample_weight)
        # r2_score's own validation costs more than an epoch on small data, and
        # early stopping scores every epoch: its formula, uniform average over the
        # outputs, with a constant target scoring 1 when fitted exactly, else 0.
        Y = y.reshape(len(y), -1)
        weight = sample_weight[:, None]
        residual = (weight * (Y - output) ** 2).sum(axis=0)
        mean = np.average(Y, axis=0, weights=sample_weight)
        total = (weight * (Y - mean) ** 2).sum(axis=0)
        scores = np.where(residual == 0, 1.0, 0.0)
        varying = total != 0
        scores[varying] = 1 - residual[varying] / total[varying]
        return float(scores.mean())

    @staticmethod
    def _values(output):
        return output.ravel() if output.shape[1] == 1 else output

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        return self._values(self._forward_checked(X))

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            incremental=True,
            callback_ctx=self._init_callbacks(incremental=True),
        )
