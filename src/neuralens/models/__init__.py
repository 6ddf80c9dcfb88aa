"""The model zoo: one registry of classifiers, CIFAR-style nets, weights and checkpoints, classifier training.
It imports no study."""

from neuralens.core.checkpoint import load_checkpoint, save_checkpoint
from neuralens.models.checkpoint import load_classifier, model_from_checkpoint
from neuralens.models.registry import create_model, list_models, register_model
from neuralens.models.spec import ModelSpec, build_model, parse_model_spec

__all__ = ["ModelSpec", "build_model", "create_model", "list_models", "load_checkpoint", "load_classifier",
           "model_from_checkpoint", "parse_model_spec", "register_model", "save_checkpoint"]
