"""
Compare scikit-learn's MLPClassifier with skreg's regularizers on the digits
============================================================================

The data is scikit-learn's 8x8 handwritten digits (1797 images, 64 pixel
features, 10 classes), standardized, split once into 1200 training and 597 test
images. Five networks with one hidden layer of 64 ReLU units are trained by Adam
with the same batch size, number of epochs and random seed:

* scikit-learn's ``MLPClassifier`` with its L2 penalty ``alpha``;
* ``RegularizedMLPClassifier(penalty="l2")`` with ``alpha / batch_size``, the same
  objective in skreg's convention (the penalty is added whole to every
  minibatch's mean loss, as in ``SGDClassifier``). With 1200 training samples,
  a multiple of the batch size of 200, every batch is full and the two fits are
  the same computation: the script prints how far apart their weights end up;
* ``penalty="l1"``, whose proximal step sets many weights to exactly zero,
  notably the weights of the blank border pixels;
* ``penalty="elasticnet"``, a mix of the two;
* ``penalty="l2"`` with ``dropout=0.2`` on the hidden units.

It prints, for each model, the test accuracy, the fraction of weights (over all
``coefs_``) that are exactly zero, and the fit time in seconds (skreg's Numba
kernels are compiled once, before timing). It saves a figure,
``compare_regularizers.png`` in the current directory, with the test accuracies
and the histograms of the first-layer weights under L2 and under L1.

Run it with ``python examples/compare_regularizers.py`` (it needs matplotlib:
``pip install ".[examples]"``).
"""

import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
BATCH_SIZE = 200
N_TRAIN = 6 * BATCH_SIZE  # whole batches only, as scikit-learn's alpha assumes
SKLEARN_ALPHA = 1.0  # scikit-learn's L2 strength, divided by the batch size
FIGURE = "compare_regularizers.png"

COMMON = dict(
    hidden_layer_sizes=(64,),
    solver="adam",
    batch_size=BATCH_SIZE,
    max_iter=200,
    random_state=RANDOM_STATE,
)


def load_data():
    """Standardized digits, split into train and test sets."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=N_TRAIN, stratify=y, random_state=RANDOM_STATE
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def make_models():
    """The models to compare, by display name."""
    l2_alpha = SKLEARN_ALPHA / BATCH_SIZE
    return {
        "sklearn MLP (L2)": MLPClassifier(alpha=SKLEARN_ALPHA, **COMMON),
        "skreg L2": RegularizedMLPClassifier(penalty="l2", alpha=l2_alpha, **COMMON),
        "skreg L1": RegularizedMLPClassifier(penalty="l1", alpha=3e-3, **COMMON),
        "skreg elastic net": RegularizedMLPClassifier(
            penalty="elasticnet", alpha=3e-3, l1_ratio=0.5, **COMMON
        ),
        "skreg L2 + dropout": RegularizedMLPClassifier(
            penalty="l2", alpha=l2_alpha, dropout=0.2, **COMMON
        ),
    }


def zero_fraction(model):
    """Fraction of all weights (every matrix of ``coefs_``) exactly equal to 0.0."""
    n_zero = sum(int(np.count_nonzero(c == 0)) for c in model.coefs_)
    return n_zero / sum(c.size for c in model.coefs_)


def compare(models, X_train, X_test, y_train, y_test):
    """Fit every model; return one row (name, accuracy, zeros, seconds) each."""
    rows = []
    for name, model in models.items():
        if isinstance(model, RegularizedMLPClassifier):
            # Compile the Numba kernels outside the timed fit.
            warm_up = slice(2 * BATCH_SIZE)
            clone(model).set_params(max_iter=1).fit(X_train[warm_up], y_train[warm_up])
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = model.score(X_test, y_test)
        rows.append((name, accuracy, zero_fraction(model), seconds))
    return rows


def print_table(rows):
    print(f"{'model':<20} {'test accuracy':>13} {'zero weights':>12} {'fit (s)':>8}")
    for name, accuracy, zeros, seconds in rows:
        print(f"{name:<20} {accuracy:>13.4f} {zeros:>12.1%} {seconds:>8.2f}")


def plot(models, rows, path):
    """Save the accuracies and the L2 vs L1 first-layer weight histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_hist) = plt.subplots(1, 2, figsize=(12, 4.5))

    names = [row[0] for row in rows]
    accuracies = [row[1] for row in rows]
    bars = ax_acc.barh(names, accuracies, color="tab:blue")
    ax_acc.bar_label(bars, fmt="%.4f", padding=2)
    ax_acc.set_xlim(min(accuracies) - 0.05, 1.0)
    ax_acc.invert_yaxis()
    ax_acc.set_xlabel("test accuracy")
    ax_acc.set_title("Digits, one hidden layer of 64 units")

    w_l2 = models["skreg L2"].coefs_[0].ravel()
    w_l1 = models["skreg L1"].coefs_[0].ravel()
    bins = np.linspace(min(w_l2.min(), w_l1.min()), max(w_l2.max(), w_l1.max()), 81)
    ax_hist.hist(w_l2, bins=bins, alpha=0.6, label="L2", color="tab:orange")
    ax_hist.hist(
        w_l1,
        bins=bins,
        alpha=0.6,
        color="tab:green",
        label=f"L1 ({np.mean(w_l1 == 0):.0%} exactly zero)",
    )
    ax_hist.set_yscale("log")
    ax_hist.set_xlabel("first-layer weight")
    ax_hist.set_ylabel("count (log scale)")
    ax_hist.set_title("First-layer weights, L2 vs L1")
    ax_hist.legend()

    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    X_train, X_test, y_train, y_test = load_data()
    models = make_models()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = compare(models, X_train, X_test, y_train, y_test)
    print_table(rows)
    gap = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(models["sklearn MLP (L2)"].coefs_, models["skreg L2"].coefs_)
    )
    print(f"\nLargest |weight| difference, skreg L2 vs sklearn MLP: {gap:.1e}")
    plot(models, rows, FIGURE)
    print(f"Figure saved to {FIGURE}")


if __name__ == "__main__":
    main()
