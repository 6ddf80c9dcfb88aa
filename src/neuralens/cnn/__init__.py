"""Look inside CNNs: gradient flow, loss landscapes and the VGG/ResNet comparison (training lives in
:mod:`neuralens.models.train`, shared with the deformable study). Members load on first use."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "gradient_flow": "neuralens.cnn.gradflow",
    "compute_landscape": "neuralens.cnn.landscape",
    "interpolate": "neuralens.cnn.landscape",
    "load_landscape": "neuralens.cnn.landscape",
})
