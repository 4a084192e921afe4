"""
First-layer weights under L1 and L2 on the digits
=================================================

The L1 penalty is applied by a proximal step, a soft threshold after every
optimizer step, which sets weights to exactly 0.0. The L2 penalty is smooth: it
is part of the gradient and shrinks every weight towards zero, but it does not
make any of them exactly zero. This example shows the difference on the
first-layer weights, ``coefs_[0]``, of a network trained on the digits.

The data is scikit-learn's 8x8 handwritten digits (1797 images, 64 pixel
features with values 0 to 16, 10 classes), divided by 16 so that every pixel
lies in [0, 1], and split once, stratified, into 1347 training and 450 test
images. Every model is a ``RegularizedMLPClassifier((64,))`` trained by Adam
with minibatches of 64 for at most 200 epochs and the same seed. The strengths
are comparable in the plain sense: the same ``alpha`` for both penalties, at
which the two test accuracies are within a few test images of each other.

The script prints, for ``penalty="l2"`` and ``penalty="l1"`` at three values of
``alpha``, the test accuracy, the fraction of the 64 x 64 first-layer weights
that are exactly zero, and the fraction smaller than 1e-3 in absolute value.
Under L2 that last fraction is not empty: the pixels at the border of the
images are blank in almost every image, so their weights get almost no
gradient from the loss and the penalty alone decays them, towards zero but
never onto it.

It saves a figure, ``weight_histograms.png`` in the current directory, for
``alpha=1e-3``: the histograms of the first-layer weights under L2 and under L1
(log-count axis), where the weights that are exactly zero are drawn as a
separate bar at 0 with their count written above it, and the histogram of
``log10 |w|`` of the nonzero weights of both, which shows how small the L2
weights get without reaching zero.

Run it with ``python examples/weight_histograms.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
ALPHAS = [1e-4, 1e-3, 3e-3]
PLOTTED_ALPHA = 1e-3
SMALL = 1e-3
FIGURE = "weight_histograms.png"

COMMON = dict(
    hidden_layer_sizes=(64,),
    batch_size=64,
    learning_rate_init=0.003,
    max_iter=200,
    random_state=RANDOM_STATE,
)
COLORS = {"l2": "tab:orange", "l1": "tab:green"}


def load_data():
    """Digits scaled to [0, 1], split into train and test sets."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE
    )


def fit_all(X_train, X_test, y_train, y_test):
    """One network per (penalty, alpha); returns the models and the table rows."""
    models, rows = {}, []
    for alpha in ALPHAS:
        for penalty in ("l2", "l1"):
            model = RegularizedMLPClassifier(penalty=penalty, alpha=alpha, **COMMON)
            model.fit(X_train, y_train)
            weights = model.coefs_[0]
            models[penalty, alpha] = model
            rows.append(
                (
                    penalty,
                    alpha,
                    model.score(X_test, y_test),
                    float(np.mean(weights == 0)),
                    float(np.mean(np.abs(weights) < SMALL)),
                )
            )
    return models, rows


def print_table(rows):
    print(
        f"{'penalty':<8} {'alpha':>7} {'test accuracy':>13} "
        f"{'exactly zero':>12} {'|w| < 1e-3':>10}"
    )
    for penalty, alpha, accuracy, zeros, small in rows:
        print(
            f"{penalty:<8} {alpha:>7.0e} {accuracy:>13.4f} "
            f"{zeros:>12.3f} {small:>10.3f}"
        )


def plot(models, rows, path):
    """Save the two weight histograms and the histogram of log10 |w|."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = {
        penalty: models[penalty, PLOTTED_ALPHA].coefs_[0].ravel()
        for penalty in ("l2", "l1")
    }
    accuracy = {row[0]: row[2] for row in rows if row[1] == PLOTTED_ALPHA}
    size = weights["l2"].size
    limit = max(np.abs(w).max() for w in weights.values())
    bins = np.linspace(-limit, limit, 61)
    zero_width = bins[1] - bins[0]

    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    for ax, penalty in zip(axes[:2], ("l2", "l1")):
        w = weights[penalty]
        n_zero = int(np.sum(w == 0))
        ax.hist(
            w[w != 0], bins=bins, color=COLORS[penalty], alpha=0.8,
            label="nonzero weights",
        )  # fmt: skip
        # The exact zeros as a bar of their own, narrower than a bin and drawn
        # in front, so that they are not mixed with the small nonzero weights
        # of the bin around 0.
        label = f"exactly 0.0:\n{n_zero} of {size} ({n_zero / size:.1%})"
        if n_zero:
            ax.bar(
                0, n_zero, width=zero_width / 2, color="k", zorder=3,
                label="weights exactly 0.0",
            )  # fmt: skip
            ax.annotate(
                label, xy=(zero_width / 4, n_zero), xytext=(0.3 * limit, n_zero),
                va="center", fontsize=10, arrowprops=dict(arrowstyle="->", color="k"),
            )  # fmt: skip
        else:
            ax.text(
                0.03, 0.8, f"exactly 0.0:\nnone of {size}",
                transform=ax.transAxes, va="top", fontsize=10,
            )  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(0.7, 10 * size)
        ax.set_xlabel("first-layer weight")
        ax.set_ylabel("count (log scale)")
        ax.set_title(
            f"penalty={penalty!r}, alpha={PLOTTED_ALPHA:g}: "
            f"test accuracy {accuracy[penalty]:.3f}"
        )
        ax.legend(loc="upper left", fontsize=9)

    ax = axes[2]
    nonzero = {p: np.log10(np.abs(w[w != 0])) for p, w in weights.items()}
    low = min(v.min() for v in nonzero.values())
    log_bins = np.linspace(np.floor(low), np.ceil(np.log10(limit)), 50)
    for penalty in ("l2", "l1"):
        n_zero = int(np.sum(weights[penalty] == 0))
        ax.hist(
            nonzero[penalty], bins=log_bins, color=COLORS[penalty], alpha=0.6,
            label=f"{penalty.upper()}: {size - n_zero} nonzero, {n_zero} exactly 0",
        )  # fmt: skip
    ax.axvline(np.log10(SMALL), color="k", ls=":", lw=1.5, label="|w| = 1e-3")
    ax.set_yscale("log")
    ax.set_xlabel("log10 |w| of the nonzero first-layer weights")
    ax.set_ylabel("count (log scale)")
    ax.set_title("How small the nonzero weights get")
    ax.legend(loc="upper left", fontsize=9)

    fig.suptitle(
        "Digits, RegularizedMLPClassifier((64,)): the 64 x 64 weights of coefs_[0]",
        fontsize=13,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    with warnings.catch_warnings():
        # The L1 fits run to max_iter while the soft threshold keeps moving
        # weights on and off zero; the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        models, rows = fit_all(X_train, X_test, y_train, y_test)
    print_table(rows)
    plot(models, rows, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
