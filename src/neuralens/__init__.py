"""neuralens: three computer-vision studies (CNN internals, deformable convolution, tiny NeRF) as a toolkit."""

from neuralens.errors import NeuralensError

__version__ = "0.1.0"
__all__ = ["NeuralensError", "__version__"]
