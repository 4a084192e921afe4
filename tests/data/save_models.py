"""Save fitted models with the installed skreg, for the loading tests of later versions.

Run once per release, from the root of the repository::

    python tests/data/save_models.py

It writes ``tests/data/skreg-<version>.pkl`` and ``.skops``: a classifier and a
regressor with most regularizers switched on, the rows they were evaluated on, and
their outputs at the time of saving. ``test_models_saved_by_released_versions_load``
loads every such file and asks for the same outputs.
"""

import pickle
import warnings
from pathlib import Path

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

import skreg
from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor


def saved_models():
    """The models, the rows and the outputs to store, as one dictionary."""
    X, y = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
    settings = dict(
        hidden_layer_sizes=(7, 5),
        penalty="sparse_group_lasso",
        alpha=1e-3,
        dropout=0.1,
        max_norm=3.0,
        max_iter=20,
        random_state=0,
    )
    classifier = RegularizedMLPClassifier(**settings).fit(X, y)
    regressor = RegularizedMLPRegressor(**settings).fit(X, X[:, :2] @ [1.0, -2.0])
    return {
        "version": skreg.__version__,
        "X": X,
        "classifier": classifier,
        "predict_proba": classifier.predict_proba(X),
        "regressor": regressor,
        "predict": regressor.predict(X),
    }


if __name__ == "__main__":
    import skops.io

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        saved = saved_models()
    stem = Path(__file__).parent / f"skreg-{skreg.__version__}"
    with open(f"{stem}.pkl", "wb") as f:
        pickle.dump(saved, f, protocol=4)
    skops.io.dump(saved, f"{stem}.skops")
    print(f"saved {stem}.pkl and {stem}.skops")
