"""
Shrink a network with the group lasso penalty and ``prune()``
=============================================================

With ``penalty="group_lasso"``, the groups of ``RegularizedMLPClassifier`` are
the rows of its weight matrices. A row of ``coefs_[l + 1]`` holds all the
outgoing weights of one hidden unit of layer ``l``, so when the proximal step
sets that row to exactly 0.0 the unit no longer reaches the output. The method
``prune()`` then deletes such units (and those whose incoming weights are all
zero, after folding their constant output into the next intercepts), leaving a
smaller network that gives the same predictions.

The data is scikit-learn's 8x8 handwritten digits (1797 images, 64 pixel
features scaled to [0, 1], 10 classes), split once into 1347 training and 450
test images. A network with two hidden layers of 128 and 64 ReLU units is
trained by Adam for 150 epochs at 6 values of ``alpha``, log-spaced from 1e-6
(few units pruned) to 1.5e-3 (most units pruned). Even the smallest ``alpha``
prunes a dozen or so units: mostly units that the ReLU left dead on every
training image, which get no gradient, so the penalty alone takes their
outgoing weights to zero. Somewhat above 1.5e-3 the penalty switches off every
unit and the network predicts a single class.

For each ``alpha`` the script prints the test accuracy, the hidden layer sizes
and the number of parameters (weights and intercepts) before and after
``prune()``, the largest difference between the predicted probabilities of the
two networks (they must agree to 1e-10), and the median time of
``predict_proba`` on 200,000 rows before and after pruning. It saves a figure,
``neuron_pruning.png`` in the current directory, with the test accuracy and the
number of parameters against ``alpha``.

Run it with ``python examples/neuron_pruning.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes under a minute.
"""

import copy
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
ALPHAS = np.geomspace(1e-6, 1.5e-3, 6)
N_TIMING_ROWS = 200_000
N_TIMING_REPEATS = 5
FIGURE = "neuron_pruning.png"

GROUP_LASSO = dict(
    hidden_layer_sizes=(128, 64),
    penalty="group_lasso",
    solver="adam",
    learning_rate_init=0.003,
    max_iter=150,
    random_state=RANDOM_STATE,
)


def load_data():
    """Digits scaled to [0, 1], split into train and test sets."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, random_state=RANDOM_STATE)


def n_parameters(model):
    return sum(c.size for c in model.coefs_) + sum(b.size for b in model.intercepts_)


def time_predict(full, pruned, X, repeats):
    """Median seconds of ``predict_proba`` on ``X``, for each of two models.

    The calls alternate between the two models, so that a change of machine
    load during the measurement hits both alike.
    """
    times = {"full": [], "pruned": []}
    for _ in range(repeats):
        for name, model in (("full", full), ("pruned", pruned)):
            start = time.perf_counter()
            model.predict_proba(X)
            times[name].append(time.perf_counter() - start)
    return float(np.median(times["full"])), float(np.median(times["pruned"]))


def sweep(X_train, X_test, y_train, y_test, alphas):
    """Fit, prune and time one network per alpha; return one dict each."""
    # A large input, so that the prediction time is dominated by the matrix
    # products whose size pruning reduces, not by per-call overhead.
    X_large = np.tile(X_test, (-(-N_TIMING_ROWS // len(X_test)), 1))[:N_TIMING_ROWS]
    rows = []
    for alpha in alphas:
        full = RegularizedMLPClassifier(alpha=alpha, **GROUP_LASSO).fit(
            X_train, y_train
        )
        # prune() works in place, so keep the unpruned network to compare with.
        pruned = copy.deepcopy(full).prune()
        proba_full = full.predict_proba(X_test)
        proba_pruned = pruned.predict_proba(X_test)
        t_full, t_pruned = time_predict(full, pruned, X_large, N_TIMING_REPEATS)
        rows.append(
            dict(
                alpha=alpha,
                accuracy=full.score(X_test, y_test),
                pruned_accuracy=pruned.score(X_test, y_test),
                sizes_full=tuple(full.hidden_layer_sizes),
                sizes_pruned=tuple(pruned.hidden_layer_sizes),
                params_full=n_parameters(full),
                params_pruned=n_parameters(pruned),
                max_diff=float(np.max(np.abs(proba_full - proba_pruned))),
                same=np.allclose(proba_full, proba_pruned, rtol=0, atol=1e-10),
                t_full=t_full,
                t_pruned=t_pruned,
            )
        )
    return rows


def print_table(rows):
    print(
        f"{'alpha':>8} {'accuracy':>8} {'hidden units':>22} {'parameters':>15} "
        f"{'max |dP|':>9} {'same':>5} {'predict (s)':>13} {'speed-up':>8}"
    )
    for r in rows:
        sizes = f"{r['sizes_full']} -> {r['sizes_pruned']}"
        params = f"{r['params_full']} -> {r['params_pruned']}"
        times = f"{r['t_full']:.3f} -> {r['t_pruned']:.3f}"
        print(
            f"{r['alpha']:>8.1e} {r['accuracy']:>8.4f} {sizes:>22} {params:>15} "
            f"{r['max_diff']:>9.1e} {str(r['same']):>5} {times:>13} "
            f"{r['t_full'] / r['t_pruned']:>7.1f}x"
        )


def plot(rows, path):
    """Save the test accuracy and the parameter counts against alpha."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = [r["alpha"] for r in rows]
    fig, (ax_acc, ax_size) = plt.subplots(1, 2, figsize=(12, 4.5))

    ax_acc.plot(alphas, [r["accuracy"] for r in rows], "o-", color="tab:blue")
    ax_acc.set_xscale("log")
    ax_acc.set_xlabel("alpha")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_title("Digits, hidden layers (128, 64), group lasso")

    ax_size.plot(
        alphas, [r["params_full"] for r in rows], "--", color="tab:gray",
        label="before prune()",
    )  # fmt: skip
    ax_size.plot(
        alphas, [r["params_pruned"] for r in rows], "o-", color="tab:green",
        label="after prune()",
    )  # fmt: skip
    # The pruned layer sizes say where the parameters went.
    for r in rows:
        ax_size.annotate(
            str(r["sizes_pruned"]),
            (r["alpha"], r["params_pruned"]),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8,
        )
    ax_size.set_xscale("log")
    ax_size.set_yscale("log")
    # Room below the lowest point for its label.
    ax_size.margins(x=0.08, y=0.12)
    ax_size.set_xlabel("alpha")
    ax_size.set_ylabel("parameters (weights + intercepts)")
    ax_size.set_title("Network size, labels: pruned hidden layer sizes")
    ax_size.legend()

    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    with warnings.catch_warnings():
        # Most fits use the whole budget of 150 epochs; every alpha is compared
        # at that same budget, so the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = sweep(X_train, X_test, y_train, y_test, ALPHAS)
    print_table(rows)

    if not all(r["same"] for r in rows):
        print("\nWARNING: prune() changed the predicted probabilities.")
    if any(r["accuracy"] != r["pruned_accuracy"] for r in rows):
        print("WARNING: prune() changed the test accuracy.")

    plot(rows, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
