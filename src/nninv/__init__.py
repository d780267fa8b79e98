"""nninv: exact inverses of trained dense and convolutional neural networks.

The small library behind the book *Inverting a neural network*: numpy and
scipy only at import. Keras is imported only when a Keras model is read
(:mod:`nninv.reader`, :func:`nninv.layer_inverses`), so ``import nninv`` loads
neither TensorFlow, Keras nor matplotlib.

One way down, each module importing only those above it:

* :mod:`nninv.checks` (input checks), :mod:`nninv.activations` (each
  activation one object), :mod:`nninv.prior` (Gaussian and mixture priors);
* :mod:`nninv.operators` (convolutions, poolings and other affine maps,
  applied without their matrices);
* :mod:`nninv.verify`, the one place that measures a result;
* :mod:`nninv.conditioning` and :mod:`nninv.box`, the mathematics behind
  :mod:`nninv.inverse` (:class:`DenseInverse`, one layer's preimages);
* :mod:`nninv.chain` (a network as a :class:`Chain` of layers),
  :mod:`nninv.reader` (Keras models into chains), :mod:`nninv.relu`;
* :mod:`nninv.input_space` (exact preimages of expanding and convolutional
  networks, searched in the input);
* :mod:`nninv.deep` (the whole network's most probable preimage) and
  :mod:`nninv.sequential` (layer by layer), which take a chain.
"""

from nninv.activations import NotInvertibleError, get_activation, logit
from nninv.chain import Chain, network_forward
from nninv.deep import ProbablePreimage, most_probable_preimage, nearest_preimage
from nninv.inverse import DenseInverse, row_space_basis, row_space_projector
from nninv.prior import GaussianPrior, MixturePrior
from nninv.reader import layer_inverses
from nninv.relu import ReluPreimage, ReluProbablePreimage, relu_most_probable_preimage, relu_preimage
from nninv.sequential import SequentialPreimage, invert_sequential

__all__ = [
    "Chain",
    "DenseInverse",
    "GaussianPrior",
    "MixturePrior",
    "NotInvertibleError",
    "ProbablePreimage",
    "ReluPreimage",
    "ReluProbablePreimage",
    "SequentialPreimage",
    "get_activation",
    "invert_sequential",
    "layer_inverses",
    "logit",
    "most_probable_preimage",
    "nearest_preimage",
    "network_forward",
    "relu_most_probable_preimage",
    "relu_preimage",
    "row_space_basis",
    "row_space_projector",
]
