"""Deformable convolution: the op, its module, figures and the DCN-vs-CNN experiment."""

from neuralens.deform.ops import DeformConv2d, deform_conv2d, sampling_locations

__all__ = ["DeformConv2d", "deform_conv2d", "sampling_locations"]
