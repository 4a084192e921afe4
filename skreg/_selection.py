"""Feature selection along a regularization path: ``RegularizedMLPSelector``.

A penalty with a non-smooth part switches an input feature off by setting its row
of the first weight matrix exactly to zero. The selector fits one warm-started
path (``_path``) and ranks the features by the strongest alpha at which each
still has a nonzero row; it keeps the best ``n_features_to_select``, or, with
resamples, the features that paths on random halves of the data select most
often (stability selection).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch, check_random_state, resample
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._base import BaseRegularizedMLP
from ._cv import _RegularizedMLPCVMixin
from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._path import regularization_path
from ._penalties import is_smooth
from ._search import fold_path
from ._state import restore_state

# The network fitted when ``estimator=None``: one small hidden layer is enough
# to rank the inputs, and the group lasso removes a feature's whole row at once.
# A rate ten times Adam's default, since each point of the path runs only a
# few epochs: on a 30-feature problem with 5 informative ones, it put all 5 on
# top in four seeds out of four, against one out of four with 1e-3.
_DEFAULT_ESTIMATOR_PARAMS = dict(
    hidden_layer_sizes=(32,),
    penalty="group_lasso",
    max_iter=100,
    learning_rate_init=0.01,
)

_CLASSIFICATION_TARGETS = ("binary", "multiclass", "multilabel-indicator")

_SEED_MAX = np.iinfo(np.int32).max


def _is_classification(y):
    return type_of_target(y) in _CLASSIFICATION_TARGETS


def _check_estimator(estimator):
    if isinstance(estimator, _RegularizedMLPCVMixin):
        raise TypeError(
            f"estimator must be a RegularizedMLPClassifier or a "
            f"RegularizedMLPRegressor, got {type(estimator).__name__}: the "
            "selector fits its own path, with the grid given by alphas."
        )
    if is_smooth(estimator.penalty, estimator.l1_ratio):
        raise ValueError(
            f"The estimator's penalty={estimator.penalty!r} (l1_ratio="
            f"{estimator.l1_ratio}) never sets a weight exactly to zero, so no "
            "feature would leave the model along the path. Choose a penalty with "
            "a non-smooth part, such as 'group_lasso', 'sparse_group_lasso', "
            "'l1', or 'elasticnet' with l1_ratio > 0."
        )


def _first_layer(path):
    """Per alpha of the path, each feature's row norm and whether it is nonzero."""
    rows = [coefs[0] for coefs in path.coefs]
    # ``any(row != 0)`` rather than ``norm > 0``: the square of a tiny weight
    # can underflow to a zero norm.
    active = np.array([np.any(W != 0, axis=1) for W in rows])
    norms = np.array([np.linalg.norm(W.astype(np.float64), axis=1) for W in rows])
    return active, norms


def _resample_active(estimator, X, y, sample_weight, rows, alphas, path_max_iter):
    """Which features are active at each alpha of a path fitted on ``rows``."""
    weight = None if sample_weight is None else sample_weight[rows]
    path = regularization_path(
        estimator,
        X[rows],
        y[rows],
        alphas=alphas,
        path_max_iter=path_max_iter,
        sample_weight=weight,
    )
    return _first_layer(path)[0]


def _half(y, classification, seed):
    """The row indices of one random half of the data, sorted.

    For a classification target, the half is stratified, and any class the
    rounding left out gets one of its rows back: a path needs every class (a
    binary problem reduced to one class cannot be fitted).
    """
    n_samples = y.shape[0]
    random_state = np.random.RandomState(seed)
    rows = resample(
        np.arange(n_samples),
        replace=False,
        n_samples=n_samples // 2,
        random_state=random_state,
        stratify=y if classification else None,
    )
    if classification and y.ndim == 1:
        missing = np.setdiff1d(np.unique(y), np.unique(y[rows]))
        extra = [random_state.choice(np.flatnonzero(y == label)) for label in missing]
        rows = np.concatenate([rows, np.asarray(extra, dtype=rows.dtype)])
    return np.sort(rows)


def _region_size(n_features):
    """The average number of features the resamples may select over the region.

    Meinshausen and Bühlmann's example: with ``threshold=0.9``, ``q =
    sqrt(0.8 p)`` bounds the expected number of falsely kept features by 1.
    """
    return max(1, int(np.ceil(np.sqrt(0.8 * n_features))))


def _stability_region(actives, size):
    """How many of the strongest alphas the selection probabilities are read at.

    ``actives`` is (n_resamples, n_alphas, n_features), strongest alpha first.
    The region runs down the grid to the first alpha at which the features a
    resample has selected so far (at that alpha or a stronger one) number
    ``size`` or more, on average over the resamples (Meinshausen and
    Bühlmann's ``q``); the whole grid if they never do. Down to the weak end
    of a grid every feature is active in every resample, and a maximum over
    the whole grid would keep them all. The alpha that reaches ``size`` is
    part of the region: a coarse grid can go from far fewer to more in a step.
    """
    union = np.logical_or.accumulate(actives, axis=1)
    mean_selected = union.sum(axis=2).mean(axis=0)
    return min(actives.shape[1], int(np.sum(mean_selected < size)) + 1)


def _rank(*keys):
    """1 for the best feature, by the first key (larger is better), then the next.

    Features equal in every key are ranked in their column order.
    """
    order = np.lexsort([-np.asarray(key, dtype=np.float64) for key in keys[::-1]])
    ranking = np.empty(order.shape[0], dtype=np.int64)
    ranking[order] = np.arange(1, order.shape[0] + 1)
    return ranking


class RegularizedMLPSelector(SelectorMixin, MetaEstimatorMixin, BaseEstimator):
    """Feature selection by the regularization path of a sparse neural network.

    A penalty with a non-smooth part, such as the group lasso, removes an input
    feature from a network by setting its row of the first weight matrix
    (``coefs_[0]``) exactly to zero, and removes more features as ``alpha``
    grows. The selector fits one warm-started path (see
    :func:`regularization_path`) on all the data, ranks the features by the
    strongest alpha at which each is still active, and keeps the best
    ``n_features_to_select``. With ``n_resamples > 0`` it runs stability
    selection instead: a path on each of ``n_resamples`` random halves of the
    data, and the features ranked by how often they are selected.

    Parameters
    ----------
    estimator : RegularizedMLPClassifier or RegularizedMLPRegressor, default=None
        The network whose path selects the features, with a penalty that sets
        weights exactly to zero (any but ``'l2'``, ``None`` and ``'elasticnet'``
        with ``l1_ratio=0``). It is cloned; its ``alpha`` is replaced by each
        value of the grid. None fits a :class:`RegularizedMLPClassifier` for a
        classification target (binary, multiclass or multilabel, as
        :func:`~sklearn.utils.multiclass.type_of_target` says) and a
        :class:`RegularizedMLPRegressor` otherwise, both with
        ``hidden_layer_sizes=(32,)``, ``penalty='group_lasso'``,
        ``max_iter=100`` and ``learning_rate_init=0.01``, and the other
        parameters at their defaults. The penalty does not depend on the scale
        of a feature, so put the features on one scale first (for example with
        :class:`~sklearn.preprocessing.StandardScaler`).

    n_features_to_select : int, float or "auto", default="auto"
        How many features to keep. An int keeps that many; a float in (0, 1]
        keeps that fraction of the features, rounded half up, and at least one.
        "auto" without resamples keeps the features active at the alpha of the
        best cross-validated score (see ``cv``); with resamples, the features
        whose selection probability reaches ``threshold`` at some alpha of the
        stability region (see Notes). Both keep at least the best-ranked
        feature.

    alphas : int or array-like of float, default=20
        The grid of the path. An int asks for that many values spaced evenly on
        a log scale from the alpha at which the penalty removes every weight at
        the initial weights down to ``eps`` times it (see
        :func:`regularization_path`); a sequence is used as given, sorted
        decreasing. Resamples and cross-validation folds use the grid of the
        full data.

    eps : float, default=1e-3
        The ratio of the weakest to the strongest alpha of an automatic grid.

    path_max_iter : int or None, default=10
        The most epochs of each fit of a path after the first, as in
        :func:`regularization_path`.

    n_resamples : int, default=0
        The number of random halves of the data for stability selection; 0
        ranks the features on the path of the full data alone.

    threshold : float, default=0.6
        With resamples and ``n_features_to_select="auto"``: the selection
        probability a feature must reach at some alpha of the stability region
        (see Notes) to be kept.
        Meinshausen and Bühlmann recommend values in [0.6, 0.9].

    cv : int, cross-validation generator or iterable, default=5
        With ``n_features_to_select="auto"`` and no resamples, the splits that
        choose the alpha, as in :class:`~sklearn.model_selection.GridSearchCV`:
        an int is the number of folds of a (stratified, for a classifier)
        ``KFold``. Each fold fits a path on its training part and scores every
        alpha with the estimator's ``score`` on its test part.

    n_jobs : int, default=None
        The number of jobs that fit the paths of the resamples or of the folds
        in parallel. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context; ``-1`` means all processors.
        The results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Draws the random halves of the data, and, when the estimator's own
        ``random_state`` is None, the seed of every fit of the estimator (one
        for the full data and the folds, one for each resample). An estimator
        with a ``random_state`` uses it for every fit. Pass an int for
        reproducible results.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature
        names that are all strings.

    n_features_to_select_ : int
        The number of features kept.

    support_ : ndarray of shape (`n_features_in_`,), dtype=bool
        The mask of the kept features.

    scores_ : ndarray of shape (`n_features_in_`,)
        The score each feature is ranked by. Without resamples, the strongest
        alpha of the grid at which the feature is active on the path (0 if it
        never is); with resamples, its largest selection probability over the
        stability region, the alphas from ``path_.alphas[0]`` down to
        ``stability_alpha_``.

    ranking_ : ndarray of shape (`n_features_in_`,), dtype=int
        The rank of each feature, 1 for the best, all distinct: by ``scores_``,
        and among equal scores by the path's ranking (with resamples), or by the
        norm of the feature's row of ``coefs_[0]`` at the strongest alpha at
        which it is active (on the path). An int or float
        ``n_features_to_select`` keeps the features ranked ``1`` to
        ``n_features_to_select_``.

    path_ : :class:`~sklearn.utils.Bunch`
        The path of the full data, strongest alpha first, with

        alphas : ndarray of shape (n_alphas,)
            The grid, decreasing.
        active : ndarray of shape (n_alphas, `n_features_in_`), dtype=bool
            Whether each feature's row of ``coefs_[0]`` is nonzero.
        norms : ndarray of shape (n_alphas, `n_features_in_`)
            The L2 norm of each feature's row of ``coefs_[0]``.
        n_active : ndarray of shape (n_alphas,)
            The number of active features.
        scores : ndarray of shape (`n_features_in_`,)
            The strongest alpha at which each feature is active, 0 if never.
        ranking : ndarray of shape (`n_features_in_`,)
            The ranking of the path (``ranking_`` without resamples).

    selection_probabilities_ : ndarray of shape (n_alphas, `n_features_in_`)
        Only with resamples: at each alpha of ``path_.alphas``, the fraction of
        the resamples' paths in which each feature is active.

    stability_alpha_ : float
        Only with resamples: the weakest alpha of the stability region (see
        Notes).

    alpha_ : float
        Only with ``n_features_to_select="auto"`` and no resamples: the alpha of
        the best mean cross-validated score (the strongest, among equal ones).

    cv_scores_ : ndarray of shape (n_alphas, n_splits)
        Only with ``n_features_to_select="auto"`` and no resamples: the test
        score of each alpha of ``path_.alphas`` in each fold.

    See Also
    --------
    regularization_path : The path the selector ranks the features on.
    sklearn.feature_selection.SelectFromModel : Selection by a fitted model's
        ``feature_importances_``, which the networks also have.
    sklearn.feature_selection.RFE : Recursive feature elimination, whose
        ``ranking_`` this one mirrors.

    Notes
    -----
    A feature is active at an alpha when its row of the first weight matrix,
    all its outgoing weights, is not all zero: a zero row leaves every
    prediction unchanged whatever the feature's value. Its score is the
    strongest alpha of the grid at which it is active. The path runs from the
    weakest alpha to the strongest (see :func:`regularization_path`), so a
    feature, once removed, rarely comes back, and the score is the alpha at
    which the penalty removed it. Ranking the features by the penalty that
    removes them follows LassoNet (Lemhadri et al. 2021) [2]_.

    Stability selection (Meinshausen and Bühlmann 2010) [1]_ fits a path, on the
    grid of the full data, on each of ``n_resamples`` random halves of the
    rows, drawn without replacement (stratified for a classification target,
    with at least one row of each class). A feature's selection probability at
    an alpha is the fraction of those paths in which it is active there. The
    probabilities are read over a region of the grid, the strongest alphas:
    near the weak end of a grid every feature is active in every resample.
    The region runs from the strongest alpha down to the first at which the
    resamples have selected, on average, ``q`` features (at that alpha or a
    stronger one), where ``q = ceil(sqrt(0.8 * p))`` for ``p`` features, or
    the int or float ``n_features_to_select`` when that is larger; the whole
    grid if they never do. A feature is kept when its largest probability
    over the region reaches ``threshold`` ("auto"), or when it is among the
    ``n_features_to_select`` largest. For the lasso, with ``q`` the average
    number of features selected over the region and ``threshold`` above 1/2,
    the expected number of falsely kept features is at most ``q**2 / ((2 *
    threshold - 1) * p)`` under the exchangeability assumptions of the paper:
    at most 1 for ``q = sqrt(0.8 * p)`` and ``threshold=0.9``, the paper's
    example, and 4 at the default 0.6. For a network, the bound is a guide,
    not a guarantee.

    Without resamples, "auto" runs a path on the training part of each fold
    of ``cv``, on the grid of the full data, and keeps the features active at
    the alpha of the best mean test score on the path of the full data. As
    with the lasso, the best-predicting alpha tends to keep some noise
    features too; stability selection keeps fewer.

    References
    ----------
    .. [1] N. Meinshausen and P. Bühlmann, "Stability selection", Journal of the
       Royal Statistical Society: Series B, 72(4), 417-473, 2010.
    .. [2] I. Lemhadri, F. Ruan, L. Abraham and R. Tibshirani, "LassoNet: A
       Neural Network with Feature Sparsity", Journal of Machine Learning
       Research, 22(127), 1-29, 2021.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skreg import RegularizedMLPClassifier, RegularizedMLPSelector
    >>> X, y = make_classification(n_samples=200, n_features=10, n_informative=3,
    ...                            n_redundant=0, shuffle=False, random_state=0)
    >>> network = RegularizedMLPClassifier((8,), penalty="group_lasso",
    ...                                    max_iter=50, learning_rate_init=0.01)
    >>> selector = RegularizedMLPSelector(network, n_features_to_select=3,
    ...                                   alphas=8, random_state=0)
    >>> selector.fit(X, y).get_support(indices=True)
    array([0, 1, 2])
    >>> selector.transform(X).shape
    (200, 3)
    """

    # The HTML repr links to the selector's page of the API reference.
    _doc_link_module = BaseRegularizedMLP._doc_link_module
    _doc_link_template = BaseRegularizedMLP._doc_link_template

    _parameter_constraints: dict = {
        "estimator": [RegularizedMLPClassifier, RegularizedMLPRegressor, None],
        "n_features_to_select": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            StrOptions({"auto"}),
        ],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "path_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "n_resamples": [Interval(Integral, 0, None, closed="left")],
        "threshold": [Interval(Real, 0.5, 1, closed="right")],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_features_to_select="auto",
        alphas=20,
        eps=1e-3,
        path_max_iter=10,
        n_resamples=0,
        threshold=0.6,
        cv=5,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_features_to_select = n_features_to_select
        self.alphas = alphas
        self.eps = eps
        self.path_max_iter = path_max_iter
        self.n_resamples = n_resamples
        self.threshold = threshold
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ``estimator`` is validated by the constraints above, not by a nested call.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the path (and the resamples' paths) and select the features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets: class labels (or a label indicator matrix) for a
            classifier, real numbers for a regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to every fit of the estimator (on the
            resampled or training rows), and to the fold scores of "auto".

        Returns
        -------
        self : object
            The fitted selector.
        """
        # ``validate_data`` records the features before it checks ``y``: a fit
        # that fails leaves the selector as it was.
        saved = self.__dict__.copy()
        try:
            return self._fit(X, y, sample_weight)
        except BaseException:
            restore_state(self, saved)
            raise

    def _fit(self, X, y, sample_weight):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        n_features = X.shape[1]
        k = self._n_features_to_keep(n_features)
        classification = _is_classification(y)
        estimator = self._estimator(classification)
        _check_estimator(estimator)

        rng = check_random_state(self.random_state)
        # Every seed is drawn up front, in one order, so that the results do not
        # depend on n_jobs.
        path_seed = int(rng.randint(_SEED_MAX))
        row_seeds = rng.randint(_SEED_MAX, size=self.n_resamples)
        fit_seeds = rng.randint(_SEED_MAX, size=self.n_resamples)
        own_seed = estimator.random_state is not None
        if not own_seed:
            estimator.set_params(random_state=path_seed)

        full = regularization_path(
            estimator,
            X,
            y,
            alphas=self.alphas,
            eps=self.eps,
            path_max_iter=self.path_max_iter,
            sample_weight=sample_weight,
        )
        alphas = full.alphas
        active, norms = _first_layer(full)
        # ``initial`` makes a never-active feature score 0.
        path_scores = np.max(active * alphas[:, None], axis=0, initial=0.0)
        # Features that leave at the same alpha are ranked by their norms at
        # the strongest alpha that keeps them: there the penalty weighs them
        # alike, where at the weakest alpha the norms are mostly fitted noise
        # when features outnumber samples.
        last_active = np.argmax(active, axis=0)
        path_ranking = _rank(
            path_scores, norms[last_active, np.arange(active.shape[1])]
        )
        path = Bunch(
            alphas=alphas,
            active=active,
            norms=norms,
            n_active=active.sum(axis=1),
            scores=path_scores,
            ranking=path_ranking,
        )
        results = {"path_": path}

        if self.n_resamples > 0:
            actives = self._stability(
                estimator,
                X,
                y,
                sample_weight,
                alphas,
                classification,
                row_seeds,
                None if own_seed else fit_seeds,
            )
            probabilities = actives.mean(axis=0)
            n_region = _stability_region(actives, max(k or 1, _region_size(n_features)))
            scores = probabilities[:n_region].max(axis=0)
            ranking = _rank(scores, -path_ranking)
            results["selection_probabilities_"] = probabilities
            results["stability_alpha_"] = float(alphas[n_region - 1])
            if k is None:
                k = max(1, int(np.sum(scores >= self.threshold)))
            support = ranking <= k
        else:
            scores, ranking = path_scores, path_ranking
            if k is None:
                best, cv_scores = self._cross_validate(
                    estimator, X, y, sample_weight, alphas
                )
                results["alpha_"] = float(alphas[best])
                results["cv_scores_"] = cv_scores
                support = active[best].copy()
                if not support.any():
                    support = ranking == 1
            else:
                support = ranking <= k

        # Attributes of an earlier fit that this one does not set would describe
        # another selection.
        for name in (
            "selection_probabilities_",
            "stability_alpha_",
            "alpha_",
            "cv_scores_",
        ):
            self.__dict__.pop(name, None)
        for name, value in results.items():
            setattr(self, name, value)
        self.scores_ = scores
        self.ranking_ = ranking
        self.support_ = support
        self.n_features_to_select_ = int(support.sum())
        return self

    def _n_features_to_keep(self, n_features):
        """The number of features an int or float asks for; None for "auto"."""
        wanted = self.n_features_to_select
        if isinstance(wanted, str):
            return None
        if isinstance(wanted, Integral):
            if wanted > n_features:
                raise ValueError(
                    f"n_features_to_select={wanted} must be <= n_features="
                    f"{n_features}, the number of features in X."
                )
            return int(wanted)
        # Half up, not to even: 0.5 of 5 features keeps 3, as 0.5 of 7 keeps 4.
        return max(1, int(np.floor(wanted * n_features + 0.5)))

    def _estimator(self, classification):
        """A clone of the estimator, or the default one for this target."""
        if self.estimator is not None:
            return clone(self.estimator)
        if classification:
            return RegularizedMLPClassifier(**_DEFAULT_ESTIMATOR_PARAMS)
        return RegularizedMLPRegressor(**_DEFAULT_ESTIMATOR_PARAMS)

    def _stability(
        self, estimator, X, y, sample_weight, alphas, classification, rows, fits
    ):
        """Per resample, alpha and feature, whether the feature is active.

        ``rows`` seeds each resample's half; ``fits``, when not None, the
        estimator's ``random_state`` of each resample's path.
        """
        if X.shape[0] < 2:
            raise ValueError(
                f"Stability selection fits on halves of the data, and n_samples="
                f"{X.shape[0]} leaves no sample in a half."
            )
        halves = [_half(y, classification, seed) for seed in rows]
        if fits is None:
            estimators = [estimator] * len(halves)
        else:
            estimators = [
                clone(estimator).set_params(random_state=int(seed)) for seed in fits
            ]
        # scikit-learn's Parallel carries the caller's configuration and warning
        # filters into the workers.
        actives = Parallel(n_jobs=self.n_jobs)(
            delayed(_resample_active)(
                model, X, y, sample_weight, half, alphas, self.path_max_iter
            )
            for model, half in zip(estimators, halves)
        )
        return np.array(actives)

    def _cross_validate(self, estimator, X, y, sample_weight, alphas):
        """The index of the alpha with the best mean test score, and the scores.

        ``alphas`` is decreasing: ``argmax`` takes the strongest of equal scores.
        """
        classifier = isinstance(estimator, RegularizedMLPClassifier)
        cv = check_cv(self.cv, y, classifier=classifier)
        splits = list(cv.split(X, y))
        scorer = check_scoring(estimator)
        score_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        increasing = alphas[::-1]
        n_splits = len(splits)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(fold_path)(
                estimator,
                X,
                y,
                sample_weight,
                train,
                test,
                increasing,
                self.path_max_iter,
                scorer,
                score_params,
                f"selector fold {fold + 1}/{n_splits}",
            )
            for fold, (train, test) in enumerate(splits)
        )
        cv_scores = np.array([scores[::-1] for scores, *_ in results]).T
        return int(np.argmax(cv_scores.mean(axis=1))), cv_scores

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.sparse = True
        # The networks train in float32 on float32 input; selecting columns
        # keeps any dtype.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
