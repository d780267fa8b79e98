"""Layer-by-layer inversion of Keras networks made of dense layers.

A network ``f = f_L o ... o f_1`` with ``f_i(h) = a_i(h W_i + b_i)`` is inverted
from the output back: ``h_L = y``, ``h_{i-1}`` = a preimage of ``h_i`` under
``f_i``. Square non-singular layers have exactly one preimage. A contracting
layer (``n_out < n_in``) has a whole affine family and a method picks one. An
expanding layer (``n_out > n_in``) reaches only an ``n_in``-dimensional part of
its output space: it is solved by least squares, and a ``y`` that the network
cannot produce is refused unless the caller accepts the residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nninv.activations import Activation, LeakyReLU, Linear, NotInvertibleError, get_activation
from nninv.checks import as_rows
from nninv.inverse import DenseInverse
from nninv.prior import GaussianPrior

METHODS = ("min_norm", "gaussian")


def _keras_activation(activation, layer_name: str) -> Activation:
    """Our :class:`Activation` for a Keras activation function or activation layer."""
    import keras

    where = f"layer '{layer_name}'"
    if isinstance(activation, keras.layers.LeakyReLU):
        return LeakyReLU(float(activation.negative_slope))
    if isinstance(activation, keras.layers.ReLU):
        relu_is_leaky = (
            activation.max_value is None and float(activation.threshold) == 0 and float(activation.negative_slope) > 0
        )
        if relu_is_leaky:
            return LeakyReLU(float(activation.negative_slope))
        raise NotInvertibleError(
            f"{where} is a ReLU (negative_slope={float(activation.negative_slope)}, "
            f"max_value={activation.max_value}, threshold={float(activation.threshold)}): it is not "
            "injective because every negative pre-activation becomes 0"
        )
    if isinstance(activation, keras.layers.Activation):
        activation = activation.activation
    name = keras.activations.serialize(activation)
    name = name if isinstance(name, str) else name.get("config", name.get("class_name"))
    try:
        return get_activation(name)
    except NotInvertibleError as error:
        raise NotInvertibleError(f"{where}: {error}") from None


def layer_inverses(model) -> list[DenseInverse]:
    """One :class:`DenseInverse` per ``Dense`` layer of ``model``, input side first.

    Accepts ``Dense`` layers with an invertible activation, each optionally
    followed by one activation layer (``Activation``, ``LeakyReLU``, or ``ReLU``
    with a positive negative slope) when the ``Dense`` itself is linear.
    ``InputLayer`` and ``Dropout`` (the identity at inference) are skipped.
    Anything else raises :class:`NotInvertibleError` naming the layer.
    """
    import keras

    stages: list[list] = []  # [layer name, W, b, activation]
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        if isinstance(layer, keras.layers.Dense):
            weights = [np.asarray(w, dtype=np.float64) for w in layer.get_weights()]
            W = weights[0]
            b = weights[1] if layer.use_bias else np.zeros(W.shape[1])
            stages.append([layer.name, W, b, _keras_activation(layer.activation, layer.name)])
        elif isinstance(layer, (keras.layers.Activation, keras.layers.LeakyReLU, keras.layers.ReLU)):
            activation = _keras_activation(layer, layer.name)
            if not stages:
                raise NotInvertibleError(f"layer '{layer.name}' applies an activation before any Dense layer")
            if isinstance(activation, Linear):
                continue
            if not isinstance(stages[-1][3], Linear):
                raise NotInvertibleError(
                    f"layer '{layer.name}' applies a second activation after layer '{stages[-1][0]}'; "
                    "only one activation per Dense layer is supported"
                )
            stages[-1][3] = activation
        else:
            raise NotInvertibleError(
                f"layer '{layer.name}' of type {type(layer).__name__} is not supported: "
                "only Dense layers with invertible activations can be inverted"
            )
    if not stages:
        raise NotInvertibleError("the model has no Dense layer to invert")
    return [DenseInverse(W, b, activation, name=name) for name, W, b, activation in stages]


@dataclass(frozen=True)
class SequentialPreimage:
    """A preimage of a whole network and the evidence that it is one.

    ``output_max_abs_error`` is ``max |f(x) - y|`` with ``f`` evaluated in
    float64; ``range_residuals`` gives, for each layer solved by least squares,
    the largest relative residual (0 when that layer's output was reachable).
    """

    x: np.ndarray
    output_max_abs_error: float
    range_residuals: dict[str, float]


def network_forward(layers: list[DenseInverse], x) -> np.ndarray:
    """The network ``f_L o ... o f_1`` in float64."""
    for layer in layers:
        x = layer.forward(x)
    return x


def invert_sequential(
    model,
    y,
    method: str = "min_norm",
    prior: GaussianPrior | None = None,
    range_tol: float | None = 1e-6,
) -> SequentialPreimage:
    """A preimage of ``y`` under a Keras network of dense layers, walking from the output back.

    Layers are classified by shape and rank. An expanding or rank-deficient
    layer is solved by least squares; if its relative range residual exceeds
    ``range_tol`` the output is not one the network can produce and a
    ``ValueError`` says so (``range_tol=None`` accepts the least-squares
    preimage). The input layer uses ``method``: ``"min_norm"`` (the
    pseudo-inverse) or ``"gaussian"`` (most probable under ``prior``, a prior
    over the network's input); inner layers with several preimages take the
    least-norm one. ``model`` may also be a list of :class:`DenseInverse`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "gaussian" and prior is None:
        raise ValueError("method='gaussian' needs prior=GaussianPrior(...) over the network's input")
    layers = model if isinstance(model, list) else layer_inverses(model)
    y_rows, single = as_rows(y, layers[-1].n_out, "network output y")
    h = y_rows
    residuals: dict[str, float] = {}
    for position, layer in reversed(list(enumerate(layers))):
        if layer.rank < layer.n_out:
            worst = float(np.max(layer.range_residual(h)))
            residuals[layer.name] = worst
            if range_tol is not None and worst > range_tol:
                raise ValueError(
                    f"layer '{layer.name}' ({layer.n_in} -> {layer.n_out}, rank {layer.rank}) cannot "
                    f"produce its given output: relative range residual {worst:.3g} > range_tol={range_tol}. "
                    "y is not an output of this network; pass range_tol=None to accept the "
                    "least-squares preimage"
                )
        if position == 0 and method == "gaussian":
            h = layer.gaussian(h, prior)
        else:
            h = layer.min_norm(h)
    error = float(np.max(np.abs(network_forward(layers, h) - y_rows)))
    return SequentialPreimage(h[0] if single else h, error, residuals)
