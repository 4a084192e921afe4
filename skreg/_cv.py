"""The CV estimators: alpha chosen by cross-validation over warm-started paths.

Each fold and grid point runs one path, scored on the fold's test part
(``_search.fold_path``); the best alpha is refitted on all the data along its own
path.
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring, get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
)
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
)
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    validate_data,
)

from ._docstrings import _search_doc
from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._path import (
    _alpha_grid,
    _check_path_estimator,
    _early_stopping_rounds,
    _path_fits,
)
from ._penalties import GAMMAS, check_gamma, penalty_code
from ._search import fold_path, route_metadata, search_results
from ._state import restore_state
from ._unavailable import Unavailable

# Parameters of the base estimators that the CV estimators do not take: ``alphas``
# replaces ``alpha``, and the path itself warm-starts its fits.
_REPLACED = ("alpha", "warm_start")


_NO_CALLBACKS = (
    "{name} does not report to callbacks: it fits many paths, and the callbacks "
    "of one fit would see them all. Set the callbacks on a "
    "RegularizedMLPClassifier or RegularizedMLPRegressor built with "
    "alpha=alpha_ (and the search's other best_params_)."
)
_NO_PARTIAL_FIT = (
    "{name} fits whole paths and has no partial_fit; continue training a "
    "RegularizedMLPClassifier or RegularizedMLPRegressor built with alpha=alpha_."
)


class _RegularizedMLPCVMixin:
    """The search shared by the two cross-validated estimators."""

    _cv_constraints: dict = {
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "path_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "l1_ratios": ["array-like", None],
        "dropouts": ["array-like", None],
        "gammas": ["array-like", None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "refit": ["boolean"],
    }

    set_callbacks = Unavailable(_NO_CALLBACKS)
    partial_fit = Unavailable(_NO_PARTIAL_FIT)

    def _scorer(self):
        # scoring=None scores as the estimator's ``score`` does, through the
        # scorer of that metric, as LogisticRegressionCV: a scorer passing through
        # to the search's own ``score`` would route back into this search.
        if self.scoring is None:
            return get_scorer("accuracy" if is_classifier(self) else "r2")
        return check_scoring(self, scoring=self.scoring)

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        With ``sklearn.set_config(enable_metadata_routing=True)``, ``fit`` routes
        metadata (such as ``groups``) to the splitter's ``split``, and to the
        scorer for each fold's test part; ``sample_weight`` trains every fit.
        See scikit-learn's Metadata Routing user guide.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter` with the
            routing information.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                splitter=check_cv(self.cv),
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
            .add(
                scorer=self._scorer(),
                method_mapping=MethodMapping()
                .add(caller="score", callee="score")
                .add(caller="fit", callee="score"),
            )
        )

    def _base_estimator(self):
        """The estimator each path fits."""
        params = self.get_params(deep=False)
        for name in self._cv_constraints:
            params.pop(name)
        return self._base_class(**params)

    def _grid(self):
        """The grid's points: a dict of ``l1_ratio``, ``dropout`` (and ``gamma``
        when ``gammas`` is given) each, and each point gets its own path."""
        l1_ratios = [self.l1_ratio] if self.l1_ratios is None else list(self.l1_ratios)
        dropouts = [self.dropout] if self.dropouts is None else list(self.dropouts)
        if not l1_ratios or not dropouts:
            raise ValueError("l1_ratios and dropouts must not be empty.")
        for rho in l1_ratios:
            if not (isinstance(rho, Real) and 0 <= rho <= 1):
                raise ValueError(
                    "Each l1_ratio in l1_ratios must be a float in [0, 1], got "
                    f"{rho!r}."
                )
        gammas = [None] if self.gammas is None else list(self.gammas)
        if not gammas:
            raise ValueError("gammas must not be empty.")
        if self.gammas is not None:
            if penalty_code(self.penalty) not in GAMMAS:
                raise ValueError(
                    f"gammas is searched for penalty='mcp', 'scad', 'group_mcp' "
                    f"or 'group_scad', got penalty={self.penalty!r}."
                )
            for gamma in gammas:
                if not isinstance(gamma, Real):
                    raise ValueError(
                        f"Each gamma in gammas must be a float, got {gamma!r}."
                    )
                check_gamma(self.penalty, gamma)
        grid = []
        for rho in l1_ratios:
            for drop in dropouts:
                for gamma in gammas:
                    point = {"l1_ratio": rho, "dropout": drop}
                    if self.gammas is not None:
                        point["gamma"] = float(gamma)
                    grid.append(point)
        return l1_ratios, dropouts, grid

    @staticmethod
    def _grid_label(point):
        return ", ".join(f"{name}={value}" for name, value in point.items())

    def fit(self, X, y, sample_weight=None, **params):
        """Fit a path per fold and grid point, pick the best alpha, and refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights for training (each fold's training part, and the
            refit). As in ``GridSearchCV``, they also weight each fold's test
            score when the scorer takes ``sample_weight`` (the default scorer
            does); with metadata routing on, when the scorer requests them.

        **params : dict
            Metadata for the splitter and the scorer. Without metadata routing,
            only ``groups``, passed to ``cv.split`` (for ``GroupKFold`` and the
            other group splitters). With
            ``sklearn.set_config(enable_metadata_routing=True)``, any metadata
            that the splitter's ``split`` or the scorer requests, as
            ``GridSearchCV`` and ``LogisticRegressionCV`` route it.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        _raise_for_params(params, self, "fit", allow=["groups"])
        # A search that fails, at any point, leaves the estimator as it was.
        saved = self.__dict__.copy()
        try:
            return self._search(X, y, sample_weight, params)
        except BaseException:
            restore_state(self, saved)
            raise

    def _search(self, X, y, sample_weight, params):
        self._validate_params()
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=not is_classifier(self),
            dtype=(np.float64, np.float32),
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        base = self._base_estimator()
        _check_path_estimator(base)
        l1_ratios, dropouts, grid = self._grid()
        alphas = _alpha_grid(
            base.set_params(l1_ratio=l1_ratios[0], dropout=dropouts[0]),
            X,
            y,
            sample_weight,
            self.alphas,
            self.eps,
            l1_ratios,
        )
        scorer = self._scorer()
        split_params, score_params = route_metadata(self, sample_weight, params, scorer)
        if self.scoring is None:
            # The same score, through each model's own ``score``: a scorer's
            # checks cost as much as a short path point on small data.
            scorer = check_scoring(base)
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        splits = list(cv.split(X, y, **split_params))
        increasing = alphas[::-1]
        tasks = [
            (point, fold, train, test)
            for point in range(len(grid))
            for fold, (train, test) in enumerate(splits)
        ]
        n_splits = len(splits)
        # scikit-learn's Parallel carries the caller's configuration and warning
        # filters into the workers, as GridSearchCV's does.
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(fold_path)(
                clone(base).set_params(**grid[point]),
                X,
                y,
                sample_weight,
                train,
                test,
                increasing,
                self.path_max_iter,
                scorer,
                score_params,
                f"fold {fold + 1}/{n_splits}, " + self._grid_label(grid[point]),
            )
            for point, fold, train, test in tasks
        )
        self._store_results(alphas, grid, n_splits, tasks, results)

        if self.refit:
            self._refit(base, X, y, sample_weight, increasing)
        else:
            for name in ("coefs_", "intercepts_"):
                self.__dict__.pop(name, None)
        return self

    def _refit(self, base, X, y, sample_weight, increasing):
        """Fit the best point's path on all the data, up to ``alpha_``."""
        point = {"l1_ratio": self.l1_ratio_, "dropout": self.dropout_}
        if self.gammas is not None:
            point["gamma"] = self.gamma_
        refit_alphas = increasing[increasing <= self.alpha_]
        if _early_stopping_rounds(base):
            # Every round starts from the first fit: the one at alpha_ is all
            # the refit needs.
            refit_alphas = np.unique(refit_alphas[[0, -1]])
        start = time.perf_counter()
        estimator = clone(base).set_params(**point)
        fits = _path_fits(
            estimator,
            X,
            y,
            sample_weight,
            refit_alphas,
            self.path_max_iter,
            "refit, " + self._grid_label(point),
        )
        *_, (fitted, _) = fits
        self.refit_time_ = time.perf_counter() - start
        # The refitted model's state becomes this estimator's, so prediction,
        # pruning and the fitted attributes are the base class's own.
        for name, value in vars(fitted).items():
            fitted_attribute = name.endswith("_") or name.startswith("_")
            if fitted_attribute and name not in (
                "n_features_in_",
                "feature_names_in_",
            ):
                setattr(self, name, value)

    def _store_results(self, alphas, grid, n_splits, tasks, fold_results):
        results, best = search_results(alphas, grid, n_splits, tasks, fold_results)
        params = results["params"]
        self.cv_results_ = results
        self.best_index_ = best
        self.best_score_ = float(results["mean_test_score"][best])
        self.best_params_ = dict(params[best])
        self.alpha_ = params[best]["alpha"]
        self.l1_ratio_ = params[best]["l1_ratio"]
        self.dropout_ = params[best]["dropout"]
        if self.gammas is not None:
            self.gamma_ = params[best]["gamma"]
        else:
            self.__dict__.pop("gamma_", None)
        self.alphas_ = alphas
        self.n_splits_ = n_splits

    def __sklearn_is_fitted__(self):
        return "coefs_" in self.__dict__

    def _forward_checked(self, X):
        if "alpha_" in self.__dict__ and "coefs_" not in self.__dict__:
            raise NotFittedError(
                f"This {type(self).__name__} was fitted with refit=False: it holds "
                "the search results (alpha_, cv_results_) but no model. Set "
                f"refit=True, or fit {self._base_class.__name__}(alpha=alpha_, ...)."
            )
        return super()._forward_checked(X)

    # The base classes' model code reads these; the fitted model's values stand in.
    @property
    def alpha(self):
        return self.alpha_

    warm_start = False


def _cv_constraints(base):
    constraints = {
        k: v for k, v in base._parameter_constraints.items() if k not in _REPLACED
    }
    constraints.update(_RegularizedMLPCVMixin._cv_constraints)
    return constraints


class RegularizedMLPClassifierCV(_RegularizedMLPCVMixin, RegularizedMLPClassifier):
    __doc__ = _search_doc(
        "Classifier",
        "RegularizedMLPClassifier",
        "stratified ``KFold``",
        "accuracy",
        """\
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skreg import RegularizedMLPClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> search = RegularizedMLPClassifierCV((16,), penalty="l1", alphas=4, cv=3,
    ...                                     max_iter=50, random_state=0)
    >>> search.fit(scale(X), y).alphas_.shape
    (4,)
    >>> bool(search.best_score_ > 0.9)
    True
    """,
    )

    _base_class = RegularizedMLPClassifier
    _parameter_constraints: dict = _cv_constraints(RegularizedMLPClassifier)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
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
        gamma=None,
        feature_groups=None,
        penalty_factor=None,
        activity_penalty=None,
        activity_alpha=0.0,
        class_weight=None,
        alphas=10,
        eps=1e-3,
        path_max_iter=10,
        l1_ratios=None,
        dropouts=None,
        gammas=None,
        cv=None,
        scoring=None,
        n_jobs=None,
        refit=True,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
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
        self.class_weight = class_weight
        self.alphas = alphas
        self.eps = eps
        self.path_max_iter = path_max_iter
        self.l1_ratios = l1_ratios
        self.dropouts = dropouts
        self.gammas = gammas
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit


class RegularizedMLPRegressorCV(_RegularizedMLPCVMixin, RegularizedMLPRegressor):
    __doc__ = _search_doc(
        "Regressor",
        "RegularizedMLPRegressor",
        "``KFold``",
        "R^2",
        """\
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skreg import RegularizedMLPRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> search = RegularizedMLPRegressorCV((16,), alphas=[1e-3, 1e-2, 1e-1], cv=3,
    ...                                    learning_rate_init=0.01, max_iter=100,
    ...                                    random_state=0)
    >>> search.fit(scale(X), scale(y)).alpha_ in search.alphas_
    True
    """,
    )

    _base_class = RegularizedMLPRegressor
    _parameter_constraints: dict = _cv_constraints(RegularizedMLPRegressor)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
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
        gamma=None,
        feature_groups=None,
        penalty_factor=None,
        activity_penalty=None,
        activity_alpha=0.0,
        alphas=10,
        eps=1e-3,
        path_max_iter=10,
        l1_ratios=None,
        dropouts=None,
        gammas=None,
        cv=None,
        scoring=None,
        n_jobs=None,
        refit=True,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
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
        self.alphas = alphas
        self.eps = eps
        self.path_max_iter = path_max_iter
        self.l1_ratios = l1_ratios
        self.dropouts = dropouts
        self.gammas = gammas
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
