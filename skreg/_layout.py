"""How a network lives in flat arrays: the parameter buffer's layout, the scalars.

``params`` is the flat buffer of every weight matrix then every intercept vector;
``Layout`` gives the offsets, and those of the work buffer that holds each layer's
activations, back-propagated errors and dropout factors for the largest batch.
Scalars reach the kernels in a ``TrainConfig`` namedtuple.
"""

from collections import namedtuple

import numpy as np

TrainConfig = namedtuple(
    "TrainConfig",
    [
        "activation",  # int code, see _activations.ACTIVATIONS
        "smooth",  # _activations.smooth_marker(activation): None or True
        "loss",  # int code, see _losses.LOSSES
        "penalty",  # int code, see _penalties.PENALTIES
        "grouped",  # _penalties.group_marker(penalty): None or True
        "relu",  # _activations.relu_marker(activation): None or True
        "perturbed",  # True when inputs drop or get noise, else None
        "l1_ratio",
        "momentum",
        "nesterov",
        "learning_rate_init",
        "beta_1",
        "beta_2",
        "epsilon",
        "input_dropout",
        "seed",  # key of the dropout / noise streams
        "eps",  # machine epsilon of the training dtype
        "noise_std",  # Gaussian input noise
        "gamma",  # concavity of MCP and SCAD
        "nonconvex",  # _penalties.nonconvex_marker(penalty): None or True
        "first",  # the first layer's factors and groups, see _penalties
        "activity",  # None or (l1, alphas): the hidden outputs' penalty
    ],
    defaults=(0.0, 3.0, None, None, None),
)


class Layout:
    """Offsets of each layer's weights, intercepts and work blocks in flat buffers.

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    """

    def __init__(self, layer_units):
        self.units = np.asarray(layer_units, dtype=np.int64)
        sizes = self.units[:-1] * self.units[1:]
        self.coef_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n_coefs = int(self.coef_offsets[-1])
        self.intercept_offsets = (
            n_coefs + np.concatenate([[0], np.cumsum(self.units[1:])])
        ).astype(np.int64)
        self.n_params = int(self.intercept_offsets[-1])

    @property
    def n_layers(self):
        return len(self.units)

    def work_offsets(self, batch_size, gather_input, dropout):
        """Offsets of the activation, error and dropout blocks, and the total size.

        Row 0 holds activation blocks (layer 0 is the gathered input batch, empty
        when the input is used in place), row 1 error blocks, row 2 dropout blocks
        (only for hidden layers with a positive rate).
        """
        n_layers = self.n_layers
        offsets = np.zeros((3, n_layers + 1), dtype=np.int64)
        position = 0
        for kind in range(3):
            for layer in range(n_layers):
                offsets[kind, layer] = position
                if kind == 0:
                    used = layer > 0 or gather_input
                elif kind == 1:
                    used = layer > 0
                else:
                    used = 0 < layer < n_layers - 1 and dropout[layer - 1] > 0
                if used:
                    position += batch_size * int(self.units[layer])
            offsets[kind, n_layers] = position
        return offsets, position

    def layers(self, alphas):
        """``(units, coef_offsets, intercept_offsets, alphas)``: the kernels'
        ``layers`` argument, everything they index by layer."""
        return self.units, self.coef_offsets, self.intercept_offsets, alphas

    def unpack(self, params):
        """Per-layer views ``(coefs, intercepts)`` into a flat parameter buffer."""
        coefs, intercepts = [], []
        for layer in range(self.n_layers - 1):
            start, end = self.coef_offsets[layer], self.coef_offsets[layer + 1]
            shape = (self.units[layer], self.units[layer + 1])
            coefs.append(params[start:end].reshape(shape))
            start, end = self.intercept_offsets[layer : layer + 2]
            intercepts.append(params[start:end])
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype):
        """A new flat buffer holding copies of ``coefs`` and ``intercepts``."""
        return np.concatenate(
            [np.ravel(c) for c in coefs] + [np.ravel(b) for b in intercepts]
        ).astype(dtype, copy=True)
