"""Sections that a Ctrl-C cannot cut in half.

Python runs a signal's handler, and so raises ``KeyboardInterrupt``, between almost
any two steps of the main thread. A few sequences must not stop half-way: handing
an epoch to helper threads and taking it back (a thread left at a barrier spins
forever), a save of the last completed epoch (a half-saved model is mislabelled),
the process-wide settings a fit changes and restores. Within ``deferred_interrupts``
a SIGINT is only recorded; when the outermost section ends, the handler from before
is put back and the signal raised again, so that it acts as it would have, a moment
later.
"""

import signal
import threading

_main = threading.main_thread()
# The sections open in the main thread, the handler they replaced and whether a
# SIGINT arrived meanwhile. Only the main thread runs signal handlers.
_deferral = {"depth": 0, "previous": None, "pending": False}


def _record(signum, frame):
    _deferral["pending"] = True


class deferred_interrupts:
    """Within the block, a SIGINT waits until the block's end.

    Only in the main thread, where Python runs signal handlers, and only while the
    SIGINT handler is one that Python installed (one set from C code could not be
    put back). Blocks nest; the outermost one re-raises.
    """

    __slots__ = ("_active",)

    def __enter__(self):
        self._active = False
        if threading.current_thread() is not _main:
            return self
        if _deferral["depth"] == 0:
            previous = signal.getsignal(signal.SIGINT)
            if previous is None:
                return self
            _deferral["pending"] = False
            # From here on a SIGINT is recorded: the handler's swap is the first
            # effect of the block, and nothing before it needs undoing.
            signal.signal(signal.SIGINT, _record)
            _deferral["previous"] = previous
        _deferral["depth"] += 1
        self._active = True
        return self

    def __exit__(self, kind, value, traceback):
        if not self._active:
            return
        _deferral["depth"] -= 1
        if _deferral["depth"] > 0:
            return
        previous = _deferral["previous"]
        _deferral["previous"] = None
        # The handler first, then the record: a SIGINT before the swap is in the
        # record, one after it goes to the handler.
        signal.signal(signal.SIGINT, previous)
        pending = _deferral["pending"]
        _deferral["pending"] = False
        if pending:
            # Through the restored handler: a program's own handler, or SIG_IGN,
            # decides what the signal does, as without the block.
            signal.raise_signal(signal.SIGINT)
