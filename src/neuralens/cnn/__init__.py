"""Look inside CNNs: gradient flow, loss landscapes and the VGG/ResNet comparison (training lives in
:mod:`neuralens.models.train`, shared with the deformable study)."""

from neuralens.cnn.gradflow import gradient_flow
from neuralens.cnn.landscape import compute_landscape, interpolate, load_landscape

__all__ = ["compute_landscape", "gradient_flow", "interpolate", "load_landscape"]
