"""Tests of skreg._compile: full garbage collections held while Numba compiles."""

import gc
import os
import subprocess
import sys
import threading

import pytest
from numba import njit
from numba.core import event
from numba.core.errors import TypingError
from numba.extending import overload

from skreg._compile import collecting_young_while_compiling

# ------------------------------------------- collections during a compile


def _fresh_kernel(seen, valid=True):
    """A new jitted function, never compiled: calling it compiles it.

    Its compile appends the collector's thresholds to ``seen``, from the typing of a
    new overloaded function.
    """

    def probe():
        pass

    @overload(probe)
    def probe_typing():
        seen.append(gc.get_threshold())
        return lambda: None

    if valid:
        return njit(lambda: probe())
    return njit(lambda: probe() + "a string")


def test_compiles_in_the_block_hold_full_collections_only():
    before = gc.get_threshold()
    seen = []
    with collecting_young_while_compiling():
        _fresh_kernel(seen)()
    _fresh_kernel(seen)()
    during, outside = seen
    assert during[:2] == before[:2]
    assert during[2] > 1000 * max(before[2], 1)
    assert outside == before
    assert gc.get_threshold() == before


def test_a_failed_compile_gives_the_thresholds_back():
    before = gc.get_threshold()
    with collecting_young_while_compiling(), pytest.raises(TypingError):
        _fresh_kernel([], valid=False)()
    assert gc.get_threshold() == before


def test_a_compile_under_way_at_the_end_of_the_block_gives_them_back():
    before = gc.get_threshold()
    with collecting_young_while_compiling():
        event.start_event("numba:compile")
        assert gc.get_threshold()[2] > before[2]
    assert gc.get_threshold() == before
    event.end_event("numba:compile")
    assert gc.get_threshold() == before


def test_blocks_in_two_threads_give_the_thresholds_back():
    before = gc.get_threshold()
    inside = threading.Barrier(2)

    def fit():
        with collecting_young_while_compiling():
            inside.wait()
            _fresh_kernel([])()
            inside.wait()

    workers = [threading.Thread(target=fit) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert gc.get_threshold() == before


# ------------------------------------------------------- fastmath flags


def _kernels():
    """Every compiled function defined in skreg, with its module."""
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import skreg

    for info in pkgutil.iter_modules(skreg.__path__):
        module = importlib.import_module(f"skreg.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == (
                module.__name__
            ):
                yield module, obj


def test_a_fastmath_kernel_calls_no_other_kernel():
    # Numba compiles a kernel with the fastmath flags of the first kernel that
    # calls it, and later callers reuse that compile: a fastmath caller would make
    # a fit's results depend on which kernel a process compiled first.
    checked = 0
    for module, kernel in _kernels():
        if not kernel.targetoptions.get("fastmath"):
            continue
        checked += 1
        names = kernel.py_func.__code__.co_names
        called = [name for name in names if hasattr(vars(module).get(name), "py_func")]
        assert not called, f"{kernel.py_func.__qualname__} calls {called}"
    assert checked >= 3


def test_the_penalty_value_compiles_no_kernel_with_its_flags(tmp_path):
    # In a fresh process and cache: the penalty value first, then the group
    # shrinkage that training uses; the row norm they share has no fastmath flag.
    code = """
import numpy as np
from skreg._penalties import _norm, group_shrink, value
value(np.ones((3, 4)), 1.0, 4, 0.5)
group_shrink(np.ones(4), 0.5)
assert _norm.signatures
ir = "".join(_norm.inspect_llvm().values())
print("reassoc" in ir)
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


_FIT_COUNTING_COMPILES = """
import warnings
import numpy as np
from numba.core import event
from sklearn.datasets import make_classification
from skreg import RegularizedMLPClassifier

compiles = []


class Count(event.Listener):
    def on_start(self, e):
        compiles.append(e.data["dispatcher"].py_func.__qualname__)

    def on_end(self, e):
        pass


X, y = make_classification(300, 20, n_informative=5, n_classes=3, random_state=0)
event.register("numba:compile", Count())
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    # Batches split in parts, dropout, a prediction.
    model = RegularizedMLPClassifier(
        (64,), batch_size=150, dropout=0.1, max_iter=2, random_state=0
    ).fit(X, y)
    model.predict_proba(X)
print(len(compiles), " ".join(sorted(set(compiles))))
"""


def test_a_second_process_loads_every_kernel_from_the_cache(tmp_path):
    # The first process on an empty cache compiles; the next, with the same cache,
    # compiles nothing: every kernel a fit and a prediction call is cached on disk.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    counts = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", _FIT_COUNTING_COMPILES],
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        counts.append(result.stdout.split(maxsplit=1))
    assert int(counts[0][0]) > 0
    assert counts[1] == ["0"], f"compiled again: {counts[1]}"
