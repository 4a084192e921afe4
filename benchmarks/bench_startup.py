"""Start-up cost: a fresh process's import and first fit, with a warm and a cold cache.

Run by hand, never in CI::

    python benchmarks/bench_startup.py

Each measurement is a new Python process. The reference is what any user of
Numba and scikit-learn's MLP pays anyway: ``import numba, sklearn.neural_network``.
skreg's cost is ``import skreg`` plus a first small fit (200 digits, one epoch of
Adam), which loads the compiled kernels from Numba's on-disk cache (warm) or
compiles them (cold: an empty ``NUMBA_CACHE_DIR``).

Each process imports the reference first and then skreg, so what skreg adds is
timed in the same process as the reference: on a shared machine, two processes'
import times differ by more than skreg's own import. The medians of the warm runs
are reported, and the cold compile also in units of the reference import, which
gauges the machine's speed at the time of the run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

CODE = """
import time
start = time.perf_counter()
import numba, sklearn.neural_network
reference = time.perf_counter()
import skreg
imported = time.perf_counter()
import warnings
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
data = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    skreg.RegularizedMLPClassifier(max_iter=1).fit(X[:200] / 16, y[:200])
fitted = time.perf_counter()
print(reference - start, imported - reference, fitted - data)
"""


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return [float(v) for v in out.stdout.split()]


# The README's usage example: its fit, from a fresh process.
README = """
import time
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skreg import RegularizedMLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
start = time.perf_counter()
clf = RegularizedMLPClassifier(
    (64,), penalty="l1", alpha=1e-3, dropout=0.1, max_iter=300, random_state=0
).fit(X_train, y_train)
clf.score(X_test, y_test)
print(time.perf_counter() - start)
"""

# Twelve common variants, one after the other in a fresh process: each first fit
# compiles what the ones before it did not.
VARIANTS = """
import time, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits
from skreg import RegularizedMLPClassifier

X, y = load_digits(return_X_y=True)
X, y = X[:400] / 16, y[:400]
variants = {
    "defaults": ({}, X),
    "dropout": ({"dropout": 0.2}, X),
    "float32": ({}, X.astype(np.float32)),
    "l1": ({"penalty": "l1"}, X),
    "elasticnet": ({"penalty": "elasticnet"}, X),
    "group_lasso": ({"penalty": "group_lasso"}, X),
    "tanh": ({"activation": "tanh"}, X),
    "logistic": ({"activation": "logistic"}, X),
    "sparse X": ({}, sp.csr_matrix(X)),
    "sgd": ({"solver": "sgd"}, X),
    "lbfgs": ({"solver": "lbfgs"}, X),
    "early_stopping": ({"early_stopping": True}, X),
}
seconds = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, (params, data) in variants.items():
        start = time.perf_counter()
        RegularizedMLPClassifier(max_iter=5, random_state=0, **params).fit(data, y)
        seconds[name] = time.perf_counter() - start
print(" ".join(f"{name.replace(' ', '_')}={t}" for name, t in seconds.items()))
"""

# A first grid search on n_jobs processes, from a fresh process.
SEARCH = """
import sys, time, warnings
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from skreg import RegularizedMLPClassifier

X, y = load_digits(return_X_y=True)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    GridSearchCV(
        RegularizedMLPClassifier((32,), max_iter=10, random_state=0),
        {"alpha": [1e-4, 1e-3]},
        cv=3,
        n_jobs=int(sys.argv[1]),
    ).fit(X / 16, y)
print(time.perf_counter() - start)
"""


def _script(code, cache_dir, *argv):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return out.stdout.split()


def first_contact():
    """First fits on an empty cache: the README example, twelve variants, a search."""
    with tempfile.TemporaryDirectory() as cache:
        readme = float(_script(README, cache)[0])
    with tempfile.TemporaryDirectory() as cache:
        variants = {
            name: float(value)
            for name, value in (item.split("=") for item in _script(VARIANTS, cache))
        }
    searches = {}
    for n_jobs in (1, 2):
        with tempfile.TemporaryDirectory() as cache:
            searches[n_jobs] = float(_script(SEARCH, cache, str(n_jobs))[0])
    return readme, variants, searches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument(
        "--first-contact",
        action="store_true",
        help="also the first fits on an empty cache: README example, twelve "
        "variants, a grid search on one and two processes",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        cold = _run(cache)
        warm = [_run(cache) for _ in range(args.repeats)]

    def median(values):
        values = sorted(values)
        return values[len(values) // 2]

    result = {
        "reference_import": median([w[0] for w in warm]),
        "warm_import": median([w[1] for w in warm]),
        "warm_first_fit": median([w[2] for w in warm]),
        "warm_extra": median([w[1] + w[2] for w in warm]),
        "cold_reference_import": cold[0],
        "cold_import": cold[1],
        "cold_first_fit": cold[2],
    }
    if args.first_contact:
        readme, variants, searches = first_contact()
        result["readme_first_fit"] = readme
        result["variants"] = variants
        result["variants_total"] = sum(variants.values())
        result["search_n_jobs_1"] = searches[1]
        result["search_n_jobs_2"] = searches[2]
    if args.json:
        print(json.dumps(result))
        return
    reference = result["reference_import"]
    cold = result["cold_first_fit"]
    print("| fresh process | seconds |")
    print("|---|---|")
    print(f"| import numba, sklearn.neural_network | {reference:.2f} |")
    print(f"| then import skreg (warm cache) | {result['warm_import']:.2f} |")
    print(f"| first small fit (warm cache) | {result['warm_first_fit']:.2f} |")
    print(f"| import skreg + first fit (warm cache) | {result['warm_extra']:.2f} |")
    print(f"| then import skreg (empty cache) | {result['cold_import']:.2f} |")
    print(f"| first small fit (empty cache: compiles) | {cold:.2f} |")
    print(
        "| the same, in reference imports of its process"
        f" | {cold / result['cold_reference_import']:.1f} |"
    )
    if not args.first_contact:
        return
    print("\n| first contact (empty cache) | seconds |")
    print("|---|---|")
    print(f"| README usage example, its fit | {result['readme_first_fit']:.2f} |")
    for name, seconds in result["variants"].items():
        print(f"| variant {name} | {seconds:.2f} |")
    print(f"| the twelve variants in all | {result['variants_total']:.2f} |")
    print(f"| GridSearchCV, n_jobs=1 | {result['search_n_jobs_1']:.2f} |")
    print(f"| GridSearchCV, n_jobs=2 | {result['search_n_jobs_2']:.2f} |")


if __name__ == "__main__":
    main()
