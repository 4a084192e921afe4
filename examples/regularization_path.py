"""
The group lasso regularization path of a network on the breast cancer data
==========================================================================

``regularization_path`` fits one estimator along a grid of ``alpha`` values,
from the weakest penalty to the strongest, each fit warm-started from the
weights of the one before, and returns the weights, training loss, sparsity
and epochs of every point, alphas decreasing (as scikit-learn's ``lasso_path``
returns them). ``RegularizedMLPClassifierCV`` fits one such path per
cross-validation fold, scores every point on the fold's held-out part, and
refits the best ``alpha`` on all the data.

The data is scikit-learn's breast cancer data set (569 tumours, 30 named
features, 2 classes), split once into 426 training and 143 test samples
(stratified), and standardized with the training statistics, so that one
``alpha`` weighs every feature alike. The model is a network with one hidden
layer of 16 ReLU units and ``penalty="group_lasso"``: the groups are the rows
of the weight matrices, and a row of ``coefs_[0]`` holds all the outgoing
weights of one input feature, so the penalty switches whole features off (and,
through the rows of ``coefs_[1]``, whole hidden units). The script

* fits the path on the training set over an automatic grid of 20 alphas, from
  ``alpha_max`` (where the penalty switches the whole network off) down to
  ``alpha_max / 1000``, and prints for each alpha the number of input features
  the network still reads (nonzero rows of ``coefs_[0]``), the number of hidden
  units still connected to the output, the fraction of all weights that are
  exactly zero, the training loss (without the penalty), the test accuracy and
  the epochs the fit ran;
* fits ``RegularizedMLPClassifierCV`` with the same settings, the same alphas
  and 5 folds, and prints the alpha it picks, its mean cross-validated
  accuracy (``best_score_``), its test accuracy and the features its refitted
  model keeps;
* saves a figure, ``regularization_path.png`` in the current directory: the
  norm of each feature's row of ``coefs_[0]`` against alpha, with the features
  that stay active up to the strongest alphas in colour; the number of active
  features and the fractions of zero weights and of switched-off hidden units
  against alpha; and the training loss, the test accuracy and the
  cross-validated accuracy against alpha. The alpha picked by cross-validation
  is marked on each panel.

Run it with ``python examples/regularization_path.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    regularization_path,
)

RANDOM_STATE = 0
N_ALPHAS = 20
EPS = 1e-3
PATH_MAX_ITER = 100
N_FOLDS = 5
N_LABELLED = 6
FIGURE = "regularization_path.png"

GROUP_LASSO = dict(
    hidden_layer_sizes=(16,),
    penalty="group_lasso",
    batch_size=64,
    learning_rate_init=0.01,
    max_iter=300,
    random_state=RANDOM_STATE,
)


def load_data():
    """Standardized breast cancer data, split into train and test sets."""
    data = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data,
        data.target,
        test_size=0.25,
        stratify=data.target,
        random_state=RANDOM_STATE,
    )
    scaler = StandardScaler().fit(X_train)
    names = np.asarray(data.feature_names)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, names


def row_norms(coefs):
    """L2 norm of each input feature's row of ``coefs_[0]``."""
    return np.linalg.norm(coefs[0], axis=1)


def zero_fraction(coefs):
    """Fraction of all weights (over every ``coefs_``) that are exactly 0.0."""
    return sum(int(np.sum(c == 0)) for c in coefs) / sum(c.size for c in coefs)


def fit_path(X_train, X_test, y_train, y_test):
    """The path on the training set, with the test accuracy of each point."""
    path = regularization_path(
        RegularizedMLPClassifier(**GROUP_LASSO),
        X_train,
        y_train,
        alphas=N_ALPHAS,
        eps=EPS,
        path_max_iter=PATH_MAX_ITER,
        return_estimators=True,
    )
    path.norms = np.array([row_norms(coefs) for coefs in path.coefs])
    path.zeros = np.array([zero_fraction(coefs) for coefs in path.coefs])
    # coefs_[1] is 16 x 1: each entry is the whole row, the group, of one
    # hidden unit, and a zero one is a unit that the output no longer reads.
    path.units_off = path.sparsity[:, 1]
    path.test_accuracy = np.array(
        [model.score(X_test, y_test) for model in path.estimators]
    )
    return path


def fit_cv(X_train, y_train, alphas):
    """The cross-validated search over the same alphas, refitted on the train set."""
    return RegularizedMLPClassifierCV(
        **GROUP_LASSO,
        alphas=alphas,
        path_max_iter=PATH_MAX_ITER,
        cv=N_FOLDS,
    ).fit(X_train, y_train)


def survivors(norms, n):
    """Indices of the ``n`` features that stay active up to the largest alphas.

    ``norms`` has one row per alpha, alphas decreasing. A feature's run is the
    number of points, counted from the weakest alpha, at which its row is
    nonzero without a break: a longer run survives a stronger penalty. Ties are
    broken by the row norm at the strongest alpha of the run.
    """
    n_alphas, n_features = norms.shape
    run = np.cumprod(norms[::-1] > 0, axis=0).sum(axis=0)
    strongest = np.minimum(n_alphas - run, n_alphas - 1)
    norm_there = norms[strongest, np.arange(n_features)]
    return np.lexsort((-norm_there, -run))[:n]


def print_table(path):
    n_features = path.norms.shape[1]
    n_units = GROUP_LASSO["hidden_layer_sizes"][0]
    print(
        f"{'alpha':>9} {'active features':>15} {'hidden units':>12} "
        f"{'zero weights':>12} {'train loss':>10} {'test accuracy':>13} "
        f"{'epochs':>6}"
    )
    for i, alpha in enumerate(path.alphas):
        active = int(np.sum(path.norms[i] > 0))
        units = round(n_units * (1 - path.units_off[i]))
        print(
            f"{alpha:>9.2e} {active:>9d} / {n_features:<3d} "
            f"{units:>7d} / {n_units:<2d} {path.zeros[i]:>12.3f} "
            f"{path.loss[i]:>10.4f} {path.test_accuracy[i]:>13.4f} "
            f"{path.n_iter[i]:>6d}"
        )


def plot(path, cv, names, figure):
    """Save the three panels of the path, with the alpha chosen by CV marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = path.alphas
    n_features = path.norms.shape[1]
    labelled = survivors(path.norms, N_LABELLED)
    colors = plt.get_cmap("tab10").colors

    fig = plt.figure(figsize=(13, 11))
    grid = fig.add_gridspec(2, 2, height_ratios=[1.25, 1])
    ax_coef = fig.add_subplot(grid[0, :])
    ax_sparse = fig.add_subplot(grid[1, 0])
    ax_fit = fig.add_subplot(grid[1, 1])

    # Panel 1: the classic path, one curve per input feature.
    for j in range(n_features):
        if j not in labelled:
            ax_coef.plot(alphas, path.norms[:, j], color="0.78", lw=1, zorder=1)
    for rank, j in enumerate(labelled):
        ax_coef.plot(
            alphas, path.norms[:, j], "o-", ms=3.5, lw=2, color=colors[rank],
            label=names[j], zorder=2,
        )  # fmt: skip
    ax_coef.plot([], [], color="0.78", lw=1, label="the other features")
    ax_coef.set_ylabel("L2 norm of the feature's row of coefs_[0]")
    ax_coef.set_title(
        "Group lasso path of a (16,) network: the outgoing weights of each "
        "input feature (in colour, the longest survivors)"
    )

    # Panel 2: how much of the network is left.
    active = np.sum(path.norms > 0, axis=1)
    ax_sparse.plot(
        alphas, active, "o-", ms=4, lw=2, color="tab:blue",
        label="active input features (left axis)",
    )  # fmt: skip
    ax_sparse.set_ylabel("active input features (of %d)" % n_features)
    ax_sparse.set_ylim(-1, n_features + 1)
    ax_zero = ax_sparse.twinx()
    ax_zero.plot(
        alphas, path.zeros, "s--", ms=4, color="tab:red",
        label="zero weights, all layers (right axis)",
    )  # fmt: skip
    ax_zero.plot(
        alphas, path.units_off, "^:", ms=4, color="tab:orange",
        label="hidden units switched off (right axis)",
    )  # fmt: skip
    ax_zero.set_ylabel("fraction")
    ax_zero.set_ylim(-0.03, 1.03)
    ax_sparse.set_title("Sparsity")

    # Panel 3: what the penalty costs and what it buys.
    ax_fit.plot(
        alphas, path.loss, "o-", ms=4, color="tab:purple",
        label="training loss (left axis)",
    )  # fmt: skip
    ax_fit.set_yscale("log")
    ax_fit.set_ylabel("training log-loss (log scale)")
    ax_acc = ax_fit.twinx()
    ax_acc.plot(
        alphas, path.test_accuracy, "s-", ms=4, color="tab:green",
        label="test accuracy (right axis)",
    )  # fmt: skip
    mean = cv.cv_results_["mean_test_score"]
    std = cv.cv_results_["std_test_score"]
    ax_acc.plot(
        alphas, mean, "^--", ms=4, color="tab:olive",
        label=f"{N_FOLDS}-fold CV accuracy, mean ± std (right axis)",
    )  # fmt: skip
    ax_acc.fill_between(alphas, mean - std, mean + std, color="tab:olive", alpha=0.2)
    ax_acc.set_ylabel("accuracy")
    ax_fit.set_title("Fit")

    for ax in (ax_coef, ax_sparse, ax_fit):
        ax.set_xscale("log")
        # Strongest penalty on the left, as in scikit-learn's lasso path plots.
        ax.set_xlim(alphas[0] * 1.4, alphas[-1] / 1.4)
        ax.set_xlabel("alpha (log scale, decreasing to the right)")
        ax.axvline(cv.alpha_, color="k", ls=":", lw=1.5, zorder=0)

    cv_line = dict(color="k", ls=":", lw=1.5, label=f"CV alpha_ = {cv.alpha_:.2e}")
    ax_coef.plot([], [], **cv_line)
    ax_coef.legend(loc="upper left", fontsize=9)
    # The lower panels have two y-axes each: one legend for both, below the panel.
    for ax, twin in ((ax_sparse, ax_zero), (ax_fit, ax_acc)):
        handles, labels = ax.get_legend_handles_labels()
        twin_handles, twin_labels = twin.get_legend_handles_labels()
        (cv_handle,) = twin.plot([], [], **cv_line)
        twin.legend(
            handles + twin_handles + [cv_handle],
            labels + twin_labels + [cv_line["label"]],
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
            fontsize=8.5, frameon=False,
        )  # fmt: skip

    fig.tight_layout()
    fig.savefig(figure, dpi=110)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test, names = load_data()
    with warnings.catch_warnings():
        # Many fits of the path stop at path_max_iter epochs: each starts from
        # the solution at the next weaker alpha, and the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        path = fit_path(X_train, X_test, y_train, y_test)
        cv = fit_cv(X_train, y_train, path.alphas)
    print_table(path)

    kept = names[row_norms(cv.coefs_) > 0]
    print(f"\nRegularizedMLPClassifierCV ({N_FOLDS} folds, the same alphas):")
    print(f"  alpha_:        {cv.alpha_:.2e}")
    print(f"  best_score_:   {cv.best_score_:.4f} (mean CV accuracy)")
    print(f"  test accuracy: {cv.score(X_test, y_test):.4f}")
    print(f"  features kept ({len(kept)} of {len(names)}):")
    for name in kept:
        print(f"    {name}")

    plot(path, cv, names, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
