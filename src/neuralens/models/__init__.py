"""The model zoo: one registry of classifiers, CIFAR-style nets, weights and checkpoints, classifier training.
It imports no study."""

from neuralens.core.checkpoint import load_checkpoint, save_checkpoint
from neuralens.models.checkpoint import load_classifier, model_from_checkpoint
from neuralens.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "load_checkpoint", "load_classifier", "model_from_checkpoint",
           "register_model", "save_checkpoint"]
