"""A network as the library sees it: a chain of steps ``h -> a(h W + b)``, input side first.

A :class:`Chain` holds :class:`nninv.DenseInverse` layers (and, for
convolutional networks, :class:`nninv.operators.AffineLayer` steps whose
affine map is applied without its matrix) that connect (each
layer's ``n_out`` is the next one's ``n_in``) and have distinct names, so that
an error can name its layer. It behaves like a tuple of its layers (length,
iteration, indexing; a slice is a list of its layers) and computes the network
``f = f_L o ... o f_1`` in float64. Nothing here knows where the layers came
from: :mod:`nninv.reader` builds a chain from a Keras model, and every
inversion method takes one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from nninv.inverse import DenseInverse
from nninv.operators import AffineLayer


class Chain(Sequence):
    """Layers that connect, input side first.

    Parameters
    ----------
    layers : iterable of DenseInverse or AffineLayer
        At least one; each ``n_out`` equal to the next ``n_in``, names distinct.

    Examples
    --------
    >>> first = DenseInverse(np.eye(3)[:, :2], np.zeros(2), "tanh", name="first")
    >>> second = DenseInverse(np.eye(2), np.zeros(2), "linear", name="second")
    >>> chain = Chain([first, second])
    >>> len(chain), chain[-1].name, chain.n_in, chain.n_out
    (2, 'second', 3, 2)
    >>> print(chain.forward([0.0, 0.0, 1.0]))
    [0. 0.]
    """

    def __init__(self, layers: Iterable[DenseInverse]):
        layers = tuple(layers)
        if not layers or not all(isinstance(layer, (DenseInverse, AffineLayer)) for layer in layers):
            kinds = sorted({type(layer).__name__ for layer in layers}) or ["an empty list"]
            raise TypeError(f"a list model must hold one or more DenseInverse layers, got {', '.join(kinds)}")
        names = [layer.name for layer in layers]
        if len(set(names)) < len(names):
            raise ValueError(f"layer names must differ so that each is reported, got {names}; pass DenseInverse(name=...)")
        for before, after in zip(layers, layers[1:]):
            if before.n_out != after.n_in:
                raise ValueError(
                    f"layer '{before.name}' gives {before.n_out} outputs but the next, '{after.name}', "
                    f"takes {after.n_in}; list the layers input side first"
                )
        self._layers = layers

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, index):
        if isinstance(index, slice):  # a list, as a list's slice is: it may be empty
            return list(self._layers[index])
        return self._layers[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, Chain):
            return self._layers == other._layers
        if isinstance(other, (list, tuple)):
            return list(self._layers) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return "Chain([" + ", ".join(repr(layer) for layer in self._layers) + "])"

    @property
    def n_in(self) -> int:
        """The width of the network's input."""
        return self._layers[0].n_in

    @property
    def n_out(self) -> int:
        """The width of the network's output."""
        return self._layers[-1].n_out

    def forward(self, x) -> np.ndarray:
        """The network ``f_L o ... o f_1`` in float64, for one input or a batch.

        Examples
        --------
        >>> chain = Chain([DenseInverse(np.eye(2), np.ones(2), "linear")])
        >>> print(chain.forward([[0.0, 1.0]]))
        [[1. 2.]]
        """
        return network_forward(self._layers, x)


def as_chain(layers) -> Chain:
    """``layers`` as a :class:`Chain`: a chain itself, or a list or tuple of DenseInverse checked to connect.

    Examples
    --------
    >>> as_chain([DenseInverse(np.eye(2), np.zeros(2), "linear")])
    Chain([DenseInverse('layer': 2 -> 2, linear, rank 2)])
    """
    if isinstance(layers, Chain):
        return layers
    if isinstance(layers, (list, tuple)):
        return Chain(layers)
    raise TypeError(
        "model must be a keras.Sequential, a functional keras.Model or a list of DenseInverse, "
        f"got {type(layers).__name__}"
    )


def network_forward(layers: Sequence[DenseInverse], x) -> np.ndarray:
    """The network ``f_L o ... o f_1`` in float64, for a chain or a list of layers.

    A batch runs in blocks of :data:`FORWARD_BLOCK` rows, so that a large
    one (the 30,000 images of a training split through a convolutional
    chain, whose hidden images are each 6,272 float64 numbers) never holds
    every hidden image at once; each row gets what it gets in one pass, up
    to the round-off of the products' summation order.

    Examples
    --------
    >>> print(network_forward([DenseInverse(np.eye(2), np.ones(2), "linear")], [0.0, 1.0]))
    [1. 2.]
    """
    if isinstance(x, np.ndarray) and x.ndim == 2 and len(x) > FORWARD_BLOCK:
        return np.concatenate([network_forward(layers, x[start : start + FORWARD_BLOCK])
                               for start in range(0, len(x), FORWARD_BLOCK)])
    for layer in layers:
        x = layer.forward(x)
    return x


FORWARD_BLOCK = 1024
"""Rows per block of :func:`network_forward` (see there)."""
