"""Tests of skreg._math: branch-free exp and tanh, and the one-row view of a block.

Errors are measured in ulps of the result's dtype against NumPy evaluated in a wider
type, which is correctly rounded or nearly so: float64 for float32 arguments, long
double for float64 arguments (skipped where long double is no wider than float64).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numba import from_dtype, njit
from numba.core.errors import TypingError
from numpy.testing import assert_array_equal

from skreg._activations import ACTIVATIONS, bias_activation, smooth_marker
from skreg._losses import LOSSES, bias_output_activation
from skreg._math import as_one_row, exp, tanh

HYPOTHESIS = settings(max_examples=50, deadline=None)
MAX_ULP = 2.0
DTYPES = [np.float64, np.float32]
EXTENDED = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


@njit
def exp_array(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = exp(x[i])
    return out


@njit
def tanh_array(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = tanh(x[i])
    return out


@njit
def one_row(Z):
    return as_one_row(Z)


FUNCTIONS = {"exp": (exp_array, np.exp), "tanh": (tanh_array, np.tanh)}

# Arguments whose exp is a normal number, a subnormal one or rounds to 0.
NORMAL_RANGE = {np.float64: (-708.39, 709.78), np.float32: (-87.33, 88.72)}
SUBNORMAL_RANGE = {np.float64: (-745.13, -708.4), np.float32: (-103.97, -87.34)}
UNDERFLOW = {np.float64: -745.14, np.float32: -103.98}
OVERFLOW = {np.float64: 709.79, np.float32: 88.73}


def wide(dtype):
    if dtype == np.float32:
        return np.float64
    if not EXTENDED:
        pytest.skip("long double is no wider than float64: no float64 reference")
    return np.longdouble


def reference(name, x):
    return FUNCTIONS[name][1](x.astype(wide(x.dtype)))


def ulp_errors(name, x):
    """|f(x) - reference| in ulps of the reference rounded to the dtype of x."""
    exact = reference(name, x)
    spacing = np.spacing(np.abs(exact.astype(x.dtype))).astype(exact.dtype)
    return np.abs(FUNCTIONS[name][0](x).astype(exact.dtype) - exact) / spacing


def floats(dtype, low, high):
    # Bounds rounded to the dtype, as hypothesis requires for float32.
    return st.floats(
        float(dtype(low)),
        float(dtype(high)),
        width=np.finfo(dtype).bits,
        allow_nan=False,
        allow_infinity=False,
    )


def sweep(dtype, low, high, size=200_000, seed=0):
    """Uniform in [low, high], and log-uniform in magnitude near 0 within it."""
    rng = np.random.default_rng(seed)
    tiny = np.finfo(dtype).tiny
    magnitudes = np.exp(rng.uniform(np.log(tiny), np.log(max(-low, high)), size))
    near_zero = np.clip(rng.choice([-1.0, 1.0], size) * magnitudes, low, high)
    return np.concatenate([rng.uniform(low, high, size), near_zero]).astype(dtype)


# ---- exp


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_is_within_2_ulp_where_normal(dtype):
    errors = ulp_errors("exp", sweep(dtype, *NORMAL_RANGE[dtype]))
    assert errors.max() <= MAX_ULP


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_is_accurate_on_small_arguments(dtype):
    # Where k = 0 the result is 1 + expm1(r) directly: no scaling hides errors.
    errors = ulp_errors("exp", sweep(dtype, -0.5, 0.5, seed=1))
    assert errors.max() <= MAX_ULP


@HYPOTHESIS
@given(data=st.data())
@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_is_within_2_ulp_on_drawn_arguments(dtype, data):
    x = data.draw(
        arrays(dtype, st.integers(1, 50), elements=floats(dtype, *NORMAL_RANGE[dtype]))
    )
    assert ulp_errors("exp", x).max() <= MAX_ULP


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_of_subnormal_results_is_off_by_at_most_one_spacing(dtype):
    x = sweep(dtype, *SUBNORMAL_RANGE[dtype], size=20_000)
    exact = reference("exp", x)
    smallest = np.finfo(dtype).smallest_subnormal
    assert np.abs(exp_array(x).astype(exact.dtype) - exact).max() <= smallest


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_special_values(dtype):
    info = np.finfo(dtype)
    x = np.array(
        [
            0.0,
            -0.0,
            info.smallest_subnormal,
            -info.smallest_subnormal,
            info.tiny,
            -info.tiny,
            1e-30,
            -1e-30,
        ],
        dtype=dtype,
    )
    assert_array_equal(exp_array(x), np.ones_like(x))
    zeros = np.array([UNDERFLOW[dtype], -1000.0, -info.max, -np.inf], dtype=dtype)
    assert_array_equal(exp_array(zeros), np.zeros_like(zeros))
    assert not np.signbit(exp_array(zeros)).any()
    overflows = np.array([OVERFLOW[dtype], 1000.0, info.max, np.inf], dtype=dtype)
    assert_array_equal(exp_array(overflows), np.full_like(overflows, np.inf))
    assert np.isnan(exp_array(np.array([np.nan, -np.nan], dtype=dtype))).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_reaches_the_largest_finite_value(dtype):
    # The largest argument whose exp is finite, and its neighbours on either side.
    top = np.log(np.finfo(dtype).max.astype(wide(dtype))).astype(dtype)
    x = np.array(
        [np.nextafter(top, dtype(0)), top, np.nextafter(top, dtype(np.inf))],
        dtype=dtype,
    )
    exact = reference("exp", x)
    result = exp_array(x)
    with np.errstate(over="ignore"):
        finite = np.isfinite(exact.astype(dtype))
    assert_array_equal(np.isfinite(result), finite)
    assert ulp_errors("exp", x[finite]).max() <= MAX_ULP


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_keeps_the_dtype(dtype):
    value = exp(dtype(1.0))
    assert value == pytest.approx(np.e, rel=4 * float(np.finfo(dtype).eps))
    numba_type = from_dtype(np.dtype(dtype))
    returns = {sig.args[0]: sig.return_type for sig in exp.nopython_signatures}
    assert returns[numba_type] == numba_type


# ---- tanh


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_is_within_2_ulp(dtype):
    saturation = 20.0 if dtype == np.float64 else 10.0
    x = sweep(dtype, -saturation, saturation)
    assert ulp_errors("tanh", x).max() <= MAX_ULP


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_is_within_2_ulp_where_the_formula_changes(dtype):
    # The odd polynomial is used below |x| = 0.625, the exp formula above.
    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 0.75, 200_000) * rng.choice([-1.0, 1.0], 200_000)
    edge = dtype(0.625)
    neighbours = [np.nextafter(edge, dtype(0)), edge, np.nextafter(edge, dtype(1))]
    x = np.concatenate([x.astype(dtype), neighbours, np.negative(neighbours)]).astype(
        dtype
    )
    assert ulp_errors("tanh", x).max() <= MAX_ULP


@HYPOTHESIS
@given(data=st.data())
@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_is_within_2_ulp_on_drawn_arguments(dtype, data):
    x = data.draw(arrays(dtype, st.integers(1, 50), elements=floats(dtype, -30, 30)))
    # Drawn subnormals: tanh(x) rounds to x, and spacing there is absolute.
    assert ulp_errors("tanh", x).max() <= MAX_ULP


@HYPOTHESIS
@given(data=st.data())
@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_is_odd(dtype, data):
    info = np.finfo(dtype)
    x = data.draw(
        arrays(dtype, st.integers(1, 50), elements=floats(dtype, -info.max, info.max))
    )
    assert_array_equal(tanh_array(-x), -tanh_array(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_special_values(dtype):
    info = np.finfo(dtype)
    tiny = np.array(
        [
            0.0,
            -0.0,
            info.smallest_subnormal,
            -info.smallest_subnormal,
            info.tiny,
            1e-30,
            -1e-30,
        ],
        dtype=dtype,
    )
    result = tanh_array(tiny)
    assert_array_equal(result, tiny)
    assert_array_equal(np.signbit(result), np.signbit(tiny))
    large = np.array([20.0, 1000.0, info.max, np.inf], dtype=dtype)
    assert_array_equal(tanh_array(large), np.ones_like(large))
    assert_array_equal(tanh_array(-large), -np.ones_like(large))
    assert np.isnan(tanh_array(np.array([np.nan, -np.nan], dtype=dtype))).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_keeps_the_dtype(dtype):
    assert tanh(dtype(0.5)) == pytest.approx(
        np.tanh(0.5), rel=4 * float(np.finfo(dtype).eps)
    )
    numba_type = from_dtype(np.dtype(dtype))
    returns = {sig.args[0]: sig.return_type for sig in tanh.nopython_signatures}
    assert returns[numba_type] == numba_type


def test_only_floats_are_accepted():
    with pytest.raises(TypingError, match="float64 or float32"):
        exp(np.int64(1))


# ---- as_one_row and the kernels that use it


def test_as_one_row_views_a_contiguous_block():
    Z = np.arange(12.0).reshape(3, 4)
    row = one_row(Z)
    assert row.shape == (1, 12)
    assert np.shares_memory(row, Z)
    assert_array_equal(row[0], Z.ravel())


@pytest.mark.parametrize("order", ["F", "strided"])
def test_as_one_row_keeps_other_layouts(order):
    base = np.arange(24.0).reshape(6, 4)
    Z = np.asfortranarray(base) if order == "F" else base[::2]
    result = one_row(Z)
    assert result.shape == Z.shape
    assert np.shares_memory(result, Z)
    assert_array_equal(result, Z)


def _layouts(Z):
    """Z as a C-contiguous, a Fortran-ordered and a strided array."""
    strided = np.empty((Z.shape[0] * 2, Z.shape[1]), dtype=Z.dtype)[::2]
    strided[:] = Z
    return [Z.copy(), np.asfortranarray(Z), strided]


def _hidden(Z, intercept, code):
    bias_activation(Z, intercept, code, smooth_marker(code))


KERNEL_CASES = [(_hidden, code, 7, 3) for code in ACTIVATIONS.values()] + [
    (bias_output_activation, code, 3, 4) for code in LOSSES.values()
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, code, width, seed", KERNEL_CASES)
def test_kernels_do_not_depend_on_layout(dtype, kernel, code, width, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=3, size=(9, width)).astype(dtype)
    intercept = rng.normal(size=width).astype(dtype)
    results = _layouts(Z)
    for block in results:
        kernel(block, intercept, code)
    for block in results[1:]:
        assert_array_equal(block, results[0])
