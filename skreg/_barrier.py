"""Workers that share one training epoch: a spin barrier between nogil kernels.

An epoch of a large network can run on several threads: each computes the errors of
some parts of every batch, then the gradient and the update of some parts of the
parameters (see ``_epoch.run_epoch_parts``). Between those phases each waits for the
others at a barrier: a counter per worker, raised with a release store and watched
with acquire loads, so what one worker wrote before the barrier is visible to the
others after it. The phases of a batch take hundreds of microseconds, too short to
sleep and wake a thread, so a waiting worker spins; after ``SPINS`` turns it yields
its core at each turn instead (``sched_yield``, on POSIX systems): another worker
may be waiting for a core, held by a thread that spins itself, such as an idle BLAS
thread.

The counters live in an int64 array of ``flags_size(n_workers)`` entries, one
cache line apart, so no two share a line.
"""

import os
import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._compile import JIT as _JIT

# Entries between two workers' counters: 64 bytes.
STRIDE = 8


def flags_size(n_workers):
    """Entries of the counters of ``n_workers`` workers, one cache line each."""
    return n_workers * STRIDE


# Turns of a waiting worker before it starts to yield: some tens of microseconds.
SPINS = 1000

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def _pointer(context, builder, array_type, array, index):
    view = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, view, [index])


@intrinsic
def _load_acquire(typingctx, array, index):
    """``array[index]`` of an int64 array, read with acquire ordering."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, index), codegen


@intrinsic
def _store_release(typingctx, array, index, value):
    """``array[index] = value`` in an int64 array, written with release ordering."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1])
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def _spin_pause(typingctx):
    """A hint to the processor that this thread is spinning (``pause`` on x86)."""

    def codegen(context, builder, signature, args):
        if _X86:
            kind = ir.FunctionType(ir.VoidType(), [])
            pause = cgutils.get_or_insert_function(
                builder.module, kind, "llvm.x86.sse2.pause"
            )
            builder.call(pause, [])
        return context.get_dummy_value()

    return types.void(), codegen


if os.name == "posix":
    # Called by its name, which the linker finds in the C library: the compiled
    # code holds no address, and stays in Numba's cache.
    _sched_yield = types.ExternalFunction("sched_yield", types.int32())

    @njit(**_JIT)
    def _yield():
        _sched_yield()

else:  # pragma: no cover

    @njit(**_JIT)
    def _yield():
        _spin_pause()


@njit(**_JIT)
def barrier(flags, worker, count, n_workers):
    """Wait until every other worker has also reached barrier number ``count``.

    ``worker`` is one of ``0 .. n_workers - 1``; ``count`` rises by one at each
    barrier of an epoch and ``flags`` (``flags_size(n_workers)`` entries) holds
    zeros at its start.
    """
    _store_release(flags, worker * STRIDE, count)
    for other in range(n_workers):
        if other == worker:
            continue
        spins = 0
        while _load_acquire(flags, other * STRIDE) < count:
            if spins < SPINS:
                spins += 1
                _spin_pause()
            else:
                _yield()
