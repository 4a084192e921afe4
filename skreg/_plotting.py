"""Plots of a fitted estimator's training history.

matplotlib is optional: it is imported when a plot is drawn, never when this
module is imported.
"""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRegularizedMLP


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "plot_training_curves needs matplotlib, which is not installed. "
            "Install it with: pip install matplotlib"
        ) from error
    return plt


def plot_training_curves(estimator, ax=None):
    """Plot the training objective, and the validation curves, of a fitted MLP.

    The left axis shows ``loss_curve_``, the training objective (mean loss plus
    penalty) of each epoch. With ``early_stopping=True`` it also shows
    ``validation_loss_curve_``, and a twin right axis shows
    ``validation_scores_`` (accuracy for a classifier, R² for a regressor).

    Parameters
    ----------
    estimator : RegularizedMLPClassifier, RegularizedMLPRegressor, their CV \
            estimators, or a Pipeline ending in one of them
        An estimator fitted with ``solver='sgd'`` or ``solver='adam'``. A
        :class:`RegularizedMLPClassifierCV` or :class:`RegularizedMLPRegressorCV`
        is plotted as the model it refitted on the whole data at the chosen
        ``alpha_``; a :class:`~sklearn.pipeline.Pipeline` as its last step.

    ax : matplotlib Axes, default=None
        The axes to draw on. None draws on a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes holding the loss curves.

    score_ax : matplotlib Axes or None
        The twin right axes holding the validation scores, or None without
        early stopping.

    Raises
    ------
    TypeError
        If the estimator, or a Pipeline's last step, is not one of skreg's.

    ImportError
        If matplotlib is not installed.

    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    ValueError
        If the estimator records no loss curve, as when it was fitted with
        ``solver='lbfgs'``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from skreg import RegularizedMLPClassifier, plot_training_curves
    >>> X, y = make_classification(200, random_state=0)
    >>> clf = RegularizedMLPClassifier(
    ...     hidden_layer_sizes=(8,), early_stopping=True, max_iter=20, random_state=0
    ... ).fit(X, y)
    >>> ax, score_ax = plot_training_curves(clf)
    >>> len(ax.lines), len(score_ax.lines)
    (2, 1)
    >>> ax.get_title()
    'RegularizedMLPClassifier: training curves'
    """
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    if not isinstance(estimator, BaseRegularizedMLP):
        raise TypeError(
            "plot_training_curves takes a fitted RegularizedMLPClassifier, "
            "RegularizedMLPRegressor, one of their CV estimators, or a Pipeline "
            f"whose last step is one of them; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    loss_curve = getattr(estimator, "loss_curve_", None)
    if not loss_curve:
        solver = getattr(estimator, "solver", None)
        raise ValueError(
            f"{type(estimator).__name__} has no loss_curve_ to plot: only the "
            "stochastic solvers ('sgd' and 'adam') record the objective of each "
            f"epoch, and this estimator was fitted with solver={solver!r}."
        )
    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots()

    epochs = range(1, len(loss_curve) + 1)
    ax.plot(epochs, loss_curve, label="training objective", color="C0")
    validation_losses = getattr(estimator, "validation_loss_curve_", None)
    validation_scores = getattr(estimator, "validation_scores_", None)
    if validation_losses:
        ax.plot(
            range(1, len(validation_losses) + 1),
            validation_losses,
            label="validation objective",
            color="C1",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("objective (loss + penalty)")
    ax.set_title(f"{type(estimator).__name__}: training curves")

    score_ax = None
    handles, labels = ax.get_legend_handles_labels()
    if validation_scores:
        score_ax = ax.twinx()
        score_ax.plot(
            range(1, len(validation_scores) + 1),
            validation_scores,
            label="validation score",
            color="C2",
            linestyle="--",
        )
        score_ax.set_ylabel("validation score")
        more_handles, more_labels = score_ax.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    # On the twin axes when there is one, so no line is drawn over the legend.
    (ax if score_ax is None else score_ax).legend(handles, labels, loc="best")
    return ax, score_ax
