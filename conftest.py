"""Collection settings for the doctests of the ``skreg`` modules."""

import importlib.util

import pytest

# Doctests that need optional dependencies, by name: what each one imports.
_NEED = {
    "skreg._plotting.plot_training_curves": ("matplotlib",),
    "skreg._onnx.register_onnx_converters": ("skl2onnx", "onnxruntime"),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        missing = [
            name
            for name in _NEED.get(item.name, ())
            if importlib.util.find_spec(name) is None
        ]
        if missing:
            reason = f"{', '.join(missing)} not installed"
            item.add_marker(pytest.mark.skip(reason=reason))
