"""Branch-free ``exp`` and ``tanh`` for float64 and float32, as Numba kernels.

``np.exp`` and ``np.tanh`` compile to calls into the C math library, one element at a
time: a loop that calls them cannot be vectorized, and the softmax, the Poisson and
logistic outputs and the logistic and tanh hidden activations spend most of their time
in those calls. The functions here are written with arithmetic, selects and bit
operations only, so LLVM inlines them and vectorizes the loops around them.

``exp`` reduces its argument as ``x = k * ln2 + r`` with ``|r| <= ln2 / 2`` (Cody and
Waite: ``ln2`` is split into a head whose products with ``k`` are exact and a tail),
evaluates ``exp(r) - 1`` by a Taylor polynomial and scales by ``2**k``, built from its
bits. Out-of-range arguments are clamped first, to points where the result rounds to
0 or overflows to inf; NaN passes the clamps and propagates. ``tanh`` is an odd
polynomial for ``|x| < 0.625`` and ``1 - 2 / (exp(2|x|) + 1)`` above, where that
formula loses nothing to cancellation; both are computed and one is selected.

Arithmetic stays in the argument's dtype: float32 uses float32 constants and a shorter
polynomial. Both functions are called in jitted code or from Python with a scalar.

A vectorized loop handles 4 to 16 elements per step and leaves the remainder to the
scalar code, which is slower than the C library's: the rows of a narrow layer are too
short to gain. ``as_one_row`` lets a kernel loop over a contiguous block as one row,
and ``matrix_view`` views part of a flat buffer as a matrix, both as code inside
their caller.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.errors import TypingError
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array

from ._compile import JIT as _JIT


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 as an int64, of a float32 as an int32."""
    if x == types.float64:
        sig = types.int64(x)
    elif x == types.float32:
        sig = types.int32(x)
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


def _from_bits_intrinsic(width, float_type, llvm_type):
    # Integer arithmetic promotes to int64 in Numba: the argument is any integer,
    # truncated or sign-extended to the float's width before the bit cast.
    int_type = types.int64 if width == 64 else types.int32

    def typer(typingctx, bits):
        if not isinstance(bits, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            value = context.cast(builder, args[0], bits, int_type)
            return builder.bitcast(value, llvm_type)

        return float_type(bits), codegen

    typer.__name__ = f"_float{width}_from_bits"
    return intrinsic(typer)


_float64_from_bits = _from_bits_intrinsic(64, types.float64, ir.DoubleType())
_float32_from_bits = _from_bits_intrinsic(32, types.float32, ir.FloatType())


# float64 constants. ln2 is split as in fdlibm: the head has 32 significant bits, so
# its products with the k of any clamped argument are exact.
_LOG2E_64 = 1.4426950408889634
_LN2_HI_64 = 6.93147180369123816490e-01
_LN2_LO_64 = 1.90821492927058770002e-10
# Adding 1.5 * 2**52 rounds a float64 of magnitude below 2**51 to an integer, which is
# then the difference of the sum's bits and this constant's bits.
_ROUND_64 = 6755399441055744.0
_ROUND_BITS_64 = np.int64(np.float64(_ROUND_64).view(np.int64))
# 1 / n! for n = 0..13. With |r| <= ln2 / 2 the first omitted term, r**14 / 14!, is
# below 5e-18, far under the float64 rounding unit.
_T64 = tuple(1.0 / math.factorial(n) for n in range(14))
# exp(-746) rounds to 0 and exp(710) overflows; within these bounds k stays in
# [-1076, 1024], whose halves are normal powers of two.
_LOW_64 = -746.0
_HIGH_64 = 710.0
# tanh(20) rounds to 1, so exp(2|x|) is only needed up to exp(40).
_TANH_HIGH_64 = 40.0
# Below this |x|, tanh(x) = x + x**3 * H(x**2), with H a Chebyshev fit (of degree 11,
# highest coefficient first) of (tanh(x) - x) / x**3 on [0, 0.625**2]: its relative
# error, about 2e-18, is far under the float64 rounding unit.
_TANH_SMALL = 0.625
_H64 = (
    6.485163482793113e-06,
    -3.12011014257974e-05,
    9.257116129556769e-05,
    -0.0002375906496055562,
    0.0005896606577757043,
    -0.0014557754120478055,
    0.0035921217511549622,
    -0.008863235103240878,
    0.021869488519008305,
    -0.05396825396789699,
    0.13333333333333042,
    -0.3333333333333333,
)

# float32 constants, chosen in the same way (fdlibm's expf split of ln2: the head
# has 15 significant bits).
_LOG2E_32 = np.float32(1.4426950408889634)
_LN2_HI_32 = np.float32(6.9314575195e-01)
_LN2_LO_32 = np.float32(1.4286067653e-06)
_ROUND_32 = np.float32(12582912.0)  # 1.5 * 2**23
_ROUND_BITS_32 = np.int32(_ROUND_32.view(np.int32))
# 1 / n! for n = 0..7; r**8 / 8! is below 6e-9, a tenth of float32's rounding unit.
_T32 = tuple(np.float32(1.0 / math.factorial(n)) for n in range(8))
_LOW_32 = np.float32(-105.0)
_HIGH_32 = np.float32(89.0)
_TANH_HIGH_32 = np.float32(20.0)  # tanh(10) rounds to 1 in float32
_TANH_SMALL_32 = np.float32(_TANH_SMALL)
# The same fit of degree 5, with relative error about 6e-10.
_H32 = tuple(
    np.float32(c)
    for c in (
        0.002292744815349579,
        -0.008343945257365704,
        0.02176891826093197,
        -0.053959257900714874,
        0.13333304226398468,
        -0.3333333432674408,
    )
)


@njit(inline="always", **_JIT)
def _reduce64(x):
    """``(k, expm1(r))`` with ``x = k * ln2 + r``, for a float64 ``|x| < 1e6``.

    Within that range ``|k| < 2**21``, so ``k`` times the 32-bit head of ``ln2`` is
    exact and the addition of 1.5 * 2**52 rounds ``x / ln2`` to an integer.

    A NaN ``x`` gives an arbitrary ``k`` and a NaN ``expm1(r)``.
    """
    t = x * _LOG2E_64 + _ROUND_64
    k = _bits(t) - _ROUND_BITS_64
    kf = t - _ROUND_64
    # x - kf * hi is exact; the tail's product is then small against r.
    r = (x - kf * _LN2_HI_64) - kf * _LN2_LO_64
    q = _T64[13]
    q = q * r + _T64[12]
    q = q * r + _T64[11]
    q = q * r + _T64[10]
    q = q * r + _T64[9]
    q = q * r + _T64[8]
    q = q * r + _T64[7]
    q = q * r + _T64[6]
    q = q * r + _T64[5]
    q = q * r + _T64[4]
    q = q * r + _T64[3]
    q = q * r + _T64[2]
    # r is added last, to a smaller correction, so expm1(r) is rounded about once.
    return k, r + (r * r) * q


@njit(inline="always", **_JIT)
def _reduce32(x):
    """``(k, expm1(r))`` with ``x = k * ln2 + r``, for a float32 ``|x| < 350``.

    Within that range ``|k| < 2**9``, so ``k`` times the 15-bit head of ``ln2`` is
    exact.
    """
    t = x * _LOG2E_32 + _ROUND_32
    k = _bits(t) - _ROUND_BITS_32
    kf = t - _ROUND_32
    r = (x - kf * _LN2_HI_32) - kf * _LN2_LO_32
    q = _T32[7]
    q = q * r + _T32[6]
    q = q * r + _T32[5]
    q = q * r + _T32[4]
    q = q * r + _T32[3]
    q = q * r + _T32[2]
    return k, r + (r * r) * q


@njit(inline="always", **_JIT)
def _pow2_64(k):
    """``2.0**k`` for an integer ``-1022 <= k <= 1023``."""
    return _float64_from_bits((k + 1023) << 52)


@njit(inline="always", **_JIT)
def _pow2_32(k):
    """``np.float32(2)**k`` for an integer ``-126 <= k <= 127``."""
    return _float32_from_bits((k + 127) << 23)


def _exp64(x):
    # Conditional expressions, not min/max: a NaN fails both tests and is kept.
    x = _LOW_64 if x < _LOW_64 else x
    x = _HIGH_64 if x > _HIGH_64 else x
    k, p = _reduce64(x)
    # 2**k in two factors, each a normal number over the whole clamped range. The
    # first product is exact, so a subnormal or overflowing result is rounded once.
    half = k >> 1
    return ((1.0 + p) * _pow2_64(half)) * _pow2_64(k - half)


def _exp32(x):
    x = _LOW_32 if x < _LOW_32 else x
    x = _HIGH_32 if x > _HIGH_32 else x
    k, p = _reduce32(x)
    half = k >> 1
    return ((np.float32(1.0) + p) * _pow2_32(half)) * _pow2_32(k - half)


def _tanh64(x):
    a = abs(x)
    s = a * a
    h = _H64[0]
    h = h * s + _H64[1]
    h = h * s + _H64[2]
    h = h * s + _H64[3]
    h = h * s + _H64[4]
    h = h * s + _H64[5]
    h = h * s + _H64[6]
    h = h * s + _H64[7]
    h = h * s + _H64[8]
    h = h * s + _H64[9]
    h = h * s + _H64[10]
    h = h * s + _H64[11]
    small = a + a * (s * h)
    # exp(2a) for 0 <= 2a <= 40: k <= 58, a single power of two.
    u = 2.0 * a
    u = _TANH_HIGH_64 if u > _TANH_HIGH_64 else u
    k, p = _reduce64(u)
    large = 1.0 - 2.0 / ((1.0 + p) * _pow2_64(k) + 1.0)
    # A NaN fails the test and takes the second formula, which propagates it.
    t = small if a < _TANH_SMALL else large
    return np.copysign(t, x)


def _tanh32(x):
    a = abs(x)
    s = a * a
    h = _H32[0]
    h = h * s + _H32[1]
    h = h * s + _H32[2]
    h = h * s + _H32[3]
    h = h * s + _H32[4]
    h = h * s + _H32[5]
    small = a + a * (s * h)
    u = np.float32(2.0) * a
    u = _TANH_HIGH_32 if u > _TANH_HIGH_32 else u
    k, p = _reduce32(u)
    one = np.float32(1.0)
    large = one - np.float32(2.0) / ((one + p) * _pow2_32(k) + one)
    t = small if a < _TANH_SMALL_32 else large
    return np.copysign(t, x)


def _exp(x):
    """Typed by the overload below, for float64 or float32 ``x``."""
    raise NotImplementedError


def _tanh(x):
    """Typed by the overload below, for float64 or float32 ``x``."""
    raise NotImplementedError


def _by_width(f64, f32, name):
    def select(x):
        if x == types.float64:
            return f64
        if x == types.float32:
            return f32
        raise TypingError(f"{name} takes a float64 or float32 scalar, not {x}")

    return select


# The implementations are compiled as the overloads' bodies, with the reductions
# and powers of two inlined into them: one compiled function per width instead of
# a chain of five, about 0.15 seconds of a cold fit's compile time.
_OVERLOAD_JIT = dict(jit_options=dict(error_model="numpy"))
overload(_exp, **_OVERLOAD_JIT)(_by_width(_exp64, _exp32, "exp"))
overload(_tanh, **_OVERLOAD_JIT)(_by_width(_tanh64, _tanh32, "tanh"))


# Inlined: a kernel compiles only the overload.
@njit(inline="always", **_JIT)
def exp(x):
    """``e**x`` for a float64 or float32 scalar, in its dtype, without branches.

    Within 2 ulp of the correctly rounded result where it is normal (about 1 ulp in
    practice); ``exp(0) == 1`` exactly. Results that are subnormal are rounded once
    from the float64 (float32) value and may be 1 unit of the subnormal spacing off.
    Arguments beyond the range give 0 (below about -745.13 in float64, -103.97
    in float32) or inf; -inf gives 0, inf gives inf and NaN gives NaN.
    """
    return _exp(x)


# Inlined: a kernel compiles only the overload.
@njit(inline="always", **_JIT)
def tanh(x):
    """The hyperbolic tangent of a float64 or float32 scalar, in its dtype.

    Branch-free, within 2 ulp of the correctly rounded result; odd, so
    ``tanh(-0.0)`` is ``-0.0``. Saturates to exactly +-1 for large ``|x|``, including
    infinities; NaN gives NaN.
    """
    return _tanh(x)


def _view(context, builder, array_type, array, result_type, start, rows, cols):
    """A C-contiguous 2-D view of ``array``'s entries ``start`` onwards, as LLVM IR.

    Shares the data and the owner (reference-counted) of ``array``; ``start``,
    ``rows`` and ``cols`` are intp values.
    """
    source = make_array(array_type)(context, builder, array)
    view = make_array(result_type)(context, builder)
    itemsize = source.itemsize
    populate_array(
        view,
        data=builder.gep(source.data, [start], inbounds=True),
        shape=[rows, cols],
        strides=[builder.mul(cols, itemsize), itemsize],
        itemsize=itemsize,
        meminfo=source.meminfo,
        parent=source.parent,
    )
    return impl_ret_borrowed(context, builder, result_type, view._getvalue())


# An intrinsic, not a jitted function: Numba optimises a jitted callee and turns
# it into machine code on its own and again inside each caller, and ``reshape``'s
# implementation compiles helpers of its own: a tenth of a cold fit in all.
@intrinsic
def matrix_view(typingctx, array, start, rows, cols):
    """``array.ravel()[start : start + rows * cols].reshape(rows, cols)``, a view.

    ``array`` is C-contiguous, of any dimension; the caller guarantees that the
    entries exist (nothing is checked).
    """
    if not (isinstance(array, types.Array) and array.layout == "C"):
        return None
    if not all(isinstance(t, types.Integer) for t in (start, rows, cols)):
        return None
    result = array.copy(ndim=2, layout="C")

    def codegen(context, builder, signature, args):
        start, rows, cols = (
            context.cast(builder, value, kind, types.intp)
            for value, kind in zip(args[1:], signature.args[1:])
        )
        return _view(context, builder, array, args[0], result, start, rows, cols)

    return result(array, start, rows, cols), codegen


@intrinsic
def as_one_row(typingctx, Z):
    """A C-contiguous 2-D array viewed as one row; any other 2-D array unchanged.

    For jitted code, where the choice is made from ``Z``'s type: an elementwise loop
    over the rows of the result visits each element of ``Z`` once.
    """
    if not isinstance(Z, types.Array) or Z.ndim != 2:
        raise TypingError(f"as_one_row takes a 2-D array, not {Z}")

    def codegen(context, builder, signature, args):
        if Z.layout != "C":
            return impl_ret_borrowed(context, builder, Z, args[0])
        size = make_array(Z)(context, builder, args[0]).nitems
        one = context.get_constant(types.intp, 1)
        return _view(context, builder, Z, args[0], Z, one.type(0), one, size)

    return Z(Z), codegen
