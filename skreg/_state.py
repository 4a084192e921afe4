"""Checks of a fitted model's state before any kernel reads it.

The compiled kernels trust the shapes they are given: a weight matrix, an
intercept or an optimizer moment of the wrong length would make them read or write
outside an array. A model's arrays can come from anywhere (a pickle, a skops file, an
attribute set by hand), so every way into a kernel checks them against each other
first, and a mismatch raises a ``ValueError`` that names it.
"""

import math
from numbers import Integral, Real

import numpy as np

from ._interrupts import deferred_interrupts

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _fail(estimator, problem):
    raise ValueError(
        f"This {type(estimator).__name__} has an inconsistent fitted state: "
        f"{problem}. Its attributes were changed or its file was damaged; refit "
        "the model (or load an undamaged copy)."
    )


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def check_layers(estimator):
    """Check ``coefs_`` and ``intercepts_`` against each other and the metadata.

    Returns the dtype the model computes in. Takes microseconds: shapes and dtypes
    only, never the values.
    """
    state = estimator.__dict__
    coefs = state.get("coefs_")
    intercepts = state.get("intercepts_")
    if not isinstance(coefs, (list, tuple)) or not coefs:
        _fail(estimator, f"coefs_ is {_describe(coefs)}, not a list of arrays")
    if not isinstance(intercepts, (list, tuple)):
        _fail(
            estimator, f"intercepts_ is {_describe(intercepts)}, not a list of arrays"
        )
    n_layers = state.get("n_layers_")
    if (
        not isinstance(n_layers, Integral)
        or len(coefs) != n_layers - 1
        or len(intercepts) != len(coefs)
    ):
        _fail(
            estimator,
            f"n_layers_ is {n_layers!r}, but coefs_ holds {len(coefs)} weight "
            f"matrices and intercepts_ {len(intercepts)} vectors "
            "(both must hold n_layers_ - 1)",
        )
    first = coefs[0]
    dtype = getattr(first, "dtype", None)
    if dtype not in _FLOATS:
        _fail(estimator, f"coefs_[0] is {_describe(first)}, not float32 or float64")
    fan_in = state.get("n_features_in_")
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        if (
            not isinstance(W, np.ndarray)
            or W.ndim != 2
            or W.dtype != dtype
            or W.shape[0] != fan_in
        ):
            _fail(
                estimator,
                f"coefs_[{layer}] is {_describe(W)}, expected {fan_in} rows and "
                f"dtype {dtype}"
                + (" (n_features_in_)" if layer == 0 else f" (coefs_[{layer - 1}])"),
            )
        fan_in = W.shape[1]
        if not isinstance(b, np.ndarray) or b.shape != (fan_in,) or b.dtype != dtype:
            _fail(
                estimator,
                f"intercepts_[{layer}] is {_describe(b)}, expected shape "
                f"({fan_in},) and dtype {dtype}, to match coefs_[{layer}] of shape "
                f"{W.shape}",
            )
    n_outputs = state.get("n_outputs_")
    if fan_in != n_outputs:
        _fail(
            estimator,
            f"the last weight matrix has {fan_in} columns, but n_outputs_ is "
            f"{n_outputs!r}",
        )
    classes = state.get("classes_")
    binarizer = state.get("_label_binarizer")
    if classes is not None:
        multilabel = getattr(binarizer, "y_type_", "").startswith("multilabel")
        expected = 1 if len(classes) == 2 and not multilabel else len(classes)
        if n_outputs != expected:
            _fail(
                estimator,
                f"{len(classes)} classes need {expected} outputs, but the network "
                f"has {n_outputs}",
            )
    return dtype


def check_optimizer(estimator, dtype):
    """Check the optimizer's saved state (moments, step) against the layers."""
    state = estimator.__dict__.get("_optimizer_state")
    if state is None:
        return
    if not isinstance(state, dict):
        _fail(estimator, f"the optimizer's state is {_describe(state)}, not a dict")
    n_params = sum(
        W.size + b.size for W, b in zip(estimator.coefs_, estimator.intercepts_)
    )
    missing = {"first", "second", "step", "learning_rate"} - state.keys()
    if missing:
        _fail(estimator, f"the optimizer's state lacks {sorted(missing)}")
    for key in ("first", "second"):
        moment = state.get(key)
        if key == "second" and moment is None:
            continue
        if (
            not isinstance(moment, np.ndarray)
            or moment.shape != (n_params,)
            or moment.dtype != dtype
        ):
            _fail(
                estimator,
                f"the optimizer's {key!r} moment is {_describe(moment)}, expected "
                f"shape ({n_params},) and dtype {dtype}, one entry per weight and "
                "intercept",
            )
    step = state.get("step")
    rate = state.get("learning_rate")
    if not isinstance(step, Integral) or isinstance(step, bool) or step < 0:
        _fail(estimator, f"the optimizer's step count is {step!r}")
    if not isinstance(rate, Real) or not (rate > 0 and math.isfinite(rate)):
        _fail(estimator, f"the optimizer's learning rate is {rate!r}")


def check_state(estimator, values=False):
    """Check every array a kernel reads; with ``values``, also that all are finite.

    Returns the model's dtype.
    """
    dtype = check_layers(estimator)
    check_optimizer(estimator, dtype)
    if values:
        arrays = [*estimator.coefs_, *estimator.intercepts_]
        state = estimator.__dict__.get("_optimizer_state")
        if state is not None:
            arrays += [m for m in (state["first"], state["second"]) if m is not None]
        for array in arrays:
            if not np.isfinite(array).all():
                _fail(estimator, "a weight, an intercept or a moment is not finite")
    return dtype


def restore_state(estimator, saved):
    """Put back the ``__dict__`` saved before a call that failed.

    Whole even under a Ctrl-C: cut between its two steps, the estimator would be
    left empty.
    """
    with deferred_interrupts():
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
