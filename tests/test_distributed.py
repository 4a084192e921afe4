"""Searches on a real Dask cluster through joblib equal the sequential ones exactly.

A local cluster of two worker processes runs ``GridSearchCV`` over a skreg
estimator and the cross-validated estimators under
``joblib.parallel_backend("dask")``; the scheduler's task stream shows that every
fit ran on a worker.
"""

import os
import re

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skreg import (  # noqa: E402
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressorCV,
)

SMALL = dict(hidden_layer_sizes=(8,), max_iter=40, random_state=0)


@pytest.fixture(scope="module")
def client():
    """A client on a local cluster of two single-threaded worker processes."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # The scheduler's HTTP server listens on a free loopback port: None
            # would try 8787 and warn when another cluster holds it.
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        yield client


def run_on_cluster(client, search, *args):
    """Fit ``search`` under the dask backend; return the batches the workers ran."""
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        search.fit(*args)
    return stream.data


def assert_ran_on_workers(client, tasks, function, n_calls):
    """All ``n_calls`` calls of ``function`` ran in batches on the cluster's workers.

    joblib names each batch it submits ``batch_of_<function>_<n>_calls-<id>``.
    """
    assert tasks, "no task reached the cluster: joblib ran locally"
    workers = set(client.scheduler_info()["workers"])
    assert {task["worker"] for task in tasks} <= workers
    pattern = re.compile(rf"batch_of_{function}_(\d+)_calls-")
    counts = [pattern.match(task["key"]) for task in tasks]
    assert all(counts), [task["key"] for task in tasks]
    assert sum(int(match.group(1)) for match in counts) == n_calls


def assert_models_equal(expected, actual):
    assert len(actual.coefs_) == len(expected.coefs_)
    for a, b in zip(actual.coefs_, expected.coefs_):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(actual.intercepts_, expected.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert actual.n_iter_ == expected.n_iter_


def assert_results_equal(expected, actual, n_splits):
    for name in ["mean_test_score", "std_test_score", "rank_test_score"] + [
        f"split{k}_test_score" for k in range(n_splits)
    ]:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
    assert actual["params"] == expected["params"]


def test_workers_are_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2
    assert os.getpid() not in pids.values()


def test_grid_search(client, data):
    X, y = data
    grid = {"alpha": [1e-4, 1e-2, 1e-1, 1.0]}
    expected = GridSearchCV(RegularizedMLPClassifier(**SMALL), grid, cv=3).fit(X, y)
    search = GridSearchCV(RegularizedMLPClassifier(**SMALL), grid, cv=3, n_jobs=2)
    tasks = run_on_cluster(client, search, X, y)

    assert_ran_on_workers(client, tasks, "_fit_and_score", 4 * 3)
    assert_results_equal(expected.cv_results_, search.cv_results_, 3)
    assert search.best_params_ == expected.best_params_
    assert search.best_score_ == expected.best_score_
    assert_models_equal(expected.best_estimator_, search.best_estimator_)
    np.testing.assert_array_equal(search.predict_proba(X), expected.predict_proba(X))
    np.testing.assert_array_equal(search.predict(X), expected.predict(X))


def test_classifier_cv(client, data):
    X, y = data
    params = dict(penalty="elasticnet", l1_ratios=[0.2, 0.8], alphas=4, cv=3, **SMALL)
    expected = RegularizedMLPClassifierCV(**params).fit(X, y)
    search = RegularizedMLPClassifierCV(n_jobs=2, **params)
    tasks = run_on_cluster(client, search, X, y)

    assert_ran_on_workers(client, tasks, "fold_path", 2 * 3)
    np.testing.assert_array_equal(search.alphas_, expected.alphas_)
    assert_results_equal(expected.cv_results_, search.cv_results_, 3)
    np.testing.assert_array_equal(
        search.cv_results_["mean_n_iter"], expected.cv_results_["mean_n_iter"]
    )
    assert search.best_params_ == expected.best_params_
    assert_models_equal(expected, search)
    np.testing.assert_array_equal(search.predict_proba(X), expected.predict_proba(X))
    np.testing.assert_array_equal(search.predict(X), expected.predict(X))


def test_regressor_cv(client, regression):
    X, y = regression
    # Dropout draws its masks from random_state: the workers draw the same ones.
    params = dict(dropouts=[0.0, 0.2], alphas=3, cv=3, **SMALL)
    expected = RegularizedMLPRegressorCV(**params).fit(X, y)
    search = RegularizedMLPRegressorCV(n_jobs=2, **params)
    tasks = run_on_cluster(client, search, X, y)

    assert_ran_on_workers(client, tasks, "fold_path", 2 * 3)
    np.testing.assert_array_equal(search.alphas_, expected.alphas_)
    assert_results_equal(expected.cv_results_, search.cv_results_, 3)
    assert search.best_params_ == expected.best_params_
    assert_models_equal(expected, search)
    np.testing.assert_array_equal(search.predict(X), expected.predict(X))
