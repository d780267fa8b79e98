"""nninv: exact inverses of trained dense neural networks.

The package behind the book *Inverting a neural network*. Importing it first
keeps TensorFlow quiet (see :mod:`nninv.runtime`).
"""

from nninv import runtime  # noqa: F401  (must run before TensorFlow is imported)
from nninv.activations import NotInvertibleError, get_activation, logit
from nninv.inverse import DenseInverse, row_space_basis, row_space_projector
from nninv.prior import GaussianPrior
from nninv.sequential import SequentialPreimage, invert_sequential, layer_inverses, network_forward

__all__ = [
    "DenseInverse",
    "GaussianPrior",
    "NotInvertibleError",
    "SequentialPreimage",
    "get_activation",
    "invert_sequential",
    "layer_inverses",
    "logit",
    "network_forward",
    "row_space_basis",
    "row_space_projector",
]
