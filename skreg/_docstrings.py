"""Numpydoc sections the estimators share: parameters, attributes, notes, searches."""

import textwrap

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
            'sparse_group_lasso', 'mcp', 'scad', 'group_mcp', \
            'group_scad'}} or None, default='l2'
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
        of those steps. 'mcp' and 'scad' are the minimax concave penalty
        and the smoothly clipped absolute deviation of each weight, with
        ``lam = alpha`` and concavity ``gamma``; 'group_mcp' and 'group_scad'
        the same of each row's norm, with ``lam = alpha * sqrt(n_out)``. They
        zero small weights as the L1 norm does but stop shrinking beyond
        ``gamma * lam``, so the weights they keep are less biased towards 0.
        Under 'sgd' their proximal steps are closed forms (firm thresholding,
        SCAD's three pieces); under 'adam' the per-weight penalties take the
        exact step in Adam's metric, and a row the group lasso's step at the
        penalty's slope at the row's norm (a local linear approximation). Not
        supported by 'lbfgs'.

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

    gamma : float or None, default=None
        Concavity of 'mcp', 'scad', 'group_mcp' and 'group_scad': None is 3.0
        for MCP (Zhang 2010) and 3.7 for SCAD (Fan and Li 2001). It must be
        greater than 1 for MCP and than 2 for SCAD. Smaller values are closer
        to best-subset selection, larger ones to the lasso. Ignored by the
        other penalties.

    feature_groups : array-like of shape (n_features,), list of lists of int \
            or None, default=None
        Groups of input features for the group penalties of the first weight
        matrix: one label per input column (the columns with equal labels form
        a group, for example all one-hot columns of a categorical variable), or
        a list of lists of column indices (each list a group; the columns no
        list names are groups of their own). A group's rows of ``coefs_[0]``
        are penalized together, by the norm of all their weights weighted by
        ``sqrt(group size * n_out)``, and enter or leave the model together.
        None: each feature is its own group.

    penalty_factor : array-like of shape (n_features,) or (n_groups,), \
            default=None
        Non-negative factors that multiply each input feature's (or each
        group's) penalty in the first weight matrix, as glmnet's
        ``penalty.factor``: 0 leaves a feature unpenalized, so it is always
        kept. With one factor per feature and ``feature_groups``, a group's
        factor is the mean of its features'. None: 1 for all.

    activity_penalty : {{'l1', 'l2'}} or None, default=None
        A penalty on the hidden layers' outputs (Keras' activity
        regularization): their L1 norm, or half their squared L2 norm, per
        sample, averaged over the samples with their weights, so that it does
        not depend on the batch size; the outputs are those the next layer
        receives (after dropout, while training). The L1 norm drives ReLU
        outputs to exactly 0; its subgradient at 0 is 0, which is also how
        'lbfgs' takes it. The validation loss of early stopping leaves it out.

    activity_alpha : float or array-like of shape (n_layers - 2,), default=0.0
        Strength of ``activity_penalty``, one value for all hidden layers or
        one per hidden layer.
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
        sum to 1; with ``feature_groups``, the norm of its group's rows together,
        equal within a group.

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


def _search_doc(kind, base, folds, score, examples):
    """The docstring of a cross-validated estimator, for one kind of base."""
    return _SEARCH_DOC.format(
        kind=kind, base=base, folds=folds, score=score
    ) + textwrap.indent(textwrap.dedent(examples), "    ")


_SEARCH_DOC = """{kind} picking ``alpha`` by cross-validation over warm-started paths.

    For each fold of ``cv``, and each ``l1_ratio`` and ``dropout`` in the grid, one
    :func:`regularization_path` is fitted on the fold's training part, from the
    weakest alpha to the strongest, each fit warm-started from the last; every
    point is scored on the fold's held-out part. The point with the best mean score
    is refitted on all the data, along the same path up to that alpha (with
    ``early_stopping=True``, the path's first fit and the round at that alpha, see
    :func:`regularization_path`), and this estimator then predicts as that model.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, ... : see {base}
        Every parameter of :class:`{base}` but ``alpha`` (the grid
        replaces it) and ``warm_start`` (the path warm-starts its fits), with the
        same meaning and default.

    alphas : int or array-like of float, default=10
        The grid of penalty strengths: an int for that many values on a log scale
        from ``alpha_max`` down to ``eps * alpha_max`` (computed on the whole data,
        see :func:`regularization_path`), or the values themselves.

    eps : float, default=1e-3
        Ratio of the weakest to the strongest alpha of an automatic grid.

    path_max_iter : int or None, default=10
        The most epochs of each fit of a path after the first: it starts from the
        solution at the next weaker alpha, so it needs far fewer than a fit from
        the initial weights (``max_iter``). An epoch counts as four minibatches
        at least: on small data sets the cap rises (see
        :func:`regularization_path`). None gives every fit ``max_iter``.

    l1_ratios : array-like of float, default=None
        L1 shares to search, each with its own path. None searches ``l1_ratio``
        alone.

    dropouts : array-like, default=None
        Dropout rates to search (floats, or one sequence of per-layer rates per
        entry), each with its own path. None searches ``dropout`` alone.

    gammas : array-like of float, default=None
        Concavities to search for 'mcp', 'scad', 'group_mcp' and 'group_scad',
        each with its own path; ``cv_results_`` then has a ``param_gamma``
        column and the best is ``gamma_``. None searches ``gamma`` alone.

    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV``: None for 5-fold, an int for that many folds
        ({folds}), or a splitter. A group splitter (``GroupKFold``, ...) takes
        the ``groups`` passed to ``fit``.

    scoring : str or callable, default=None
        The score to maximise, as in ``GridSearchCV``. None uses the estimator's
        ``score``: {score}.

    n_jobs : int, default=None
        Number of paths fitted in parallel (one per fold and grid point), through
        scikit-learn's joblib ``Parallel``, which gives the workers the caller's
        warning filters and scikit-learn configuration:
        ``joblib.parallel_backend("dask")`` sends them to a Dask cluster. None
        means 1 unless in a joblib context.

    verbose : bool or int, default=False
        As in {base}; each fit's lines follow a line that names its
        path and point, ``[fold 2/5, l1_ratio=0.15, dropout=0.0] alpha 3/10 =
        0.0046``, and a line with its test score ends each point of a fold's
        path. The refit's lines are labelled ``[refit, ...]``.

    refit : bool, default=True
        Refit the best point on all the data. With False, only the search results
        are kept and the estimator cannot predict.

    Attributes
    ----------
    alpha_ : float
        The alpha of the best point.

    l1_ratio_ : float
        The l1_ratio of the best point.

    dropout_ : float or list of float
        The dropout of the best point.

    gamma_ : float
        The gamma of the best point; only when ``gammas`` is given.

    alphas_ : ndarray of shape (n_alphas,)
        The grid, decreasing.

    cv_results_ : dict of ndarray
        As ``GridSearchCV``'s: ``mean_fit_time``, ``std_fit_time``,
        ``mean_score_time``, ``std_score_time``, ``param_alpha``,
        ``param_l1_ratio``, ``param_dropout``, ``params``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``, plus
        ``mean_n_iter``, the epochs a fit ran on average. Points are ordered by
        l1_ratio, then dropout, then decreasing alpha.

    best_score_ : float
        Mean cross-validated score of the best point.

    best_params_ : dict
        ``alpha``, ``l1_ratio`` and ``dropout`` of the best point.

    best_index_ : int
        Index of the best point in ``cv_results_``.

    n_splits_ : int
        Number of cross-validation folds.

    refit_time_ : float
        Seconds the refit took (with ``refit=True``).

    coefs_, intercepts_, loss_curve_, n_iter_, ... : see {base}
        The refitted model's attributes (with ``refit=True``).

    See Also
    --------
    {base} : The estimator at one alpha.
    regularization_path : The path of one fit.

    Notes
    -----
    On the same grid and folds, the search fits far fewer epochs than a
    ``GridSearchCV`` over :class:`{base}`, which fits every point
    from scratch: see the performance page of the documentation for measured
    ratios.

    Examples
    --------
"""
