"""Training-data adapters (see :mod:`mole.adapters.base`)."""
from .base import TensorData, TrainData, count_batches, minibatches
from .graphs import GraphData
from .nodes import NodeData
from .sampled_nodes import SampledNodeData

__all__ = ["TrainData", "TensorData", "NodeData", "SampledNodeData", "GraphData", "count_batches", "minibatches"]
