"""Training-data adapters (see :mod:`mole.adapters.base`)."""
from .base import TensorData, TrainData, count_batches, minibatches

__all__ = ["TrainData", "TensorData", "count_batches", "minibatches"]
