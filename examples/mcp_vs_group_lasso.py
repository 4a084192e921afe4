"""
What the lasso and the MCP do to the weights they keep
======================================================

The group lasso removes an input feature by setting its row of ``coefs_[0]``
to zero, and it shrinks every row it keeps by the same amount: its proximal
step subtracts the threshold from the row's norm, however large the row is.
The minimax concave penalty (MCP, Zhang 2010) starts as the lasso at zero and
flattens out: its slope falls linearly from ``lam`` to zero at ``gamma *
lam``, and beyond that it does not penalize at all. ``penalty="group_mcp"``
applies it to each row's norm, with ``lam = alpha * sqrt(n_out)``;
``penalty="mcp"`` to each weight, with ``lam = alpha``, as ``"l1"`` applies
the lasso to each weight.

The data is a regression with 2000 training and 2000 test samples and 30
standard normal features, of which the first 5 enter the target, linearly
with coefficients 9, -7.5, 6, 4.5 and -4.5, plus Gaussian noise of standard
deviation 1. The network has one hidden layer of 16 ReLU units. The script

* fits it without a penalty (``penalty=None``): the dense fit;
* fits it with ``"group_lasso"``, ``"group_mcp"``, ``"l1"`` and ``"mcp"``
  (both MCPs at their default ``gamma=3``), each starting from the dense
  weights (``warm_start=True``), as a regularization path starts from its
  weakest alpha, at the weakest alpha of a grid of 18 from 0.02 to 1 that keeps
  at most 5 features, so that the four are compared at the same number of
  features;
* prints for each the alpha, the ``gamma * lam`` of the MCPs, the features
  kept, the norm of each informative feature's row of ``coefs_[0]`` over the
  dense fit's (the shrinkage ratio), the norm of ``coefs_[1]`` over the dense
  fit's, the slope of the predictions along each informative feature over
  the dense fit's (the mean change of the prediction when the feature moves
  by 1, its standard deviation) and the test R^2;
* saves a figure, ``mcp_vs_group_lasso.png`` in the current directory: each
  feature's row norm against the dense fit's, and the two ratios per
  informative feature.

All four keep exactly the 5 informative features. The group lasso shrinks
their rows to a fifth of the dense fit's, the L1 penalty to a third; both
MCPs leave them where the dense fit had them. The predictions hardly differ:
the network makes up for the lasso's shrinkage in its second layer, which
grows instead (the penalty weighs a row of ``coefs_[1]``, one hidden unit's
single outgoing weight, by ``sqrt(1)`` rather than ``sqrt(16)``), and the
slopes of its predictions stay within a few percent of the dense fit's. In a
network, the bias of the lasso shows in the weights more than in the
predictions.

The MCP leaves a row alone only when its norm lies beyond ``gamma * lam``, and
removes it only when the norm lies below (its pull fades towards ``gamma *
lam``): ``gamma * lam`` has to fall between the norms of the noise rows and
those of the informative rows. In a dense fit the noise features keep rows
near their initial norm (0.7 to 1.2 here), and the strong signal makes the
informative rows 2.5 to 4.7. With coefficients a third of these, the two
ranges overlap, and, depending on the seed, the group MCP either keeps the
informative rows unshrunk or ends on small rows with a large second layer,
as the lasso does.

Run it with ``python examples/mcp_vs_group_lasso.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes a few seconds.
"""

import copy
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skreg import RegularizedMLPRegressor

RANDOM_STATE = 0
N_SAMPLES = 2000
N_FEATURES = 30
COEFFICIENTS = np.array([9.0, -7.5, 6.0, 4.5, -4.5])
N_INFORMATIVE = len(COEFFICIENTS)
ALPHAS = np.geomspace(0.02, 1.0, 18)
FIGURE = "mcp_vs_group_lasso.png"

NETWORK = dict(
    hidden_layer_sizes=(16,),
    batch_size=100,
    learning_rate_init=0.01,
    max_iter=300,
    random_state=RANDOM_STATE,
)

# (label, penalty, gamma); 3.0 is the default gamma of MCP, written out because
# the table prints where each MCP flattens out.
PENALTIES = [
    ("group lasso", "group_lasso", None),
    ("group MCP", "group_mcp", 3.0),
    ("L1", "l1", None),
    ("MCP", "mcp", 3.0),
]


def load_data():
    """Train and test sets; the informative features are the first 5."""
    rng = np.random.default_rng(RANDOM_STATE)
    X = rng.standard_normal((2 * N_SAMPLES, N_FEATURES))
    y = X[:, :N_INFORMATIVE] @ COEFFICIENTS + rng.standard_normal(2 * N_SAMPLES)
    return X[:N_SAMPLES], X[N_SAMPLES:], y[:N_SAMPLES], y[N_SAMPLES:]


def row_norms(model):
    """L2 norm of each input feature's row of ``coefs_[0]``."""
    return np.linalg.norm(model.coefs_[0], axis=1)


def slopes(model, X):
    """The mean change of the prediction when each informative feature moves by 1."""
    step = np.eye(X.shape[1])
    return np.array(
        [
            np.mean(model.predict(X + step[j] / 2) - model.predict(X - step[j] / 2))
            for j in range(N_INFORMATIVE)
        ]
    )


def sparse_fit(dense, X, y, penalty, gamma):
    """The fit from the dense weights at the weakest alpha keeping <= 5 features."""
    params = dict(warm_start=True, penalty=penalty)
    if gamma is not None:
        params["gamma"] = gamma
    for alpha in ALPHAS:
        model = copy.deepcopy(dense).set_params(alpha=alpha, **params).fit(X, y)
        if np.sum(row_norms(model) > 0) <= N_INFORMATIVE:
            return model
    return model


def flat_from(model):
    """Where an MCP stops penalizing, ``gamma * lam``; None for the lasso penalties.

    On a row's norm for the group MCP (``lam = alpha * sqrt(n_out)``), on a
    single weight for the MCP (``lam = alpha``).
    """
    if model.penalty == "group_mcp":
        return model.gamma * model.alpha * np.sqrt(model.coefs_[0].shape[1])
    if model.penalty == "mcp":
        return model.gamma * model.alpha
    return None


def describe(label, model, dense, X_train, X_test, y_test):
    """The numbers printed and plotted for one fit."""
    norms = row_norms(model)
    kept = np.flatnonzero(norms > 0)
    return dict(
        label=label,
        group=model.penalty.startswith("group"),
        alpha=model.alpha,
        flat_from=flat_from(model),
        norms=norms,
        kept=kept,
        row_ratio=norms[:N_INFORMATIVE] / row_norms(dense)[:N_INFORMATIVE],
        layer2_ratio=np.linalg.norm(model.coefs_[1]) / np.linalg.norm(dense.coefs_[1]),
        slope_ratio=slopes(model, X_train) / slopes(dense, X_train),
        r2=model.score(X_test, y_test),
    )


def print_table(dense, fits, X_train, X_test, y_test):
    print(
        f"Dense fit (penalty=None): test R^2 {dense.score(X_test, y_test):.4f}; "
        "informative rows' norms "
        + ", ".join(f"{v:.2f}" for v in row_norms(dense)[:N_INFORMATIVE])
        + "; slopes "
        + ", ".join(f"{v:.2f}" for v in slopes(dense, X_train))
        + f" (true {', '.join(f'{v:g}' for v in COEFFICIENTS)})"
    )
    for fit in fits:
        informative = int(np.sum(fit["kept"] < N_INFORMATIVE))
        noise = len(fit["kept"]) - informative
        flat = fit["flat_from"]
        where = "a row's norm" if fit["group"] else "a single weight"
        flat = "" if flat is None else f", gamma * lam = {flat:.2f} (on {where})"
        print(f"\n{fit['label']}: alpha = {fit['alpha']:.3f}{flat}")
        print(
            f"  features kept: {informative} / {N_INFORMATIVE} informative, "
            f"{noise} / {N_FEATURES - N_INFORMATIVE} noise"
        )
        print(
            "  coefs_[0] row norm / dense, informative features: "
            + ", ".join(f"{v:.2f}" for v in fit["row_ratio"])
            + f" (median {np.median(fit['row_ratio']):.2f})"
        )
        print(f"  coefs_[1] norm / dense: {fit['layer2_ratio']:.2f}")
        print(
            "  prediction slope / dense, informative features: "
            + ", ".join(f"{v:.2f}" for v in fit["slope_ratio"])
            + f" (median {np.median(fit['slope_ratio']):.2f})"
        )
        print(f"  test R^2: {fit['r2']:.4f}")


def plot(dense, fits, path):
    """Save the row norms against the dense fit's and the ratios per feature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = ["tab:blue", "tab:red", "tab:cyan", "tab:orange"]
    markers = ["o", "s", "D", "^"]
    dense_norms = row_norms(dense)
    fig, (ax_rows, ax_ratio, ax_slope) = plt.subplots(
        1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1.1, 1, 1]}
    )

    # Panel 1: every feature's row, penalized against dense. Filled markers
    # are the informative features, hollow ones the noise (at zero when removed).
    top = 1.1 * max(dense_norms.max(), max(fit["norms"].max() for fit in fits))
    ax_rows.plot([0, top], [0, top], color="0.6", lw=1, label="unshrunk (y = x)")
    informative = np.arange(N_FEATURES) < N_INFORMATIVE
    for fit, color, marker in zip(fits, colors, markers):
        ax_rows.scatter(
            dense_norms[informative], fit["norms"][informative], color=color,
            marker=marker, s=40, label=fit["label"], zorder=3,
        )  # fmt: skip
        ax_rows.scatter(
            dense_norms[~informative], fit["norms"][~informative],
            facecolors="none", edgecolors=color, marker=marker, s=25, zorder=2,
        )  # fmt: skip
        if fit["group"] and fit["flat_from"] is not None:
            ax_rows.axvline(
                fit["flat_from"], color=color, ls=":", lw=1.2,
                label="gamma * lam of the group MCP",
            )  # fmt: skip
    ax_rows.set_xlim(0, top)
    ax_rows.set_ylim(-0.05 * top, top)
    ax_rows.set_xlabel("row norm of coefs_[0], dense fit")
    ax_rows.set_ylabel("row norm of coefs_[0], penalized fit")
    ax_rows.set_title("Rows of coefs_[0] (filled: informative)")
    ax_rows.legend(loc="upper left", fontsize=8.5)

    # Panels 2 and 3: the ratios over the dense fit, per informative feature.
    x = np.arange(N_INFORMATIVE)
    width = 0.8 / len(fits)
    for i, (fit, color) in enumerate(zip(fits, colors)):
        offset = (i - (len(fits) - 1) / 2) * width
        ax_ratio.bar(
            x + offset, fit["row_ratio"], width, color=color, label=fit["label"]
        )
        ax_slope.bar(
            x + offset, fit["slope_ratio"], width, color=color, label=fit["label"]
        )
    for ax, title in (
        (ax_ratio, "Row norm of coefs_[0] / dense"),
        (ax_slope, "Slope of the predictions / dense"),
    ):
        ax.axhline(1.0, color="k", lw=1)
        ax.set_xticks(x, [f"feature {j}" for j in x])
        ax.set_ylabel("ratio to the dense fit")
        ax.set_title(title)
        ax.set_ylim(0, 1.7)
        ax.legend(loc="upper center", fontsize=8.5, ncol=2)

    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data()
    with warnings.catch_warnings():
        # Some fits stop at max_iter; they are compared at the same budget,
        # and the warning says nothing new.
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = RegularizedMLPRegressor(penalty=None, **NETWORK).fit(X_train, y_train)
        fits = [
            describe(
                label,
                sparse_fit(dense, X_train, y_train, penalty, gamma),
                dense,
                X_train,
                X_test,
                y_test,
            )
            for label, penalty, gamma in PENALTIES
        ]
    print_table(dense, fits, X_train, X_test, y_test)

    plot(dense, fits, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
