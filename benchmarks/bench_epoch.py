"""Seconds per training epoch: skreg, scikit-learn, PyTorch, and the matmul bound.

Run by hand, never in CI::

    python benchmarks/bench_epoch.py            # every workload
    python benchmarks/bench_epoch.py --quick    # digits and 10,000 x 20 only

Every tool trains with Adam (learning rate 1e-3, betas 0.9 / 0.999, epsilon 1e-8)
for a fixed number of epochs (``tol=0``, ``n_iter_no_change`` above ``max_iter``)
on the same data, batches and layer sizes. The tools and variants run round robin
(scikit-learn, bound, then skreg and PyTorch for each variant, then again), each
after a pause that lets the previous tool's BLAS or OpenMP threads go idle, and the
median of the repeats is reported, so a slow spell of this machine hits every tool.

Columns:

- ``skreg``, ``sklearn``, ``torch``: seconds per epoch of a whole ``fit`` (or of the
  plain PyTorch training loop below), divided by the number of epochs;
- ``vs sk``, ``vs torch``: how many times faster skreg is (the median over repeats
  of the ratio within each repeat);
- ``bound``: seconds the matrix products of one epoch take in ``np.dot`` alone
  (forward and backward at the same shapes, in a compiled loop, through the BLAS
  that skreg's kernels call), measured in the same run: what no implementation on
  this machine can beat; ``x bound`` is skreg over it;
- ``loss``: final training objective of each tool (mean loss plus penalty).

scikit-learn has no L1, elastic net or dropout, so its column repeats the L2 run on
those rows. PyTorch runs when it is installed (it is not a dependency); its L2 is
Adam's ``weight_decay`` on the weight matrices (a gradient term, as
scikit-learn's ``alpha``), its L1 a subgradient term in the loss, its dropout
``nn.Dropout``.
"""

import argparse
import time
import warnings

import numpy as np
from numba import njit
from numba.typed import List
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None

# scikit-learn's alpha for the L2 runs; skreg's alpha is per sample of a batch.
ALPHA = 1e-4
L1_RATIO = 0.5
DROPOUT = 0.2
# Long enough for the previous tool's spinning BLAS / OpenMP threads to sleep.
PAUSE = 0.3

VARIANTS = {
    "l2": {},
    "l1": dict(penalty="l1"),
    "elasticnet": dict(penalty="elasticnet", l1_ratio=L1_RATIO),
    "dropout": dict(dropout=DROPOUT),
}


def workloads(quick):
    """``(name, X, y, hidden, batch_size, classify, epochs)`` of each workload."""
    # Enough epochs that a fit of the small workloads lasts about 0.1 second: a
    # shorter one is moved by a single slow spell of the machine.
    X, y = load_digits(return_X_y=True)
    yield "digits 1797x64 (100,) b200", X / 16, y, (100,), 200, True, 50
    X, y = make_classification(
        10_000, 20, n_informative=10, n_classes=3, random_state=0
    )
    yield "10k x 20 (100,) b200", X, y, (100,), 200, True, 25
    yield "10k x 20 (32, 16) b64", X, y, (32, 16), 64, True, 25
    if quick:
        return
    X, y = make_classification(
        50_000, 100, n_informative=30, n_classes=5, random_state=0
    )
    yield "50k x 100 (256, 128) b256", X, y, (256, 128), 256, True, 3
    X, y = make_regression(20_000, 50, noise=1.0, random_state=0)
    yield "20k x 50 (64, 64) b128", X, y / y.std(), (64, 64), 128, False, 5


@njit(cache=True)
def _epoch_products(X, weights, activations, deltas, gradients, batch_size):
    # Compiled, so the bound carries no interpreter overhead per product.
    n_layers = len(weights)
    for start in range(0, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        rows = stop - start
        for layer in range(n_layers):
            inputs = X[start:stop] if layer == 0 else activations[layer - 1][:rows]
            np.dot(inputs, weights[layer], activations[layer][:rows])
        for layer in range(n_layers - 1, -1, -1):
            inputs = X[start:stop] if layer == 0 else activations[layer - 1][:rows]
            np.dot(inputs.T, deltas[layer][:rows], gradients[layer])
            if layer:
                np.dot(deltas[layer][:rows], weights[layer].T, deltas[layer - 1][:rows])


def matmul_bound(X, hidden, n_outputs, batch_size, repeats=3):
    """One epoch of the forward and backward products alone, in seconds.

    The same products as one epoch of training (three per layer, but for the
    input layer's backward error), through ``np.dot`` in a compiled loop.
    """
    units = [X.shape[1], *hidden, n_outputs]
    rng = np.random.default_rng(0)
    shapes = list(zip(units[:-1], units[1:]))
    weights = List([rng.random(shape).astype(X.dtype) for shape in shapes])
    gradients = List([np.empty(shape, X.dtype) for shape in shapes])
    activations = List([np.empty((batch_size, b), X.dtype) for b in units[1:]])
    deltas = List([rng.random((batch_size, b)).astype(X.dtype) for b in units[1:]])
    X = np.ascontiguousarray(X)
    _epoch_products(X[:batch_size], weights, activations, deltas, gradients, batch_size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _epoch_products(X, weights, activations, deltas, gradients, batch_size)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def fit_seconds(model, X, y, epochs):
    """Seconds per epoch of ``model.fit`` and its final training objective."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
    return (time.perf_counter() - start) / epochs, float(model.loss_)


def torch_seconds(X, y, hidden, batch_size, classify, epochs, variant):
    """Seconds per epoch of a plain PyTorch CPU loop, and its last epoch's loss."""
    torch.manual_seed(0)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    Xt = torch.from_numpy(X)
    if classify:
        yt = torch.from_numpy(np.searchsorted(np.unique(y), y))
        n_outputs = len(np.unique(y))
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(y.astype(X.dtype)).reshape(-1, 1)
        n_outputs = 1
        mse = torch.nn.MSELoss()

        def loss_fn(out, target):
            return 0.5 * mse(out, target)

    layers, width = [], X.shape[1]
    for units in hidden:
        layers += [torch.nn.Linear(width, units, dtype=dtype), torch.nn.ReLU()]
        if variant == "dropout":
            layers.append(torch.nn.Dropout(DROPOUT))
        width = units
    layers.append(torch.nn.Linear(width, n_outputs, dtype=dtype))
    model = torch.nn.Sequential(*layers)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    # skreg's alpha per batch sample equals scikit-learn's alpha / batch_size.
    alpha = ALPHA / batch_size
    l2 = {"l2": alpha, "dropout": alpha, "elasticnet": alpha * (1 - L1_RATIO)}
    l1 = {"l1": alpha, "elasticnet": alpha * L1_RATIO}.get(variant, 0.0)
    optimizer = torch.optim.Adam(
        [
            {"params": weights, "weight_decay": l2.get(variant, 0.0)},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=1e-3,
        eps=1e-8,
    )
    n = len(Xt)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n)
        total = 0.0
        for i in range(0, n, batch_size):
            index = order[i : i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[index]), yt[index])
            if l1:
                loss = loss + l1 * sum(w.abs().sum() for w in weights)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
    seconds = (time.perf_counter() - start) / epochs
    with torch.no_grad():
        squares = sum(float((w * w).sum()) for w in weights)
    return seconds, total / n + 0.5 * l2.get(variant, 0.0) * squares


def _median(values):
    return float(np.median(values)) if values else float("nan")


def _paired(numerators, denominators):
    """Median over rounds of ``numerator / denominator`` within each round."""
    if not numerators or not denominators:
        return float("nan")
    return float(np.median(np.divide(numerators, denominators)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workloads only")
    # Nine rounds: with five, one slow spell of a shared machine moved single rows
    # by a fifth.
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = parser.parse_args()
    use_torch = torch is not None and not args.no_torch
    if use_torch:
        torch.set_num_threads(2)

    print(
        "| workload | dtype | variant | skreg s/epoch | sklearn | vs sk | torch "
        "| vs torch | bound | x bound | loss skreg | loss sk | loss torch |"
    )
    print("|" + "---|" * 13)
    l2_speedups, bound_ratios, torch_speedups, overheads = [], {}, [], []
    for name, X, y, hidden, batch, classify, epochs in workloads(args.quick):
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            common = dict(
                hidden_layer_sizes=hidden,
                batch_size=batch,
                max_iter=epochs,
                tol=0.0,
                n_iter_no_change=epochs + 1,
                random_state=0,
            )
            Ours = RegularizedMLPClassifier if classify else RegularizedMLPRegressor
            Theirs = MLPClassifier if classify else MLPRegressor
            n_outputs = len(np.unique(y)) if classify else 1
            # Warm-up: compile (or load) every kernel, and touch every code path.
            for extra in VARIANTS.values():
                fit_seconds(Ours(**{**common, "max_iter": 1}, **extra), Xd, y, 1)
            fit_seconds(Theirs(**{**common, "max_iter": 1}), Xd, y, 1)
            # Round robin: each repeat runs every variant and tool once, so a slow
            # spell of the machine spreads over all of them.
            sk_times, sk_loss, bounds = [], None, []
            ours_times = {variant: [] for variant in VARIANTS}
            torch_times = {variant: [] for variant in VARIANTS}
            ours_loss, torch_loss = {}, {}
            for _ in range(args.repeats):
                time.sleep(PAUSE)
                seconds, sk_loss = fit_seconds(
                    Theirs(alpha=ALPHA, **common), Xd, y, epochs
                )
                sk_times.append(seconds)
                time.sleep(PAUSE)
                bounds.append(matmul_bound(Xd, hidden, n_outputs, batch))
                for variant, extra in VARIANTS.items():
                    time.sleep(PAUSE)
                    seconds, ours_loss[variant] = fit_seconds(
                        Ours(alpha=ALPHA / batch, **common, **extra), Xd, y, epochs
                    )
                    ours_times[variant].append(seconds)
                    if use_torch:
                        time.sleep(PAUSE)
                        seconds, torch_loss[variant] = torch_seconds(
                            Xd, y, hidden, batch, classify, epochs, variant
                        )
                        torch_times[variant].append(seconds)
            sk_s, bound = _median(sk_times), _median(bounds)
            for variant in VARIANTS:
                ours_s = _median(ours_times[variant])
                torch_s = _median(torch_times[variant])
                # Ratios are medians of the ratios within each round: the two
                # timings of a round ran seconds apart, in the same state of the
                # machine.
                vs_sk = _paired(sk_times, ours_times[variant])
                vs_torch = _paired(torch_times[variant], ours_times[variant])
                vs_bound = _paired(ours_times[variant], bounds)
                if variant == "l2":
                    l2_speedups.append(vs_sk)
                    bound_ratios[(name, np.dtype(dtype).name)] = vs_bound
                else:
                    overheads.append(
                        (
                            name,
                            np.dtype(dtype).name,
                            variant,
                            _paired(ours_times[variant], ours_times["l2"]),
                        )
                    )
                if use_torch and np.dtype(dtype) == np.float32:
                    torch_speedups.append((name, variant, vs_torch))
                print(
                    f"| {name} | {np.dtype(dtype).name} | {variant} | {ours_s:.4f} "
                    f"| {sk_s:.4f} | {vs_sk:.2f} | {torch_s:.4f} "
                    f"| {vs_torch:.2f} | {bound:.4f} | {vs_bound:.2f} "
                    f"| {ours_loss[variant]:.5f} | {sk_loss:.5f} "
                    f"| {torch_loss.get(variant, float('nan')):.5f} |",
                    flush=True,
                )

    print()
    geometric = np.exp(np.mean(np.log(l2_speedups)))
    print(
        f"- skreg vs scikit-learn, L2 rows: geometric mean {geometric:.2f}x, "
        f"slowest {min(l2_speedups):.2f}x"
    )
    for (name, dtype), ratio in bound_ratios.items():
        if name.startswith("50k"):
            print(f"- {name} {dtype}: {ratio:.2f}x the matmul bound")
    worst = max(overheads, key=lambda item: item[3])
    print(
        f"- L1 / elastic net / dropout over L2: at most {worst[3] - 1:+.0%} "
        f"({worst[0]}, {worst[1]}, {worst[2]})"
    )
    if torch_speedups:
        for name, variant, ratio in torch_speedups:
            if variant == "l2":
                print(f"- skreg vs PyTorch float32, {name}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
