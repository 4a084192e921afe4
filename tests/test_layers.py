"""The package's three layers: estimators over drivers over kernels.

Each module belongs to one layer and imports only from its own layer or below, so
a kernel never reaches up into Python loops and a driver never into scikit-learn
glue. Only the kernels compile; the drivers may read Numba's thread setting; the
estimators do not import Numba at all.
"""

import ast
import pathlib

import pytest

import skreg

PACKAGE = pathlib.Path(skreg.__file__).parent

LAYERS = {
    # What every layer may use: no import from the package, no Numba.
    "helpers": {"_interrupts", "_unavailable", "_docstrings", "_version"},
    # NumPy and Numba only: what runs inside a fit's and a prediction's loops.
    "kernels": {
        "_compile",
        "_math",
        "_random",
        "_activations",
        "_losses",
        "_penalties",
        "_optimizers",
        "_layout",
        "_forward",
        "_gradient",
        "_barrier",
        "_epoch",
    },
    # Python loops around the kernels: an epoch loop, a full-batch solve, the
    # threads, predictions, the checks of a model's state, pruning.
    "drivers": {
        "_parallel",
        "_stochastic",
        "_full_batch",
        "_prediction",
        "_state",
        "_pruning",
    },
    # scikit-learn glue: the estimators, their parameters, searches and exports.
    "estimators": {
        "_validation",
        "_callbacks",
        "_base",
        "_mlp",
        "_path",
        "_search",
        "_cv",
        "_selection",
        "_plotting",
        "_onnx",
        "__init__",
    },
}
RANK = {name: rank for rank, layer in enumerate(LAYERS.values()) for name in layer}


def _imports(module):
    """The package modules and the top-level packages ``module`` imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    inner, outer = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                inner.add(node.module)
            else:
                inner.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            outer.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            outer.update(alias.name.split(".")[0] for alias in node.names)
    return inner, outer


def test_every_module_has_a_layer():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert modules == set(RANK)


@pytest.mark.parametrize("module", sorted(RANK))
def test_a_module_imports_only_from_its_layer_or_below(module):
    inner, outer = _imports(module)
    above = sorted(name for name in inner if RANK[name] > RANK[module])
    assert not above, f"{module} imports {above} from a layer above"
    if module in LAYERS["drivers"]:
        assert "njit" not in (PACKAGE / f"{module}.py").read_text()
    elif module not in LAYERS["kernels"]:
        assert "numba" not in outer and "llvmlite" not in outer
