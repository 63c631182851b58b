"""Local objectives: what each module maximizes."""
from .base import LocalBatch, LocalObjective
from .cross_entropy import CrossEntropyObjective
from .mutual_information import MutualInformationObjective
from .pseudo_labels import PseudoLabelledCrossEntropy, PseudoLabels

__all__ = ["LocalBatch", "LocalObjective", "CrossEntropyObjective", "MutualInformationObjective", "PseudoLabels",
           "PseudoLabelledCrossEntropy"]
