"""Layer-by-layer inversion of a network, from its output back.

A network ``f = f_L o ... o f_1`` with ``f_i(h) = a_i(h W_i + b_i)`` is inverted
from the output back: ``h_L = y``, ``h_{i-1}`` = a preimage of ``h_i`` under
``f_i``. Square non-singular layers have exactly one preimage. A contracting
layer (``n_out < n_in``) has a whole affine family and a method picks one. An
expanding layer (``n_out > n_in``) reaches only an ``n_in``-dimensional part of
its output space: it is solved by least squares, and a ``y`` that the network
cannot produce is refused unless the caller accepts the residual.

With a prior over the input, ``method="gaussian"`` returns the most probable
exact preimage of the whole network: where a hidden layer contracts too, the
hidden activities are chosen for the prior as well (:mod:`nninv.deep`), not
by least norm; ``method="layerwise_gaussian"`` applies the prior at the input
layer only.

The network is a :class:`nninv.chain.Chain` (or a list of
:class:`nninv.DenseInverse`), or a Keras model, which :mod:`nninv.reader`
turns into one. Every result is measured by :mod:`nninv.verify`: each layer's
preimage, the whole network's, and for a Keras model the model's own output
on the preimage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nninv.activations import NotInvertibleError
from nninv.chain import Chain, as_chain, network_forward
from nninv.checks import as_rows
from nninv.deep import ProbablePreimage, most_probable_preimage
from nninv.inverse import DenseInverse
from nninv.prior import GaussianPrior
from nninv.reader import ReadModel, layer_inverses, read_model
from nninv.verify import RANGE_TOL, check_against_model, check_network, rounding_bound

__all__ = [
    "METHODS", "SequentialPreimage", "invert_sequential", "layer_inverses", "network_forward", "rounding_bound",
]

METHODS = ("min_norm", "gaussian", "layerwise_gaussian")


@dataclass(frozen=True)
class SequentialPreimage:
    """A preimage of a whole network and the evidence that it is one.

    ``output_max_abs_error`` is ``max |f(x) - y|`` with ``f`` the layer stack in
    float64: for a Keras model, the stack read from it and checked against the
    model on ``x``. ``model_output_max_abs_error`` is ``max |model(x) - y|``
    with the Keras model itself in its own precision (``None`` for a list of
    layers). ``range_residuals`` gives, for each layer solved by least squares,
    the largest relative residual (0 when that layer's output was reachable).
    ``search`` is the record of :func:`nninv.deep.most_probable_preimage`
    when ``method="gaussian"`` chose hidden activities (``None`` otherwise).
    """

    x: np.ndarray
    output_max_abs_error: float
    range_residuals: dict[str, float]
    model_output_max_abs_error: float | None = None
    search: ProbablePreimage | None = None




def _network(model) -> tuple[Chain, ReadModel | None]:
    """``model`` as a chain, with the reading of the Keras model it came from (``None`` for layers)."""
    if isinstance(model, (Chain, list, tuple)):
        return as_chain(model), None
    if not hasattr(model, "layers"):
        raise TypeError(
            "model must be a keras.Sequential, a functional keras.Model or a list of DenseInverse, "
            f"got {type(model).__name__}"
        )
    reading = read_model(model)
    return reading.chain, reading


def _dense_only(layers: Chain) -> None:
    """Refuse a chain with a matrix-free step: each layer's preimage here needs its matrix factorised."""
    for layer in layers:
        if not isinstance(layer, DenseInverse):
            raise NotInvertibleError(
                f"layer '{layer.name}' applies {layer.map!r} without its matrix: inverting layer by layer "
                "factorises each layer's matrix; invert the whole network with nninv.most_probable_preimage"
            )


def _within_range(layer, h: np.ndarray, above) -> None:
    """Refuse activities ``h`` of ``layer`` that a least-norm preimage of ``above`` put outside its range."""
    inside = layer.activation.inside(h)
    if inside.all():
        return
    row = int(np.argmin(inside))
    low, high = layer.activation.open_range
    raise ValueError(
        f"layer '{layer.name}': the least-norm preimage of layer '{above.name}' puts its activities outside "
        f"{layer.activation.name}'s range ({low:g}, {high:g}) in {int((~inside).sum())} of {len(h)} row(s) "
        f"(row {row}: from {h[row].min():.3g} to {h[row].max():.3g}), so {layer.activation.name} cannot "
        "produce them. Least norm ignores the range; method='gaussian' with a prior "
        "(nninv.most_probable_preimage) searches only activities inside it"
    )


def invert_sequential(
    model,
    y,
    method: str | None = None,
    prior: GaussianPrior | None = None,
    range_tol: float | None = RANGE_TOL,
) -> SequentialPreimage:
    """A preimage of ``y`` under a network of dense layers, walking from the output back.

    Parameters
    ----------
    model : Chain, list of DenseInverse, or Keras model
        A Keras model is read by :mod:`nninv.reader`.
    y : array_like
        One output or a batch (an empty batch gives an empty result).
    method : {"min_norm", "gaussian", "layerwise_gaussian"}, optional
    prior : GaussianPrior, optional
    range_tol : float or None

    Returns
    -------
    SequentialPreimage

    Notes
    -----
    From the output back, ``h_L = y`` and ``h_{i-1}`` a preimage of ``h_i``
    under layer ``i``; for the least-norm method

    .. math:: h_{i-1} = (a_i^{-1}(h_i) - b_i)\\, W_i^{+}.

    Each layer is solved by its own preimage method
    with ``range_tol`` (see :mod:`nninv.inverse`), so an output some layer
    cannot produce, or a preimage lost to round-off, raises a ``ValueError``
    naming that layer; ``range_tol=None`` accepts least-squares preimages. The
    preimage of the whole network is verified the same way on the last layer.

    ``method`` chooses among the preimages:

    * ``"min_norm"`` (the default without a prior): the least-norm preimage
      of every layer (the pseudo-inverse);
    * ``"gaussian"`` (the default with ``prior``): the most probable exact
      preimage under ``prior``, a Gaussian over the network's input. When some
      layer after the first contracts, the hidden activities are chosen for
      the prior too, by :func:`nninv.deep.most_probable_preimage` with its
      defaults (every layer but the last must then have full column rank);
      otherwise the input layer's :meth:`DenseInverse.gaussian` is the answer;
    * ``"layerwise_gaussian"``: the prior at the input layer only, the
      least-norm preimage in every other layer.

    Least norm ignores the range of a bounded hidden activation: where it
    leaves it, the ``ValueError`` says so and points to ``"gaussian"``.

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layers = [DenseInverse(np.eye(3), np.zeros(3), "tanh", name="a"),
    ...           DenseInverse(np.eye(3)[:, :2], np.zeros(2), "sigmoid", name="b")]
    >>> found = invert_sequential(layers, [0.5, 0.6])
    >>> found.x.shape, found.output_max_abs_error < 1e-12, found.range_residuals
    ((3,), True, {})
    """
    if method is None:
        method = "min_norm" if prior is None else "gaussian"
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method != "min_norm" and prior is None:
        raise ValueError(f"method={method!r} needs prior=GaussianPrior(...) over the network's input")
    layers, reading = _network(model)
    _dense_only(layers)
    y_rows, single = as_rows(y, layers.n_out, "network output y")
    residuals: dict[str, float] = {}
    search = None
    if not len(y_rows):
        x = np.zeros((0, layers.n_in))
        residuals = {layer.name: 0.0 for layer in layers if layer.rank < layer.n_out}
        return SequentialPreimage(x, 0.0, residuals, None if reading is None else 0.0)
    if method == "gaussian" and any(layer.rank < layer.n_in for layer in layers[1:]):
        last = layers[-1]
        if last.rank < last.n_out:
            residuals[last.name] = float(np.max(last.range_residual(y_rows)))
        search = most_probable_preimage(layers, y_rows, prior, range_tol=range_tol)
        h = search.x
    else:
        h = y_rows
        for position, layer in reversed(list(enumerate(layers))):
            if position + 1 < len(layers) and layer.activation.open_range is not None:
                _within_range(layer, h, layers[position + 1])
            if layer.rank < layer.n_out:
                residuals[layer.name] = float(np.max(layer.range_residual(h)))
            if position == 0 and method != "min_norm":
                h = layer.gaussian(h, prior, range_tol=range_tol)
            else:
                h = layer.min_norm(h, range_tol=range_tol)
    output = check_network(layers, h, y_rows, range_tol)
    model_error = None
    if reading is not None:
        computed = check_against_model(reading.run, layers, h, output, name=reading.name, precision=reading.precision)
        model_error = float(np.max(np.abs(computed - y_rows)))
    error = float(np.max(np.abs(output - y_rows)))
    return SequentialPreimage(h[0] if single else h, error, residuals, model_error, search)
