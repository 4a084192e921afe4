"""Collection settings for the doctests of the ``skreg`` modules."""

import importlib.util

import pytest

# Doctests that draw, by name; matplotlib is an optional dependency.
_NEED_MATPLOTLIB = {"skreg._plotting.plot_training_curves"}


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("matplotlib") is not None:
        return
    skip = pytest.mark.skip(reason="matplotlib is not installed")
    for item in items:
        if item.name in _NEED_MATPLOTLIB:
            item.add_marker(skip)
