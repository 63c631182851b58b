"""A scikit-learn compatible classifier trained by MOLE (in the spirit of skorch).

    >>> from mole import MOLEClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> cross_val_score(MOLEClassifier(epochs=10, random_state=0), X, y, cv=5)

Constructor arguments are only stored; validation happens in ``fit``; fitted state ends with ``_``.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from .api import fit, validate_config
from .callbacks import ProgressBar
from .config import EstimatorConfig, ObjectiveConfig, TrainConfig
from .errors import DataError
from .models import MLP


class MOLEClassifier(ClassifierMixin, BaseEstimator):
    """An MLP trained module by module by MI maximization (``method="mole"``), another local rule
    (``"dgl"``, ``"predsim"``, ``"hsic-bottleneck"``, ``"infopro"``, ``"forward-forward"``, see
    :data:`mole.rules.RULES`) or by backprop (``"bp"``).

    Args:
        hidden (tuple of int): hidden layer widths, one module each.
        batch_norm (bool): BatchNorm after each hidden layer.
        epochs, batch_size, lr: training budget (epochs per module under MOLE).
        method (str): a registered rule name; rule_options (dict or None): its options, e.g. ``{"beta": 0.9}``.
        estimator (str): MI estimator name; estimator_options (dict or None): its options,
            e.g. ``{"alpha": 2.0, "sigma": "median"}`` (None: the estimator's defaults).
        lambda_y, lambda_x, beta (float): local objective weights.
        unlabelled (label or None): the label that marks an unlabelled sample (scikit-learn's semi-supervised
            convention is ``-1``): such samples are no class; MOLE's label-free terms (``lambda_x``) and its
            batches learn from them, backprop and the supervised rules leave them out. None: every label is a class.
            It turns on no other term: the estimator takes vectors, for which no few-label setting was measured to
            help (``mole run --labels`` turns on the ones measured for images, signals and graphs:
            :mod:`mole.data.few_labels`); ``method="bp-semi"`` is backprop with the same unlabelled-data terms.
        random_state (int, RandomState or None): seeds initialization and batch order.
        device (str): torch device. verbose (bool): progress bars.

    Example:
        .. code-block:: python

            from sklearn.datasets import load_digits
            from sklearn.model_selection import cross_val_score
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            X, y = load_digits(return_X_y=True)
            clf = make_pipeline(StandardScaler(), MOLEClassifier(epochs=20, random_state=0))
            print(cross_val_score(clf, X, y, cv=3).mean())       # about 0.95
    """

    def __init__(self, hidden=(256, 128), batch_norm=True, epochs=TrainConfig.epochs, batch_size=TrainConfig.batch_size,
                 lr=TrainConfig.lr, method="mole", rule_options=None, estimator=EstimatorConfig.name,
                 estimator_options=None, lambda_y=ObjectiveConfig.lambda_y, lambda_x=ObjectiveConfig.lambda_x,
                 beta=ObjectiveConfig.beta, unlabelled=None, random_state=None, device=TrainConfig.device,
                 verbose=False):
        self.hidden, self.batch_norm, self.epochs, self.batch_size, self.lr = hidden, batch_norm, epochs, batch_size, lr
        self.method, self.rule_options = method, rule_options
        self.estimator, self.estimator_options = estimator, estimator_options
        self.lambda_y, self.lambda_x, self.beta, self.unlabelled = lambda_y, lambda_x, beta, unlabelled
        self.random_state, self.device, self.verbose = random_state, device, verbose

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and class labels y (n_samples,) of any hashable type."""
        X, y = _sk(lambda: validate_data(self, X, y, dtype=np.float32, ensure_min_samples=2, y_numeric=False))
        _sk(lambda: check_classification_targets(y))
        labelled = np.ones(len(y), bool) if self.unlabelled is None else ~_equal(y, self.unlabelled)
        if not labelled.any():
            raise DataError(f"every sample is unlabelled (label {self.unlabelled!r}); label at least one sample of "
                            "each of 2 classes")
        self.label_encoder_ = LabelEncoder().fit(y[labelled])
        self.classes_ = self.label_encoder_.classes_
        if len(self.classes_) < 2:
            raise DataError(f"{type(self).__name__} needs at least 2 classes; got 1 class ({self.classes_[0]!r})")
        codes = np.full(len(y), -1, dtype=np.int64)  # mole.fit's unlabelled
        codes[labelled] = self.label_encoder_.transform(y[labelled])
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=seed, device=self.device,
                             estimator=EstimatorConfig(self.estimator, dict(self.estimator_options or {})),
                             objective=ObjectiveConfig(self.lambda_y, self.lambda_x, 0.0, self.beta),
                             rule_options={self.method: dict(self.rule_options or {})} if self.rule_options else {})
        validate_config(config)
        x = torch.from_numpy(np.ascontiguousarray(X))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = MLP(x.shape[1], len(self.classes_), hidden=tuple(self.hidden), batch_norm=self.batch_norm)
        self.result_ = fit(net, x, codes, method=self.method, config=config,
                           callbacks=[ProgressBar(desc=self.method)] if self.verbose else [])
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "result_")
        X = _sk(lambda: validate_data(self, X, dtype=np.float32, reset=False))
        return self.result_.predict_proba(torch.from_numpy(np.ascontiguousarray(X))).numpy()

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # checks that the classifier is fitted
        return self.classes_[proba.argmax(1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on (X, y); y holds one label per sample, of the classes seen in ``fit``."""
        check_is_fitted(self, "result_")
        y = np.asarray(y)
        if y.ndim != 1:
            raise DataError(f"y must be a 1-D vector of class labels; got shape {y.shape}. Pass the labels as in fit, "
                            "not one-hot rows")
        n = _sk(lambda: _num_samples(X))
        if len(y) != n:
            raise DataError(f"y has {len(y)} labels but X has {n} samples; pass one label per sample")
        labelled = np.ones(len(y), bool) if self.unlabelled is None else ~_equal(y, self.unlabelled)
        known = set(self.classes_.tolist())
        unknown = sorted({v for v in y[labelled].tolist() if v not in known}, key=repr)
        if unknown:
            names = ", ".join(map(repr, self.classes_[:5].tolist())) + (", …" if len(known) > 5 else "")
            raise DataError(f"y holds labels {', '.join(map(repr, unknown[:3]))} that fit never saw; "
                            f"{type(self).__name__} knows {names}: score on labels of those classes")
        if not labelled.all():
            raise DataError(f"y holds unlabelled samples ({self.unlabelled!r}); score the labelled samples only")
        return super().score(X, y, sample_weight)


def _equal(y: np.ndarray, label) -> np.ndarray:
    """Which entries of ``y`` are ``label``: False for all where the two cannot be compared (-1 among strings, where
    numpy before 2 returns one scalar instead of an array)."""
    try:
        return np.asarray(y == label, dtype=bool).reshape(len(y))
    except (TypeError, ValueError):
        return np.zeros(len(y), bool)


def _sk(check):
    """Run a scikit-learn input check; its ValueError or TypeError (NaN, wrong shapes, too few samples, continuous
    targets, objects) becomes :class:`mole.DataError` (still a ValueError, or a TypeError) with the same message on
    one line (without the ``array=[...]`` echo of the input)."""
    try:
        return check()
    except (ValueError, TypeError) as exc:
        if isinstance(exc, DataError):
            raise
        lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("array=")]
        raise (DataError if isinstance(exc, ValueError) else _InputTypeError)(" ".join(lines)) from None


class _InputTypeError(DataError, TypeError):
    """An input scikit-learn cannot convert (an object), still a TypeError as scikit-learn's checks expect."""
