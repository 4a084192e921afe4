"""Compilation: the one set of Numba options, and garbage collection while compiling."""

import gc
import threading

from numba.core import event

from ._interrupts import deferred_interrupts

# Every kernel: cached on disk, free of the GIL, and with NumPy's error model
# (a division by zero gives inf or NaN, as in NumPy, instead of raising).
JIT = dict(cache=True, nogil=True, error_model="numpy")

# A compile creates and drops hundreds of thousands of Python objects, and each
# full collection walks every object of the process (its share of a cold fit is
# on the performance page). During the compiles that a fit starts, only the young
# generations are collected: their garbage is freed as usual, and what reaches the
# old generation waits for the next full collection.
_collections = {"lock": threading.Lock(), "compiles": 0, "thresholds": None}


def _hold_full_collections(listener):
    # Idempotent per listener, and whole or not at all under a Ctrl-C: the
    # thresholds are the process's.
    with deferred_interrupts(), _collections["lock"]:
        if listener.held:
            return
        if _collections["compiles"] == 0:
            thresholds = gc.get_threshold()
            _collections["thresholds"] = thresholds
            gc.set_threshold(thresholds[0], thresholds[1], 1 << 30)
        _collections["compiles"] += 1
        listener.held = True


def _release_full_collections(listener):
    with deferred_interrupts(), _collections["lock"]:
        if not listener.held:
            return
        listener.held = False
        _collections["compiles"] -= 1
        if _collections["compiles"] == 0:
            gc.set_threshold(*_collections["thresholds"])


class _CompileListener(event.Listener):
    """Holds full collections from the start of a compile to its end."""

    def __init__(self):
        self.depth = 0
        self.held = False
        self.registered = False

    def on_start(self, compile_event):
        self.depth += 1
        if self.depth == 1:
            _hold_full_collections(self)

    def on_end(self, compile_event):
        self.depth -= 1
        if self.depth == 0:
            _release_full_collections(self)


class collecting_young_while_compiling:
    """Within the block, the compiles of Numba collect only young garbage.

    Compiles already started elsewhere are unaffected; one still under way when
    the block ends gets the full collections back then. Leaving is idempotent, so
    a caller whose ``with`` a Ctrl-C cut short can leave again.
    """

    __slots__ = ("_listener",)

    def __init__(self):
        self._listener = _CompileListener()

    def __enter__(self):
        with deferred_interrupts():
            event.register("numba:compile", self._listener)
            self._listener.registered = True
        return self

    def __exit__(self, kind, value, traceback):
        listener = self._listener
        with deferred_interrupts():
            if listener.registered:
                listener.registered = False
                event.unregister("numba:compile", listener)
            _release_full_collections(listener)
