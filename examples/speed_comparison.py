"""
Training speed: skreg against scikit-learn's ``MLPClassifier``
==============================================================

skreg runs each training epoch in one compiled call (Numba kernels, with the
matrix products in BLAS), where scikit-learn's ``MLPClassifier`` runs each
minibatch through NumPy from Python. This example times both on the same
problems with the same settings and prints the seconds per epoch.

Three workloads, each a classifier trained by Adam (learning rate 1e-3) for
exactly 20 epochs (``tol=0`` and ``n_iter_no_change=21``, so that neither tool
stops early and both do the same work):

* digits: 1,797 x 64 (scaled to [0, 1]), 10 classes, one hidden layer of 100
  units, batches of 200;
* ``make_classification``: 10,000 x 20, 3 classes, one hidden layer of 100
  units, batches of 200;
* the same data with two small hidden layers (32, 16) and batches of 64, where
  the per-batch overhead of Python dominates scikit-learn's time.

Both tools get the same L2 penalty: scikit-learn's ``alpha=1e-4`` is divided by
the batch size, since skreg adds its ``alpha`` whole to each batch's mean loss
while scikit-learn divides its penalty by the number of samples in the batch
(see "Converting ``alpha``" in the README). With the same ``random_state`` both
draw the same initial weights and batch order, so they train the same model:
the final training objectives printed agree to three digits or more. (The
conversion is exact when the batch size divides the number of samples, as 200
divides 10,000; scikit-learn divides the penalty of a smaller last batch by
that batch's own size.)

Each tool is fitted once beforehand with one epoch (skreg's kernels are then
compiled or loaded from Numba's cache), and then the two tools take turns,
three rounds on every workload, each fit after a short pause that lets the
other tool's BLAS threads go idle. The medians are reported, and the speedup is
the median over the rounds of the ratio of the two times within a round, so a
slow spell of a shared machine hits both tools. Single timings still move by
10 to 30 percent from run to run.

The script prints, per workload, the seconds per epoch of each tool, the
speedup and the final training objectives. It saves a figure,
``speed_comparison.png`` in the current directory: the median seconds per
epoch of the two tools on each workload (log scale, the single rounds as dots)
and the speedup of skreg.

The full benchmark suite, with larger workloads, float32, L1, elastic net,
dropout, PyTorch and the bound set by the matrix products alone, is
``python benchmarks/run_all.py``; its results are on the
:doc:`performance page </performance>` of this documentation.

Run it with ``python examples/speed_comparison.py`` (it needs matplotlib:
``pip install ".[examples]"``). It takes about 15 seconds.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skreg import RegularizedMLPClassifier

RANDOM_STATE = 0
EPOCHS = 20
ROUNDS = 3
# scikit-learn's alpha; skreg gets SKLEARN_ALPHA / batch_size.
SKLEARN_ALPHA = 1e-4
# Long enough for the previous tool's spinning BLAS threads to sleep.
PAUSE = 0.1
FIGURE = "speed_comparison.png"
TOOLS = ("skreg", "scikit-learn")


def workloads():
    """``(name, X, y, hidden_layer_sizes, batch_size)`` of each workload."""
    X, y = load_digits(return_X_y=True)
    yield "digits 1797 x 64\n(100,), batch 200", X / 16, y, (100,), 200
    X, y = make_classification(
        10_000, 20, n_informative=10, n_classes=3, random_state=RANDOM_STATE
    )
    yield "10,000 x 20\n(100,), batch 200", X, y, (100,), 200
    yield "10,000 x 20\n(32, 16), batch 64", X, y, (32, 16), 64


def make_models(hidden, batch_size, epochs=EPOCHS):
    """The two models, with the same settings and the same L2 penalty."""
    common = dict(
        hidden_layer_sizes=hidden,
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=RANDOM_STATE,
    )
    return {
        "skreg": RegularizedMLPClassifier(
            penalty="l2", alpha=SKLEARN_ALPHA / batch_size, **common
        ),
        "scikit-learn": MLPClassifier(alpha=SKLEARN_ALPHA, **common),
    }


def seconds_per_epoch(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return (time.perf_counter() - start) / model.n_iter_


def time_all():
    """Time both tools on every workload; return one dict of results each."""
    results = {}
    for name, X, y, hidden, batch_size in workloads():
        # Warm-up: compile (or load) skreg's kernels and touch every code path.
        for model in make_models(hidden, batch_size, epochs=1).values():
            model.fit(X, y)
        times = {tool: [] for tool in TOOLS}
        losses = {}
        for _ in range(ROUNDS):
            for tool, model in make_models(hidden, batch_size).items():
                time.sleep(PAUSE)
                times[tool].append(seconds_per_epoch(model, X, y))
                losses[tool] = model.loss_
        results[name] = dict(
            times=times,
            median={tool: float(np.median(times[tool])) for tool in TOOLS},
            speedup=float(np.median(np.divide(times["scikit-learn"], times["skreg"]))),
            losses=losses,
        )
    return results


def print_table(results):
    print(
        f"{'workload':<34} {'skreg s/epoch':>13} {'sklearn s/epoch':>15} "
        f"{'speedup':>7} {'loss skreg':>10} {'loss sklearn':>12}"
    )
    for name, r in results.items():
        print(
            f"{name.replace(chr(10), ', '):<34} {r['median']['skreg']:>13.5f} "
            f"{r['median']['scikit-learn']:>15.5f} {r['speedup']:>6.1f}x "
            f"{r['losses']['skreg']:>10.5f} {r['losses']['scikit-learn']:>12.5f}"
        )


def plot(results, path):
    """Save the seconds per epoch of both tools and the speedup of skreg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    x = np.arange(len(names))
    width = 0.38
    colors = {"skreg": "tab:blue", "scikit-learn": "tab:orange"}

    fig, (ax_time, ax_ratio) = plt.subplots(
        1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    fastest = min(min(r["times"][tool]) for r in results.values() for tool in TOOLS)
    slowest = max(max(r["times"][tool]) for r in results.values() for tool in TOOLS)
    bottom = fastest / 4
    for k, tool in enumerate(TOOLS):
        offset = (k - 0.5) * width
        medians = [results[n]["median"][tool] for n in names]
        ax_time.bar(
            x + offset, np.subtract(medians, bottom), width, bottom=bottom,
            color=colors[tool], label=f"{tool} (median)",
        )  # fmt: skip
        for i, name in enumerate(names):
            # The median inside the bar, near its base, clear of the dots.
            ax_time.text(
                x[i] + offset, bottom * 1.4, f"{1000 * medians[i]:.1f} ms",
                ha="center", va="bottom", color="white", fontweight="bold",
                fontsize=9,
            )  # fmt: skip
            rounds = results[name]["times"][tool]
            ax_time.plot(
                np.full(len(rounds), x[i] + offset), rounds, "o", ms=4,
                color="k", alpha=0.6, label="single rounds" if i == k == 0 else None,
            )  # fmt: skip
    ax_time.set_yscale("log")
    ax_time.set_ylim(bottom, slowest * 4)
    ax_time.set_xticks(x, names)
    ax_time.set_ylabel("seconds per epoch (log scale)")
    ax_time.set_title(f"Adam, {EPOCHS} epochs, same L2 penalty: time per epoch")
    ax_time.legend(loc="upper left")

    speedups = [results[n]["speedup"] for n in names]
    bars = ax_ratio.bar(x, speedups, 0.6, color="tab:green")
    ax_ratio.bar_label(bars, labels=[f"{s:.1f}x" for s in speedups], padding=2)
    ax_ratio.axhline(1, color="k", lw=1)
    ax_ratio.set_ylim(0, max(speedups) * 1.15)
    ax_ratio.set_xticks(x, names)
    ax_ratio.set_ylabel("scikit-learn time / skreg time")
    ax_ratio.set_title(f"Speedup of skreg (median of {ROUNDS} paired rounds)")

    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Every fit stops at max_iter on purpose, which both tools warn about.
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = time_all()
    print_table(results)
    plot(results, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
