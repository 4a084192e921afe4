"""Start-up cost: a fresh process's import and first fit, with a warm and a cold cache.

Run by hand, never in CI::

    python benchmarks/bench_startup.py

Each measurement is a new Python process. The reference is what any user of
Numba and scikit-learn's MLP pays anyway: ``import numba, sklearn.neural_network``.
skreg's cost is ``import skreg`` plus a first small fit (200 digits, one epoch of
Adam), which loads the compiled kernels from Numba's on-disk cache (warm) or
compiles them (cold: an empty ``NUMBA_CACHE_DIR``). The warm runs alternate with
the reference runs and the medians are reported.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

REFERENCE = """
import time
start = time.perf_counter()
import numba, sklearn.neural_network
print(time.perf_counter() - start)
"""

SKREG = """
import time
start = time.perf_counter()
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
print(imported - start, fitted - data, (imported - start) + (fitted - data))
"""


def _run(code, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return [float(v) for v in out.stdout.split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        cold = _run(SKREG, cache)
        reference, warm = [], []
        for _ in range(args.repeats):
            reference.append(_run(REFERENCE, cache)[0])
            warm.append(_run(SKREG, cache))

    def median(values):
        values = sorted(values)
        return values[len(values) // 2]

    result = {
        "reference_import": median(reference),
        "warm_import": median([w[0] for w in warm]),
        "warm_first_fit": median([w[1] for w in warm]),
        "warm_total": median([w[2] for w in warm]),
        "cold_import": cold[0],
        "cold_first_fit": cold[1],
    }
    if args.json:
        print(json.dumps(result))
        return
    extra = result["warm_total"] - result["reference_import"]
    print("| fresh process | seconds |")
    print("|---|---|")
    reference = result["reference_import"]
    print(f"| import numba, sklearn.neural_network | {reference:.2f} |")
    print(f"| import skreg (warm cache) | {result['warm_import']:.2f} |")
    print(f"| first small fit (warm cache) | {result['warm_first_fit']:.2f} |")
    print(f"| import skreg + first fit, over the reference | {extra:+.2f} |")
    print(f"| import skreg (empty cache) | {result['cold_import']:.2f} |")
    cold = result["cold_first_fit"]
    print(f"| first small fit (empty cache: compiles) | {cold:.2f} |")


if __name__ == "__main__":
    main()
