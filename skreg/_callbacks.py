"""The bridge from a fit's epochs to scikit-learn's callback API."""


class _IterationCallbacks:
    """The callbacks' hooks around a fit and each of its iterations.

    An iteration is an epoch of the stochastic solvers or a step of L-BFGS; each is
    a subtask of the fit's root task. Built only when callbacks are set, so a fit
    without callbacks pays nothing. The hooks see the training data (the training
    part under early stopping), the weights of the loss when ``sample_weight`` or
    ``class_weight`` was given, and, if they ask for it, a copy of the estimator
    holding the weights of that moment.
    """

    def __init__(self, context, estimator, layout, dtype, weighted):
        self._context = context
        self._estimator = estimator
        self._layout = layout
        self._dtype = dtype
        self._weighted = weighted
        self._task = None
        self._data = {}

    def use_data(self, X, y, sample_weight):
        metadata = {"sample_weight": sample_weight} if self._weighted else None
        self._data = {"X": X, "y": y, "metadata": metadata}

    def _weights(self, params):
        coefs, intercepts = self._layout.unpack(params.astype(self._dtype))
        return {"coefs_": coefs, "intercepts_": intercepts}

    def begin_fit(self):
        self._context.call_on_fit_task_begin(estimator=self._estimator, **self._data)

    def end_fit(self):
        self._context.call_on_fit_task_end(
            estimator=self._estimator, **self._data, reconstruction_attributes={}
        )

    def begin(self, task_name, params):
        self._task = self._context.subcontext(task_name=task_name)
        self._task.call_on_fit_task_begin(
            estimator=self._estimator,
            **self._data,
            reconstruction_attributes=lambda: self._weights(params),
        )

    def end(self, params):
        """End the current iteration; True when a callback asks to stop."""
        task, self._task = self._task, None
        return task.call_on_fit_task_end(
            estimator=self._estimator,
            **self._data,
            reconstruction_attributes=lambda: self._weights(params),
        )

    def abandon(self):
        """End an iteration that did not complete, as an empty task."""
        if self._task is not None:
            task, self._task = self._task, None
            task.call_on_fit_task_end(estimator=self._estimator)
