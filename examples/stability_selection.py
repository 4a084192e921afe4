"""
Stability selection with RegularizedMLPSelector
===============================================

``RegularizedMLPSelector`` ranks the input features of a network by the
strongest ``alpha`` at which its group lasso path still keeps them. With
``n_resamples > 0`` it runs stability selection (Meinshausen and Bühlmann,
2010) instead: it fits one path on each of ``n_resamples`` random halves of
the rows, and a feature's selection probability at an ``alpha`` is the
fraction of those paths in which the feature's row of ``coefs_[0]`` is
nonzero there. The probabilities are read over the stability region, the
strongest alphas of the grid, down to ``stability_alpha_``; a feature is kept
when its largest probability over the region reaches ``threshold``.

The data is ``make_classification`` with 1000 samples and 50 features, of
which only the first 5 are informative (``shuffle=False``); the other 45 are
pure noise. The features are standardized, so that one ``alpha`` weighs them
all alike. The network has one hidden layer of 32 units and
``penalty="group_lasso"``. The script

* fits the selector with 20 resamples on a grid of 20 alphas and the default
  ``threshold=0.6``, and prints the weakest alpha of the stability region,
  the features it keeps, how many of the 5 informative ones they include and
  how many noise features, and the largest selection probabilities of the
  informative and of the noise features;
* fits the same selector without resamples and with
  ``n_features_to_select="auto"``, which keeps the features active at the
  alpha of the best 5-fold cross-validated accuracy, and prints the same
  counts: the alpha that predicts best keeps noise features too;
* saves a figure, ``stability_selection.png`` in the current directory: the
  selection probability of every feature against alpha (the informative
  features in colour, the noise features in grey), with the threshold and
  the stability region, and each feature's score, its largest probability
  over the region.

Run it with ``python examples/stability_selection.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, RegularizedMLPSelector

RANDOM_STATE = 0
N_INFORMATIVE = 5
N_RESAMPLES = 20
N_ALPHAS = 20
FIGURE = "stability_selection.png"

GROUP_LASSO = dict(
    hidden_layer_sizes=(32,),
    penalty="group_lasso",
    batch_size=200,
    learning_rate_init=0.01,
    max_iter=100,
)


def load_data():
    """Standardized features and labels; the informative features are the first 5."""
    X, y = make_classification(
        n_samples=1000,
        n_features=50,
        n_informative=N_INFORMATIVE,
        n_redundant=0,
        shuffle=False,
        random_state=RANDOM_STATE,
    )
    return StandardScaler().fit_transform(X), y


def select(X, y, n_resamples):
    """The selector, with stability selection or with cross-validation."""
    return RegularizedMLPSelector(
        RegularizedMLPClassifier(**GROUP_LASSO),
        alphas=N_ALPHAS,
        n_resamples=n_resamples,
        random_state=RANDOM_STATE,
    ).fit(X, y)


def print_selection(name, selector):
    kept = selector.get_support(indices=True)
    informative = int(np.sum(kept < N_INFORMATIVE))
    noise = len(kept) - informative
    n_noise = selector.n_features_in_ - N_INFORMATIVE
    print(f"{name}: {len(kept)} features kept {kept.tolist()}")
    print(
        f"  informative kept: {informative} / {N_INFORMATIVE}, "
        f"noise kept: {noise} / {n_noise}"
    )


def plot(stable, path):
    """Save the stability path and each feature's score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = stable.path_.alphas
    probabilities = stable.selection_probabilities_
    n_features = probabilities.shape[1]
    colors = plt.get_cmap("tab10").colors

    fig, (ax_path, ax_score) = plt.subplots(
        1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.6, 1]}
    )

    for j in range(N_INFORMATIVE, n_features):
        ax_path.plot(alphas, probabilities[:, j], color="0.75", lw=1, zorder=1)
    for j in range(N_INFORMATIVE):
        ax_path.plot(
            alphas, probabilities[:, j], "o-", ms=3.5, lw=2, color=colors[j],
            label=f"informative feature {j}", zorder=2,
        )  # fmt: skip
    ax_path.plot([], [], color="0.75", lw=1, label="noise features")
    ax_path.axhline(
        stable.threshold, color="k", ls="--", lw=1,
        label=f"threshold = {stable.threshold}",
    )  # fmt: skip
    # The region runs from the strongest alpha down to stability_alpha_.
    ax_path.axvspan(
        alphas[0] * 1.4, stable.stability_alpha_, color="tab:blue", alpha=0.1,
        lw=0, label="stability region",
    )  # fmt: skip
    ax_path.set_xscale("log")
    # Strongest penalty on the left, as in scikit-learn's lasso path plots.
    ax_path.set_xlim(alphas[0] * 1.4, alphas[-1] / 1.4)
    ax_path.set_ylim(-0.03, 1.03)
    ax_path.set_xlabel("alpha (log scale, decreasing to the right)")
    ax_path.set_ylabel("selection probability")
    ax_path.set_title(
        f"Stability path: the fraction of {N_RESAMPLES} half-sample paths "
        "keeping each feature"
    )
    ax_path.legend(loc="lower right", fontsize=9)

    bar_colors = list(colors[:N_INFORMATIVE]) + ["0.6"] * (n_features - N_INFORMATIVE)
    ax_score.bar(np.arange(n_features), stable.scores_, color=bar_colors)
    ax_score.axhline(stable.threshold, color="k", ls="--", lw=1)
    kept = stable.get_support(indices=True)
    ax_score.plot(
        kept, np.full(len(kept), 1.06), "kv", ms=5, label="kept by the selector"
    )
    ax_score.set_ylim(0, 1.12)
    ax_score.set_xlabel("input feature (0-4 informative)")
    ax_score.set_ylabel("largest probability over the region")
    ax_score.set_title("Scores (scores_)")
    ax_score.legend(loc="upper right", fontsize=9)

    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    start = time.perf_counter()
    X, y = load_data()
    with warnings.catch_warnings():
        # Each point of a path runs only a few epochs from the one before, and
        # the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        stable = select(X, y, N_RESAMPLES)
        by_cv = select(X, y, 0)

    print(
        f"Stability selection ({N_RESAMPLES} halves, threshold="
        f"{stable.threshold}): region from alpha {stable.path_.alphas[0]:.2e} "
        f"down to stability_alpha_ = {stable.stability_alpha_:.2e}"
    )
    print_selection("Stability selection", stable)
    print(
        "  largest probability over the region, informative features: "
        + ", ".join(f"{s:.2f}" for s in stable.scores_[:N_INFORMATIVE])
    )
    print(
        "  largest probability over the region, noise features: "
        f"{stable.scores_[N_INFORMATIVE:].max():.2f}"
    )
    print(
        f"\nCross-validation (n_features_to_select='auto', 5 folds): "
        f"alpha_ = {by_cv.alpha_:.2e}, mean accuracy "
        f"{by_cv.cv_scores_.mean(axis=1).max():.4f}"
    )
    print_selection("Cross-validation", by_cv)

    plot(stable, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
