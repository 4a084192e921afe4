"""Tests of skreg._random: the counter-based generator behind dropout and noise.

Each number is a pure function of (seed, step, layer, index), so the tests check
the range and distribution of the uniforms, that equal counters give equal numbers
and different counters independent-looking streams, and that the dropout factors
have the requested rate and keep the expected activation.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from scipy import stats

from skreg._activations import IDENTITY, dropout_derivative
from skreg._random import (
    dropout_factor,
    dropout_scale,
    dropout_uniform,
    normal,
    stream_key,
    uniform,
)

HYPOTHESIS = settings(max_examples=40, deadline=None)
counters = st.integers(0, 2**31 - 1)


def _key(seed, step, layer):
    # A key above 2**63 comes back from the kernel as a Python int that Numba cannot
    # type; the kernels pass it as a uint64, and so do the tests.
    return np.uint64(stream_key(seed, step, layer))


def _stream(key, n):
    return np.array([uniform(key, i) for i in range(n)])


def test_uniform_is_in_the_unit_interval_and_uniformly_distributed():
    u = _stream(_key(0, 1, 0), 20_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_uniform_has_53_random_bits():
    u = _stream(_key(3, 2, 1), 1000)
    scaled = u * 2.0**53
    assert_array_equal(scaled, np.floor(scaled))
    # Not only the high bits: the lowest bit is set about half of the time.
    assert 400 < np.sum(scaled.astype(np.int64) % 2) < 600


@HYPOTHESIS
@given(seed=counters, step=counters, layer=st.integers(0, 10), index=counters)
def test_uniform_is_deterministic(seed, step, layer, index):
    assert stream_key(seed, step, layer) == stream_key(seed, step, layer)
    key = _key(seed, step, layer)
    assert uniform(key, index) == uniform(key, index)


@HYPOTHESIS
@given(seed=counters, step=counters, layer=st.integers(0, 10))
def test_uniform_of_the_largest_key_is_in_the_unit_interval(seed, step, layer):
    for key in (_key(seed, step, layer), np.uint64(2**64 - 1)):
        assert 0.0 <= uniform(key, 2**62) < 1.0


@pytest.mark.parametrize(
    "other",
    [(1, 5, 2), (0, 6, 2), (0, 5, 3), (0, 4, 2)],
    ids=["seed", "step", "layer", "previous-step"],
)
def test_different_counters_give_independent_streams(other):
    a = _stream(_key(0, 5, 2), 5000)
    b = _stream(_key(*other), 5000)
    assert not np.any(a == b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05
    # Nor is one stream a shifted copy of the other.
    assert abs(np.corrcoef(a[1:], b[:-1])[0, 1]) < 0.05


def test_stream_keys_of_a_training_run_are_distinct():
    keys = {
        stream_key(seed, step, layer)
        for seed in range(3)
        for step in range(200)
        for layer in range(4)
    }
    assert len(keys) == 3 * 200 * 4


def test_consecutive_indices_are_uncorrelated():
    u = _stream(_key(7, 1, 0), 20_000)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03


# ------------------------------------------------------------ dropout_scale

RATES = [0.05, 0.3, 0.5, 0.9]


def _factors(rate, key, shape=(400, 250)):
    out = np.empty(shape)
    dropout_scale(out, rate, key)
    return out


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**31),
    index=st.integers(0, 2**40),
    rate=st.floats(0.0, 0.999, allow_subnormal=False),
)
def test_dropout_factor_drops_exactly_when_the_uniform_is_below_the_rate(
    seed, index, rate
):
    # The kernel compares integers; the definition compares the float uniform.
    key = _key(seed, 1, 1)
    expected = 0.0 if dropout_uniform(key, index) < rate else 1.0 / (1.0 - rate)
    assert dropout_factor(key, index, rate) == expected
    # At the boundary: a rate equal to the uniform keeps the entry, one just above
    # drops it.
    u = dropout_uniform(key, index)
    assert dropout_factor(key, index, u) != 0.0
    assert dropout_factor(key, index, np.nextafter(u, 1.0)) == 0.0


@pytest.mark.parametrize("rate", RATES)
def test_dropout_factors_are_zero_or_the_inverse_keep_probability(rate):
    out = _factors(rate, _key(1, 1, 1))
    keep = 1.0 / (1.0 - rate)
    assert np.all((out == 0.0) | (out == keep))


@pytest.mark.parametrize("rate", RATES)
def test_dropout_rate_is_the_fraction_of_zeros(rate):
    out = _factors(rate, _key(1, 1, 1))
    n = out.size
    # Five binomial standard deviations: fails by chance with probability ~6e-7.
    tolerance = 5 * np.sqrt(rate * (1 - rate) / n)
    assert abs(np.mean(out == 0.0) - rate) < tolerance


@pytest.mark.parametrize("rate", RATES)
def test_inverted_dropout_keeps_the_mean_at_one(rate):
    out = _factors(rate, _key(2, 3, 1))
    # Each factor has mean 1 and variance rate / (1 - rate).
    tolerance = 5 * np.sqrt(rate / (1 - rate) / out.size)
    assert abs(out.mean() - 1.0) < tolerance


def test_dropout_with_rate_zero_keeps_every_unit():
    assert_array_equal(_factors(0.0, _key(0, 1, 1)), 1.0)


def test_dropout_factors_are_the_uniforms_of_the_row_major_index():
    # Entry (i, j) of an (n, m) block is dropped iff dropout_uniform(key, i * m + j)
    # < rate, the index the CSR input path regenerates without a stored mask.
    key = _key(4, 9, 0)
    out = _factors(0.3, key, shape=(6, 5))
    u = np.array([dropout_uniform(key, e) for e in range(30)]).reshape(6, 5)
    assert_array_equal(out == 0.0, u < 0.3)


def _splitmix64(z):
    # The finalizer written out on Python integers, modulo 2**64.
    mask = 2**64 - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


@HYPOTHESIS
@given(seed=counters, pair=st.integers(0, 2**40))
def test_dropout_uniforms_are_the_halves_of_one_word_per_pair(seed, pair):
    # One hash per two entries: the even entry takes the low 32 bits of the word
    # of its pair, the odd one the high 32 bits.
    key = _key(seed, 2, 1)
    word = _splitmix64((int(key) + (pair + 1) * 0x9E3779B97F4A7C15) % 2**64)
    assert dropout_uniform(key, 2 * pair) == (word & 0xFFFFFFFF) / 2.0**32
    assert dropout_uniform(key, 2 * pair + 1) == (word >> 32) / 2.0**32


@pytest.mark.parametrize("shape", [(7, 3), (1, 1), (5, 4)])
def test_dropout_derivative_draws_the_factors_of_odd_blocks(shape):
    # The fused pass takes entries two at a time; an odd block ends with one.
    key = _key(5, 1, 2)
    A = np.ones(shape)
    factors = np.empty(shape)
    dropout_derivative(A, factors, IDENTITY, 0.4, key, 0)
    expected = _factors(0.4, key, shape=shape)
    assert_array_equal(factors, expected)
    assert_array_equal(A, expected)


def test_dropout_masks_are_deterministic_for_a_key():
    assert_array_equal(_factors(0.5, _key(1, 2, 3)), _factors(0.5, _key(1, 2, 3)))


def test_dropout_masks_of_consecutive_steps_are_independent():
    rate = 0.5
    a = _factors(rate, _key(1, 10, 1)) == 0.0
    b = _factors(rate, _key(1, 11, 1)) == 0.0
    both = np.mean(a & b)
    assert abs(both - rate**2) < 5 * np.sqrt(rate**2 * (1 - rate**2) / a.size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_factors_in_the_training_dtype(dtype):
    out = np.empty((50, 40), dtype=dtype)
    dropout_scale(out, 0.2, _key(0, 1, 1))
    assert set(np.unique(out)) == {dtype(0.0), dtype(1.0 / 0.8)}


def test_normal_has_zero_mean_and_unit_variance():
    key = np.uint64(stream_key(5, 3, 1))
    draws = np.array([normal(key, i) for i in range(50_000)])
    assert abs(draws.mean()) < 4 / np.sqrt(draws.size)
    assert abs(draws.std() - 1) < 0.02
    # The tails of a normal: about 4.55% beyond two standard deviations.
    assert abs(np.mean(np.abs(draws) > 2) - 0.0455) < 0.005
