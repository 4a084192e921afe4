"""Every benchmark, one after the other, each in a fresh process.

Run by hand, never in CI::

    python benchmarks/run_all.py            # the whole suite (about 40 minutes)
    python benchmarks/run_all.py --quick    # small workloads, fewer repeats

Prints Markdown tables: seconds per epoch against scikit-learn, PyTorch (when
installed) and the matrix-product bound; prediction latency and throughput;
start-up cost with a warm and a cold Numba cache; peak memory of a fit; the
cross-validated estimators against GridSearchCV.
"""

import argparse
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(script, *arguments):
    print(f"\n## {script}\n", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *arguments], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    import numba
    import numpy
    import sklearn

    versions = f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}"
    versions += f", numba {numba.__version__}"
    try:
        import torch

        versions += f", torch {torch.__version__}"
    except ImportError:
        pass
    python = platform.python_version()
    print(f"# skreg benchmarks on {platform.machine()}, Python {python}")
    print(f"\n{versions}")
    quick = ["--quick", "--repeats", "2"] if args.quick else []
    _run("bench_epoch.py", *quick)
    _run("bench_predict.py", *(["--repeats", "3"] if args.quick else []))
    _run("bench_startup.py", *(["--repeats", "3"] if args.quick else []))
    _run("bench_memory.py")
    _run("bench_cv.py", *(["--quick"] if args.quick else []))


if __name__ == "__main__":
    main()
