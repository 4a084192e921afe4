"""Export of fitted skreg models to ONNX, through skl2onnx.

skl2onnx finds a converter by the exact class of a model, so skreg's four
estimators have to be registered before ``skl2onnx.to_onnx`` can convert them,
alone or inside a ``Pipeline``. The registration is an explicit call,
:func:`register_onnx_converters`, rather than a side effect of ``import skreg``:
skl2onnx and onnx are optional dependencies, slow to import, that most users of
skreg never need, and skl2onnx has no plugin entry point through which it could
find skreg's converters by itself. Nothing here imports skl2onnx before that
call.

The graph is built from the fitted ``coefs_`` and ``intercepts_`` (their actual
shapes, so a network cut down by ``prune()`` exports as it predicts), with the
hidden ``activation`` and the ``out_activation_`` of the loss: the exponential of
the Poisson loss, and outputs of every width (multilabel classifiers,
multi-output regressors), which skl2onnx's own ``MLPRegressor`` converter does
not cover.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._cv import RegularizedMLPClassifierCV, RegularizedMLPRegressorCV
from ._mlp import RegularizedMLPClassifier, RegularizedMLPRegressor
from ._state import check_layers

# skreg's activation names (sklearn's) to the ONNX operators; identity adds none.
_ONNX_ACTIVATIONS = {
    "identity": None,
    "logistic": "Sigmoid",
    "tanh": "Tanh",
    "relu": "Relu",
    "softmax": "Softmax",
    "exp": "Exp",
}

# The classifier options that skl2onnx gives its own classifiers: ZipMap on the
# probabilities or not, the class labels as a separate output, and class indices
# in place of the labels.
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "output_class_labels": [False, True],
    "nocl": [True, False],
}


def register_onnx_converters():
    """Register skreg's estimators with skl2onnx, so that they convert to ONNX.

    After this call, ``skl2onnx.to_onnx`` converts a fitted
    :class:`RegularizedMLPClassifier`, :class:`RegularizedMLPRegressor`,
    :class:`RegularizedMLPClassifierCV` or :class:`RegularizedMLPRegressorCV`,
    alone or as a step of a scikit-learn ``Pipeline``. Call it once per
    process, before the first conversion; calling it again changes nothing.
    Running a converted model needs only an ONNX runtime, neither skreg nor
    scikit-learn.

    The graph computes the forward pass of the fitted weights, in float64 when
    the input of the conversion is float64 and in float32 otherwise. A
    classifier has the two outputs of skl2onnx's classifiers, ``label`` and
    ``probabilities``, with skl2onnx's options ``zipmap``,
    ``output_class_labels`` and ``nocl``; a multilabel classifier's labels are
    a 0/1 matrix, as ``predict`` returns. A regressor has one output,
    ``variable``, of shape ``(n_samples, n_outputs_)``, a column even when
    ``predict`` returns a vector. Labels are strings, or int64 for integer,
    boolean and float class labels.

    skl2onnx's ZipMap, which its option ``zipmap=True`` (the default) puts on
    the probabilities, takes float32 only: convert a classifier for float64
    input with ``options={"zipmap": False}``.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install "skreg[onnx]"``).

    See Also
    --------
    skl2onnx.to_onnx : Converts a registered model to ONNX.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skl2onnx import to_onnx
    >>> from sklearn.datasets import load_iris
    >>> from skreg import RegularizedMLPClassifier, register_onnx_converters
    >>> register_onnx_converters()
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> clf = RegularizedMLPClassifier((8,), max_iter=300, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
    >>> session = ort.InferenceSession(
    ...     onx.SerializeToString(), providers=["CPUExecutionProvider"]
    ... )
    >>> labels, probabilities = session.run(None, {"X": X})
    >>> bool((labels == clf.predict(X)).all())
    True
    >>> bool(np.abs(probabilities - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError(
            "register_onnx_converters needs skl2onnx, which is not installed. "
            'Install it with: pip install "skreg[onnx]"'
        ) from error

    for Classifier in (RegularizedMLPClassifier, RegularizedMLPClassifierCV):
        update_registered_converter(
            Classifier,
            f"Skreg{Classifier.__name__}",
            _classifier_shapes,
            _convert_classifier,
            parser=_parse_classifier,
            options=_CLASSIFIER_OPTIONS,
        )
    for Regressor in (RegularizedMLPRegressor, RegularizedMLPRegressorCV):
        update_registered_converter(
            Regressor,
            f"Skreg{Regressor.__name__}",
            _regressor_shapes,
            _convert_regressor,
        )


# ------------------------------------------------------- parser, shape calculators


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser of classifiers, after a check that the model is fitted."""
    from skl2onnx._parse import _parse_sklearn_classifier

    # The parser reads classes_ first: without this check, an unfitted model
    # fails with a RuntimeError about the number of classes.
    check_is_fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers)


def _float_type(operator):
    """The tensor type the graph computes in: float64 input stays float64."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(operator.inputs[0].type, DoubleTensorType):
        return DoubleTensorType
    return FloatTensorType


def _proto_type(operator):
    """The ONNX element type and the NumPy dtype of the graph's arithmetic."""
    from skl2onnx.common.data_types import DoubleTensorType
    from skl2onnx.proto import onnx_proto

    if _float_type(operator) is DoubleTensorType:
        return onnx_proto.TensorProto.DOUBLE, np.float64
    return onnx_proto.TensorProto.FLOAT, np.float32


def _check_input(operator, n_outputs):
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )

    check_input_and_output_numbers(
        operator, input_count_range=1, output_count_range=n_outputs
    )
    check_input_and_output_types(
        operator,
        good_input_types=[
            BooleanTensorType,
            DoubleTensorType,
            FloatTensorType,
            Int64TensorType,
        ],
    )
    # Before any attribute is read: a clear error for an unfitted model (or a
    # search fitted with refit=False, which holds no model). The classifiers'
    # parser has checked already; the regressors have skl2onnx's parser.
    check_is_fitted(operator.raw_operator)


def _is_multilabel(model):
    return model._label_binarizer.y_type_.startswith("multilabel")


def _class_labels(scope, model):
    """The labels the graph outputs: int64 or bytes, as skl2onnx's classifiers."""
    from skl2onnx.common.utils_classifier import get_label_classes

    # get_label_classes applies the option nocl (class indices for labels).
    classes = np.asarray(get_label_classes(scope, model))
    # Float labels are whole numbers: scikit-learn's classifiers reject others
    # as continuous targets.
    if classes.dtype.kind in "biuf":
        return classes.astype(np.int64)
    return np.array([str(c).encode("utf-8") for c in classes], dtype=object)


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    _check_input(operator, n_outputs=2)
    model = operator.raw_operator
    n_samples = operator.inputs[0].get_first_dimension()
    n_classes = len(model.classes_)
    classes = _class_labels(operator.scope_inst, model)
    Label = StringTensorType if classes.dtype == object else Int64TensorType
    if _is_multilabel(model):
        operator.outputs[0].type = Int64TensorType([n_samples, n_classes])
    else:
        operator.outputs[0].type = Label([n_samples])
    operator.outputs[1].type = _float_type(operator)([n_samples, n_classes])


def _regressor_shapes(operator):
    _check_input(operator, n_outputs=1)
    n_samples = operator.inputs[0].get_first_dimension()
    n_outputs = operator.raw_operator.n_outputs_
    operator.outputs[0].type = _float_type(operator)([n_samples, n_outputs])


# ------------------------------------------------------------------ converters


class _Graph:
    """Adds nodes and initializers to skl2onnx's container under unique names."""

    def __init__(self, scope, container):
        self.scope = scope
        self.container = container

    def constant(self, hint, proto_type, values):
        name = self.scope.get_unique_variable_name(hint)
        values = np.asarray(values)
        content = values.ravel().tolist() if values.dtype == object else values.ravel()
        self.container.add_initializer(name, proto_type, list(values.shape), content)
        return name

    def node(self, op_type, inputs, output=None, **attributes):
        """One node; its output is ``output``, or a new name when None."""
        if output is None:
            output = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            output,
            name=self.scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output


def _forward(graph, operator, output=None):
    """The network's output, for the operator's input; named ``output`` if given."""
    model = operator.raw_operator
    # A graph of weights that do not fit together would fail only at inference.
    check_layers(model)
    proto_type, dtype = _proto_type(operator)
    A = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, _float_type(operator)):
        A = graph.node("Cast", [A], to=proto_type)
    last = len(model.coefs_) - 1
    # The actual weights, whatever hidden_layer_sizes says: prune() may have
    # removed units, and a float32 model's weights widen exactly to float64.
    for layer, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        activation = model.out_activation_ if layer == last else model.activation
        op_type = _ONNX_ACTIVATIONS[activation]
        final = output if layer == last else None
        W = graph.constant("coefficient", proto_type, W.astype(dtype))
        b = graph.constant("intercept", proto_type, b.astype(dtype))
        Z = graph.node("MatMul", [A, W])
        if op_type is None:
            A = graph.node("Add", [Z, b], final)
        else:
            Z = graph.node("Add", [Z, b])
            # Softmax over the classes, axis 1, means the same in every opset.
            attributes = {"axis": 1} if op_type == "Softmax" else {}
            A = graph.node(op_type, [Z], final, **attributes)
    return A, proto_type


def _convert_classifier(scope, operator, container):
    from skl2onnx.proto import onnx_proto

    model = operator.raw_operator
    graph = _Graph(scope, container)
    label, probabilities = (v.full_name for v in operator.outputs)
    P, proto_type = _forward(graph, operator)
    int64 = onnx_proto.TensorProto.INT64
    if model.n_outputs_ > 1 and not _is_multilabel(model):
        graph.node("Identity", [P], probabilities)
        index = graph.node("ArgMax", [P], axis=1, keepdims=0)
    else:
        # As LabelBinarizer.inverse_transform: a label is on, or the positive
        # class chosen, strictly above 0.5.
        above = graph.node("Greater", [P, graph.constant("half", proto_type, 0.5)])
        if _is_multilabel(model):
            graph.node("Identity", [P], probabilities)
            graph.node("Cast", [above], label, to=int64)
            return
        # A binary model outputs the positive class's probability only.
        one = graph.constant("one", proto_type, 1.0)
        graph.node("Concat", [graph.node("Sub", [one, P]), P], probabilities, axis=1)
        index = graph.node("Cast", [above], to=int64)
        index = graph.node("Reshape", [index, graph.constant("shape", int64, [-1])])
    classes = _class_labels(scope, model)
    classes_type = onnx_proto.TensorProto.STRING if classes.dtype == object else int64
    classes = graph.constant("classes", classes_type, classes)
    graph.node("Gather", [classes, index], label)


def _convert_regressor(scope, operator, container):
    _forward(_Graph(scope, container), operator, operator.outputs[0].full_name)
