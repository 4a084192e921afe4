"""Checks of a fitted model's state: tampered arrays are refused, never run.

The compiled kernels trust the shapes they are given, so a weight matrix, an
intercept or an optimizer moment of the wrong shape used to make them read or write
outside an array and kill the interpreter (SIGSEGV or SIGABRT). Every way into a
kernel now checks the state first and raises a ``ValueError`` that names the
mismatch. A model can be tampered with three ways: by setting its attributes, by
editing the state a pickle restores, or by editing the arrays of a skops file; each
is tried here.

Whatever runs a kernel on a tampered model runs in a child process, whose return
code is checked: were a check missing, the child would die of a signal while this
process lives on to report it. The child prints the error it caught, one line per
case, and the tests read those lines. Loading a pickle or building an ONNX graph runs
no kernel, so those tests run here.
"""

import io
import json
import pickle
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

# Small enough that a child process, its import and Numba's start included, takes a
# few seconds; large enough that a read past an array would leave its allocation.
_rng = np.random.RandomState(0)
X = _rng.randn(300, 20)
X32 = X.astype(np.float32)
Y_BINARY = (X[:, 0] + X[:, 1] > 0).astype(int)
Y_MULTICLASS = np.digitize(X[:, 0], [-0.5, 0.5])
Y_MULTILABEL = (X[:, :3] > 0).astype(int)
Y_REGRESSION = np.column_stack([X[:, 0] - X[:, 1], X[:, 2]])

# name: (estimator, parameters, X, y)
_MODELS = {
    "binary": (RegularizedMLPClassifier, {}, X, Y_BINARY),
    "float32": (RegularizedMLPClassifier, {}, X32, Y_BINARY),
    "multiclass": (RegularizedMLPClassifier, {}, X, Y_MULTICLASS),
    "multilabel": (RegularizedMLPClassifier, {}, X, Y_MULTILABEL),
    "regressor": (RegularizedMLPRegressor, {}, X, Y_REGRESSION),
    "sgd": (RegularizedMLPClassifier, {"solver": "sgd"}, X, Y_BINARY),
    "lbfgs": (RegularizedMLPClassifier, {"solver": "lbfgs"}, X, Y_BINARY),
}


def _fit(kind):
    Estimator, params, X, y = _MODELS[kind]
    with warnings.catch_warnings():
        # Two epochs do not converge, on purpose: the state is what matters.
        warnings.simplefilter("ignore")
        model = Estimator((50,), max_iter=2, random_state=0, **params).fit(X, y)
    return model, X, y


# ----------------------------------------------------------------- tamperings
#
# Each takes a model's attributes (its ``__dict__``) or the state a pickle holds,
# and replaces entries rather than changing the arrays in place, so that the state
# of a pickle can be edited without touching the model it came from.


def _short_moments(state):
    # The optimizer's moments cut to 10 of the network's 1101 parameters: an
    # update of all the weights would write past them.
    optimizer = state["_optimizer_state"]
    state["_optimizer_state"] = {
        **optimizer,
        "first": optimizer["first"][:10].copy(),
        "second": None
        if optimizer["second"] is None
        else optimizer["second"][:10].copy(),
    }


def _short_intercept(state):
    # One intercept for 50 hidden units: adding it would read 49 past its end.
    state["intercepts_"] = [np.zeros(1), *state["intercepts_"][1:]]


def _dropped_layer(state):
    # The output layer gone while n_layers_ still says 3.
    state["coefs_"] = state["coefs_"][:1]
    state["intercepts_"] = state["intercepts_"][:1]


def _mixed_dtype(state):
    # A matrix of the other float type, in a network whose kernels run in one.
    coefs = list(state["coefs_"])
    other = np.float32 if coefs[1].dtype == np.float64 else np.float64
    coefs[1] = coefs[1].astype(other)
    state["coefs_"] = coefs


def _few_rows(state):
    # A first matrix of 5 rows for 20 input features.
    state["coefs_"] = [state["coefs_"][0][:5].copy(), *state["coefs_"][1:]]


def _extra_output(state):
    # An output the last matrix has no column for.
    state["n_outputs_"] += 1


def _extra_class(state):
    # A class the network has no output for.
    state["classes_"] = np.arange(len(state["classes_"]) + 1)


def _negative_step(state):
    # Adam's bias correction, 1 - beta ** step, is negative for a negative step.
    state["_optimizer_state"] = {**state["_optimizer_state"], "step": -1}


def _nan_weight(state):
    # The right shape, a value no prediction can use.
    W = state["coefs_"][0].copy()
    W[0, 0] = np.nan
    state["coefs_"] = [W, *state["coefs_"][1:]]


def _nan_moment(state):
    optimizer = state["_optimizer_state"]
    first = optimizer["first"].copy()
    first[3] = np.inf
    state["_optimizer_state"] = {**optimizer, "first": first}


# name: (tampering, what the error must say)
_TAMPERINGS = {
    "short_moments": (
        _short_moments,
        r"the optimizer's 'first' moment is an array of shape \(10,\)",
    ),
    "short_intercept": (
        _short_intercept,
        r"intercepts_\[0\] is an array of shape \(1,\) .*expected shape \(50,\)",
    ),
    "dropped_layer": (
        _dropped_layer,
        r"n_layers_ is 3, but coefs_ holds 1 weight matrices",
    ),
    "mixed_dtype": (
        _mixed_dtype,
        r"coefs_\[1\] is an array of shape \(50, \d+\) and dtype float(32|64), "
        r"expected 50 rows and dtype float(32|64)",
    ),
    "few_rows": (
        _few_rows,
        r"coefs_\[0\] is an array of shape \(5, 50\) .*expected 20 rows "
        r".*\(n_features_in_\)",
    ),
    "extra_output": (
        _extra_output,
        r"the last weight matrix has \d+ columns, but n_outputs_ is \d+",
    ),
    "extra_class": (
        _extra_class,
        r"\d+ classes need \d+ outputs, but the network has \d+",
    ),
    "negative_step": (_negative_step, r"the optimizer's step count is -1"),
    "nan_weight": (_nan_weight, r"not finite"),
    "nan_moment": (_nan_moment, r"not finite"),
}

_ACTIONS = {
    "predict": lambda model, X, y: model.predict(X),
    "predict_proba": lambda model, X, y: model.predict_proba(X),
    "score": lambda model, X, y: model.score(X, y),
    "partial_fit": lambda model, X, y: model.partial_fit(X, y),
    "warm_start": lambda model, X, y: model.set_params(warm_start=True).fit(X, y),
    "prune": lambda model, X, y: model.prune(),
}

# (model, tampering, action). The first four are the issue's, which killed the
# interpreter; the others reach a kernel the same way.
_ATTRIBUTE_CASES = [
    ("binary", "short_moments", "partial_fit"),
    ("binary", "short_intercept", "warm_start"),
    ("binary", "short_intercept", "predict_proba"),
    ("binary", "dropped_layer", "predict_proba"),
    ("binary", "short_intercept", "predict"),
    ("binary", "short_intercept", "score"),
    ("binary", "short_intercept", "partial_fit"),
    ("binary", "short_intercept", "prune"),
    ("binary", "short_moments", "prune"),
    ("binary", "short_moments", "warm_start"),
    ("sgd", "short_moments", "partial_fit"),
    ("binary", "dropped_layer", "partial_fit"),
    ("binary", "mixed_dtype", "predict"),
    ("binary", "mixed_dtype", "partial_fit"),
    ("float32", "mixed_dtype", "predict_proba"),
    ("binary", "few_rows", "predict_proba"),
    ("binary", "few_rows", "warm_start"),
    ("binary", "extra_output", "predict_proba"),
    ("binary", "extra_class", "predict_proba"),
    ("multiclass", "extra_class", "predict"),
    ("multilabel", "extra_class", "predict_proba"),
    ("binary", "negative_step", "partial_fit"),
    ("regressor", "short_intercept", "predict"),
    ("regressor", "short_moments", "partial_fit"),
    ("regressor", "extra_output", "predict"),
    ("regressor", "few_rows", "score"),
    ("regressor", "dropped_layer", "prune"),
]


def _case_id(case):
    return "-".join(case)


# ------------------------------------------------------------ child processes


def _report(name, function, *args):
    # One line per case, flushed at once: were the child to die, the lines before
    # would still tell which case killed it.
    try:
        function(*args)
    except ValueError as error:
        print(f"{name}\tValueError: {error}", flush=True)
    except Exception as error:  # reported, for the parent to fail on
        message = str(error).replace("\n", " ")
        print(f"{name}\t{type(error).__name__}: {message}", flush=True)
    else:
        print(f"{name}\tno error", flush=True)


def _tamper_and_run(kind, tampering, action):
    model, X, y = _fit(kind)
    _TAMPERINGS[tampering][0](model.__dict__)
    _ACTIONS[action](model, X, y)


def _load_and_predict(path):
    import skops.io as sio

    # What a user is told to do: trust the types the file names.
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    model.predict_proba(X)


def _child_attribute_cases():
    for case in _ATTRIBUTE_CASES:
        _report(_case_id(case), _tamper_and_run, *case)


def _child_load_skops(*paths):
    for path in paths:
        _report(Path(path).stem, _load_and_predict, path)


def _run_child(function, *args):
    # The child imports this file, so that it runs exactly the cases defined here.
    script = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import test_state\n"
        f"test_state.{function}(*sys.argv[1:])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _outcome(result, name):
    # A negative return code is the signal that killed the child.
    assert result.returncode == 0, (
        f"the child process died with return code {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-3000:]}"
    )
    lines = dict(
        line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line
    )
    assert name in lines, result.stdout
    return lines[name]


def _assert_refused(outcome, pattern):
    assert outcome.startswith("ValueError: "), outcome
    assert "inconsistent fitted state" in outcome, outcome
    assert re.search(pattern, outcome), f"{pattern!r} not in {outcome!r}"


@pytest.fixture(scope="module")
def attribute_child():
    # One child runs every attribute case: each costs milliseconds, a child's start
    # seconds.
    return _run_child("_child_attribute_cases")


@pytest.mark.parametrize("case", _ATTRIBUTE_CASES, ids=_case_id)
def test_tampered_attributes_are_refused_without_crashing(attribute_child, case):
    pattern = _TAMPERINGS[case[1]][1]
    _assert_refused(_outcome(attribute_child, _case_id(case)), pattern)


# ------------------------------------------------------------------- pickles

# (model, tampering): every tampering on the binary classifier, and some on the
# other kinds.
_PICKLE_CASES = [("binary", name) for name in _TAMPERINGS] + [
    ("float32", "mixed_dtype"),
    ("multilabel", "extra_class"),
    ("regressor", "short_intercept"),
    ("regressor", "extra_output"),
    ("sgd", "short_moments"),
]


@pytest.mark.parametrize("case", _PICKLE_CASES, ids=_case_id)
def test_pickle_of_a_tampered_model_is_refused_at_load(case):
    # pickle.dumps saves whatever the model holds; the check runs in __setstate__,
    # before the loaded model can reach a kernel. Values too: a non-finite weight
    # in a file is refused there.
    kind, tampering = case
    tamper, pattern = _TAMPERINGS[tampering]
    model, _, _ = _fit(kind)
    tamper(model.__dict__)
    saved = pickle.dumps(model)
    with pytest.raises(ValueError, match="inconsistent fitted state: .*" + pattern):
        pickle.loads(saved)


@pytest.mark.parametrize("case", _PICKLE_CASES, ids=_case_id)
def test_setstate_refuses_an_edited_state(case):
    # The state a pickle restores, edited between save and load, as a crafted
    # file would hold it. A copy: on Python 3.11 and later __getstate__ returns
    # the model's own __dict__.
    kind, tampering = case
    tamper, pattern = _TAMPERINGS[tampering]
    model, _, _ = _fit(kind)
    state = dict(model.__getstate__())
    tamper(state)
    restored = object.__new__(type(model))
    with pytest.raises(ValueError, match="inconsistent fitted state: .*" + pattern):
        restored.__setstate__(state)


def _genuine(kind):
    if kind != "pruned":
        return _fit(kind)
    # Ten hidden units with no incoming weights: prune() folds them away and cuts
    # the optimizer's state to match, a smaller network that must still pass.
    model, X, y = _fit("binary")
    model.coefs_[0][:, :10] = 0
    return model.prune(), X, y


_GENUINE = ["binary", "float32", "multiclass", "multilabel", "regressor"]
_GENUINE += ["sgd", "lbfgs", "pruned"]


def _output(model, X):
    if isinstance(model, RegularizedMLPClassifier):
        return model.predict_proba(X)
    return model.predict(X)


def test_genuine_models_hold_the_states_they_stand_for():
    # The variants below cover each form the checked state takes.
    assert _genuine("float32")[0].coefs_[0].dtype == np.float32
    assert _genuine("lbfgs")[0]._optimizer_state is None
    assert _genuine("sgd")[0]._optimizer_state["second"] is None
    assert _genuine("pruned")[0].coefs_[0].shape == (20, 40)


@pytest.mark.parametrize("kind", _GENUINE)
def test_genuine_model_round_trips_through_pickle(kind):
    # The check must refuse nothing a fit, or prune(), produced.
    model, X, _ = _genuine(kind)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(_output(restored, X), _output(model, X))


@pytest.mark.parametrize("kind", _GENUINE)
def test_genuine_model_trains_on_after_a_round_trip(kind):
    # Continuing checks the state again, the optimizer's included.
    model, X, y = _genuine(kind)
    restored = pickle.loads(pickle.dumps(model))
    if kind == "lbfgs":
        restored.set_params(warm_start=True).fit(X, y)
    else:
        restored.partial_fit(X, y)
    assert np.isfinite(_output(restored, X)).all()


def test_onnx_converter_refuses_a_tampered_model():
    # The graph would be built and fail only at inference, somewhere else.
    skl2onnx = pytest.importorskip("skl2onnx")
    from skreg import register_onnx_converters

    register_onnx_converters()
    model, X, _ = _fit("binary")
    _short_intercept(model.__dict__)
    with pytest.raises(ValueError, match=r"inconsistent fitted state: intercepts_"):
        skl2onnx.to_onnx(model, X[:1].astype(np.float32))


# --------------------------------------------------------------- skops files

# name: (attribute, index or key, the new array from the saved one). The names are
# those of the tamperings whose message the load must give.
_SKOPS_EDITS = {
    "short_intercept": ("intercepts_", 0, lambda a: np.zeros(1)),
    "short_moments": ("_optimizer_state", "first", lambda a: a[:10].copy()),
    "mixed_dtype": ("coefs_", 1, lambda a: a.astype(np.float32)),
    "nan_weight": ("coefs_", 0, lambda a: np.where(a == a[0, 0], np.nan, a)),
}


def _edit_skops(path, out, attribute, key, change):
    """Write ``out``, ``path`` with one array replaced; return the array replaced.

    A skops file is a zip archive: schema.json describes the object, and names the
    .npy member that holds each array. Every other member is copied unchanged.
    """
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        # The model's node holds a dict node of its attributes; a list's items and
        # a dict's values are under "content" too.
        member = schema["content"]["content"][attribute]["content"][key]["file"]
        old = np.load(io.BytesIO(archive.read(member)))
        buffer = io.BytesIO()
        np.save(buffer, change(old))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as edited:
            for info in archive.infolist():
                if info.filename == member:
                    edited.writestr(info, buffer.getvalue())
                else:
                    edited.writestr(info, archive.read(info))
    return old


@pytest.fixture(scope="module")
def skops_files(tmp_path_factory):
    sio = pytest.importorskip("skops.io")
    model, _, _ = _fit("binary")
    folder = tmp_path_factory.mktemp("skops")
    genuine = folder / "genuine.skops"
    sio.dump(model, genuine)
    files = {"genuine": genuine}
    for name, (attribute, key, change) in _SKOPS_EDITS.items():
        files[name] = folder / f"{name}.skops"
        old = _edit_skops(genuine, files[name], attribute, key, change)
        # The member replaced is the one that held the attribute.
        np.testing.assert_array_equal(old, getattr(model, attribute)[key])
    return files


@pytest.fixture(scope="module")
def skops_child(skops_files):
    # One child loads every file, the genuine one first.
    return _run_child("_child_load_skops", *skops_files.values())


def test_genuine_skops_file_loads_and_predicts_in_the_child(skops_child):
    # The child's way of loading works: only the edits are refused.
    assert _outcome(skops_child, "genuine") == "no error"


@pytest.mark.parametrize("edit", list(_SKOPS_EDITS))
def test_edited_skops_file_is_refused_without_crashing(skops_child, edit):
    _assert_refused(_outcome(skops_child, edit), _TAMPERINGS[edit][1])


@pytest.mark.parametrize("edit", list(_SKOPS_EDITS))
def test_edited_skops_file_asks_to_trust_the_same_types(skops_files, edit):
    # Why trusting the types a file names protects no one from a damaged or
    # crafted file: an edited array changes none of them. The check at load does.
    import skops.io as sio

    genuine = sio.get_untrusted_types(file=skops_files["genuine"])
    assert sio.get_untrusted_types(file=skops_files[edit]) == genuine
