"""
Decision boundaries of one network under six regularizers
=========================================================

The data is scikit-learn's two moons, ``make_moons(300, noise=0.3)``, split
once, stratified, into 150 training and 150 test points. The data is kept
strictly two-dimensional: the plane of each panel is then the whole input
space, so the contour drawn is the complete decision function of the network,
not a slice of it. Both coordinates of the moons are on a scale of about one,
so they are not standardized.

Every model is a ``RegularizedMLPClassifier((32, 32))`` with ReLU units, trained
by Adam with minibatches of 32 for at most 1000 epochs and the same seed; only
the regularization changes:

* no penalty (``penalty=None``), the baseline;
* ``penalty="l2"``, which shrinks every weight but sets none to zero;
* ``penalty="l1"``, whose proximal step sets most weights to exactly zero;
* ``penalty="elasticnet"`` with ``l1_ratio=0.5``, a mix of the two;
* ``dropout=0.5`` on both hidden layers, with no penalty;
* ``penalty="group_lasso"``. Its groups are the rows of the weight matrices:
  all the outgoing weights of one input feature or of one hidden unit. With
  two informative inputs there is no feature to switch off, so what it removes
  here is whole hidden units, and the title of its panel says how many of the
  64 are still connected.

The strengths are chosen so that the differences are visible, not by
cross-validation: the strong sparse penalties leave a handful of units and a
boundary made of a few straight pieces, L2 and dropout a smooth curve. On
this easy, low-dimensional problem the network without a penalty does not
overfit much, so every penalty here costs some test accuracy: the figure is
about the shape of the boundary, not about which regularizer wins. Each
panel shows ``predict_proba`` of class 1 (the lower moon) as a filled contour,
the 0.5 level as a black line, the training points as circles and the test
points as crosses, and its title gives the setting, the test accuracy and the
fraction of all weights (over every ``coefs_``) that are exactly zero.

The script prints, for each setting, the training and test accuracies and that
fraction of zero weights, and saves the 2 x 3 grid of panels as
``decision_boundaries.png`` in the current directory. With 150 test points one
misclassification is 0.7 points of accuracy.

Run it with ``python examples/decision_boundaries.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
FIGURE = "decision_boundaries.png"

COMMON = dict(
    hidden_layer_sizes=(32, 32),
    batch_size=32,
    learning_rate_init=0.01,
    max_iter=1000,
    tol=1e-5,
    n_iter_no_change=50,
    random_state=RANDOM_STATE,
)

# Panel title -> the parameters that differ from COMMON.
SETTINGS = {
    "no penalty": dict(penalty=None),
    "L2, alpha=0.01": dict(penalty="l2", alpha=0.01),
    "L1, alpha=0.002": dict(penalty="l1", alpha=0.002),
    "elastic net, alpha=0.004, l1_ratio=0.5": dict(
        penalty="elasticnet", alpha=0.004, l1_ratio=0.5
    ),
    "dropout=0.5, no penalty": dict(penalty=None, dropout=0.5),
    "group lasso, alpha=0.001": dict(penalty="group_lasso", alpha=0.001),
}


def load_data():
    """The two moons, split in half, stratified."""
    X, y = make_moons(300, noise=0.3, random_state=RANDOM_STATE)
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=RANDOM_STATE)


def zero_fraction(model):
    """Fraction of all weights (over every ``coefs_``) that are exactly 0.0."""
    coefs = model.coefs_
    return sum(int(np.sum(c == 0)) for c in coefs) / sum(c.size for c in coefs)


def active_units(model):
    """Hidden units whose outgoing row (in the next ``coefs_``) is not all zero."""
    return sum(int(np.sum(np.any(c != 0, axis=1))) for c in model.coefs_[1:])


def fit_all(X_train, X_test, y_train, y_test):
    """Fit one network per setting; return the models and a row of numbers each."""
    models, rows = {}, []
    for name, params in SETTINGS.items():
        model = RegularizedMLPClassifier(**COMMON, **params).fit(X_train, y_train)
        models[name] = model
        rows.append(
            (
                name,
                model.score(X_train, y_train),
                model.score(X_test, y_test),
                zero_fraction(model),
                active_units(model),
            )
        )
    return models, rows


def print_table(rows):
    n_units = sum(COMMON["hidden_layer_sizes"])
    print(
        f"{'setting':<40} {'train acc':>9} {'test acc':>8} "
        f"{'zero weights':>12} {'hidden units':>12}"
    )
    for name, train, test, zeros, units in rows:
        print(
            f"{name:<40} {train:>9.3f} {test:>8.3f} {zeros:>12.3f} "
            f"{units:>7d} / {n_units}"
        )


def plot(models, rows, X_train, X_test, y_train, y_test, path):
    """Save the 2 x 3 grid of decision boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X_all = np.vstack([X_train, X_test])
    low, high = X_all.min(axis=0) - 0.5, X_all.max(axis=0) + 0.5
    xx, yy = np.meshgrid(
        np.linspace(low[0], high[0], 250), np.linspace(low[1], high[1], 250)
    )
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    n_units = sum(COMMON["hidden_layer_sizes"])

    fig, axes = plt.subplots(2, 3, figsize=(15, 9.6), sharex=True, sharey=True)
    for ax, (name, model), row in zip(axes.ravel(), models.items(), rows):
        _, _, test, zeros, units = row
        proba = model.predict_proba(grid)[:, 1].reshape(xx.shape)
        filled = ax.contourf(
            xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75
        )
        ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5)
        ax.scatter(
            X_train[:, 0], X_train[:, 1], c=y_train, cmap="RdBu_r", vmin=0, vmax=1,
            s=22, edgecolors="k", linewidths=0.6, label="train",
        )  # fmt: skip
        ax.scatter(
            X_test[:, 0], X_test[:, 1], c=y_test, cmap="RdBu_r", vmin=0, vmax=1,
            s=26, marker="x", linewidths=1.2, label="test",
        )  # fmt: skip
        title = f"{name}\ntest accuracy {test:.3f}, zero weights {zeros:.1%}"
        if model.penalty == "group_lasso":
            title += f"\nhidden units still connected: {units} of {n_units}"
        ax.set_title(title, fontsize=10.5)
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
    for ax in axes[1]:
        ax.set_xlabel("x1")
    for ax in axes[:, 0]:
        ax.set_ylabel("x2")
    axes[0, 0].legend(loc="lower left", fontsize=9)
    fig.suptitle(
        "RegularizedMLPClassifier((32, 32)) on make_moons(300, noise=0.3): "
        "predict_proba of class 1, 0.5 level in black",
        fontsize=13,
    )
    fig.tight_layout(rect=(0, 0, 0.92, 1))
    colorbar_ax = fig.add_axes((0.93, 0.15, 0.015, 0.7))
    fig.colorbar(filled, cax=colorbar_ax, label="predicted probability of class 1")
    fig.savefig(path, dpi=100)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    with warnings.catch_warnings():
        # The sparse fits can run to max_iter while the proximal steps keep
        # moving weights on and off zero; the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        models, rows = fit_all(X_train, X_test, y_train, y_test)
    print_table(rows)
    plot(models, rows, X_train, X_test, y_train, y_test, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
