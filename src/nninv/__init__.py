"""nninv: exact inverses of trained dense neural networks.

The small library behind the book *Inverting a neural network*: numpy and
scipy only at import. Keras is imported only when a Keras model is read
(:func:`nninv.layer_inverses`), so ``import nninv`` loads neither TensorFlow,
Keras nor matplotlib.
"""

from nninv.activations import NotInvertibleError, get_activation, logit
from nninv.deep import ProbablePreimage, most_probable_preimage
from nninv.inverse import DenseInverse, row_space_basis, row_space_projector
from nninv.prior import GaussianPrior, MixturePrior
from nninv.relu import ReluPreimage, relu_preimage
from nninv.sequential import SequentialPreimage, invert_sequential, layer_inverses, network_forward

__all__ = [
    "DenseInverse",
    "GaussianPrior",
    "MixturePrior",
    "NotInvertibleError",
    "ProbablePreimage",
    "ReluPreimage",
    "SequentialPreimage",
    "get_activation",
    "invert_sequential",
    "layer_inverses",
    "logit",
    "most_probable_preimage",
    "network_forward",
    "relu_preimage",
    "row_space_basis",
    "row_space_projector",
]
