"""prune(): remove the hidden units that cannot change a prediction.

Works on copies of the layers, and cuts the optimizer's flat state the same way,
so that training continues on the pruned network.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._activations import ACTIVATIONS, smooth_marker
from ._forward import activate
from ._layout import Layout
from ._state import check_state


def _constant_outputs(intercept, activation):
    """The outputs of hidden units without incoming weights: ``f(0 + intercept)``.

    Computed by the layer definition the predictions use, so the folded constants
    are the values the unpruned network passed on.
    """
    Z = np.zeros((1, intercept.shape[0]), dtype=intercept.dtype)
    code = ACTIVATIONS[activation]
    activate(Z, np.ascontiguousarray(intercept), False, code, smooth_marker(code), 0)
    return Z[0]


def prune_network(estimator):
    """Prune ``estimator`` in place and return it (see ``prune``)."""
    check_is_fitted(estimator)
    check_state(estimator)
    coefs = [c.copy() for c in estimator.coefs_]
    intercepts = [b.copy() for b in estimator.intercepts_]
    # Which entries of the flat parameter buffer survive, to cut the
    # optimizer's state the same way.
    kept_rows = [np.arange(c.shape[0]) for c in coefs]
    kept_cols = [np.arange(c.shape[1]) for c in coefs]
    changed = True
    while changed:
        changed = False
        for layer in range(len(coefs) - 1):
            W_in, W_out = coefs[layer], coefs[layer + 1]
            silent = ~W_out.any(axis=1)
            constant = ~W_in.any(axis=0) & ~silent
            if constant.any():
                outputs = _constant_outputs(
                    intercepts[layer][constant], estimator.activation
                )
                # Summed without the BLAS, whose threads could change the
                # last bits.
                intercepts[layer + 1] += (outputs[:, None] * W_out[constant]).sum(
                    axis=0
                )
            keep = ~(silent | constant)
            if not keep.any():
                # The layer's output no longer matters: keep one unit, cut off.
                # Cutting its incoming weights can silence the layer below,
                # which is then looked at again.
                keep[0] = True
                changed |= bool(W_in[:, 0].any())
                W_in[:, 0] = 0
                W_out[0] = 0
                intercepts[layer][0] = 0
            if keep.all():
                continue
            changed = True
            coefs[layer] = W_in[:, keep]
            intercepts[layer] = intercepts[layer][keep]
            coefs[layer + 1] = W_out[keep]
            kept_cols[layer] = kept_cols[layer][keep]
            kept_rows[layer + 1] = kept_rows[layer + 1][keep]

    state = getattr(estimator, "_optimizer_state", None)
    if state is not None:
        old = Layout(estimator._layer_units())
        mask = np.zeros(old.n_params, dtype=bool)
        for layer, (rows, cols) in enumerate(zip(kept_rows, kept_cols)):
            n_out = old.units[layer + 1]
            start = old.coef_offsets[layer]
            mask[start + (rows[:, None] * n_out + cols).ravel()] = True
            mask[old.intercept_offsets[layer] + cols] = True
        state = {
            k: v[mask] if isinstance(v, np.ndarray) else v for k, v in state.items()
        }
    estimator.coefs_ = coefs
    estimator.intercepts_ = intercepts
    estimator._optimizer_state = state
    estimator.hidden_layer_sizes = tuple(int(c.shape[1]) for c in coefs[:-1])
    return estimator
