"""Data sources: CIFAR-style image classification sets and NeRF scenes. Members load on first use."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "CIFAR10_CLASSES": "neuralens.data.constants",
    "ImageData": "neuralens.data.cifar",
    "augment_batch": "neuralens.data.cifar",
    "load_image_data": "neuralens.data.cifar",
    "make_synthetic": "neuralens.data.cifar",
})
