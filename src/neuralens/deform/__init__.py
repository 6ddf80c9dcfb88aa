"""Deformable convolution study: the op (from :mod:`neuralens.ops`), its check against torchvision, the
DCN-vs-CNN experiment, figures and explanations. Members load on first use."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "DeformConv2d": "neuralens.ops",
    "DeformableConv2d": "neuralens.ops",
    "deform_conv2d": "neuralens.ops",
    "sampling_locations": "neuralens.ops",
})
