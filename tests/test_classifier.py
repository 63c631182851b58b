import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mole import DataError, MOLEClassifier


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return X, np.array(["barolo", "grignolino", "barbera"])[y]


def test_cross_val_score_above_chance(wine):
    X, y = wine
    model = make_pipeline(StandardScaler(), MOLEClassifier(epochs=15, batch_size=64, lr=1e-2, random_state=0))
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.mean() > 0.8  # chance is 0.40


def test_fit_predict_contract(wine):
    X, y = wine
    X = StandardScaler().fit_transform(X)
    clf = MOLEClassifier(epochs=3, batch_size=64, random_state=1).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert set(clf.predict(X)) <= set(y) and list(clf.classes_) == sorted(set(y))
    again = clone(clf).fit(X, y)
    assert np.allclose(again.predict_proba(X), proba)  # random_state makes fits reproducible
    with pytest.raises(DataError, match="expecting 13 features"):
        clf.predict(X[:, :5])
    with pytest.raises(DataError, match="inconsistent numbers of samples"):
        MOLEClassifier(epochs=1).fit(X, y[:-1])


def test_unlabelled_samples_are_no_class_and_mole_learns_from_them(wine):
    X, names = wine
    X = StandardScaler().fit_transform(X)
    y = np.unique(names, return_inverse=True)[1]
    few = np.full(len(y), -1)
    keep = np.concatenate([np.flatnonzero(y == c)[:5] for c in range(3)])  # 5 labels per class
    few[keep] = y[keep]
    for method in ("mole", "bp"):
        clf = MOLEClassifier(epochs=15, batch_size=64, lr=1e-2, method=method, unlabelled=-1, random_state=0)
        clf.fit(X, few)
        assert list(clf.classes_) == [0, 1, 2] and set(clf.predict(X)) <= {0, 1, 2}  # -1 is no class
        assert clf.score(X, y) > 0.8  # chance is 0.40
    as_class = MOLEClassifier(epochs=1, batch_size=64, random_state=0).fit(X, few)  # without it, -1 is a label
    assert list(as_class.classes_) == [-1, 0, 1, 2]
    with pytest.raises(DataError, match="every sample is unlabelled"):
        MOLEClassifier(epochs=1, unlabelled=-1).fit(X, np.full(len(y), -1))
    strings = MOLEClassifier(epochs=1, batch_size=64, unlabelled=-1, random_state=0).fit(X, names)  # nothing is -1
    assert list(strings.classes_) == sorted(set(names))
