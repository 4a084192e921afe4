"""Comparisons of fitted models that several test modules make."""

import numpy as np


def equal_models(a, b):
    """Whether two fitted networks hold bitwise equal weights and intercepts."""
    return all(
        np.array_equal(p, q)
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )
