"""Operators below the model zoo (as ``torchvision.ops`` is): each a plain function plus a thin module."""

from neuralens.ops.deform_conv import DeformConv2d, deform_conv2d, sampling_locations
from neuralens.ops.deformable import DeformableConv2d

__all__ = ["DeformConv2d", "DeformableConv2d", "deform_conv2d", "sampling_locations"]
