"""
A grid search over ``alpha`` and ``dropout``, shown as a heatmap
================================================================

skreg's estimators are scikit-learn estimators, so ``GridSearchCV`` tunes them
like any other, here over two regularizers at once: the strength ``alpha`` of
the L2 penalty and the ``dropout`` rate of the hidden units.

The data is scikit-learn's breast cancer set (569 tumours, 30 features, two
classes), split once, stratified, into 426 training and 143 test samples. The
model is a ``Pipeline`` of a ``StandardScaler`` (inside the pipeline, so each
fold is standardized with its own training part only) and a
``RegularizedMLPClassifier`` with one hidden layer of 32 ReLU units and the
default ``penalty="l2"``, trained by Adam for at most 100 epochs with the same
seed. ``GridSearchCV`` scores the 4 x 3 grid

* ``alpha`` in {1e-3, 1e-2, 1e-1, 1} (skreg's ``alpha`` is added whole to each
  batch's mean loss, so it is stronger than the same number in scikit-learn's
  ``MLPClassifier``; see the README),
* ``dropout`` in {0, 0.25, 0.5},

by accuracy with 5 stratified folds of the training set, and refits the best
cell on the whole training set.

The script prints the grid of mean cross-validated accuracies (and their
standard deviations over the folds), the best parameters, their mean CV
accuracy, and the test accuracy of the refitted model. It saves a figure,
``grid_search_heatmap.png`` in the current directory: a heatmap of the mean CV
accuracy, one cell per pair of ``alpha`` and ``dropout``, each cell annotated
with its mean and standard deviation, and the best cell outlined.

Each validation fold holds about 85 samples, so one misclassification moves a
fold's accuracy by more than a point: differences between the cells of the top
rows smaller than their standard deviations are noise. The strongest
``alpha`` is clearly too strong.

Run it with ``python examples/grid_search_heatmap.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
ALPHAS = [1e-3, 1e-2, 1e-1, 1.0]
DROPOUTS = [0.0, 0.25, 0.5]
N_FOLDS = 5
FIGURE = "grid_search_heatmap.png"


def load_data():
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE)


def make_pipeline():
    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "clf",
                RegularizedMLPClassifier(
                    hidden_layer_sizes=(32,),
                    penalty="l2",
                    solver="adam",
                    max_iter=100,
                    random_state=RANDOM_STATE,
                ),
            ),
        ]
    )


def search(X_train, y_train):
    """The grid search; mean and std of the CV accuracy as (alphas, dropouts)."""
    grid = {"clf__alpha": ALPHAS, "clf__dropout": DROPOUTS}
    search = GridSearchCV(make_pipeline(), grid, cv=N_FOLDS)
    search.fit(X_train, y_train)
    results = search.cv_results_
    shape = (len(ALPHAS), len(DROPOUTS))
    mean = np.empty(shape)
    std = np.empty(shape)
    # Place each candidate by its parameters, whatever the order of cv_results_.
    for k, params in enumerate(results["params"]):
        i = ALPHAS.index(params["clf__alpha"])
        j = DROPOUTS.index(params["clf__dropout"])
        mean[i, j] = results["mean_test_score"][k]
        std[i, j] = results["std_test_score"][k]
    return search, mean, std


def print_grid(mean, std):
    print(f"Mean {N_FOLDS}-fold CV accuracy (± std over the folds):")
    header = "".join(f"{f'dropout={d:g}':>18}" for d in DROPOUTS)
    print(f"{'alpha':>8}{header}")
    for i, alpha in enumerate(ALPHAS):
        cells = "".join(
            f"{mean[i, j]:>11.4f} ± {std[i, j]:.3f}" for j in range(len(DROPOUTS))
        )
        print(f"{alpha:>8g}{cells}")


def plot(mean, std, best, path):
    """Save the heatmap of the mean CV accuracy, the best cell outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(mean, cmap="viridis", aspect="auto")
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.set_label(f"mean {N_FOLDS}-fold CV accuracy")

    # Dark text on the light cells, light text on the dark ones.
    middle = (mean.min() + mean.max()) / 2
    for i in range(len(ALPHAS)):
        for j in range(len(DROPOUTS)):
            ax.text(
                j, i, f"{mean[i, j]:.4f}\n± {std[i, j]:.3f}",
                ha="center", va="center", fontsize=11,
                color="black" if mean[i, j] > middle else "white",
                fontweight="bold" if (i, j) == best else "normal",
            )  # fmt: skip
    i, j = best
    ax.add_patch(
        Rectangle(
            (j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="tab:red", lw=3.5,
            label="best cell (refitted)",
        )
    )  # fmt: skip
    ax.set_xticks(range(len(DROPOUTS)), [f"{d:g}" for d in DROPOUTS])
    ax.set_yticks(range(len(ALPHAS)), [f"{a:g}" for a in ALPHAS])
    ax.set_xlabel("dropout (hidden units)")
    ax.set_ylabel("alpha (L2 penalty)")
    ax.set_title(
        "Breast cancer, (32,) network: GridSearchCV over alpha x dropout\n"
        f"best: alpha={ALPHAS[i]:g}, dropout={DROPOUTS[j]:g}"
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    with warnings.catch_warnings():
        # Some fits use the whole budget of 100 epochs; every cell is compared
        # at that same budget, so the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gs, mean, std = search(X_train, y_train)
    print_grid(mean, std)

    best_params = {k.removeprefix("clf__"): v for k, v in gs.best_params_.items()}
    best = (ALPHAS.index(best_params["alpha"]), DROPOUTS.index(best_params["dropout"]))
    print("\nBest parameters:", ", ".join(f"{k}={v:g}" for k, v in best_params.items()))
    print(f"  mean CV accuracy:                 {gs.best_score_:.4f}")
    print(f"  test accuracy of the refit model: {gs.score(X_test, y_test):.4f}")

    plot(mean, std, best, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
