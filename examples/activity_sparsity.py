"""
Sparse hidden activity with ``activity_penalty="l1"``
=====================================================

``activity_penalty`` puts a penalty on what the hidden layers output rather than
on the weights: with ``"l1"``, ``activity_alpha`` times the sum of each sample's
hidden outputs in absolute value, averaged over the samples (Keras' activity
regularization, here independent of the batch size). Under ReLU it drives
outputs to exactly 0: each image then uses only a few hidden units, a sparse
code that is cheaper to inspect, and the weights themselves need not be sparse.

The data is scikit-learn's 8x8 handwritten digits (1797 images, 64 pixel
features scaled to [0, 1], 10 classes), split once into 1347 training and 450
test images. A network with one hidden layer of 128 ReLU units is trained by
Adam for 100 epochs at 5 values of ``activity_alpha``, from 0 to 0.03.

For each value the script prints the test accuracy, the fraction of the hidden
outputs on the test images that are exactly 0, the mean number of active units
per image, the number of units active on no test image, and the fraction of
weights that are 0 (the penalty acts on outputs, not weights). It saves a
figure, ``activity_sparsity.png`` in the current directory: the zero fraction
and the test accuracy against ``activity_alpha``, and the hidden outputs of 40
test images without and with the strongest penalty.

Run it with ``python examples/activity_sparsity.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
ACTIVITY_ALPHAS = [0.0, 1e-3, 3e-3, 1e-2, 3e-2]
FIGURE = "activity_sparsity.png"


def load_data():
    """Digits scaled to [0, 1], split into train and test sets."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, random_state=RANDOM_STATE)


def hidden_outputs(model, X):
    """The hidden layer's ReLU outputs, as the fitted network computes them."""
    return np.maximum(X @ model.coefs_[0] + model.intercepts_[0], 0.0)


def sweep(X_train, X_test, y_train, y_test):
    rows = []
    for alpha in ACTIVITY_ALPHAS:
        model = RegularizedMLPClassifier(
            (128,),
            activity_penalty="l1",
            activity_alpha=alpha,
            max_iter=100,
            random_state=RANDOM_STATE,
        ).fit(X_train, y_train)
        H = hidden_outputs(model, X_test)
        rows.append(
            dict(
                alpha=alpha,
                accuracy=model.score(X_test, y_test),
                zero_fraction=float(np.mean(H == 0)),
                active_per_image=float(np.mean(np.sum(H > 0, axis=1))),
                dead_units=int(np.sum(~np.any(H > 0, axis=0))),
                zero_weights=model.sparsity_[0],
                outputs=H,
            )
        )
    return rows


def print_table(rows):
    print(
        f"{'activity_alpha':>14} {'accuracy':>9} {'zero outputs':>13} "
        f"{'active/image':>13} {'dead units':>11} {'zero weights':>13}"
    )
    for r in rows:
        print(
            f"{r['alpha']:>14g} {r['accuracy']:>9.3f} {r['zero_fraction']:>13.3f} "
            f"{r['active_per_image']:>13.1f} {r['dead_units']:>11d} "
            f"{r['zero_weights']:>13.3f}"
        )


def plot(rows, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    alphas = [max(r["alpha"], 3e-4) for r in rows]
    ax = axes[0]
    ax.semilogx(alphas, [r["zero_fraction"] for r in rows], "o-", label="zero outputs")
    ax.semilogx(alphas, [r["accuracy"] for r in rows], "s-", label="test accuracy")
    ax.set_xlabel("activity_alpha (0 drawn at 3e-4)")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title("Hidden outputs exactly 0")
    for ax, r in zip(axes[1:], (rows[0], rows[-1])):
        ax.imshow(r["outputs"][:40] > 0, aspect="auto", cmap="Greys")
        ax.set_xlabel("hidden unit")
        ax.set_ylabel("test image")
        ax.set_title(f"Active units, activity_alpha={r['alpha']:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    with warnings.catch_warnings():
        # Every value is compared at the same budget of 100 epochs.
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = sweep(X_train, X_test, y_train, y_test)
    print_table(rows)
    plot(rows, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
