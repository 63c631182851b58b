"""mole: modular neural-network training by local mutual-information maximization (MOLE).

Li & Pei, *MOLE: MOdular Learning FramEwork via Mutual Information Maximization*, 2023.
"""
from . import models
from .api import FitResult, build_stages, fit, validate_config
from .callbacks import Callback, History, LogEpochs, ProgressBar
from .classifier import MOLEClassifier
from .config import EstimatorConfig, ObjectiveConfig, TrainConfig
from .errors import (CheckpointError, ConfigError, CrashError, DataError, DatasetNotFoundError, DivergenceError,
                     DiskFullError, MoleError, OutOfMemoryError, UserCodeError, WorkerFailure)
from .estimators import (ESTIMATORS, Estimator, HSICEstimator, InfoNCEEstimator, JSDEstimator, RenyiEstimator,
                         entropy, estimator_resolver, mutual_information)
from .local_model import LocalModel, LocalOutput
from .modular import ModularNetwork
from .saving import load
from .rules import RULES, Rule, rule_resolver
from .schedules import SCHEDULES, Schedule, SequentialSchedule

__version__ = "0.2.0"

__all__ = [
    "LocalModel", "LocalOutput",
    "fit", "load", "FitResult", "validate_config", "MOLEClassifier", "build_stages", "TrainConfig", "ObjectiveConfig", "EstimatorConfig",
    "ModularNetwork", "Estimator", "RenyiEstimator", "HSICEstimator", "InfoNCEEstimator", "JSDEstimator",
    "mutual_information", "entropy", "ESTIMATORS", "estimator_resolver",
    "Rule", "RULES", "rule_resolver", "Schedule", "SequentialSchedule", "SCHEDULES", "Callback", "History", "ProgressBar", "LogEpochs",
    "MoleError", "ConfigError", "DataError", "DatasetNotFoundError", "CheckpointError", "DivergenceError",
    "OutOfMemoryError", "DiskFullError", "UserCodeError", "WorkerFailure", "CrashError", "models",
]
