"""The model zoo: one registry of classifiers, CIFAR-style nets, shipped weights, checkpoints, classifier
training. It imports no study. Members load on first use (:mod:`neuralens.core.lazy`), so the command line can
import the torch-free parts (names, specs, model cards) without torch."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "ModelSpec": "neuralens.models.spec",
    "parse_model_spec": "neuralens.models.spec",
    "build_model": "neuralens.models.build",
    "create_model": "neuralens.models.registry",
    "register_model": "neuralens.models.registry",
    "list_models": "neuralens.models.zoo",
    "load_checkpoint": "neuralens.core.checkpoint",
    "save_checkpoint": "neuralens.core.checkpoint",
    "load_classifier": "neuralens.models.checkpoint",
    "model_from_checkpoint": "neuralens.models.checkpoint",
})
