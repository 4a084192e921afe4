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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON only")
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


if __name__ == "__main__":
    main()
