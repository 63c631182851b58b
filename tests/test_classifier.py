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
