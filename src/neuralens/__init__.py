"""neuralens: three computer-vision studies (CNN internals, deformable convolution, tiny NeRF) as a toolkit."""

from neuralens.core import VERSION as __version__
from neuralens.core.errors import NeuralensError

__all__ = ["NeuralensError", "__version__"]
