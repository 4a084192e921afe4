"""The estimators: RegularizedMLPClassifier and RegularizedMLPRegressor.

Labels, targets, scores and the public methods of each; everything they share is
in ``_base``, their documentation sections in ``_docstrings``.
"""

import numpy as np
from sklearn.base import (
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import (
    StrOptions,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    validate_data,
)

from ._base import BaseRegularizedMLP
from ._docstrings import _ATTRIBUTES_DOC, _NOTES_DOC, _PARAMETERS_DOC
from ._state import restore_state


class RegularizedMLPClassifier(ClassifierMixin, BaseRegularizedMLP):
    __doc__ = (
        """Multi-layer perceptron classifier with L1, L2, elastic net and dropout.

    A drop-in replacement for :class:`~sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults, attributes and methods, plus the regularizers below. It
    minimises the log-loss plus the penalty with L-BFGS, SGD or Adam, on Numba
    kernels.

    Parameters
    ----------"""
        + _PARAMETERS_DOC
        + """
    class_weight : dict, 'balanced' or None, default=None
        Weights associated with classes, as in
        :class:`~sklearn.linear_model.SGDClassifier`, multiplied into the sample
        weights. 'balanced' uses ``n_samples / (n_classes * np.bincount(y))``.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.
"""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    RegularizedMLPRegressor : Regularized multi-layer perceptron regressor.
    sklearn.neural_network.MLPClassifier : scikit-learn's multi-layer perceptron.

    Notes
    -----"""
        + _NOTES_DOC
        + """
    References
    ----------
    Glorot, Xavier, and Yoshua Bengio. "Understanding the difficulty of training
    deep feedforward neural networks." AISTATS 2010.

    Kingma, Diederik, and Jimmy Ba. "Adam: A method for stochastic optimization."
    arXiv:1412.6980 (2014).

    Srivastava, Nitish, et al. "Dropout: a simple way to prevent neural networks
    from overfitting." JMLR 15 (2014): 1929-1958.

    Examples
    --------
    >>> from skreg import RegularizedMLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = RegularizedMLPClassifier((20,), penalty="l1", alpha=1e-3,
    ...                                max_iter=300, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.sparsity_[0] > 0.1
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseRegularizedMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        input_dropout=0.0,
        noise_std=0.0,
        max_norm=None,
        weight_decay=0.0,
        gamma=None,
        feature_groups=None,
        penalty_factor=None,
        activity_penalty=None,
        activity_alpha=0.0,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            penalty=penalty,
            l1_ratio=l1_ratio,
            dropout=dropout,
            input_dropout=input_dropout,
            noise_std=noise_std,
            max_norm=max_norm,
            weight_decay=weight_decay,
            gamma=gamma,
            feature_groups=feature_groups,
            penalty_factor=penalty_factor,
            activity_penalty=activity_penalty,
            activity_alpha=activity_alpha,
        )
        self.class_weight = class_weight

    def _loss_name(self):
        binary = getattr(self, "_label_binarizer", None)
        if binary is not None and binary.y_type_ != "multiclass":
            return "binary_log_loss"
        return "log_loss"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        # As sklearn: a new label binarizer on a first fit; on warm starts and
        # partial fits, the classes must match those already seen.
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self._check_two_classes(self._label_binarizer)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        return X, y, np.ascontiguousarray(Y)

    def _check_two_classes(self, binarizer):
        # One class gives nothing to learn, and a binarizer of one class a target
        # of zeros: say so rather than fit a constant.
        multilabel = binarizer.y_type_.startswith("multilabel")
        if not multilabel and len(binarizer.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                "data, but the data contains only one class: "
                f"{binarizer.classes_[0]!r}."
            )

    def _score_output(self, y, output, sample_weight):
        if not np.isfinite(output).all():
            return np.nan
        # accuracy_score validates its targets on every call, which costs more than
        # a training epoch on small data; early stopping scores every epoch. The
        # labels are those _labels gives, and the mean the same weighted mean.
        y_type = self._label_binarizer.y_type_
        if y_type in ("binary", "multiclass") and sample_weight.sum() > 0:
            if y_type == "binary":
                index = (output[:, 0] > 0.5).astype(np.intp)
            else:
                index = output.argmax(axis=1)
            match = self.classes_[index] == y
            return float(np.average(match, weights=sample_weight))
        return accuracy_score(y, self._labels(output), sample_weight=sample_weight)

    def _labels(self, output):
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return self._labels(self._forward_checked(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        y_pred = self._forward_checked(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit. Can be obtained via
            `np.unique(y_all)`, where `y_all` is the target vector of the entire
            dataset. This argument is required for the first call to
            partial_fit and can be omitted in the subsequent calls. Note that y
            doesn't need to contain all labels in `classes`.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        callback_ctx = self._init_callbacks(incremental=True)
        saved = self.__dict__.copy()
        try:
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
                self._check_two_classes(self._label_binarizer)
                self.classes_ = self._label_binarizer.classes_
        except BaseException:
            restore_state(self, saved)
            raise
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            incremental=True,
            callback_ctx=callback_ctx,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class RegularizedMLPRegressor(RegressorMixin, BaseRegularizedMLP):
    __doc__ = (
        """Multi-layer perceptron regressor with L1, L2, elastic net and dropout.

    A drop-in replacement for :class:`~sklearn.neural_network.MLPRegressor`: the same
    parameters, defaults, attributes and methods, plus the regularizers below. It
    minimises the half squared error (or half Poisson deviance) plus the penalty
    with L-BFGS, SGD or Adam, on Numba kernels. Unlike scikit-learn's, its first
    positional parameter is ``hidden_layer_sizes`` (``loss`` is keyword-only).

    Parameters
    ----------"""
        + _PARAMETERS_DOC
        + """
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss: half the squared error with an identity output, or half the
        Poisson deviance with an exponential output. Summed over outputs for
        multi-output targets.

    Attributes
    ----------"""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    RegularizedMLPClassifier : Regularized multi-layer perceptron classifier.
    sklearn.neural_network.MLPRegressor : scikit-learn's multi-layer perceptron.

    Notes
    -----"""
        + _NOTES_DOC
        + """
    References
    ----------
    Glorot, Xavier, and Yoshua Bengio. "Understanding the difficulty of training
    deep feedforward neural networks." AISTATS 2010.

    Kingma, Diederik, and Jimmy Ba. "Adam: A method for stochastic optimization."
    arXiv:1412.6980 (2014).

    Examples
    --------
    >>> from skreg import RegularizedMLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=10, noise=1.0,
    ...                        random_state=0)
    >>> reg = RegularizedMLPRegressor((32,), penalty="elasticnet", alpha=1e-3,
    ...                               learning_rate_init=0.01, max_iter=500,
    ...                               random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseRegularizedMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        input_dropout=0.0,
        noise_std=0.0,
        max_norm=None,
        weight_decay=0.0,
        gamma=None,
        feature_groups=None,
        penalty_factor=None,
        activity_penalty=None,
        activity_alpha=0.0,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            penalty=penalty,
            l1_ratio=l1_ratio,
            dropout=dropout,
            input_dropout=input_dropout,
            noise_std=noise_std,
            max_norm=max_norm,
            weight_decay=weight_decay,
            gamma=gamma,
            feature_groups=feature_groups,
            penalty_factor=penalty_factor,
            activity_penalty=activity_penalty,
            activity_alpha=activity_alpha,
        )

    def _loss_name(self):
        return self.loss

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "Poisson regression."
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, y, np.ascontiguousarray(Y, dtype=X.dtype)

    def _score_output(self, y, output, sample_weight):
        if not np.isfinite(output).all():
            return np.nan
        if sample_weight.sum() <= 0:
            return r2_score(y, self._values(output), sample_weight=sample_weight)
        # r2_score's own validation costs more than an epoch on small data, and
        # early stopping scores every epoch: its formula, uniform average over the
        # outputs, with a constant target scoring 1 when fitted exactly, else 0.
        Y = y.reshape(len(y), -1)
        weight = sample_weight[:, None]
        residual = (weight * (Y - output) ** 2).sum(axis=0)
        mean = np.average(Y, axis=0, weights=sample_weight)
        total = (weight * (Y - mean) ** 2).sum(axis=0)
        scores = np.where(residual == 0, 1.0, 0.0)
        varying = total != 0
        scores[varying] = 1 - residual[varying] / total[varying]
        return float(scores.mean())

    @staticmethod
    def _values(output):
        return output.ravel() if output.shape[1] == 1 else output

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        return self._values(self._forward_checked(X))

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            incremental=True,
            callback_ctx=self._init_callbacks(incremental=True),
        )
