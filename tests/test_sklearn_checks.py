"""MOLEClassifier passes scikit-learn's own estimator checks."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from mole import MOLEClassifier


@parametrize_with_checks([MOLEClassifier(hidden=(16,), epochs=20, batch_size=32, lr=1e-2, random_state=0)])
def test_scikit_learn_compatible(estimator, check):
    check(estimator)
