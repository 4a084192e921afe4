"""Regularization paths: one estimator fitted along a grid of ``alpha`` values.

Each fit is warm-started from the weights of the one before: a model near the
solution of the next problem needs far fewer epochs than a fresh one. The CV
estimators (``_cv``) run one path per fold. The training itself is the estimators'
own ``fit``; nothing here touches a kernel.
"""

import copy
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils._param_validation import (
    Interval,
    validate_params,
)

from ._full_batch import initial_gradient, mean_loss, penalty_value
from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._penalties import ALL_PENALTIES, alpha_max
from ._validation import check_first_layer


def _alpha_max(estimator, X, y, sample_weight, l1_ratios):
    """The strongest ``alpha`` of an automatic grid: where the penalty switches the
    whole network off at the initial weights (``_penalties.alpha_max``), for the
    ``l1_ratio`` that needs the largest."""
    gradients = initial_gradient(estimator, X, y, sample_weight)
    l1_scales = [np.abs(g) for g in gradients]
    group_scales = [np.linalg.norm(g, axis=1) / np.sqrt(g.shape[1]) for g in gradients]
    first = check_first_layer(estimator, gradients[0].shape[0])
    if first is not None:
        # A factor f makes the first layer's thresholds f times larger; a group
        # of k rows has the norm of its k rows and the weight sqrt(k * n_out).
        # Unpenalized features (f = 0) never switch off and do not count.
        factors, starts, members, group_factors = first
        g = gradients[0]
        kept = factors > 0
        l1_scales[0] = np.abs(g[kept]) / factors[kept, None]
        sizes = np.diff(starts)
        squares = np.add.reduceat(np.sum(g[members] ** 2, axis=1), starts[:-1])
        kept = group_factors > 0
        group_scales[0] = np.sqrt(squares[kept] / sizes[kept]) / (
            np.sqrt(g.shape[1]) * group_factors[kept]
        )
    l1_scale = max(float(np.max(a, initial=0.0)) for a in l1_scales)
    group_scale = max(float(np.max(a, initial=0.0)) for a in group_scales)
    top = max(
        alpha_max(estimator.penalty, rho, l1_scale, group_scale) for rho in l1_ratios
    )
    if not np.isfinite(top) or top <= 0:
        raise ValueError(
            "The automatic alpha grid needs a nonzero loss gradient at the initial "
            "weights, and the gradient is zero (or not finite) for this data. Pass "
            "the alphas explicitly."
        )
    return top


def _alpha_grid(estimator, X, y, sample_weight, alphas, eps, l1_ratios):
    """The alphas to fit, in decreasing order."""
    if isinstance(alphas, Integral):
        top = _alpha_max(estimator, X, y, sample_weight, l1_ratios)
        return np.geomspace(top, top * eps, num=alphas)
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(
            f"alphas must be an int or a non-empty 1-D sequence, got shape "
            f"{alphas.shape}."
        )
    if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(f"alphas must be finite and >= 0, got {alphas}.")
    return np.sort(alphas)[::-1]


def _check_path_estimator(estimator):
    if not isinstance(estimator, (RegularizedMLPClassifier, RegularizedMLPRegressor)):
        raise TypeError(
            "estimator must be a RegularizedMLPClassifier or a "
            f"RegularizedMLPRegressor, got {type(estimator).__name__}."
        )
    if estimator.penalty is None:
        *others, last = (repr(name) for name in ALL_PENALTIES)
        raise ValueError(
            "penalty=None has no alpha to vary: choose a penalty "
            f"({', '.join(others)} or {last})."
        )


def _point_label(label, index, n_alphas, alpha):
    return f"[{label}] alpha {index + 1}/{n_alphas} = {alpha:.4g}"


# ``path_max_iter`` counts epochs of at least this many minibatches. A fit of a
# path moves its weights from one alpha's solution to the next, which takes a
# number of optimizer steps, not of epochs: on small data sets an epoch is one or
# two steps, and ten of them left the points short of their alpha (on the
# diabetes data, 0.9 points of R^2 below GridSearchCV's best score, against 0.5
# with four; more steps bought little more and cost the speed).
_MIN_BATCHES_PER_EPOCH = 4


def _point_max_iter(estimator, n_samples, path_max_iter):
    """The most epochs of each fit of a path after the first."""
    if path_max_iter is None:
        return estimator.max_iter
    cap = path_max_iter
    if estimator.solver != "lbfgs":
        batch = 200 if estimator.batch_size == "auto" else estimator.batch_size
        batches = -(-n_samples // min(batch, n_samples))
        if batches < _MIN_BATCHES_PER_EPOCH:
            cap = -(-path_max_iter * _MIN_BATCHES_PER_EPOCH // batches)
    return min(cap, estimator.max_iter)


def _early_stopping_rounds(estimator):
    # L-BFGS has no early stopping: scikit-learn's ignores the option there.
    return estimator.early_stopping and estimator.solver != "lbfgs"


def _early_stopping_round(path, X, y, sample_weight):
    """Train at the current alpha, early stopping only in the second half.

    Early stopping keeps the best epoch by validation score, and the epochs right
    after a warm start still hold the model of the alpha before: kept, they gave
    every alpha of a path the score of the weakest one, and the strongest won (on
    digits with L1, an alpha whose fit from scratch scores 0.17). So the first
    half of the round's epochs is scored but never kept, nor counted towards a
    stop; early stopping chooses among the epochs of the second half. Both train
    on the training part of the split alone. Returns the epochs run.
    """
    warmup = -(-path.max_iter // 2)
    path._fit(
        X,
        y,
        sample_weight=sample_weight,
        keep_optimizer=True,
        early_stopping_warmup=warmup,
        reraise_interrupt=True,
    )
    return path.n_iter_


def _path_fits(estimator, X, y, sample_weight, alphas, path_max_iter, label="path"):
    """Fit ``estimator`` (a fresh clone) at each alpha, in the order given.

    The first fit runs up to ``max_iter`` epochs from the initial weights. Each later
    one continues from the weights and the optimizer's state (Adam's moments and
    step count, SGD's velocity and learning rate) of the one before, with a fresh
    convergence state, for up to ``path_max_iter`` epochs (more on small data, see
    ``_point_max_iter``).

    Under early stopping, every point, the first included, is instead the first
    fit continued by one ``_early_stopping_round`` at the point's alpha. Chained,
    each round would continue a model that early stopping had stopped on its
    first plateau, and the stronger alphas, trained longest, scored best for it
    (on digits with L1 and the default learning rate, with rounds twice as long,
    the search chose an alpha whose fit from scratch scores 0.50). The
    estimator's ``n_iter_`` counts all the epochs of its point after the start it
    shares.

    Yields the estimator after each fit, with the seconds it took; the caller
    keeps what it needs before asking for the next point, which may reuse the
    object. With a verbose estimator, a line ``[label] alpha i/n = value`` heads
    each fit's own lines.
    """
    path = clone(estimator).set_params(warm_start=True)
    rounds = _early_stopping_rounds(estimator)
    cap = _point_max_iter(estimator, X.shape[0], path_max_iter)
    start_of_rounds = None
    for i, alpha in enumerate(alphas):
        if start_of_rounds is not None:
            path = copy.deepcopy(start_of_rounds)
        path.set_params(alpha=float(alpha))
        if estimator.verbose:
            print(_point_label(label, i, len(alphas), alpha))
        start = time.perf_counter()
        if i == 0:
            # The points change only alpha (checked with the grid), max_iter and
            # early_stopping, to valid values.
            path._validate_params()
        n_iter = 0
        # A fresh Adam would take its first steps at full learning rate in every
        # coordinate, whatever the gradient, and throw the warm start away.
        if i == 0 or not rounds:
            # A Ctrl-C stops the whole path, not just this point's fit.
            path._fit(
                X,
                y,
                sample_weight=sample_weight,
                keep_optimizer=True,
                reraise_interrupt=True,
            )
            n_iter = path.n_iter_
        if i == 0:
            # A round's two halves share the cap of a point without early
            # stopping: measured, shorter rounds also agreed better with fits
            # from scratch, which early stopping stops early.
            path.set_params(max_iter=cap)
            if rounds:
                start_of_rounds = copy.deepcopy(path)
        if rounds:
            n_iter += _early_stopping_round(path, X, y, sample_weight)
        path.n_iter_ = n_iter
        yield path, time.perf_counter() - start


@validate_params(
    {
        "estimator": [RegularizedMLPClassifier, RegularizedMLPRegressor],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "path_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "sample_weight": ["array-like", None],
        "return_estimators": ["boolean"],
    },
    prefer_skip_nested_validation=False,
)
def regularization_path(
    estimator,
    X,
    y,
    *,
    alphas=10,
    eps=1e-3,
    path_max_iter=10,
    sample_weight=None,
    return_estimators=False,
):
    """Fit an estimator along a grid of alphas, each fit warm-started from the last.

    The fits run from the weakest penalty to the strongest. The first trains from
    the initial weights for up to ``max_iter`` epochs; each later one continues from
    the weights and the optimizer's state of the one before (Adam's moments and
    step count, SGD's velocity), with a fresh convergence state, and trains for up
    to ``path_max_iter`` epochs, since it starts near its own solution. With
    ``early_stopping=True``, every point is instead the first fit continued by one
    round at the point's alpha: training as without early stopping, then early
    stopping, which keeps the best epoch of the round's second part (see Notes).
    The results are returned in decreasing order of alpha, as scikit-learn's
    ``lasso_path`` returns them. With a verbose estimator, a line such as
    ``[path] alpha 2/10 = 0.0046`` heads each fit's own lines.

    Parameters
    ----------
    estimator : RegularizedMLPClassifier or RegularizedMLPRegressor
        The model to fit. It is cloned and left unchanged; its ``alpha`` is
        replaced by each value of the grid, every other parameter is kept.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The input data.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The targets.

    alphas : int or array-like of float, default=10
        The grid. An int asks for that many values spaced evenly on a log scale from
        ``alpha_max`` down to ``eps * alpha_max``, where ``alpha_max`` is the
        strength at which the penalty outweighs the gradient of every weight at the
        initial weights (see Notes). A sequence is used as given, sorted.

    eps : float, default=1e-3
        The ratio of the weakest to the strongest alpha of an automatic grid.

    path_max_iter : int or None, default=10
        The most epochs (L-BFGS iterations with ``solver="lbfgs"``) of each fit
        after the first, which starts from the solution at the next weaker alpha.
        An epoch counts as four minibatches at least: when an epoch has fewer
        (600 samples or fewer with ``batch_size="auto"``), the cap rises to
        ``ceil(4 * path_max_iter / n_batches)`` epochs, never above
        ``max_iter``. With early stopping, a point's round has this cap, and
        its first half (rounded up) is never kept as the best epoch. Each fit
        still stops earlier by the estimator's own convergence or early stopping
        rule. None gives every fit the estimator's ``max_iter``.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, passed to every fit.

    return_estimators : bool, default=False
        Also return a fitted copy of the estimator at each alpha.

    Returns
    -------
    path : :class:`~sklearn.utils.Bunch`
        With, for each alpha (index ``i``, alphas decreasing):

        alphas : ndarray of shape (n_alphas,)
            The grid, decreasing.
        coefs : list of list of ndarray
            ``coefs[i]`` is the fit's ``coefs_`` (copies).
        intercepts : list of list of ndarray
            ``intercepts[i]`` is the fit's ``intercepts_`` (copies).
        loss : ndarray of shape (n_alphas,)
            Weighted mean training loss of the fitted weights, without the penalty.
        objective : ndarray of shape (n_alphas,)
            The same plus the penalty: what the fit minimises.
        sparsity : ndarray of shape (n_alphas, n_layers - 1)
            The fit's ``sparsity_``: per weight matrix, the fraction of zeros.
        n_iter : ndarray of shape (n_alphas,)
            Epochs (or L-BFGS iterations) each fit ran; with early stopping, both
            parts of the point's round, plus the first fit for the weakest alpha.
        fit_time : ndarray of shape (n_alphas,)
            Seconds each fit took.
        estimators : list of estimator
            Only with ``return_estimators=True``: fitted copies.

    See Also
    --------
    RegularizedMLPClassifierCV : Cross-validated alpha, with a path per fold.
    RegularizedMLPRegressorCV : Cross-validated alpha, with a path per fold.

    Notes
    -----
    Early stopping along a path. A fit keeps the epoch with the best validation
    score, and a warm-started fit's first epochs still hold the model of the
    alpha before: kept, they would give every alpha the score of the weakest one.
    So with ``early_stopping=True`` the first fit, at the weakest alpha, is an
    ordinary fit with early stopping, and every point, that one included, then
    continues it by one round at its own alpha, of at most the epoch cap of a
    point. The epochs of its first half (rounded up) are scored on the validation
    split but never kept nor counted towards a stop; early stopping then keeps
    the best epoch of the second half: an epoch trained at the point's alpha.
    Both halves train on the training part of the split alone. A round costs
    what a point without early stopping does.
    The rounds start from the first fit rather than from each other: chained,
    each would continue a model that early stopping had stopped on its first
    plateau, and the strongest alphas, trained longest, scored best for having
    trained longer.

    Why from weak to strong, when linear-model paths (glmnet, ``lasso_path``) go
    from strong to weak: in a network, a hidden unit whose incoming or outgoing
    weights are all zero receives a zero gradient, so once a strong penalty has
    switched a unit off, no weaker penalty can switch it back on. A path that starts
    where every weight is zero stays there. Going from the dense model to sparser
    ones, every unit a penalty keeps was there to keep (LassoNet, Lemhadri et al.
    2021, fits its paths in this direction for this reason).

    The top of an automatic grid: with ``g`` the gradient of the mean loss at the
    initial weights and ``rho`` the L1 share (1 for ``"l1"``, ``l1_ratio`` for
    ``"elasticnet"`` and ``"sparse_group_lasso"``), ``alpha_max`` is ``max |g| /
    rho`` for the L1 part, and ``max_i ||g[i, :]||_2 / ((1 - rho) sqrt(n_out))``
    over the rows of each weight matrix for the group part (``rho = 0`` for
    ``"group_lasso"``). ``"l2"`` takes the L1 value, ``max |g|``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skreg import RegularizedMLPClassifier, regularization_path
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = RegularizedMLPClassifier((16,), penalty="l1", max_iter=50,
    ...                                  early_stopping=True, random_state=0)
    >>> path = regularization_path(model, scale(X), y, alphas=5)
    >>> path.alphas.shape, len(path.coefs), path.sparsity.shape
    ((5,), 5, (5, 2))
    >>> bool(path.sparsity[0].min() > path.sparsity[-1].max())
    True
    """
    _check_path_estimator(estimator)
    # The automatic grid reads the parameters before any fit would check them.
    estimator._validate_params()
    alphas = _alpha_grid(
        estimator, X, y, sample_weight, alphas, eps, [estimator.l1_ratio]
    )
    n_alphas = alphas.shape[0]
    coefs, intercepts, estimators = [], [], []
    loss, objective = np.empty(n_alphas), np.empty(n_alphas)
    n_iter, fit_time = np.empty(n_alphas, dtype=np.int64), np.empty(n_alphas)
    sparsity = []
    # Fitted from the weakest alpha (the last) to the strongest (the first).
    order = range(n_alphas - 1, -1, -1)
    fits = _path_fits(estimator, X, y, sample_weight, alphas[::-1], path_max_iter)
    for i, (fitted, seconds) in zip(order, fits):
        coefs.append([c.copy() for c in fitted.coefs_])
        intercepts.append([b.copy() for b in fitted.intercepts_])
        loss[i] = mean_loss(fitted, X, y, sample_weight)
        objective[i] = loss[i] + penalty_value(fitted)
        sparsity.append(fitted.sparsity_)
        n_iter[i] = fitted.n_iter_
        fit_time[i] = seconds
        if return_estimators:
            copied = copy.deepcopy(fitted).set_params(
                warm_start=estimator.warm_start, max_iter=estimator.max_iter
            )
            estimators.append(copied)
    result = Bunch(
        alphas=alphas,
        coefs=coefs[::-1],
        intercepts=intercepts[::-1],
        loss=loss,
        objective=objective,
        sparsity=np.array(sparsity[::-1]),
        n_iter=n_iter,
        fit_time=fit_time,
    )
    if return_estimators:
        result.estimators = estimators[::-1]
    return result


def __getattr__(name):
    # Models pickled before the CV estimators moved to ``_cv`` name this module.
    if name in ("RegularizedMLPClassifierCV", "RegularizedMLPRegressorCV"):
        from . import _cv

        return getattr(_cv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
