"""The base of the two estimators: parameters, fit orchestration, state.

This module owns the parameters (checked by ``_validation`` before any state
changes), the dispatch of a fit to its solver's driver (``_stochastic``,
``_full_batch``), the restore of a failed call, pickling and the fitted attributes
every estimator shares. The drivers own the loops; the kernels the maths.
"""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted

from ._activations import ACTIVATIONS, INIT_FACTORS, relu_marker, smooth_marker
from ._callbacks import _IterationCallbacks
from ._compile import collecting_young_while_compiling
from ._full_batch import fit_lbfgs
from ._layout import Layout, TrainConfig
from ._losses import LOSSES, OUT_ACTIVATIONS
from ._optimizers import OPTIMIZERS
from ._parallel import EpochWorkers, one_blas_thread
from ._penalties import (
    ALL_PENALTIES,
    check_gamma,
    group_marker,
    nonconvex_marker,
    penalty_code,
)
from ._prediction import predict_output
from ._pruning import prune_network
from ._state import check_state, restore_state
from ._stochastic import fit_stochastic
from ._validation import (
    check_activity_alpha,
    check_feature_groups,
    check_first_layer,
    check_hidden_sizes,
    check_layer_options,
    fit_sample_weight,
)
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


# Parameters added since the first release, with the defaults that mean "off":
# the value a model saved before them gets when it is loaded.
_ADDED_PARAMETERS = {
    "gamma": None,
    "feature_groups": None,
    "penalty_factor": None,
    "activity_penalty": None,
    "activity_alpha": 0.0,
}


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
        "penalty": [StrOptions(set(ALL_PENALTIES)), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "feature_groups": ["array-like", None],
        "penalty_factor": ["array-like", None],
        "activity_penalty": [StrOptions({"l1", "l2"}), None],
        "activity_alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
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
        gamma,
        feature_groups,
        penalty_factor,
        activity_penalty,
        activity_alpha,
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
        self.gamma = gamma
        self.feature_groups = feature_groups
        self.penalty_factor = penalty_factor
        self.activity_penalty = activity_penalty
        self.activity_alpha = activity_alpha

    # ------------------------------------------------------------------ options

    # Methods, because the drivers call them on the estimator they fit; the
    # checks themselves are in ``_validation``.

    def _hidden_sizes(self):
        """The hidden layer sizes, as a list of positive ints."""
        return check_hidden_sizes(self)

    def _check_options(self, hidden_sizes):
        """Per-layer values and the combinations the solver cannot honour."""
        return check_layer_options(self, hidden_sizes)

    def _sample_weight(self, sample_weight, X, y_labels, incremental):
        """Sample weights with the class weights folded in."""
        return fit_sample_weight(self, sample_weight, X, y_labels, incremental)

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
        callback_ctx=None,
        keep_optimizer=False,
        **options,
    ):
        # A fit that fails, at any point, leaves the estimator as it was.
        # ``keep_optimizer`` continues a warm start with the optimizer's state (the
        # moments, the step count and the learning rate) instead of a fresh one.
        # ``options`` are fit_stochastic's: under early stopping, the first
        # ``early_stopping_warmup`` epochs are scored but never kept as the best,
        # nor counted towards a stop (a path's warm-started point thus keeps an
        # epoch trained at its own alpha); with ``reraise_interrupt``, a Ctrl-C
        # ends the call with KeyboardInterrupt (and the estimator as it was)
        # instead of keeping the last completed epoch: the fits of a search use
        # it, so that the search stops too.
        saved = self.__dict__.copy()
        # Training never depends on the BLAS's threads: its products run on one
        # thread each, and a fit's own threads share the work in a fixed way.
        young, blas = collecting_young_while_compiling(), one_blas_thread()
        # The fit's helper threads, if it starts any; ended here whatever happens.
        workers = EpochWorkers()
        try:
            with young, blas:
                return self._fit_unguarded(
                    X,
                    y,
                    sample_weight,
                    incremental,
                    callback_ctx,
                    keep_optimizer,
                    workers=workers,
                    **options,
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
        self, X, y, sample_weight, incremental, callback_ctx, keep_optimizer, **options
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
        # Before any state changes: they depend on the penalty and the features.
        check_gamma(self.penalty, self.gamma)
        check_first_layer(self, X.shape[1])
        check_activity_alpha(self, len(hidden_sizes))
        if not first_pass and X.dtype != self.coefs_[0].dtype:
            # As scikit-learn's MLP: the weights keep the dtype of the first fit.
            X = X.astype(self.coefs_[0].dtype)
            Y = Y.astype(X.dtype)
        sample_weight = self._sample_weight(sample_weight, X, y_labels, incremental)
        layer_units = [X.shape[1], *hidden_sizes, Y.shape[1]]
        if not first_pass:
            self._check_same_layers(layer_units)
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
                (X, Y, y_labels, sample_weight),
                params,
                layout,
                alphas,
                dropout,
                random_state,
                incremental,
                keep_optimizer=keep_optimizer and not first_pass,
                hooks=hooks,
                **options,
            )
        self.coefs_, self.intercepts_ = layout.unpack(params)
        if hooks is not None:
            hooks.use_data(X, y_labels, sample_weight)
            hooks.end_fit()
        return self

    def _check_same_layers(self, layer_units):
        """A warm start or partial_fit continues the network it has."""
        if len(self.coefs_) != len(layer_units) - 1 or any(
            c.shape != (a, b)
            for c, a, b in zip(self.coefs_, layer_units[:-1], layer_units[1:])
        ):
            raise ValueError(
                "hidden_layer_sizes or the number of outputs changed since the last "
                f"fit: the network has layers {self._layer_units()}, the new "
                f"parameters and data ask for {layer_units}. Refit with "
                "warm_start=False."
            )

    def _layer_units(self):
        return [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]

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
            relu=relu_marker(ACTIVATIONS[self.activation]),
            perturbed=(self.input_dropout > 0 or self.noise_std > 0) or None,
            l1_ratio=float(self.l1_ratio),
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
            gamma=check_gamma(self.penalty, self.gamma),
            nonconvex=nonconvex_marker(penalty_code(self.penalty)),
            first=self._first_layer(dtype),
            activity=self._activity(),
        )

    def _activity(self):
        """The kernels' ``activity``: None, or ``(l1, alphas)`` per hidden layer."""
        alphas = check_activity_alpha(self, len(self.coefs_) - 1)
        if self.activity_penalty is None or not np.any(alphas > 0):
            return None
        return self.activity_penalty == "l1", alphas

    def _first_layer(self, dtype):
        """The kernels' ``first``: the first layer's factors and groups, or None."""
        n_features, n_out = self.coefs_[0].shape
        checked = check_first_layer(self, n_features)
        if checked is None:
            return None
        factors, starts, members, group_factors = checked
        largest = int(np.max(np.diff(starts)))
        scratch = np.empty(2 * largest * n_out, dtype=dtype)
        return factors, starts, members, group_factors, scratch

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
        """``(X, csr)`` as the kernels take the input: dense ``(X, None)``, or
        ``(None, (indptr, indices, data))`` for a sparse matrix."""
        if sp.issparse(X):
            X = X.tocsr()
            csr = (
                X.indptr.astype(np.int64),
                X.indices.astype(np.int64),
                np.ascontiguousarray(X.data),
            )
            return None, csr
        return np.ascontiguousarray(X), None

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
        return prune_network(self)

    @property
    def feature_importances_(self):
        """Per input feature, the L2 norm of its row of ``coefs_[0]``, summing to 1.

        With ``feature_groups``, each feature takes the norm of its group's rows
        together, equal within a group. All zeros when every row is zero. Used by
        :class:`~sklearn.feature_selection.SelectFromModel`.
        """
        check_is_fitted(self)
        norms = np.linalg.norm(self.coefs_[0].astype(np.float64), axis=1)
        if self.feature_groups is not None:
            # Each column gets its group's norm: a group enters or leaves whole.
            _, _, group_of = check_feature_groups(self.feature_groups, norms.size)
            group_norms = np.sqrt(np.bincount(group_of, weights=norms**2))
            norms = group_norms[group_of]
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
        for name, default in _ADDED_PARAMETERS.items():
            # A model saved before the parameter existed was fitted without it.
            state.setdefault(name, default)
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
