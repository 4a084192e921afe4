"""Predictions: the compiled forward pass over chunks of rows, on threads if large.

A row's prediction never depends on the threads: each chunk is computed alike
whatever the thread that takes it, and large predictions hold the BLAS at one
thread (``_parallel.one_blas_thread``).
"""

import threading

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from . import _parallel
from ._activations import ACTIVATIONS, smooth_marker
from ._forward import activate, forward
from ._interrupts import deferred_interrupts
from ._losses import LOSSES
from ._parallel import one_blas_thread, with_one_blas_thread
from ._state import check_layers

# Rows per chunk when predicting: memory stays bounded on large inputs, and in the
# compiled path a chunk's hidden blocks stay in cache between a product and the
# activation. The interpreted path (sparse or non-C-ordered X) pays a few
# microseconds of dispatch per call, so it takes larger chunks.
_PREDICT_CHUNK = 512
_INTERPRETED_CHUNK = 2048
# Predictions of at least this many multiply-adds run with a one-threaded BLAS:
# OpenBLAS splits no product below 65536 * 4 (its GEMM_MULTITHREAD_THRESHOLD), so
# smaller ones are one-threaded anyway, and a row's prediction never depends on
# the thread count.
_SERIAL_BLAS_WORK = 1 << 18
# Predictions of at least this many multiply-adds per thread share their chunks
# among threads of their own: a thread's start costs tens of microseconds.
_THREAD_WORK = 1 << 22


def forward_output(estimator, X, coefs, intercepts, check_finite=False, threads=None):
    """Output-layer activations for ``X``, computed in chunks of rows.

    With ``check_finite``, each chunk of a dense ``X`` is checked while it is in
    cache, and None is returned as soon as one holds a NaN or an infinity.
    ``threads`` caps the threads that share the chunks (by default those
    available); the result does not depend on it.
    """
    dtype = coefs[0].dtype
    n_samples = X.shape[0]
    output = np.empty((n_samples, intercepts[-1].shape[0]), dtype=dtype)
    work = n_samples * sum(W.size for W in coefs)
    if work < _SERIAL_BLAS_WORK:
        return _forward_blocks(
            estimator, X, coefs, intercepts, output, check_finite, threads
        )
    return with_one_blas_thread(
        _forward_blocks, estimator, X, coefs, intercepts, output, check_finite, threads
    )


def _forward_blocks(estimator, X, coefs, intercepts, output, check_finite, threads):
    activation = ACTIVATIONS[estimator.activation]
    smooth = smooth_marker(activation)
    loss = LOSSES[estimator._loss_name()]
    dtype = output.dtype
    n_samples = X.shape[0]
    coefs = tuple(np.ascontiguousarray(W, dtype=dtype) for W in coefs)
    intercepts = tuple(np.ascontiguousarray(b, dtype=dtype) for b in intercepts)
    arguments = (activation, smooth, loss, _PREDICT_CHUNK)
    if not sp.issparse(X) and X.flags.c_contiguous:
        # The common case, in compiled calls: no interpreter between the
        # products, and chunks small enough to stay in cache. Large inputs
        # share their chunks among threads; each chunk is computed alike
        # whatever the thread that takes it, so the result is the same.
        n_chunks = -(-n_samples // _PREDICT_CHUNK)
        work = n_samples * sum(W.size for W in coefs)
        most = min(n_chunks, work // _THREAD_WORK)
        if most > 1 and threads is None:
            threads = _parallel.available_threads()
        threads = most if threads is None else min(threads, most)
        if threads <= 1:
            finite = forward(X, coefs, intercepts, *arguments, output, check_finite)
            return output if finite else None
        bounds = [
            min(n_samples, (n_chunks * k // threads) * _PREDICT_CHUNK)
            for k in range(threads + 1)
        ]
        finite = [False] * threads

        def run(k):
            part = slice(bounds[k], bounds[k + 1])
            with one_blas_thread():
                finite[k] = forward(
                    X[part],
                    coefs,
                    intercepts,
                    *arguments,
                    output[part],
                    check_finite,
                )

        # A Ctrl-C waits for the threads' end: none is left running.
        with deferred_interrupts():
            helpers = [
                threading.Thread(target=run, args=(k,)) for k in range(1, threads)
            ]
            for helper in helpers:
                helper.start()
            try:
                run(0)
            finally:
                for helper in helpers:
                    helper.join()
        return output if all(finite) else None
    # Sparse or non-contiguous input, a chunk of rows at a time: the first
    # product by scipy (sparse) or on a contiguous copy, the rest in the
    # compiled pass, whose BLAS runs as in every other prediction.
    for start in range(0, n_samples, _INTERPRETED_CHUNK):
        A = X[start : start + _INTERPRETED_CHUNK]
        out = output[start : start + A.shape[0]]
        if not sp.issparse(A):
            A = np.ascontiguousarray(A)
            if not forward(A, coefs, intercepts, *arguments, out, check_finite):
                return None
            continue
        Z = np.ascontiguousarray((A @ coefs[0]).astype(dtype, copy=False))
        last = len(coefs) == 1
        activate(Z, intercepts[0], last, activation, smooth, loss)
        if last:
            out[:] = Z
        else:
            forward(Z, coefs[1:], intercepts[1:], *arguments, out, False)
    return output


def predict_output(estimator, X):
    # scikit-learn's validation costs as much as a one-row prediction itself. A
    # fitted model given a float ndarray of the training
    # width, without feature names to compare, needs none of it: its values are
    # checked chunk by chunk in the forward pass. Anything else, or a value that
    # is not finite, takes the full path, which raises scikit-learn's errors and
    # warnings.
    coefs = estimator.__dict__.get("coefs_")
    if coefs is not None:
        check_layers(estimator)
    if (
        coefs is not None
        and type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype == coefs[0].dtype
        and X.shape[0] > 0
        and X.shape[1] == estimator.n_features_in_
        and "feature_names_in_" not in estimator.__dict__
    ):
        output = forward_output(
            estimator, X, coefs, estimator.intercepts_, check_finite=True
        )
        if output is not None:
            return output
    check_is_fitted(estimator)
    check_layers(estimator)
    X = validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=(np.float64, np.float32),
        reset=False,
    )
    # As scikit-learn's MLP: float64 input on a float32 model, or the
    # reverse, is predicted in float64, with the weights converted.
    dtype = np.result_type(X.dtype, estimator.coefs_[0].dtype)
    return forward_output(
        estimator,
        X.astype(dtype, copy=False),
        [W.astype(dtype, copy=False) for W in estimator.coefs_],
        [b.astype(dtype, copy=False) for b in estimator.intercepts_],
    )
