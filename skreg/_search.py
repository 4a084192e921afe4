"""The search of the CV estimators: each fold's scored path, and the results table.

A fold fits one path (``_path._path_fits``) on its training part and scores each
point on its test part, with the metadata routed as ``GridSearchCV`` routes it;
the scores of all folds become ``cv_results_`` in ``GridSearchCV``'s layout.
"""

import inspect
import time
import warnings

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import _routing_enabled, process_routing
from sklearn.utils.validation import _check_method_params

from ._path import _path_fits, _point_label


def fold_path(
    estimator,
    X,
    y,
    sample_weight,
    train,
    test,
    alphas,
    path_max_iter,
    scorer,
    score_params,
    label,
):
    """One fold's path: the test score, epochs and times at each alpha (in order).

    Parameters
    ----------
    estimator : RegularizedMLPClassifier or RegularizedMLPRegressor
        The unfitted estimator the path fits.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All the input data.
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        All the targets.
    sample_weight : ndarray of shape (n_samples,) or None
        The weights of all the samples; those of ``train`` train the fits.
    train, test : ndarray of int
        The indices of the fold's training and test parts.
    alphas : ndarray of shape (n_alphas,)
        The path's alphas, in the order they are fitted.
    path_max_iter : int or None
        The most epochs of each fit after the first (see ``_path._path_fits``).
    scorer : callable
        ``scorer(estimator, X, y, **score_params)``, the test score.
    score_params : dict
        The scorer's metadata for all the samples; that of ``test`` is passed.
    label : str
        The fold and grid point, for the verbose output.

    Returns
    -------
    scores, n_iter, fit_time, score_time : ndarray of shape (n_alphas,)
        Per alpha, the test score, the epochs of its fit, and the seconds its fit
        and its scoring took.
    """
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    weight = None if sample_weight is None else sample_weight[train]
    score_params = _check_method_params(X, params=score_params, indices=test)
    n_alphas = len(alphas)
    scores, n_iter = np.empty(n_alphas), np.empty(n_alphas, dtype=np.int64)
    fit_time, score_time = np.empty(n_alphas), np.empty(n_alphas)
    fits = _path_fits(estimator, X_train, y_train, weight, alphas, path_max_iter, label)
    for i, (fitted, seconds) in enumerate(fits):
        start = time.perf_counter()
        scores[i] = scorer(fitted, X_test, y_test, **score_params)
        score_time[i] = time.perf_counter() - start
        fit_time[i] = seconds
        n_iter[i] = fitted.n_iter_
        if estimator.verbose:
            print(
                f"{_point_label(label, i, n_alphas, alphas[i])}: score "
                f"{scores[i]:.4g} after {n_iter[i]} epochs, {seconds:.3g} s"
            )
    return scores, n_iter, fit_time, score_time


def _scorer_accepts_sample_weight(scorer):
    if hasattr(scorer, "_accept_sample_weight"):
        return scorer._accept_sample_weight()
    return "sample_weight" in inspect.signature(scorer).parameters


def route_metadata(search, sample_weight, params, scorer):
    """The metadata of ``cv.split`` and of the scorer, as GridSearchCV's.

    Parameters
    ----------
    search : RegularizedMLPClassifierCV or RegularizedMLPRegressorCV
        The search being fitted.
    sample_weight : ndarray of shape (n_samples,) or None
        The weights passed to ``fit``.
    params : dict
        The other metadata passed to ``fit``.
    scorer : callable
        The scorer of each fold's test part.

    Returns
    -------
    split_params, score_params : dict
        The metadata of ``cv.split`` and of the scorer.
    """
    if _routing_enabled():
        if sample_weight is not None:
            params = {**params, "sample_weight": sample_weight}
        routed = process_routing(search, "fit", **params)
        return routed.splitter.split, routed.scorer.score
    split_params = {"groups": params.get("groups")}
    score_params = {}
    if sample_weight is not None:
        if _scorer_accepts_sample_weight(scorer):
            score_params["sample_weight"] = sample_weight
        else:
            # Three frames up (the search's ``_search``, then ``fit``) is the
            # line that called ``fit``.
            warnings.warn(
                f"The scoring {scorer} does not support sample_weight, which "
                "may lead to statistically incorrect results when fitting "
                f"{search} with sample_weight.",
                UserWarning,
                stacklevel=4,
            )
    return split_params, score_params


def search_results(alphas, grid, n_splits, tasks, fold_results):
    """The search's ``cv_results_``, and the index of its best point.

    Parameters
    ----------
    alphas : ndarray of shape (n_alphas,)
        The alphas, strongest first.
    grid : list of dict
        The parameters of each path (``l1_ratio``, ``dropout``, and ``gamma``
        when it is searched).
    n_splits : int
        The number of folds.
    tasks : list of (int, int, ndarray, ndarray)
        The grid point, fold, training and test indices of each path.
    fold_results : list of tuple
        What :func:`fold_path` returned for each task, weakest alpha first.

    Returns
    -------
    results : dict of ndarray
        ``cv_results_``, as ``GridSearchCV``'s, with ``mean_n_iter`` added.
    best : int
        The index of the best point: the highest mean test score, the first of
        a tie.
    """
    n_alphas, n_points = len(alphas), len(grid)
    # Paths ran weakest first; the results are stored strongest first.
    shape = (n_points, n_splits, n_alphas)
    scores, n_iter = np.empty(shape), np.empty(shape, dtype=np.int64)
    fit_time, score_time = np.empty(shape), np.empty(shape)
    for (point, fold, _, _), (s, it, ft, st) in zip(tasks, fold_results):
        scores[point, fold] = s[::-1]
        n_iter[point, fold] = it[::-1]
        fit_time[point, fold] = ft[::-1]
        score_time[point, fold] = st[::-1]

    def flat(values):  # (point, split, alpha) -> (split, point * n_alphas + alpha)
        return values.transpose(1, 0, 2).reshape(n_splits, -1)

    scores, n_iter = flat(scores), flat(n_iter)
    fit_time, score_time = flat(fit_time), flat(score_time)
    params = [{"alpha": float(a), **point} for point in grid for a in alphas]
    results = {
        "mean_fit_time": fit_time.mean(axis=0),
        "std_fit_time": fit_time.std(axis=0),
        "mean_score_time": score_time.mean(axis=0),
        "std_score_time": score_time.std(axis=0),
    }
    for name in params[0]:
        column = np.empty(len(params), dtype=object)
        column[:] = [p[name] for p in params]
        results[f"param_{name}"] = column
    results["params"] = params
    for split in range(n_splits):
        results[f"split{split}_test_score"] = scores[split]
    mean = scores.mean(axis=0)
    results["mean_test_score"] = mean
    results["std_test_score"] = scores.std(axis=0)
    # As GridSearchCV: NaN scores rank last, ties share the smaller rank.
    ranked = np.where(np.isnan(mean), -np.inf, mean)
    order = np.argsort(-ranked, kind="stable")
    rank = np.empty(len(mean), dtype=np.int32)
    rank[order] = np.arange(1, len(mean) + 1)
    for i in range(1, len(order)):
        if ranked[order[i]] == ranked[order[i - 1]]:
            rank[order[i]] = rank[order[i - 1]]
    results["rank_test_score"] = rank
    results["mean_n_iter"] = n_iter.mean(axis=0)
    return results, int(order[0])
