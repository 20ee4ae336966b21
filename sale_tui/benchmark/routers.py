"""The trained routers the SALE paper compares against, learnt from task descriptions.

Both read the TF-IDF of a task's text and predict, per agent, the chance it solves the task;
both are fitted on the outcome table of the *training* tasks only (a split the test stream
never sees: ``tasks.split``), then route each test task:

- ``knn``: the k most similar training tasks (cosine); an agent's chance is its pass rate
  among them.
- ``classifier``: a multi-label classifier (one logistic regression per agent, one-vs-rest).

The rule is the same for both: the cheapest agent whose predicted chance is at least 1/2;
when none is, the agent with the best chance (the dearer on a tie: when nothing looks likely
to work, the bigger model is the better bet). Training and routing cost no model calls, so
these strategies have no overhead in the report.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import NearestNeighbors

from sale_tui.benchmark.outcomes import OutcomeStore
from sale_tui.benchmark.strategies import Routed, one
from sale_tui.benchmark.tasks import Task

ROUTERS = ("knn", "classifier")
NEIGHBOURS = 5
LIKELY = 0.5


def _labels(tasks: Sequence[Task], by_price: Sequence[str], store: OutcomeStore) -> np.ndarray:
    rows = []
    for task in tasks:
        attempts = [store.get(task.id, name) for name in by_price]
        rows.append([bool(a and a.passed) for a in attempts])
    return np.array(rows, dtype=int)


def chances(
    router: str,
    train: Sequence[Task],
    test: Sequence[Task],
    by_price: Sequence[str],
    store: OutcomeStore,
) -> np.ndarray:
    """(test tasks × agents) predicted chance of success, agents cheapest first."""
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    x_train = vectorizer.fit_transform([t.prompt for t in train])
    x_test = vectorizer.transform([t.prompt for t in test])
    y_train = _labels(train, by_price, store)
    if router == "knn":
        k = min(NEIGHBOURS, len(train))
        index = NearestNeighbors(n_neighbors=k, metric="cosine").fit(x_train)
        _, neighbours = index.kneighbors(x_test)
        return np.array([y_train[row].mean(axis=0) for row in neighbours])
    if router == "classifier":
        # one column per agent; a column that never (or always) passes gets a constant
        # predictor from OneVsRest instead of an error
        model = OneVsRestClassifier(LogisticRegression(max_iter=1000, class_weight="balanced"))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Label .* is present in all training")
            return np.asarray(model.fit(x_train, y_train).predict_proba(x_test))
    raise ValueError(f"unknown router {router}")


def pick(chance: Sequence[float]) -> int:
    """Index of the chosen agent (cheapest first), by the rule in the module's docstring."""
    for index, value in enumerate(chance):
        if value >= LIKELY:
            return index
    best = max(chance)
    return max(i for i, value in enumerate(chance) if value == best)


def route_trained(
    router: str,
    train: Sequence[Task],
    test: Sequence[Task],
    by_price: Sequence[str],
    store: OutcomeStore,
) -> list[Routed]:
    trained = [t for t in train if all(store.get(t.id, n) for n in by_price)]
    solved = [t for t in test if all(store.get(t.id, n) for n in by_price)]
    if not trained or not solved:
        return []
    predicted = chances(router, trained, solved, by_price, store)
    routed = []
    for task, chance in zip(solved, predicted, strict=True):
        attempt = store.get(task.id, by_price[pick(list(chance))])
        assert attempt is not None  # every agent's attempt is there (filtered above)
        routed.append(one(task, router, attempt))
    return routed


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """The area under the ROC curve of ``scores`` for ``labels`` (0.5: chance); sklearn's
    home is this module, so the bench's juror AUC is computed here."""
    return float(roc_auc_score(list(labels), list(scores)))
