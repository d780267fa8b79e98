"""Keras models read into a :class:`nninv.chain.Chain`: the only module that imports Keras (inside functions).

A Keras model is read only where its computation is certain: a
``keras.Sequential`` applies its layers in order, and a functional model is
accepted when it is one chain (one input, one output, every operation applied
once to the previous one's output). Subclassed models, shared layers and
branches are refused.

Each kind of Keras layer has one small reader function, registered in
:data:`READERS` under the name of its class in ``keras.layers``; a layer of
a kind not registered is refused by name. A reader function takes the layer
and the :class:`Reading` so far and adds to it: ``Dense`` starts a dense
step, an activation layer sets the activation of the step before it,
``Flatten`` and ``Reshape`` (a reordering of nothing in row-major order) only
change the shape the next layer sees, ``InputLayer`` and ``Dropout`` (the
identity at inference) nothing. Supporting another kind of layer means
writing one such function and adding it to the table.

Inputs are flat vectors: a model whose input has more axes must flatten it
(``Flatten`` or ``Reshape``) before its first ``Dense`` layer; its preimages
are then flat too (reshape them to ``model.input_shape[1:]`` to see them as
the model does). A ``Dense`` layer applied to an input that is not flat is
refused by name.

The reading is checked on each preimage: :func:`read_model` supplies the
model's own evaluation, which :func:`nninv.verify.check_against_model` compares
with the float64 chain within a bound on the model's round-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nninv.activations import Activation, LeakyReLU, Linear, NotInvertibleError, get_activation
from nninv.chain import Chain
from nninv.inverse import DenseInverse


@dataclass
class Reading:
    """What the reader functions build: dense steps ``[name, W, b, activation]`` and the current shape.

    ``shape`` is the shape (without the batch axis) of what the next layer
    receives; ``None`` in it is an axis of unknown size.
    """

    shape: tuple
    steps: list[list] = field(default_factory=list)


@dataclass(frozen=True)
class ReadModel:
    """A Keras model as the library's chain, with the model's own evaluation for checking preimages.

    ``run(x)`` takes flat inputs ``(m, n_in)`` and returns the model's outputs
    ``(m, n_out)`` as float64 and the unit round-off of its computation.
    """

    chain: Chain
    run: Callable[[np.ndarray], tuple[np.ndarray, float]]
    name: str
    precision: str


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


# One reader function per kind of Keras layer.


def read_nothing(layer, reading: Reading) -> None:
    """``InputLayer`` and ``Dropout``: the identity at inference.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(3,))
    >>> read_nothing(keras.layers.Dropout(0.5), reading)
    >>> reading
    Reading(shape=(3,), steps=[])
    """


def read_dense(layer, reading: Reading) -> None:
    """``Dense``: a new step ``a(h W + b)``, on a flat input.

    Examples
    --------
    >>> import keras
    >>> dense = keras.layers.Dense(2, activation="tanh", name="d")
    >>> dense.build((None, 3))
    >>> reading = Reading(shape=(3,))
    >>> read_dense(dense, reading)
    >>> reading.steps[0][0], reading.steps[0][3], reading.shape
    ('d', Tanh(), (2,))
    """
    if len(reading.shape) != 1:
        raise NotInvertibleError(
            f"layer '{layer.name}' (Dense) receives inputs of shape {reading.shape}, not flat vectors: only "
            "Dense layers on flat vectors (batch, n) are read; flatten the input before it "
            "(keras.layers.Flatten() or Reshape((n,)))"
        )
    W = np.asarray(layer.kernel.numpy(), dtype=np.float64)  # the kernel it applies, LoRA included
    b = np.zeros(W.shape[1]) if layer.bias is None else np.asarray(layer.bias.numpy(), dtype=np.float64)
    reading.steps.append([layer.name, W, b, _keras_activation(layer.activation, layer.name)])
    reading.shape = (W.shape[1],)


def read_activation(layer, reading: Reading) -> None:
    """``Activation``, ``LeakyReLU``, ``ReLU``: the activation of the linear step before it.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(2,), steps=[["d", np.eye(2), np.zeros(2), Linear()]])
    >>> read_activation(keras.layers.LeakyReLU(negative_slope=0.1), reading)
    >>> reading.steps[0][3]
    LeakyReLU(negative_slope=0.1)
    """
    activation = _keras_activation(layer, layer.name)
    if not reading.steps:
        raise NotInvertibleError(f"layer '{layer.name}' applies an activation before any Dense layer")
    if isinstance(activation, Linear):
        return
    if not isinstance(reading.steps[-1][3], Linear):
        raise NotInvertibleError(
            f"layer '{layer.name}' applies a second activation after layer '{reading.steps[-1][0]}'; "
            "only one activation per Dense layer is supported"
        )
    reading.steps[-1][3] = activation


def _size(shape: tuple) -> int | None:
    return None if any(axis is None for axis in shape) else math.prod(shape)


def read_flatten(layer, reading: Reading) -> None:
    """``Flatten`` (channels last): row-major order, so the flat vector itself is unchanged.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(28, 28))
    >>> read_flatten(keras.layers.Flatten(), reading)
    >>> reading.shape
    (784,)
    """
    if getattr(layer, "data_format", "channels_last") == "channels_first" and len(reading.shape) > 1:
        raise NotInvertibleError(
            f"layer '{layer.name}' flattens channels first, which reorders the entries; only channels-last "
            "Flatten layers are read"
        )
    reading.shape = (_size(reading.shape),)


def read_reshape(layer, reading: Reading) -> None:
    """``Reshape``: row-major order, so only the shape the next layer sees changes.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(1, 20))
    >>> read_reshape(keras.layers.Reshape((-1,)), reading)
    >>> reading.shape
    (20,)
    """
    target, size = tuple(layer.target_shape), _size(reading.shape)
    if -1 in target:
        known = math.prod(axis for axis in target if axis != -1)
        target = tuple(None if size is None else size // known if axis == -1 else axis for axis in target)
    reading.shape = target


READERS: dict[str, Callable[[object, Reading], None]] = {
    "InputLayer": read_nothing,
    "Dropout": read_nothing,
    "Dense": read_dense,
    "Activation": read_activation,
    "LeakyReLU": read_activation,
    "ReLU": read_activation,
    "Flatten": read_flatten,
    "Reshape": read_reshape,
}
"""The reader function of each kind of Keras layer, by its class name in ``keras.layers``."""


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


def _reader_for(layer) -> Callable[[object, Reading], None]:
    import keras

    for kind, reader in READERS.items():
        if isinstance(layer, getattr(keras.layers, kind)):
            return reader
    raise NotInvertibleError(
        f"layer '{layer.name}' of type {type(layer).__name__} is not supported: only "
        f"{', '.join(READERS)} layers are read, and Dense layers need invertible activations"
    )


def _input_shape(model) -> tuple:
    try:
        return tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        return tuple(model.input_shape[1:])


def read_model(model) -> ReadModel:
    """``model`` as a :class:`Chain` and its own evaluation (see the module).

    Parameters
    ----------
    model : keras.Sequential or keras.Model
        Built, and one chain of registered layers.

    Returns
    -------
    ReadModel

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((2, 2)), keras.layers.Flatten(), keras.layers.Dense(2, name="d")])
    >>> read_model(model).chain
    Chain([DenseInverse('d': 4 -> 2, linear, rank 2)])
    """
    import keras

    layers = _keras_computation(model)
    input_shape = _input_shape(model)
    reading = Reading(shape=input_shape)
    for layer in layers:
        _reader_for(layer)(layer, reading)
    if not reading.steps:
        raise NotInvertibleError("the model has no Dense layer to invert")
    if len(reading.shape) != 1:
        raise NotInvertibleError(
            f"model '{model.name}' gives outputs of shape {reading.shape}, not flat vectors; only flat outputs "
            "are read: end the model with its last Dense layer (or a Flatten after it)"
        )
    chain = Chain(DenseInverse(W, b, activation, name=name) for name, W, b, activation in reading.steps)
    precision = str(model.compute_dtype)

    def run(x: np.ndarray) -> tuple[np.ndarray, float]:
        shaped = x.reshape((len(x), *(axis if axis is not None else -1 for axis in input_shape)))
        computed = keras.ops.convert_to_numpy(model(shaped, training=False))
        unit = max(np.finfo(np.dtype(model.compute_dtype)).eps, np.finfo(computed.dtype).eps) / 2
        return computed.reshape(len(x), -1), float(unit)

    return ReadModel(chain, run, model.name, precision)


def layer_inverses(model) -> Chain:
    """One :class:`DenseInverse` per ``Dense`` layer of ``model``, input side first, as a :class:`Chain`.

    ``model`` is a built ``keras.Sequential`` or a functional model that is one
    chain; anything else raises (see the module). Accepts ``Dense`` layers with
    an invertible activation, each optionally followed by one activation layer
    (``Activation``, ``LeakyReLU``, or ``ReLU`` with a positive negative slope)
    when the ``Dense`` itself is linear, and the layers of :data:`READERS`.
    Anything else raises :class:`NotInvertibleError` naming the layer.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="tanh")])
    >>> [layer.n_out for layer in layer_inverses(model)]
    [2]
    """
    return read_model(model).chain
