"""Classifiers: the registry, CIFAR-style nets, checkpoints, training and evaluation."""

from neuralens.models.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from neuralens.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "load_checkpoint", "model_from_checkpoint", "register_model",
           "save_checkpoint"]
