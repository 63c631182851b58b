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
from sklearn.utils.validation import check_is_fitted

from .api import fit
from .callbacks import ProgressBar
from .config import EstimatorConfig, ObjectiveConfig, TrainConfig
from .errors import DataError
from .models import MLP
from .validation import as_features


class MOLEClassifier(ClassifierMixin, BaseEstimator):
    """An MLP trained module by module by MI maximization (``method="mole"``) or by backprop (``"bp"``).

    Args:
        hidden (tuple of int): hidden layer widths, one module each.
        batch_norm (bool): BatchNorm after each hidden layer.
        epochs, batch_size, lr: training budget (epochs per module under MOLE).
        method (str): ``"mole"`` or ``"bp"``.
        estimator (str): MI estimator name; estimator_options (dict or None): its options,
            e.g. ``{"alpha": 2.0, "sigma": "median"}`` (None: the estimator's defaults).
        lambda_y, lambda_x, beta (float): local objective weights.
        random_state (int, RandomState or None): seeds initialization and batch order.
        device (str): torch device. verbose (bool): progress bars.
    """

    def __init__(self, hidden=(256, 128), batch_norm=True, epochs=30, batch_size=256, lr=1e-3, method="mole",
                 estimator="renyi", estimator_options=None, lambda_y=1.0, lambda_x=0.0,
                 beta=0.0, random_state=None, device="cpu", verbose=False):
        self.hidden, self.batch_norm, self.epochs, self.batch_size, self.lr = hidden, batch_norm, epochs, batch_size, lr
        self.method, self.estimator, self.estimator_options = method, estimator, estimator_options
        self.lambda_y, self.lambda_x, self.beta = lambda_y, lambda_x, beta
        self.random_state, self.device, self.verbose = random_state, device, verbose

    def _features(self, X) -> torch.Tensor:
        return as_features(X, name=f"{type(self).__name__} X").flatten(1)

    def fit(self, X, y):
        x = self._features(X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise DataError(f"{type(self).__name__}: y must be 1-D with one label per sample; got shape {y.shape} "
                            f"for {x.shape[0]} samples")
        self.label_encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.label_encoder_.classes_
        if len(self.classes_) < 2:
            raise DataError(f"{type(self).__name__} needs at least 2 classes; got {len(self.classes_)}")
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=seed, device=self.device,
                             estimator=EstimatorConfig(self.estimator, dict(self.estimator_options or {})),
                             objective=ObjectiveConfig(self.lambda_y, self.lambda_x, 0.0, self.beta))
        config.validate()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = MLP(x.shape[1], len(self.classes_), hidden=tuple(self.hidden), batch_norm=self.batch_norm)
        self.n_features_in_ = x.shape[1]
        self.result_ = fit(net, x, self.label_encoder_.transform(y), method=self.method, config=config,
                           callbacks=[ProgressBar(desc=self.method)] if self.verbose else [])
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "result_")
        x = self._features(X)
        if x.shape[1] != self.n_features_in_:
            raise DataError(f"{type(self).__name__} was fitted on {self.n_features_in_} features; X has {x.shape[1]}")
        return self.result_.predict_proba(x).numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]
