"""Claims about reading convolutional Keras models: every affine layer is read as Keras computes it, composed
where no activation stands between, and everything the library cannot invert is refused by name and cause."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import keras
import numpy as np
import pytest

from nninv import DenseInverse, NotInvertibleError, layer_inverses
from nninv.operators import (
    AffineLayer,
    AveragePooling,
    ChannelAffine,
    Composed,
    Convolution,
    Matrix,
    ZeroPadding,
)
from nninv.reader import read_model

L = keras.layers


@pytest.fixture(autouse=True)
def float64_keras():
    """Models built in float64, so that disagreements of round-off size are 1e-16, not 1e-7."""
    before = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(before[0])
    keras.config.set_dtype_policy(before[1])


def float64_model(*layers, shape=(7, 8, 2)):
    return keras.Sequential([keras.Input(shape), *layers])


def disagreement(model) -> float:
    """The largest |chain - Keras| on random inputs, relative to the outputs' size."""
    reading = read_model(model)
    x = np.random.default_rng(1).uniform(-1, 1, (6, reading.chain.n_in))
    ours, (theirs, _) = reading.chain.forward(x), reading.run(x)
    return float(np.abs(ours - theirs).max() / max(1.0, np.abs(theirs).max()))


def randomise_batch_normalization(layer, rng):
    channels = layer.moving_mean.shape[0]
    layer.moving_mean.assign(rng.standard_normal(channels))
    layer.moving_variance.assign(rng.uniform(0.2, 3.0, channels))
    layer.gamma.assign(rng.standard_normal(channels))
    layer.beta.assign(rng.standard_normal(channels))


@pytest.mark.parametrize("strides", [1, 2, 3, (1, 2)])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("channels", [1, 2])  # one input channel is applied window by window, more offset by offset
def test_a_conv2d_read_by_the_library_agrees_with_keras_for_every_stride_and_padding(strides, padding, use_bias,
                                                                                     channels):
    conv = L.Conv2D(3, (3, 2), strides=strides, padding=padding, use_bias=use_bias,
                    bias_initializer="random_normal", name="conv")
    model = float64_model(conv, L.Flatten(), shape=(7, 8, channels))
    assert disagreement(model) <= 1e-13
    [step] = layer_inverses(model)
    assert isinstance(step, AffineLayer) and step.name == "conv"


@pytest.mark.parametrize("pool_size, strides, padding", [
    (2, None, "valid"), (3, 2, "same"), (2, 1, "same"), ((2, 3), (1, 2), "valid"), (3, 3, "same"), ((3, 2), 2, "same"),
])
def test_an_average_pooling_read_by_the_library_agrees_with_keras_for_every_size_stride_and_padding(
        pool_size, strides, padding):
    model = float64_model(L.AveragePooling2D(pool_size, strides, padding), L.Flatten())
    assert disagreement(model) <= 1e-13


def test_batch_normalization_folds_into_the_convolution_and_the_dense_layer_before_it():
    rng = np.random.default_rng(2)
    model = float64_model(
        L.Conv2D(4, 3, padding="same", name="conv"), L.BatchNormalization(name="bn_conv"), L.LeakyReLU(0.1),
        L.Flatten(), L.Dense(5, name="dense"), L.BatchNormalization(name="bn_dense"), L.Activation("tanh"),
    )
    randomise_batch_normalization(model.get_layer("bn_conv"), rng)
    randomise_batch_normalization(model.get_layer("bn_dense"), rng)
    assert disagreement(model) <= 1e-13
    first, second = layer_inverses(model)
    assert isinstance(first.map, Convolution) and first.name == "conv+bn_conv"
    assert isinstance(second, DenseInverse) and second.name == "dense+bn_dense"


def test_a_batch_normalization_first_dropout_and_zero_padding_are_read_as_keras_computes_them():
    rng = np.random.default_rng(3)
    model = float64_model(L.BatchNormalization(name="bn"), L.Dropout(0.5), L.ZeroPadding2D(((1, 2), (0, 1))),
                          L.Conv2D(2, 3, strides=2), L.LeakyReLU(0.2), L.Flatten(), L.Dense(3))
    randomise_batch_normalization(model.get_layer("bn"), rng)
    assert disagreement(model) <= 1e-13


def test_the_books_cnn_is_two_matrix_free_steps_and_one_matrix():
    model = float64_model(
        L.Reshape((28, 28, 1)), L.Conv2D(8, 3, padding="same"), L.LeakyReLU(0.1), L.AveragePooling2D(2),
        L.Conv2D(16, 3, padding="same"), L.LeakyReLU(0.1), L.AveragePooling2D(2), L.Flatten(), L.Dense(10),
        shape=(28, 28),
    )
    assert disagreement(model) <= 1e-13
    first, second, last = layer_inverses(model)
    assert (first.n_in, first.n_out, second.n_out) == (784, 6272, 3136)
    assert isinstance(second.map, Composed) and [type(part) for part in second.map.maps] == [AveragePooling, Convolution]
    assert isinstance(last, DenseInverse) and (last.n_in, last.n_out) == (3136, 10)  # pooling, flatten, dense: one matrix


MAPS = {
    "convolution": Convolution((5, 4, 2), np.random.default_rng(4).standard_normal((3, 2, 2, 3)), np.ones(3), (2, 1), "same"),
    "one-channel convolution": Convolution((5, 4, 1), np.random.default_rng(4).standard_normal((2, 3, 1, 3)), None,
                                           (1, 2), "valid"),
    "pooling": AveragePooling((5, 4, 2), (2, 3), (2, 2), "same"),
    "padding": ZeroPadding((5, 4, 2), ((1, 0), (2, 1))),
    "channels": ChannelAffine((5, 4, 2), np.array([2.0, -1.0]), np.array([0.5, 0.0])),
    "matrix": Matrix(np.random.default_rng(5).standard_normal((40, 3)), np.zeros(3)),
}


@pytest.mark.parametrize("name", MAPS)
def test_each_affine_maps_transpose_is_its_adjoint_and_its_matrix_is_what_it_applies(name):
    affine = MAPS[name]
    rng = np.random.default_rng(6)
    x, g = rng.standard_normal((3, affine.n_in)), rng.standard_normal((3, affine.n_out))
    assert np.allclose(np.sum(affine.linear(x) * g, axis=1), np.sum(x * affine.transpose(g), axis=1), rtol=1e-12)
    assert np.allclose(x @ affine.matrix() + affine.bias, affine.apply(x), rtol=1e-12, atol=1e-12)
    assert np.all(affine.absolute().matrix() >= np.abs(affine.matrix()) - 1e-15)


REFUSED = [
    ("max pooling", [L.MaxPooling2D(name="max")], "layer 'max' \\(MaxPooling2D\\) is not invertible.*polyhedra"),
    ("relu activation of a conv", [L.Conv2D(2, 3, activation="relu", name="conv")],
     "layer 'conv'.*relu.*polyhedra.*relu_most_probable_preimage"),
    ("relu layer after a conv", [L.Conv2D(2, 3, name="conv"), L.ReLU(name="rectifier")],
     "layer 'rectifier' is a ReLU.*polyhedra"),
    ("dilated conv", [L.Conv2D(2, 3, dilation_rate=2, name="dilated")], "layer 'dilated' \\(Conv2D\\) is dilated"),
    ("grouped conv", [L.Conv2D(2, 3, groups=2, name="grouped")], "layer 'grouped' \\(Conv2D\\).*grouped"),
    ("channels-first conv", [L.Conv2D(2, 1, data_format="channels_first", name="first")],
     "layer 'first' \\(Conv2D\\) has data_format='channels_first'"),
    ("channels-first pooling", [L.AveragePooling2D(2, data_format="channels_first", name="pool")],
     "layer 'pool' \\(AveragePooling2D\\) has data_format='channels_first'"),
    ("unregistered layer", [L.UpSampling2D(name="up")], "layer 'up' of type UpSampling2D is not supported"),
    ("a dense layer on an image", [L.Dense(3, name="dense")], "layer 'dense' \\(Dense\\) receives inputs of shape"),
    ("a batch normalization of the rows of an image", [L.BatchNormalization(axis=1, name="bn")],
     "layer 'bn' \\(BatchNormalization\\) normalises axis 1"),
]


@pytest.mark.parametrize("case, layers, cause", REFUSED, ids=[case for case, _, _ in REFUSED])
def test_what_the_library_cannot_invert_is_refused_naming_the_layer_and_the_cause(case, layers, cause):
    model = keras.Sequential([keras.Input((6, 6, 2)), *layers, L.Flatten()])
    with pytest.raises(NotInvertibleError, match=cause):
        layer_inverses(model)


def test_a_branching_convolutional_model_is_refused_naming_the_join():
    inputs = keras.Input((6, 6, 1))
    left, right = L.Conv2D(2, 3, padding="same")(inputs), L.Conv2D(2, 3, padding="same")(inputs)
    model = keras.Model(inputs, L.Flatten()(L.Add(name="join")([left, right])))
    with pytest.raises(NotInvertibleError, match="layer 'join' takes 2 tensors"):
        layer_inverses(model)
