"""Keras models read into a :class:`nninv.chain.Chain`: the only module that imports Keras (inside functions).

A Keras model is read only where its computation is certain: a
``keras.Sequential`` applies its layers in order, and a functional model is
accepted when it is one chain (one input, one output, every operation applied
once to the previous one's output). Subclassed models, shared layers and
branches are refused.

Each kind of Keras layer has one small reader function, registered in
:data:`READERS` under the name of its class in ``keras.layers``; a layer of
a kind not registered is refused by name. A reader function takes the layer
and the :class:`Reading` so far and adds to it: ``Dense``, ``Conv2D`` (any
stride, ``"valid"`` or ``"same"`` padding, with or without bias),
``AveragePooling2D``, ``ZeroPadding2D`` and ``BatchNormalization`` (at
inference, a scale and shift per channel) each add an affine map
(:mod:`nninv.operators`), an activation layer sets the activation of the step
before it, ``Flatten`` and ``Reshape`` (a reordering of nothing in row-major
order) only change the shape the next layer sees, ``InputLayer`` and
``Dropout`` (the identity at inference) nothing. Affine maps with no
activation between them compose into one step (a batch normalisation folds
into the convolution or dense layer before it; a pooling, a flatten and a
dense layer become one matrix), except that two dense layers stay two steps.
A step whose map is a matrix becomes a :class:`nninv.DenseInverse`; one with
a convolution or pooling an :class:`nninv.operators.AffineLayer`, applied
without its matrix (why: :mod:`nninv.operators`). ``MaxPooling2D``, ReLU,
channels-first layouts and dilated or grouped convolutions are refused with
the reason. Supporting another kind of layer means writing one such function
and adding it to the table.

Inputs are flat vectors, row-major (channels last): a preimage of a model
whose input has more axes is reshaped to ``model.input_shape[1:]`` to be seen
as the model sees it. A ``Dense`` layer applied to an input that is not flat
is refused by name.

The reading is checked twice: :func:`read_model` runs the model on random
inputs and compares it with the float64 chain, and it supplies the model's
own evaluation, which :func:`nninv.verify.check_against_model` compares with
the chain on each preimage, within a bound on the model's round-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nninv.activations import Activation, LeakyReLU, Linear, NotInvertibleError, get_activation
from nninv.chain import Chain
from nninv.inverse import DenseInverse
from nninv.operators import (
    AffineLayer,
    AffineMap,
    AveragePooling,
    ChannelAffine,
    Convolution,
    Matrix,
    ZeroPadding,
    compose,
)
from nninv.verify import check_against_model


@dataclass
class Reading:
    """What the reader functions build: steps ``[name, affine map, activation]`` and the current shape.

    ``shape`` is the shape (without the batch axis) of what the next layer
    receives; ``None`` in it is an axis of unknown size. A step whose
    activation is still linear is open: an affine layer read next joins it
    (:meth:`add`).
    """

    shape: tuple
    steps: list[list] = field(default_factory=list)

    def add(self, name: str, affine: AffineMap, activation: Activation | None = None) -> None:
        """Append ``affine`` as a new step, or compose it into the open step before it.

        Two dense layers stay two steps (as the network was written); any
        other affine map joins an open step before it, so that a pooling, a
        convolution, a batch normalisation or a flatten and dense layer with
        no activation between them are one affine step.

        Examples
        --------
        >>> reading = Reading(shape=(2, 2, 1))
        >>> reading.add("pool", AveragePooling((2, 2, 1), (2, 2), (2, 2), "valid"))
        >>> reading.add("dense", Matrix(np.ones((1, 3)), np.zeros(3)), Linear())
        >>> [(name, type(affine).__name__) for name, affine, _ in reading.steps]
        [('pool+dense', 'Matrix')]
        """
        activation = Linear() if activation is None else activation
        before = self.steps[-1] if self.steps else None
        dense_after_dense = isinstance(affine, Matrix) and before is not None and isinstance(before[1], Matrix)
        if before is not None and isinstance(before[2], Linear) and not dense_after_dense:
            before[0], before[1], before[2] = f"{before[0]}+{name}", compose(before[1], affine), activation
        else:
            self.steps.append([name, affine, activation])
        self.shape = affine.out_shape


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


RELU_ADVICE = (
    "; a ReLU layer's preimages are polyhedra, found one layer at a time by a linear programme "
    "(nninv.relu_preimage) or, most probable under a prior, a quadratic programme "
    "(nninv.relu_most_probable_preimage); the whole-network methods need LeakyReLU"
)


def _keras_activation(activation, layer_name: str) -> Activation:
    """Our :class:`Activation` for a Keras activation function or activation layer, as TensorFlow computes it.

    TensorFlow's ``leaky_relu`` takes its slope as a float32 attribute, so
    even a float64 model multiplies by ``float32(s)``: the slope read is that.
    """
    activation = _named_activation(activation, layer_name)
    if isinstance(activation, LeakyReLU):
        return LeakyReLU(float(np.float32(activation.negative_slope)))
    return activation


def _named_activation(activation, layer_name: str) -> Activation:
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
            f"injective because every negative pre-activation becomes 0{RELU_ADVICE}"
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
        advice = RELU_ADVICE if name in ("relu", "relu6") else ""
        raise NotInvertibleError(f"{where}: {error}{advice}") from None


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
    """``Dense``: the affine map ``h W + b`` on a flat input, with the layer's activation.

    Examples
    --------
    >>> import keras
    >>> dense = keras.layers.Dense(2, activation="tanh", name="d")
    >>> dense.build((None, 3))
    >>> reading = Reading(shape=(3,))
    >>> read_dense(dense, reading)
    >>> reading.steps[0][0], reading.steps[0][2], reading.shape
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
    reading.add(layer.name, Matrix(W, b), _keras_activation(layer.activation, layer.name))


def _image_shape(layer, reading: Reading, kind: str) -> tuple:
    """The ``(height, width, channels)`` that ``layer`` receives, refusing channels first and unknown sizes."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise NotInvertibleError(
            f"layer '{layer.name}' ({kind}) has data_format='{layer.data_format}': only channels-last "
            "images (batch, height, width, channels) are read; build the model with "
            "data_format='channels_last'"
        )
    if len(reading.shape) != 3 or any(axis is None for axis in reading.shape):
        raise NotInvertibleError(
            f"layer '{layer.name}' ({kind}) receives inputs of shape {reading.shape}: only images of known "
            "shape (height, width, channels) are read; give the model keras.Input((height, width, channels)) "
            "or a Reshape before it"
        )
    return tuple(int(axis) for axis in reading.shape)


def read_convolution(layer, reading: Reading) -> None:
    """``Conv2D``: a convolution of any stride, ``"valid"`` or ``"same"`` padding, with its activation.

    Examples
    --------
    >>> import keras
    >>> conv = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="c")
    >>> conv.build((None, 5, 5, 1))
    >>> reading = Reading(shape=(5, 5, 1))
    >>> read_convolution(conv, reading)
    >>> reading.steps[0][1], reading.shape
    (Convolution((5, 5, 1) -> (3, 3, 4)), (3, 3, 4))
    """
    shape = _image_shape(layer, reading, "Conv2D")
    if any(int(rate) != 1 for rate in layer.dilation_rate) or int(getattr(layer, "groups", 1)) != 1:
        raise NotInvertibleError(
            f"layer '{layer.name}' (Conv2D) is dilated (dilation_rate={tuple(layer.dilation_rate)}) or grouped "
            f"(groups={getattr(layer, 'groups', 1)}): only convolutions with dilation_rate=1 and groups=1 are read"
        )
    kernel = np.asarray(layer.kernel.numpy(), dtype=np.float64)
    bias = None if layer.bias is None else np.asarray(layer.bias.numpy(), dtype=np.float64)
    convolution = Convolution(shape, kernel, bias, tuple(layer.strides), layer.padding)
    reading.add(layer.name, convolution, _keras_activation(layer.activation, layer.name))


def read_average_pooling(layer, reading: Reading) -> None:
    """``AveragePooling2D``: any pool size, stride and padding.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(4, 4, 2))
    >>> read_average_pooling(keras.layers.AveragePooling2D(2, name="p"), reading)
    >>> reading.shape
    (2, 2, 2)
    """
    shape = _image_shape(layer, reading, "AveragePooling2D")
    reading.add(layer.name, AveragePooling(shape, tuple(layer.pool_size), tuple(layer.strides), layer.padding))


def read_zero_padding(layer, reading: Reading) -> None:
    """``ZeroPadding2D``: zeros around the image.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(2, 2, 1))
    >>> read_zero_padding(keras.layers.ZeroPadding2D(((1, 0), (0, 2))), reading)
    >>> reading.shape
    (3, 4, 1)
    """
    shape = _image_shape(layer, reading, "ZeroPadding2D")
    reading.add(layer.name, ZeroPadding(shape, layer.padding))


def read_batch_normalization(layer, reading: Reading) -> None:
    """``BatchNormalization`` at inference: ``gamma (h - moving_mean) / sqrt(moving_variance + epsilon) + beta``.

    A scale and shift per feature of the last axis, folded into the affine
    map before it when there is one (:func:`nninv.operators.compose`).

    Examples
    --------
    >>> import keras
    >>> norm = keras.layers.BatchNormalization(name="bn")
    >>> norm.build((None, 3))
    >>> reading = Reading(shape=(3,))
    >>> read_batch_normalization(norm, reading)
    >>> print(reading.steps[0][1].scale.round(4))
    [0.9995 0.9995 0.9995]
    """
    axis = int(layer.axis) % len(reading.shape) if reading.shape else 0
    if axis != len(reading.shape) - 1 or reading.shape[-1] is None:
        raise NotInvertibleError(
            f"layer '{layer.name}' (BatchNormalization) normalises axis {layer.axis} of inputs of shape "
            f"{reading.shape}: only the last (channels) axis of an input of known shape is read"
        )
    variance = np.asarray(layer.moving_variance.numpy(), dtype=np.float64)
    scale = 1.0 / np.sqrt(variance + float(layer.epsilon))
    if layer.gamma is not None:
        scale = scale * np.asarray(layer.gamma.numpy(), dtype=np.float64)
    shift = -np.asarray(layer.moving_mean.numpy(), dtype=np.float64) * scale
    if layer.beta is not None:
        shift = shift + np.asarray(layer.beta.numpy(), dtype=np.float64)
    if np.any(scale == 0):
        raise NotInvertibleError(
            f"layer '{layer.name}' (BatchNormalization) has gamma = 0 in {int(np.sum(scale == 0))} channel(s), "
            "which it maps to a constant: no input can be recovered there"
        )
    reading.add(layer.name, ChannelAffine(reading.shape, scale, shift))


def refuse_max_pooling(layer, reading: Reading) -> None:
    """``MaxPooling2D``: refused; a maximum forgets every entry but one of each window.

    Examples
    --------
    >>> import keras
    >>> refuse_max_pooling(keras.layers.MaxPooling2D(name="m"), Reading(shape=(2, 2, 1)))
    Traceback (most recent call last):
    ...
    nninv.activations.NotInvertibleError: layer 'm' (MaxPooling2D) is not invertible: ...
    """
    raise NotInvertibleError(
        f"layer '{layer.name}' (MaxPooling2D) is not invertible: a maximum keeps one entry of each window "
        "and only bounds the others, so its preimages are polyhedra (a linear or quadratic programme, as "
        "for ReLU: nninv.relu_preimage, nninv.relu_most_probable_preimage); use AveragePooling2D, which is affine"
    )


def read_activation(layer, reading: Reading) -> None:
    """``Activation``, ``LeakyReLU``, ``ReLU``: the activation of the affine step before it.

    Examples
    --------
    >>> import keras
    >>> reading = Reading(shape=(2,), steps=[["d", Matrix(np.eye(2), np.zeros(2)), Linear()]])
    >>> read_activation(keras.layers.LeakyReLU(negative_slope=0.5), reading)
    >>> reading.steps[0][2]
    LeakyReLU(negative_slope=0.5)
    """
    activation = _keras_activation(layer, layer.name)
    if not reading.steps:
        raise NotInvertibleError(f"layer '{layer.name}' applies an activation before any affine layer")
    if isinstance(activation, Linear):
        return
    if not isinstance(reading.steps[-1][2], Linear):
        raise NotInvertibleError(
            f"layer '{layer.name}' applies a second activation after layer '{reading.steps[-1][0]}'; "
            "only one activation per affine layer is supported"
        )
    reading.steps[-1][2] = activation


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
    "Conv2D": read_convolution,
    "AveragePooling2D": read_average_pooling,
    "ZeroPadding2D": read_zero_padding,
    "BatchNormalization": read_batch_normalization,
    "MaxPooling2D": refuse_max_pooling,
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
        f"{', '.join(kind for kind, reader in READERS.items() if reader is not refuse_max_pooling)} layers "
        "are read, and affine layers need invertible activations"
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
        raise NotInvertibleError(f"model '{model.name}' has no affine layer (Dense, Conv2D, ...) to invert")
    if len(reading.shape) != 1:
        raise NotInvertibleError(
            f"model '{model.name}' gives outputs of shape {reading.shape}, not flat vectors; only flat outputs "
            "are read: end the model with its last Dense layer (or a Flatten after it)"
        )
    chain = Chain(_layer(name, affine, activation) for name, affine, activation in reading.steps)
    precision = str(model.compute_dtype)
    try:
        input_dtypes = [str(tensor.dtype) for tensor in model.inputs]
    except (AttributeError, ValueError):  # a Sequential built without keras.Input
        input_dtypes = []

    def run(x: np.ndarray) -> tuple[np.ndarray, float]:
        shaped = x.reshape((len(x), *(axis if axis is not None else -1 for axis in input_shape)))
        computed = keras.ops.convert_to_numpy(model(shaped, training=False))
        dtypes = (model.compute_dtype, computed.dtype, *input_dtypes)
        unit = max(np.finfo(np.dtype(dtype)).eps for dtype in dtypes) / 2  # an input rounded to float32 counts
        return computed.reshape(len(x), -1), float(unit)

    # The reading, checked on random inputs, small so that no unit saturates: a float32 sigmoid far
    # below 0 is accurate only next to 1, not relative to its own value, which the bound assumes.
    probe = np.random.default_rng(0).uniform(0.0, 0.01, (4, chain.n_in))
    check_against_model(run, chain, probe, chain.forward(probe), name=model.name, precision=precision,
                        where="random inputs")
    return ReadModel(chain, run, model.name, precision)


def _layer(name: str, affine: AffineMap, activation: Activation):
    """A step as a :class:`DenseInverse` when its map is a matrix, else as a matrix-free :class:`AffineLayer`."""
    if isinstance(affine, Matrix):
        return DenseInverse(affine.W, affine.bias, activation, name=name)
    return AffineLayer(affine, activation, name=name)


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
