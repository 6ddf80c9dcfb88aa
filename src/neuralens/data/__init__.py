"""Data sources: CIFAR-style image classification sets and NeRF scenes."""

from neuralens.data.cifar import CIFAR10_CLASSES, ImageData, augment_batch, load_image_data, make_synthetic

__all__ = ["CIFAR10_CLASSES", "ImageData", "augment_batch", "load_image_data", "make_synthetic"]
