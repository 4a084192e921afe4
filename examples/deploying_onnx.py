"""
Export a pipeline to ONNX and run it with ONNX Runtime
======================================================

A model served through ONNX Runtime needs neither Python, skreg, scikit-learn
nor Numba at prediction time. This example trains a scikit-learn ``Pipeline``
of a ``StandardScaler`` and a ``RegularizedMLPClassifier`` with an L1 penalty
on scikit-learn's breast cancer data (569 tumours, 30 features, 2 classes),
split once into 426 training and 143 test rows. It converts the pipeline with
skl2onnx, after ``register_onnx_converters()`` has told skl2onnx about skreg's
estimators, and runs the ONNX graph on the test rows.

The conversion is done twice: from a float32 sample, which gives a graph that
computes in float32 (the usual choice for serving), and from a float64 sample,
which gives one that computes in float64. The pipeline is fitted on float32
data for the first and on float64 data for the second, so that each graph
computes in the precision of the model it replaces. The script prints, for
each, whether the labels are the same as ``predict`` gives, the largest
difference between the probabilities of ONNX Runtime and ``predict_proba``,
and the size of the serialized model. It saves a figure,
``deploying_onnx.png`` in the current directory, with the probability of the
benign class from ONNX Runtime against skreg's for the float32 graph, and the
differences of both graphs.

Run it with ``python examples/deploying_onnx.py`` (it needs skl2onnx, ONNX
Runtime and matplotlib: ``pip install ".[onnx,examples]"``). It takes a few
seconds.
"""

import time
import warnings

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, register_onnx_converters

RANDOM_STATE = 0
FIGURE = "deploying_onnx.png"


def fit_pipeline(X, y):
    return make_pipeline(
        StandardScaler(),
        RegularizedMLPClassifier(
            (32,), penalty="l1", alpha=1e-3, max_iter=200, random_state=RANDOM_STATE
        ),
    ).fit(X, y)


def run_onnx(pipeline, X):
    """Convert ``pipeline`` for inputs like ``X``, run it on ``X``."""
    # zipmap=False: the probabilities as a matrix, not one dictionary per row.
    onx = to_onnx(pipeline, X[:1], options={"zipmap": False})
    model_bytes = onx.SerializeToString()
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"X": X})
    return labels, probabilities, len(model_bytes)


def compare(X_train, X_test, y_train, dtype):
    pipeline = fit_pipeline(X_train.astype(dtype), y_train)
    X = X_test.astype(dtype)
    labels, probabilities, size = run_onnx(pipeline, X)
    expected = pipeline.predict_proba(X)
    return dict(
        dtype=np.dtype(dtype).name,
        same_labels=bool(np.array_equal(labels, pipeline.predict(X))),
        difference=probabilities - expected,
        skreg=expected,
        onnx=probabilities,
        size=size,
    )


def print_table(rows):
    print(f"{'graph':>8} {'same labels':>12} {'max |dP|':>10} {'size (kB)':>10}")
    for r in rows:
        print(
            f"{r['dtype']:>8} {str(r['same_labels']):>12} "
            f"{np.abs(r['difference']).max():>10.1e} {r['size'] / 1000:>10.1f}"
        )


def plot(rows, path):
    """Save ONNX Runtime's probabilities against skreg's, and the differences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_p, ax_d) = plt.subplots(1, 2, figsize=(11, 4.5))
    float32 = rows[0]
    ax_p.plot([0, 1], [0, 1], color="tab:gray", linewidth=1)
    ax_p.scatter(float32["skreg"][:, 1], float32["onnx"][:, 1], s=12)
    ax_p.set_xlabel("skreg: predict_proba, class 1 (benign)")
    ax_p.set_ylabel("ONNX Runtime: probabilities, class 1 (benign)")
    ax_p.set_title("Test rows, float32 graph")

    for r, color in zip(rows, ("tab:blue", "tab:orange")):
        ax_d.plot(
            r["skreg"][:, 1], r["difference"][:, 1], "o", color=color, markersize=3,
            label=f"{r['dtype']} graph",
        )  # fmt: skip
    ax_d.set_yscale("symlog", linthresh=1e-16)
    # Room above and below the points for the legend.
    ax_d.set_ylim(-1e-4, 1e-4)
    ax_d.set_xlabel("skreg: predict_proba, class 1 (benign)")
    ax_d.set_ylabel("ONNX Runtime minus skreg (symmetric log scale)")
    ax_d.set_title("Differences of the probabilities")
    ax_d.legend(loc="upper center", ncols=2)

    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    start = time.perf_counter()
    register_onnx_converters()
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=RANDOM_STATE
    )
    with warnings.catch_warnings():
        # 200 epochs of Adam are enough here; the last steps change nothing
        # that this comparison is about.
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = [
            compare(X_train, X_test, y_train, dtype)
            for dtype in (np.float32, np.float64)
        ]
    print_table(rows)
    if not all(r["same_labels"] for r in rows):
        print("\nWARNING: ONNX Runtime's labels differ from predict's.")
    if max(np.abs(r["difference"]).max() for r in rows) > 1e-5:
        print("WARNING: the probabilities differ by more than 1e-5.")

    plot(rows, FIGURE)
    print(f"\nFigure saved to {FIGURE}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
