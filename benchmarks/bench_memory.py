"""Peak memory of a fit: skreg, scikit-learn and PyTorch on the 50,000 x 100 workload.

Run by hand, never in CI (Linux only: it reads ``/proc/self/status``)::

    python benchmarks/bench_memory.py

Each fit runs in a fresh process. The data is made and a one-epoch warm-up fit
on a small slice loads the code, then the process's resident-set high-water mark
is reset (``/proc/self/clear_refs``) and the fit of two epochs runs. Reported:
the peak resident memory during the fit over the resident memory before it,
which is what the fit itself needed, beside the size of ``X``. glibc's mmap
threshold is fixed, so freed blocks leave the resident set and cannot hide a fit's
allocations.
"""

import argparse
import os
import subprocess
import sys

# A fixed mmap threshold: large blocks go back to the system when freed, instead of
# staying resident in the heap for later allocations to reuse unseen.
ENV = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")

CHILD = r"""
import sys, warnings
import numpy as np
from sklearn.datasets import make_classification

tool, dtype = sys.argv[1], np.dtype(sys.argv[2])
X, y = make_classification(50_000, 100, n_informative=30, n_classes=5, random_state=0)
X = X.astype(dtype)
common = dict(hidden_layer_sizes=(256, 128), batch_size=256, tol=0.0,
              n_iter_no_change=10, random_state=0)


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024


def fit(n, epochs):
    if tool == "skreg":
        from skreg import RegularizedMLPClassifier as Model
    elif tool == "sklearn":
        from sklearn.neural_network import MLPClassifier as Model
    else:
        return torch_fit(n, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Model(max_iter=epochs, **common).fit(X[:n], y[:n])


def torch_fit(n, epochs):
    import torch
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X[:n]), torch.from_numpy(y[:n])
    kind = torch.float32 if dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(
        torch.nn.Linear(100, 256, dtype=kind), torch.nn.ReLU(),
        torch.nn.Linear(256, 128, dtype=kind), torch.nn.ReLU(),
        torch.nn.Linear(128, 5, dtype=kind),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(n)
        for i in range(0, n, 256):
            index = order[i : i + 256]
            optimizer.zero_grad()
            loss_fn(model(Xt[index]), yt[index]).backward()
            optimizer.step()


fit(512, 1)
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
fit(len(X), 2)
print(status("VmHWM:") - before, X.nbytes)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = parser.parse_args()
    tools = ["skreg", "sklearn"]
    if not args.no_torch:
        try:
            import torch  # noqa: F401

            tools.append("torch")
        except ImportError:
            pass

    print("| peak memory of a fit, 50k x 100 (256, 128) | dtype | MB over before | X |")
    print("|---|---|---|---|")
    for dtype in ("float64", "float32"):
        for tool in tools:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, tool, dtype],
                capture_output=True,
                text=True,
                env=ENV,
            )
            if out.returncode:
                raise RuntimeError(out.stderr)
            extra, x_bytes = (int(v) for v in out.stdout.split())
            print(
                f"| {tool} | {dtype} | {extra / 2**20:.1f} | {x_bytes / 2**20:.1f} MB |"
            )


if __name__ == "__main__":
    main()
