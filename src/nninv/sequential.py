"""Layer-by-layer inversion of Keras networks made of dense layers.

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

A Keras model is read only where its computation is certain: a
``keras.Sequential`` applies its layers in order, and a functional model is
accepted when it is one chain (one input, one output, every operation applied
once to the previous one's output). Subclassed models, shared layers and
branches are refused. The reading is then checked on the preimage itself: the
model, run in its own precision, must agree with the float64 layer stack within
a bound on its round-off (:func:`rounding_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nninv.activations import Activation, LeakyReLU, Linear, NotInvertibleError, Softmax, get_activation
from nninv.checks import as_rows
from nninv.deep import ProbablePreimage, most_probable_preimage
from nninv.inverse import RANGE_TOL, DenseInverse
from nninv.prior import GaussianPrior

METHODS = ("min_norm", "gaussian", "layerwise_gaussian")


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
    if not isinstance(name, str):
        raise NotInvertibleError(f"{where}: activation {activation!r} is not supported for inversion")
    try:
        return get_activation(name)
    except NotInvertibleError as error:
        raise NotInvertibleError(f"{where}: {error}") from None


def _functional_chain(model) -> list:
    """The operations of a functional model from its input to its output, if they form one chain."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise NotInvertibleError(
            f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "only a chain from one input to one output can be inverted"
        )
    chain, tensor = [], model.outputs[0]
    while True:
        operation, node_index, _ = tensor._keras_history
        node = operation._inbound_nodes[node_index]
        if node.is_input:
            return chain[::-1]
        if len(node.input_tensors) != 1:
            raise NotInvertibleError(
                f"layer '{operation.name}' takes {len(node.input_tensors)} tensors: model '{model.name}' "
                "branches, and only a single chain of layers can be inverted"
            )
        chain.append(operation)
        tensor = node.input_tensors[0]


def _keras_computation(model) -> list:
    """The layers ``model`` applies, input side first, where its definition says so with certainty."""
    import keras
    from keras.src.models.functional import Functional  # the class of keras.Model(inputs, outputs)

    if not isinstance(model, keras.Model):
        raise TypeError(
            "model must be a keras.Sequential, a functional keras.Model or a list of DenseInverse, "
            f"got {type(model).__name__}"
        )
    if isinstance(model, keras.Sequential) and type(model).call is keras.Sequential.call:
        if not model.built:
            raise ValueError(
                f"model '{model.name}' is not built, so it has no weights yet: give it keras.Input(shape) "
                "as its first layer, call model.build(input_shape), or run it once on data"
            )
        layers = list(model.layers)
    elif isinstance(model, Functional) and type(model).call is Functional.call:
        layers = _functional_chain(model)
    else:
        raise NotInvertibleError(
            f"model '{model.name}' is a subclassed model ({type(model).__name__} defines call()): subclassed "
            "models cannot be read with certainty; rebuild it as keras.Sequential or pass a list of DenseInverse"
        )
    for layer in layers:
        uses = sum(other is layer for other in layers)
        if uses > 1:
            raise NotInvertibleError(
                f"layer '{layer.name}' is applied {uses} times; only chains that apply each layer once are "
                "read. Use one layer per application, or pass a list of DenseInverse"
            )
    return layers


def layer_inverses(model) -> list[DenseInverse]:
    """One :class:`DenseInverse` per ``Dense`` layer of ``model``, input side first.

    ``model`` is a built ``keras.Sequential`` or a functional model that is one
    chain; anything else raises (see the module). Accepts ``Dense`` layers with
    an invertible activation, each optionally followed by one activation layer
    (``Activation``, ``LeakyReLU``, or ``ReLU`` with a positive negative slope)
    when the ``Dense`` itself is linear. ``InputLayer`` and ``Dropout`` (the
    identity at inference) are skipped. Anything else raises
    :class:`NotInvertibleError` naming the layer.
    """
    import keras

    stages: list[list] = []  # [layer name, W, b, activation]
    for layer in _keras_computation(model):
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        if isinstance(layer, keras.layers.Dense):
            W = np.asarray(layer.kernel.numpy(), dtype=np.float64)  # the kernel it applies, LoRA included
            b = np.zeros(W.shape[1]) if layer.bias is None else np.asarray(layer.bias.numpy(), dtype=np.float64)
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


def network_forward(layers: list[DenseInverse], x) -> np.ndarray:
    """The network ``f_L o ... o f_1`` in float64."""
    for layer in layers:
        x = layer.forward(x)
    return x


def _verified_output(layers: list[DenseInverse], x: np.ndarray, y_rows: np.ndarray, range_tol) -> np.ndarray:
    """The network's output at ``x``, once the last layer confirms it reproduces ``y_rows`` (see ``verify``)."""
    hidden = network_forward(layers[:-1], x)
    try:
        layers[-1].verify(hidden, y_rows, range_tol)
    except ValueError as error:
        raise ValueError(
            f"each layer's preimage is exact but the network's is not, as later layers amplify earlier "
            f"round-off: {error}. Pass range_tol=None to accept it, or a larger range_tol"
        ) from None
    return layers[-1].forward(hidden)


def rounding_bound(layers: list[DenseInverse], x, unit: float, confidence: float = 10.0) -> np.ndarray:
    """Elementwise, a bound on ``|f^(x) - f(x)|`` for ``f^`` the stack evaluated with unit round-off ``unit``.

    The input is rounded (``u |x|``). A layer turns an error ``e`` in its input
    ``h`` into ``e |W| + g (|h| |W| + |b|)`` in ``z = h W + b``, where
    ``g = confidence sqrt(n_in + 1) u`` bounds a rounded inner product except
    with probability below ``2 (n_in + 1) exp(-confidence^2 / 2)`` (Higham and
    Mary 2019, theorem 2.4; 3e-19 for 10). A monotone activation moves the
    error to the larger of ``|a(z +- e_z) - a(z)|``, softmax to at most
    ``max_row e_z / 2`` (its Jacobian's rows sum to at most 1/2 in absolute
    value); its own evaluation adds ``(8 + n_out + 4 max_row |z|) u |y|``
    (the exponent's rounding and softmax's sum included).
    """
    h = np.asarray(x, dtype=np.float64)
    error = unit * np.abs(h)
    for layer in layers:
        a = layer.activation
        gamma = confidence * np.sqrt(layer.n_in + 1) * unit
        z = h @ layer.W + layer.b
        z_error = error @ np.abs(layer.W) + gamma * (np.abs(h) @ np.abs(layer.W) + np.abs(layer.b))
        h = a.forward(z)
        if isinstance(a, Softmax):
            moved = 0.5 * z_error.max(axis=1, keepdims=True)
        else:
            moved = np.maximum(np.abs(a.forward(z + z_error) - h), np.abs(a.forward(z - z_error) - h))
        error = moved + (8 + layer.n_out + 4 * np.abs(z).max(axis=1, keepdims=True)) * unit * np.abs(h)
    return error


def _layer_stack(model) -> list[DenseInverse]:
    """``model`` as DenseInverse layers, input side first: a list checked to chain, or read from Keras."""
    if isinstance(model, (list, tuple)):
        if not model or not all(isinstance(layer, DenseInverse) for layer in model):
            kinds = sorted({type(layer).__name__ for layer in model}) or ["an empty list"]
            raise TypeError(f"a list model must hold one or more DenseInverse layers, got {', '.join(kinds)}")
        names = [layer.name for layer in model]
        if len(set(names)) < len(names):
            raise ValueError(f"layer names must differ so that each is reported, got {names}; pass DenseInverse(name=...)")
        for before, after in zip(model, model[1:]):
            if before.n_out != after.n_in:
                raise ValueError(
                    f"layer '{before.name}' gives {before.n_out} outputs but the next, '{after.name}', "
                    f"takes {after.n_in}; list the layers input side first"
                )
        return list(model)
    if not hasattr(model, "layers"):
        raise TypeError(
            "model must be a keras.Sequential, a functional keras.Model or a list of DenseInverse, "
            f"got {type(model).__name__}"
        )
    return layer_inverses(model)


def _model_output(model, layers: list[DenseInverse], x: np.ndarray, output: np.ndarray) -> np.ndarray:
    """``model(x)``, once it agrees with ``output``, the float64 stack's, within :func:`rounding_bound`."""
    import keras

    computed = keras.ops.convert_to_numpy(model(x, training=False))
    unit = max(np.finfo(np.dtype(model.compute_dtype)).eps, np.finfo(computed.dtype).eps) / 2
    deviation = np.abs(computed - output)
    if np.any(deviation > rounding_bound(layers, x, unit)):
        raise NotInvertibleError(
            f"model '{model.name}' computes something else than the layers read from it: on the preimage its "
            f"output differs from theirs by up to {deviation.max():.3g}, beyond the round-off of its "
            f"{model.compute_dtype} (or the model computes below that precision, as TensorFloat-32 does); "
            "pass a list of DenseInverse that describes the network"
        )
    return computed


def invert_sequential(
    model,
    y,
    method: str | None = None,
    prior: GaussianPrior | None = None,
    range_tol: float | None = RANGE_TOL,
) -> SequentialPreimage:
    """A preimage of ``y`` under a network of dense layers, walking from the output back.

    ``model`` is a Keras model (see the module for which) or a list of
    :class:`DenseInverse`. Each layer is solved by its own preimage method
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
    """
    if method is None:
        method = "min_norm" if prior is None else "gaussian"
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method != "min_norm" and prior is None:
        raise ValueError(f"method={method!r} needs prior=GaussianPrior(...) over the network's input")
    layers = _layer_stack(model)
    y_rows, single = as_rows(y, layers[-1].n_out, "network output y")
    residuals: dict[str, float] = {}
    search = None
    if method == "gaussian" and any(layer.rank < layer.n_in for layer in layers[1:]):
        last = layers[-1]
        if last.rank < last.n_out:
            residuals[last.name] = float(np.max(last.range_residual(y_rows)))
        search = most_probable_preimage(layers, y_rows, prior, range_tol=range_tol)
        h = search.x
    else:
        h = y_rows
        for position, layer in reversed(list(enumerate(layers))):
            if layer.rank < layer.n_out:
                residuals[layer.name] = float(np.max(layer.range_residual(h)))
            if position == 0 and method != "min_norm":
                h = layer.gaussian(h, prior, range_tol=range_tol)
            else:
                h = layer.min_norm(h, range_tol=range_tol)
    output = _verified_output(layers, h, y_rows, range_tol)
    model_error = None
    if not isinstance(model, (list, tuple)):
        model_error = float(np.max(np.abs(_model_output(model, layers, h, output) - y_rows)))
    error = float(np.max(np.abs(output - y_rows)))
    return SequentialPreimage(h[0] if single else h, error, residuals, model_error, search)
