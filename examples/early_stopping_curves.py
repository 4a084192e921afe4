"""
Learning and validation curves under early stopping on the digits data
======================================================================

With ``early_stopping=True`` a network holds out ``validation_fraction`` of its
training data, scores the held-out part after every epoch, stops once the
validation score has not improved by ``tol`` for ``n_iter_no_change`` epochs in a
row, and keeps the weights of its best epoch, the one with the highest
validation score, not those of the last epoch. Besides ``loss_curve_``, the
training objective of each epoch, it records ``validation_scores_`` (accuracy
for a classifier) and ``validation_loss_curve_``, the validation objective
(mean loss plus penalty) of each epoch. ``skreg.plot_training_curves`` draws the
three curves on one panel.

The data is scikit-learn's digits set (1,797 images of 8 x 8 pixels, scaled to
[0, 1], ten classes), split once, stratified, into 1,347 training and 450 test
images. Every model has one hidden layer of 256 ReLU units, is trained by Adam
(learning rate 3e-3, batches of 200) with the same seed, holds out 20% of its
training images for validation and stops after 20 epochs without improvement.
Three regularizers are compared:

* none (``penalty=None``);
* an L2 penalty, ``penalty="l2"`` with ``alpha=1e-3``;
* ``dropout=0.3`` on the hidden units, with no penalty.

The script prints, for each setting, the epochs run, the best epoch (the one
whose weights the model keeps), its validation accuracy, the test accuracy of
the kept model and the fit time. It saves a figure,
``early_stopping_curves.png`` in the current directory, with one panel per
setting drawn by ``plot_training_curves``: the training and validation
objectives on a log scale (left axis), the validation accuracy (right axis), and
the best epoch marked by a dotted line and a star. The epochs after the star are
the patience that early stopping spends before it gives up. The L2 objectives
include the penalty, so they sit above the others.

Run it with ``python examples/early_stopping_curves.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg import RegularizedMLPClassifier, plot_training_curves

RANDOM_STATE = 0
FIGURE = "early_stopping_curves.png"

COMMON = dict(
    hidden_layer_sizes=(256,),
    solver="adam",
    learning_rate_init=3e-3,
    batch_size=200,
    max_iter=300,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=20,
    random_state=RANDOM_STATE,
)

# Display name -> the regularization parameters of that setting.
SETTINGS = {
    "no penalty": dict(penalty=None),
    "L2, alpha=1e-3": dict(penalty="l2", alpha=1e-3),
    "dropout=0.3": dict(penalty=None, dropout=0.3),
}


def load_data():
    """Digits scaled to [0, 1], split into train and test sets."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE
    )


def fit_all(X_train, X_test, y_train, y_test):
    """Fit every setting; return one dict of results each."""
    # Compile (or load from the cache) skreg's kernels outside the timings.
    with warnings.catch_warnings():
        # Two epochs are too few to converge, and meant to be.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for params in SETTINGS.values():
            RegularizedMLPClassifier(**{**COMMON, "max_iter": 2}, **params).fit(
                X_train, y_train
            )
    results = {}
    for name, params in SETTINGS.items():
        model = RegularizedMLPClassifier(**COMMON, **params)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        # The first epoch with the highest validation score: its weights are kept.
        best = int(np.argmax(model.validation_scores_)) + 1
        results[name] = dict(
            model=model,
            epochs=model.n_iter_,
            best_epoch=best,
            best_score=model.best_validation_score_,
            test_score=model.score(X_test, y_test),
            seconds=seconds,
        )
    return results


def print_table(results):
    print(
        f"{'setting':<16} {'epochs run':>10} {'best epoch':>10} "
        f"{'best val. accuracy':>18} {'test accuracy':>13} {'fit (s)':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<16} {r['epochs']:>10d} {r['best_epoch']:>10d} "
            f"{r['best_score']:>18.4f} {r['test_score']:>13.4f} "
            f"{r['seconds']:>7.2f}"
        )


def plot(results, path):
    """Save one panel of training curves per setting, the best epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_epochs = max(r["epochs"] for r in results.values())
    fig, axes = plt.subplots(1, len(results), figsize=(16, 5.4), sharey=True)
    for ax, (name, r) in zip(axes, results.items()):
        ax, score_ax = plot_training_curves(r["model"], ax=ax)
        best = r["best_epoch"]
        ax.set_yscale("log")
        ax.set_xlim(0, n_epochs + 1)
        ax.set_title(
            f"{name}: {r['epochs']} epochs run, best epoch {best}\n"
            f"validation accuracy {r['best_score']:.4f}, "
            f"test accuracy {r['test_score']:.4f}"
        )
        ax.axvline(best, color="k", ls=":", lw=1.5)
        score_ax.plot(best, r["best_score"], "*", ms=15, color="tab:red", zorder=5)
        # Zoom in on the last points of accuracy; the first epochs sit below.
        score_ax.set_ylim(0.85, 1.0)
        score_ax.set_ylabel("validation accuracy" if ax is axes[-1] else "")
        # One legend for the whole figure, below the panels, replaces the
        # legend that plot_training_curves puts on each panel.
        score_ax.get_legend().remove()
        if ax is not axes[0]:
            ax.set_ylabel("")
    axes[0].set_ylabel("objective (loss + penalty), log scale")
    handles = axes[0].get_legend_handles_labels()[0]
    handles += score_ax.get_legend_handles_labels()[0]
    (best_line,) = axes[0].plot([], [], color="k", ls=":", lw=1.5)
    (best_star,) = axes[0].plot([], [], "*", ms=15, color="tab:red", ls="none")
    fig.legend(
        handles + [best_line, best_star],
        [
            "training objective (left axis)",
            "validation objective (left axis)",
            "validation accuracy (right axis)",
            "best epoch: its weights are kept",
            "best validation accuracy",
        ],
        loc="lower center", ncol=5, frameon=False,
    )  # fmt: skip
    fig.suptitle(
        "Digits, one hidden layer of 256 units, early stopping on 20% of the "
        "training set (patience 20 epochs)"
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1), w_pad=3)
    fig.savefig(path, dpi=110)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    results = fit_all(X_train, X_test, y_train, y_test)
    print_table(results)
    plot(results, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
