"""Thread policy: the BLAS at one thread, the threads at hand, an epoch's workers.

A multi-threaded BLAS may round some entries by its thread count, so every product
of a fit, and of a large prediction, runs on one BLAS thread (``one_blas_thread``);
a fit's own threads share an epoch's work in a way fixed by the problem alone
(``EpochWorkers``), so results never depend on the threads at hand.
"""

import os
import threading
import time

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from ._barrier import STRIDE, flags_size
from ._epoch import run_epoch_parts
from ._interrupts import deferred_interrupts

_threads = {"lock": threading.Lock(), "busy": False, "blas": None, "libraries": None}
# Blocks of ``one_blas_thread`` under way in this process, and the BLAS's thread
# counts from before the first of them, restored when the last one ends.
_single = {"lock": threading.Lock(), "blocks": 0, "saved": None}
_per_thread = threading.local()


def _blas_controller():
    """A cached ``ThreadpoolController`` of the BLAS libraries of the process."""
    if _threads["blas"] is None:
        # Numba's np.dot calls the BLAS behind scipy's Cython bindings: load it
        # before the controller lists the libraries it can limit.
        import scipy.linalg.cython_blas  # noqa: F401

        _threads["blas"] = ThreadpoolController().select(user_api="blas")
    return _threads["blas"]


def _set_threads(controller, count):
    # threadpoolctl ignores a thread's request for a process-wide pool while
    # another thread "controls" it; the blocks below share the count by
    # reference counting instead, so any thread may set it.
    getattr(controller, "_real_set_num_threads", controller.set_num_threads)(count)


def _kernels_blas(controllers):
    """The controllers of the BLAS that Numba's ``np.dot`` calls: scipy's.

    NumPy's wheels bring a BLAS of their own, which the kernels never call, so a
    fit leaves its thread count alone. Where no library lies within scipy's
    installation (one BLAS shared by the environment), all of them.
    """
    import scipy

    root = os.path.realpath(os.path.dirname(scipy.__file__))
    # "scipy.libs" (Linux, Windows) and "scipy/.dylibs" (macOS) both start so.
    ours = [c for c in controllers if os.path.realpath(c.filepath).startswith(root)]
    return ours or list(controllers)


def _blas_libraries():
    if _threads.get("libraries") is None:
        controllers = _kernels_blas(_blas_controller().lib_controllers)
        # A BLAS on OpenMP takes its count per thread; the others, one for the
        # process.
        _threads["libraries"] = (
            [c for c in controllers if c.threading_layer != "openmp"],
            [c for c in controllers if c.threading_layer == "openmp"],
        )
    return _threads["libraries"]


def _blas_threads():
    shared, local = _blas_libraries()
    counts = _single["saved"]  # one read, atomic: no lock a Ctrl-C could keep
    if counts is None:
        counts = [c.num_threads for c in shared]
    counts = counts + getattr(_per_thread, "saved", [c.num_threads for c in local])
    return min(counts, default=1)


class one_blas_thread:
    """Within the block, the BLAS calls of the kernels run on one thread.

    A multi-threaded BLAS may split a product's work by its thread count, and
    some of its kernels (OpenBLAS's Haswell and Prescott ones among them) then
    round some entries differently, so results would depend on the machine's
    threads. Blocks may overlap, in one thread or in several: the counts from
    before the first are restored when the last ends, so that one fit's block
    never ends another's early. Entering and leaving cannot be cut short by a
    Ctrl-C, which would leave the BLAS at one thread for the rest of the process.
    """

    __slots__ = ("_counted", "_local")

    def __init__(self):
        self._counted = self._local = False

    def __enter__(self):
        try:
            self._enter()
            return self
        except BaseException:
            # Also a Ctrl-C that waited for the end of the entry: the block is
            # not entered, so its exit would never run.
            self.__exit__(None, None, None)
            raise

    def _enter(self):
        shared, local = _blas_libraries()
        with deferred_interrupts():
            with _single["lock"]:
                if _single["blocks"] == 0:
                    saved = [c.num_threads for c in shared]
                    for c, n in zip(shared, saved):
                        if n != 1:
                            _set_threads(c, 1)
                    _single["saved"] = saved
                _single["blocks"] += 1
                self._counted = True
            # The outermost block of this thread sets its per-thread counts.
            if local and getattr(_per_thread, "saved", None) is None:
                _per_thread.saved = [c.num_threads for c in local]
                self._local = True
                for c in local:
                    _set_threads(c, 1)

    def __exit__(self, kind, value, traceback):
        shared, local = _blas_libraries()
        with deferred_interrupts():
            if self._local:
                self._local = False
                for c, n in zip(local, _per_thread.saved):
                    _set_threads(c, n)
                del _per_thread.saved
            if self._counted:
                self._counted = False
                with _single["lock"]:
                    _single["blocks"] -= 1
                    if _single["blocks"] == 0:
                        for c, n in zip(shared, _single["saved"]):
                            if n != 1:
                                _set_threads(c, n)
                        _single["saved"] = None


def with_one_blas_thread(call, *args):
    """``call(*args)`` inside ``one_blas_thread``, left even when a Ctrl-C cuts the
    ``with`` short before its exit runs."""
    block = one_blas_thread()
    try:
        with block:
            return call(*args)
    except BaseException:
        block.__exit__(None, None, None)
        raise


def available_threads():
    """Threads an epoch or a prediction may use: the fewer of Numba's and the BLAS's.

    joblib lowers both in its worker processes, Dask's workers the BLAS's, and
    ``threadpoolctl.threadpool_limits`` the BLAS's within its block. Inside
    ``one_blas_thread``, the BLAS's count is the one from before the block.
    """
    return min(numba.config.NUMBA_NUM_THREADS, _blas_threads())


def _helper(arguments, team, errors):
    try:
        run_epoch_parts(*arguments, team)
    except BaseException as error:  # pragma: no cover - the kernel does not raise
        errors.append(error)
        # Past every barrier of the epoch, so the other workers cannot wait forever.
        team[2][team[0] * STRIDE] = np.iinfo(np.int64).max


class _Choice:
    """Whether the next epoch runs on several threads or on one, by the clock.

    The results do not depend on it, so the choice may follow the timings (in
    seconds per sample). The first epoch may compile and is not timed; the next is
    timed on several threads, the one after on one, and the faster way is kept; a fit
    of the same problem earlier in the process (``known``: its timings and its
    interval between trials) spares those, its first epoch timed. The
    other way is tried again when two epochs in a row of the kept way take a
    quarter longer than its best (another process took a core); kept on one
    thread, several are tried again after 2, 4, 8, ... up to 64 epochs, in case the
    other process ended.
    """

    SLOWER = 1.25
    LONGEST = 64

    def __init__(self, known=None):
        latest, interval = known or ({}, 2)
        self.latest = dict(latest)
        self._best = dict(self.latest)
        self._two = min(self.latest, key=self.latest.get) if latest else True
        # A known problem has its kernels compiled: its first epoch is timed, and
        # the way not timed yet is tried at once.
        self._probe = len(self.latest) == 1
        self._timed = 1 if known else 0
        self._since = 0
        self._slow = 0
        self._interval = interval

    def known(self):
        """What the next fit of the same problem starts from."""
        return dict(self.latest), self._interval

    def two_threads(self):
        """Whether the next epoch runs on several threads."""
        return self._two != self._probe

    def record(self, two, seconds):
        """The time of an epoch that ran on several threads (``two``) or on one."""
        self._timed += 1
        if self._timed == 1:
            return
        self.latest[two] = seconds
        self._best[two] = min(self._best.get(two, seconds), seconds)
        if self._probe:
            self._probe = False
            kept = min(self.latest, key=self.latest.get)
            if kept != self._two and not kept:
                self._interval = 2
            self._two = kept
            self._since = self._slow = 0
            return
        self._since += 1
        slower = seconds > self.SLOWER * self._best.get(self._two, seconds)
        self._slow = self._slow + 1 if slower else 0
        periodic = not self._two and self._since >= self._interval
        if len(self.latest) < 2 or self._slow >= 2 or periodic:
            self._probe = True
            if periodic:
                self._interval = min(2 * self._interval, self.LONGEST)


# Per problem (layer sizes, batch size, dtype, input kind): the latest epoch
# times per sample of each way and the interval between trials, for the next fit
# of the same problem.
_known = {}


class EpochWorkers:
    """Runs the ``run_epoch_parts`` epochs of one fit on one or more threads.

    ``epoch(arguments)`` is ``run_epoch_parts(*arguments, team)`` on ``threads``
    threads (at most the parts of a batch) when ``threads >= 2`` and no other fit
    of this process runs its epoch on several threads at this moment (two such
    fits would spin against each other for the cores): each then calls the BLAS
    single-threaded. The result is the same either way. The helper threads are
    started at the first epoch on several threads and wait for the next one, so
    that an epoch does not pay for the start of a thread; ``close()`` ends them.
    """

    def __init__(self, threads=1):
        self.threads = threads
        self.problem = None
        self.samples = 1
        self._choice = None
        self._helpers = []
        self._job = None
        self._starts = []
        self._done = threading.Semaphore(0)
        self._errors = []

    def _serve(self, number):
        while True:
            self._starts[number - 1].acquire()
            if self._job is None:
                return
            arguments, flags, shared, n_workers = self._job
            if number < n_workers:
                with one_blas_thread():
                    _helper(arguments, (number, n_workers, flags, shared), self._errors)
            self._done.release()

    def close(self):
        """End the helper threads, if any were started."""
        with deferred_interrupts():
            if self._choice is not None and self._choice.latest:
                with _threads["lock"]:
                    _known[self.problem] = self._choice.known()
            if self._helpers:
                self._job = None
                for start in self._starts:
                    start.release()
                for helper in self._helpers:
                    helper.join()
                self._helpers = []
                self._starts = []

    def epoch(self, arguments):
        """One epoch: what ``run_epoch`` returns.

        On several threads when there are several, no other fit of this process
        holds them, and the clock says they are faster (``_Choice``). A Ctrl-C
        waits for the epoch's end: cut short, the hand-over could leave a helper
        at a barrier for ever, or the several-thread mode held.
        """
        count = arguments[-1][0]
        shared = np.zeros(count * STRIDE)
        with deferred_interrupts():
            with _threads["lock"]:
                if self._choice is None:
                    self._choice = _Choice(_known.get(self.problem))
                many = (
                    self.threads >= 2
                    and self._choice.two_threads()
                    and not _threads["busy"]
                )
                if many:
                    _threads["busy"] = True
            start = time.perf_counter()
            try:
                if many:
                    return self._epoch_on_threads(arguments, shared)
                flags = np.zeros(flags_size(1), dtype=np.int64)
                return run_epoch_parts(*arguments, (-1, 1, flags, shared))
            finally:
                if self.threads >= 2:
                    seconds = time.perf_counter() - start
                    self._choice.record(many, seconds / self.samples)
                if many:
                    with _threads["lock"]:
                        _threads["busy"] = False

    def _start_helpers(self, n_workers):
        while len(self._helpers) < n_workers - 1:
            number = len(self._helpers) + 1
            helper = threading.Thread(target=self._serve, args=(number,), daemon=True)
            self._starts.append(threading.Semaphore(0))
            try:
                helper.start()
            except RuntimeError:  # no more threads to be had
                self._starts.pop()
                break
            self._helpers.append(helper)
        return len(self._helpers) + 1

    def _epoch_on_threads(self, arguments, shared):
        n_workers = self._start_helpers(min(self.threads, arguments[-1][0]))
        flags = np.zeros(flags_size(n_workers), dtype=np.int64)
        if n_workers < 2:
            return run_epoch_parts(*arguments, (-1, 1, flags, shared))
        self._job = (arguments, flags, shared, n_workers)
        for start in self._starts:
            start.release()
        try:
            result = run_epoch_parts(*arguments, (0, n_workers, flags, shared))
        finally:
            flags[0] = np.iinfo(np.int64).max
            for _ in self._starts:
                self._done.acquire()
        if self._errors:  # pragma: no cover
            raise self._errors[0]
        return result
