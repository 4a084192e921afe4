"""Counter-based random numbers for dropout masks and input noise.

Every number is a pure function of ``(seed, stream, index)``: the stream names one
optimizer step and one layer, the index one entry of that layer's batch. No generator
state is carried between calls, so results do not depend on Numba's per-thread global
``np.random`` state, on the thread count, or on how work is split, and a mask can be
regenerated instead of stored. The mixing function is SplitMix64's finalizer.
"""

import numpy as np
from numba import njit

from ._compile import JIT as _JIT

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_TO_UNIT32 = 1.0 / 4294967296.0  # 2**-32


@njit(**_JIT)
def mix64(z):
    """SplitMix64 finalizer: a bijective, well-mixed hash of a uint64."""
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


@njit(**_JIT)
def stream_key(seed, step, layer):
    """Key of the stream for one optimizer step and one layer."""
    key = mix64(np.uint64(seed) + _GOLDEN)
    key = mix64(key ^ (np.uint64(step) * _GOLDEN))
    return mix64(key ^ (np.uint64(layer) + _GOLDEN))


@njit(**_JIT)
def uniform(key, index):
    """A float64 in [0, 1) from a stream key and an index within the stream."""
    z = mix64(key + (np.uint64(index) + np.uint64(1)) * _GOLDEN)
    return float(z >> _S11) * _TO_UNIT


@njit(**_JIT)
def dropout_word(key, pair):
    """The 64 random bits shared by entries ``2 * pair`` and ``2 * pair + 1``."""
    return mix64(key + (np.uint64(pair) + np.uint64(1)) * _GOLDEN)


@njit(**_JIT)
def dropout_threshold(rate):
    """``ceil(rate * 2**32)``: an entry whose 32 bits fall below it is dropped."""
    return np.uint64(np.ceil(rate * 4294967296.0))


@njit(**_JIT)
def dropout_bits(key, index):
    """The 32 random bits that decide entry ``index``: one half of a shared word.

    One hash serves two entries (the low half the even one, the high half the
    odd one): on small layers the hash is a large part of a training step.
    """
    word = dropout_word(key, np.uint64(index) >> np.uint64(1))
    if index & 1:
        return word >> _S32
    return word & _LOW32


@njit(**_JIT)
def dropout_uniform(key, index):
    """``dropout_bits`` as a float64 in [0, 1): ``bits * 2**-32``."""
    return float(dropout_bits(key, index)) * _TO_UNIT32


@njit(**_JIT)
def dropout_factor(key, index, rate):
    """Inverted-dropout factor of one entry: 0 w.p. ``rate``, else 1 / (1 - rate).

    The entry is dropped when ``dropout_uniform(key, index) < rate``, which is
    tested exactly on the integer bits, against ``dropout_threshold(rate)``.
    """
    if dropout_bits(key, index) < dropout_threshold(rate):
        return 0.0
    return 1.0 / (1.0 - rate)


@njit(**_JIT)
def dropout_scale(out, rate, key):
    """Fill ``out`` with the inverted-dropout factors of a block, row by row."""
    n, m = out.shape
    for i in range(n):
        for j in range(m):
            out[i, j] = dropout_factor(key, i * m + j, rate)


@njit(**_JIT)
def normal(key, index):
    """A standard normal float64 from a stream key and an index (Box-Muller)."""
    u1 = uniform(key, 2 * index)
    u2 = uniform(key, 2 * index + 1)
    # 1 - u1 lies in (0, 1], so the logarithm is finite.
    return np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)
