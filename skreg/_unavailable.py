"""A descriptor for a method a class lacks, whose lookup says why it is missing."""

import re


class Unavailable:
    """A method a class lacks: looking it up raises ``reason`` itself.

    ``available_if`` would raise its own generic message, with the reason only in
    the chained exception, which most tracebacks and IDEs do not show first.
    ``hasattr`` is False, as for any missing method, so scikit-learn's checks and
    meta-estimators see no such method.

    Parameters
    ----------
    reason : str
        The message of the ``AttributeError``; ``{name}`` in it stands for the
        name of the class looked up.
    """

    def __init__(self, reason):
        self.reason = reason

    def __set_name__(self, owner, name):
        self.name = name

    def _error(self, owner):
        return AttributeError(self.reason.format(name=owner.__name__))

    def __get__(self, obj, owner=None):
        if obj is not None:
            raise self._error(type(obj))

        # Looked up on the class (documentation tools do): a function that
        # raises when called, with the reason as its docstring.
        def unavailable(*args, **kwargs):
            raise self._error(owner)

        unavailable.__name__ = unavailable.__qualname__ = self.name
        # A name's trailing underscore would read as a link in reStructuredText.
        reason = re.sub(r"(?<=\w)_(?=[\s).,]|$)", r"\\_", self.reason)
        unavailable.__doc__ = "Not available. " + reason.format(name=owner.__name__)
        return unavailable
