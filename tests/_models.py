"""Parameters, problems and model comparisons that several test modules share."""

import numpy as np

# Parameters of a small network fitted in milliseconds.
FAST = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)


def equal_models(a, b):
    """Whether two fitted networks hold bitwise equal weights and intercepts."""
    return all(
        np.array_equal(p, q)
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


def small_problem():
    """Two classes split by the sign of the first of 3 features, 40 samples."""
    X = np.random.RandomState(0).randn(40, 3)
    return X, (X[:, 0] > 0).astype(int)


def split_batches(monkeypatch, count=4):
    """Make every fit split its batches in ``count`` parts, however small."""
    from skreg import _stochastic

    monkeypatch.setattr(_stochastic, "part_count", lambda batch_size, n_weights: count)


def spy_on_workers(monkeypatch):
    """A list that receives the worker number of each ``run_epoch_parts`` call."""
    from skreg import _parallel

    workers = []
    kernel = _parallel.run_epoch_parts

    def spy(*arguments):
        workers.append(arguments[-1][0])
        return kernel(*arguments)

    monkeypatch.setattr(_parallel, "run_epoch_parts", spy)
    return workers
