"""Checks of a fit's parameters and weights beyond their declared constraints.

The hidden layer sizes, the per-layer ``alpha`` and ``dropout``, the options that
``solver='lbfgs'`` cannot honour, and the sample weights with the class weights
folded in; each is checked before a fit changes any state.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight

from ._penalties import is_smooth


def check_hidden_sizes(estimator):
    """The estimator's ``hidden_layer_sizes`` as a list of positive ints.

    Parameters
    ----------
    estimator : BaseRegularizedMLP
        The estimator whose parameter is checked.

    Returns
    -------
    sizes : list of int
        One size per hidden layer.
    """
    sizes = estimator.hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) for s in sizes):
        # scikit-learn's MLP fails on such sizes too, with a TypeError; this
        # error is both a TypeError and a ValueError.
        raise InvalidParameterError(
            "The 'hidden_layer_sizes' parameter of %s must be an int in the "
            "range [1, inf) or an array-like of such ints. Got %r instead."
            % (type(estimator).__name__, estimator.hidden_layer_sizes)
        )
    if np.any(np.array(sizes) <= 0):
        raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
    return [int(s) for s in sizes]


def as_float_sequence(value, length, name, low, high, high_closed):
    """A float or a sequence of ``length`` floats in range, as a float64 array.

    Parameters
    ----------
    value : float or array-like of float
        The parameter's value; a float stands for ``length`` equal values.
    length : int
        The number of values, one per weight matrix or hidden layer.
    name : str
        The parameter's name, for the error messages.
    low, high : float
        The bounds of the values; ``low`` is included.
    high_closed : bool
        Whether ``high`` is included.

    Returns
    -------
    values : ndarray of shape (length,)
        The values, as float64.
    """
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


def check_layer_options(estimator, hidden_sizes):
    """Per-layer values and the combinations the solver cannot honour.

    Parameters
    ----------
    estimator : BaseRegularizedMLP
        The estimator whose parameters are checked.
    hidden_sizes : list of int
        The sizes of its hidden layers.

    Returns
    -------
    alphas : ndarray of shape (n_hidden_layers + 1,)
        The penalty's strength for each weight matrix.
    dropout : ndarray of shape (n_hidden_layers,)
        The dropout rate of each hidden layer.
    """
    n_matrices = len(hidden_sizes) + 1
    alphas = as_float_sequence(
        estimator.alpha, n_matrices, "alpha", 0.0, np.inf, high_closed=True
    )
    dropout = as_float_sequence(
        estimator.dropout, len(hidden_sizes), "dropout", 0.0, 1.0, high_closed=False
    )
    if estimator.solver == "lbfgs":
        unsupported = []
        if not is_smooth(estimator.penalty, estimator.l1_ratio):
            unsupported.append(f"penalty={estimator.penalty!r}")
        if np.any(dropout > 0):
            unsupported.append("dropout > 0")
        if estimator.input_dropout > 0:
            unsupported.append("input_dropout > 0")
        if estimator.noise_std > 0:
            unsupported.append("noise_std > 0")
        if estimator.max_norm is not None:
            unsupported.append("max_norm")
        if estimator.weight_decay > 0:
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


def fit_sample_weight(estimator, sample_weight, X, y_labels, incremental):
    """Sample weights with the estimator's class weights folded in.

    Parameters
    ----------
    estimator : BaseRegularizedMLP
        The estimator being fitted; a classifier's ``class_weight`` and
        ``classes_`` are read.
    sample_weight : array-like of shape (n_samples,) or None
        The weights passed to the fit; None weighs every sample alike.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The validated input, whose dtype the weights take.
    y_labels : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The targets as passed, before any encoding.
    incremental : bool
        Whether the fit is a ``partial_fit``, which cannot balance the classes.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        The weights, scaled as :func:`scaled_sample_weight` scales them.
    """
    sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    class_weight = getattr(estimator, "class_weight", None)
    if class_weight is not None:
        if estimator._label_binarizer.y_type_.startswith("multilabel"):
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
        classes = estimator.classes_
        weights = compute_class_weight(class_weight, classes=classes, y=y_labels)
        if not np.all(np.isfinite(weights)):
            i = int(np.flatnonzero(~np.isfinite(weights))[0])
            raise ValueError(
                f"class_weight must give every class a finite weight; class "
                f"{classes.tolist()[i]!r} has weight {weights[i]}."
            )
        index = np.searchsorted(classes, y_labels)
        sample_weight = sample_weight * weights[index].astype(X.dtype)
    return scaled_sample_weight(sample_weight)


def scaled_sample_weight(sample_weight):
    """Sample weights whose sum is positive and finite, as the mean loss needs.

    The objective divides by the weights' sum, so only their ratios matter:
    weights far from 1 (1e-320 or 1e307) are scaled by a power of two, which is
    exact and changes no result, instead of underflowing or overflowing.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
        Finite weights with a positive sum.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        The weights, scaled by a power of two if far from 1.
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


def check_feature_groups(feature_groups, n_features):
    """The groups of input features, as ``(starts, members, group_of)``.

    Parameters
    ----------
    feature_groups : None, array-like of labels, or list of lists of int
        None: each feature is a group. One label per input column: the columns
        with equal labels form a group, the groups in the order of their labels'
        first columns. A list of index lists: each list is a group, in the order
        given; the columns no list names are groups of their own, after them.
    n_features : int
        The number of input columns.

    Returns
    -------
    starts : ndarray of shape (n_groups + 1,)
        Group ``g`` is ``members[starts[g]:starts[g + 1]]``.
    members : ndarray of shape (n_features,)
        The columns, group by group, in increasing order within a group.
    group_of : ndarray of shape (n_features,)
        The group of each column.
    """
    if feature_groups is None:
        group_of = np.arange(n_features)
    else:
        entries = list(feature_groups)
        if entries and all(np.ndim(entry) == 1 for entry in entries):
            group_of = _groups_of_index_lists(entries, n_features)
        elif any(np.ndim(entry) != 0 for entry in entries):
            raise ValueError(
                "feature_groups must be one label per input column or a list of "
                "lists of column indices, got a mix of both."
            )
        else:
            if len(entries) != n_features:
                raise ValueError(
                    f"feature_groups has {len(entries)} labels, but X has "
                    f"{n_features} features: give one label per input column."
                )
            _, first_columns, group_of = np.unique(
                np.asarray(entries, dtype=object).astype(str),
                return_index=True,
                return_inverse=True,
            )
            # Groups numbered in the order of their first columns.
            order = np.argsort(np.argsort(first_columns, kind="stable"))
            group_of = order[group_of.ravel()]
    group_of = np.asarray(group_of, dtype=np.int64)
    members = np.argsort(group_of, kind="stable").astype(np.int64)
    counts = np.bincount(group_of)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return starts, members, group_of


def _groups_of_index_lists(entries, n_features):
    group_of = np.full(n_features, -1, dtype=np.int64)
    for g, entry in enumerate(entries):
        indices = np.asarray(entry)
        if indices.size == 0:
            raise ValueError(f"feature_groups: group {g} is empty.")
        if indices.dtype.kind not in "iu" or np.any(
            (indices < 0) | (indices >= n_features)
        ):
            raise ValueError(
                f"feature_groups: group {g} holds {entry!r}, but column indices "
                f"must be ints in [0, {n_features - 1}] for X with {n_features} "
                "features."
            )
        if np.any(group_of[indices] >= 0) or len(set(indices.tolist())) < indices.size:
            raise ValueError(
                f"feature_groups: a column is in more than one group (group {g}: "
                f"{entry!r}). Each column belongs to at most one group."
            )
        group_of[indices] = g
    rest = np.flatnonzero(group_of < 0)
    group_of[rest] = len(entries) + np.arange(rest.size)
    return group_of


def check_penalty_factor(penalty_factor, group_of, n_groups):
    """Each feature's and each group's penalty factor, as float64 arrays.

    ``penalty_factor`` has one value per input feature (a group's factor is then
    the mean of its features') or one per group (each feature takes its
    group's); None is 1 for all. Raises ValueError for another length or a
    negative or non-finite value.
    """
    n_features = group_of.shape[0]
    if penalty_factor is None:
        return np.ones(n_features), np.ones(n_groups)
    factors = np.asarray(penalty_factor, dtype=np.float64)
    if factors.ndim != 1 or factors.shape[0] not in (n_features, n_groups):
        groups = "" if n_groups == n_features else f" or one per group ({n_groups})"
        raise ValueError(
            f"penalty_factor must hold one value per input feature "
            f"({n_features}){groups}, got shape {factors.shape}."
        )
    if not np.all(np.isfinite(factors)) or np.any(factors < 0):
        raise ValueError(
            f"penalty_factor must be finite and >= 0 (0 leaves a feature "
            f"unpenalized), got {penalty_factor!r}."
        )
    if factors.shape[0] == n_features:
        group_factors = np.bincount(group_of, weights=factors) / np.bincount(group_of)
        return factors, group_factors
    return factors[group_of], factors


def check_first_layer(estimator, n_features):
    """The first layer's feature groups and penalty factors, or None.

    Returns None when ``feature_groups`` and ``penalty_factor`` are both None,
    else ``(factors, starts, members, group_factors)``: see
    ``_penalties`` ("first layer").
    """
    if estimator.feature_groups is None and estimator.penalty_factor is None:
        return None
    starts, members, group_of = check_feature_groups(
        estimator.feature_groups, n_features
    )
    n_groups = starts.shape[0] - 1
    factors, group_factors = check_penalty_factor(
        estimator.penalty_factor, group_of, n_groups
    )
    return factors, starts, members, group_factors


def check_activity_alpha(estimator, n_hidden):
    """``activity_alpha`` as one float64 per hidden layer (ValueError if bad)."""
    return as_float_sequence(
        estimator.activity_alpha,
        n_hidden,
        "activity_alpha",
        0.0,
        np.inf,
        high_closed=True,
    )
