"""Deformable convolution study: the op (from :mod:`neuralens.ops`), its check against torchvision, the
DCN-vs-CNN experiment, figures and explanations."""

from neuralens.ops import DeformableConv2d, DeformConv2d, deform_conv2d, sampling_locations

__all__ = ["DeformConv2d", "DeformableConv2d", "deform_conv2d", "sampling_locations"]
