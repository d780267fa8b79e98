"""Claims about inverting whole networks layer by layer, from numpy stacks and from Keras models."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nninv import (
    DenseInverse,
    GaussianPrior,
    NotInvertibleError,
    invert_sequential,
    layer_inverses,
    most_probable_preimage,
    network_forward,
)
from nninv.activations import LeakyReLU


def square_stack(rng, width, activations):
    """Square layers with orthogonal weights times a moderate scale, so each is well conditioned."""
    return [
        DenseInverse(
            np.linalg.qr(rng.standard_normal((width, width)))[0] * rng.uniform(0.8, 1.2),
            rng.uniform(-0.1, 0.1, width),
            activation,
            name=f"dense_{i}",
        )
        for i, activation in enumerate(activations)
    ]


@settings(deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(2, 16),
    st.lists(st.sampled_from(["sigmoid", "tanh", "leaky_relu", "linear"]), min_size=1, max_size=4),
)
def test_round_trip_through_square_invertible_stacks_is_exact(seed, width, activations):
    rng = np.random.default_rng(seed)
    layers = square_stack(rng, width, activations)
    x = rng.uniform(-0.5, 0.5, (3, width))
    preimage = invert_sequential(layers, network_forward(layers, x))
    assert np.linalg.norm(preimage.x - x) <= 1e-8 * np.linalg.norm(x)
    assert preimage.output_max_abs_error < 1e-12
    assert preimage.range_residuals == {}


def test_contracting_input_layer_uses_the_chosen_method_and_stays_exact():
    rng = np.random.default_rng(0)
    first = DenseInverse(rng.standard_normal((12, 4)) / 3, np.zeros(4), "tanh", name="contract")
    layers = [first, *square_stack(rng, 4, ["sigmoid"])]
    y = network_forward(layers, rng.uniform(0, 1, (5, 12)))
    prior = GaussianPrior.fit(rng.uniform(0, 1, (100, 12)))
    least_norm = invert_sequential(layers, y)
    probable = invert_sequential(layers, y, method="gaussian", prior=prior)
    assert least_norm.output_max_abs_error < 1e-12
    assert probable.output_max_abs_error < 1e-12
    assert np.allclose(least_norm.x, first.min_norm(network_forward(layers[:1], least_norm.x)))
    assert not np.allclose(least_norm.x, probable.x)


def test_expanding_layer_accepts_its_own_outputs_and_refuses_others():
    rng = np.random.default_rng(1)
    expand = DenseInverse(rng.standard_normal((3, 8)), rng.standard_normal(8), "sigmoid", name="expand")
    y = expand.forward(rng.standard_normal((4, 3)))
    preimage = invert_sequential([expand], y)
    assert preimage.output_max_abs_error < 1e-12
    assert preimage.range_residuals["expand"] < 1e-12

    outside = np.clip(y + rng.normal(0, 0.05, y.shape), 0.01, 0.99)
    with pytest.raises(ValueError, match="layer 'expand' .* cannot produce its given output"):
        invert_sequential([expand], outside)
    least_squares = invert_sequential([expand], outside, range_tol=None)
    assert least_squares.range_residuals["expand"] > 1e-3
    assert least_squares.output_max_abs_error > 1e-3


def test_method_must_be_known_and_gaussian_needs_a_prior():
    layers = square_stack(np.random.default_rng(2), 3, ["tanh"])
    with pytest.raises(ValueError, match="method must be one of"):
        invert_sequential(layers, [0.1, 0.2, 0.3], method="magic")
    for method in ("gaussian", "layerwise_gaussian"):
        with pytest.raises(ValueError, match="needs prior="):
            invert_sequential(layers, [0.1, 0.2, 0.3], method=method)


def contracting_stack(rng):
    """12 -> 6 -> 2 with a contracting Leaky ReLU hidden layer: the hidden activities are a choice too."""
    return [
        DenseInverse(rng.standard_normal((12, 6)) / 3, rng.uniform(-0.1, 0.1, 6), LeakyReLU(0.1), name="hidden"),
        DenseInverse(rng.standard_normal((6, 2)) / 2, rng.uniform(-0.1, 0.1, 2), "sigmoid", name="scores"),
    ]


def test_with_a_prior_the_default_is_the_most_probable_preimage_through_every_layer():
    rng = np.random.default_rng(8)
    layers = contracting_stack(rng)
    prior = GaussianPrior.fit(rng.uniform(0, 1, (100, 12)))
    y = network_forward(layers, rng.uniform(0, 1, (5, 12)))
    assert invert_sequential(layers, y).search is None  # without a prior: least norm, as before
    default = invert_sequential(layers, y, prior=prior)
    direct = most_probable_preimage(layers, y, prior)
    assert np.allclose(default.x, direct.x) and default.search is not None
    layerwise = invert_sequential(layers, y, method="layerwise_gaussian", prior=prior)
    assert np.allclose(layerwise.x, layers[0].gaussian(layers[1].min_norm(y), prior))
    for preimage in (default, layerwise):
        assert preimage.output_max_abs_error < 1e-12
    centred = [p.x - prior.mean for p in (default, layerwise)]
    density = [np.sum(c * np.linalg.solve(prior.cov, c.T).T, axis=1) for c in centred]
    assert np.all(density[0] <= density[1] + 1e-9)  # never less probable than the prior at the input alone


def test_keras_network_with_contracting_hidden_layers_is_inverted_with_a_prior_and_checked_on_the_model():
    model = keras_model(
        keras.layers.Dense(5, activation="tanh"),
        keras.layers.Dense(4),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Dense(2, activation="sigmoid"),
        inputs=9,
    )
    rng = np.random.default_rng(9)
    prior = GaussianPrior.fit(rng.uniform(0, 1, (200, 9)))
    y = network_forward(layer_inverses(model), rng.uniform(0, 1, (4, 9)))
    preimage = invert_sequential(model, y, prior=prior)
    assert preimage.search is not None and preimage.search.objective.shape == (4,)
    assert preimage.output_max_abs_error < 1e-12
    assert preimage.model_output_max_abs_error < 1e-5


def test_domain_errors_name_the_layer_that_failed():
    layers = square_stack(np.random.default_rng(3), 3, ["sigmoid", "tanh"])
    with pytest.raises(ValueError, match="layer 'dense_1': tanh outputs"):
        invert_sequential(layers, [0.1, 1.0, 0.3])


def test_network_preimage_is_verified_as_a_whole_not_only_layer_by_layer():
    rng = np.random.default_rng(6)
    layers, shrunk = [], None
    for name in ("first", "second"):  # each layer alone loses ~1e-10 to round-off, within range_tol
        left, right = (np.linalg.qr(rng.standard_normal((6, 6)))[0] for _ in range(2))
        layers.append(DenseInverse((left * np.logspace(0, -6, 6)) @ right.T, np.zeros(6), "linear", name=name))
        shrunk = right[:, -1]
    with pytest.raises(ValueError, match="each layer's preimage is exact but the network's is not.*layer 'second'"):
        invert_sequential(layers, shrunk)  # the output the last layer shrinks most amplifies the first's round-off
    assert invert_sequential(layers, shrunk, range_tol=None).output_max_abs_error > 1e-6


@pytest.mark.parametrize(
    "model, error, message",
    [
        ({"dense": None}, TypeError, "model must be a keras.Sequential, a functional keras.Model or .* got dict"),
        ([1, "two"], TypeError, "a list model must hold one or more DenseInverse layers, got int, str"),
        ([], TypeError, "a list model must hold one or more DenseInverse layers, got an empty list"),
    ],
)
def test_models_that_are_neither_keras_nor_layer_lists_are_refused_by_name(model, error, message):
    with pytest.raises(error, match=message):
        invert_sequential(model, [0.1, 0.2, 0.3])


def test_layer_lists_must_chain_and_name_each_layer_once():
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match=r"layer names must differ .* \['layer', 'layer'\]"):
        invert_sequential([DenseInverse(np.eye(3), np.zeros(3), "tanh")] * 2, [0.1, 0.2, 0.3])
    mismatched = [DenseInverse(rng.standard_normal((4, 5)), np.zeros(5), name="a"), *square_stack(rng, 3, ["tanh"])]
    with pytest.raises(ValueError, match="layer 'a' gives 5 outputs but the next, 'dense_0', takes 3"):
        invert_sequential(mismatched, [0.1, 0.2, 0.3])


# Keras models


def keras_model(*layers, inputs=6):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((inputs,)), *layers])


def test_keras_leaky_relu_network_round_trips_exactly():
    model = keras_model(
        keras.layers.Dense(6, activation=keras.layers.LeakyReLU(negative_slope=0.1)),
        keras.layers.Dense(6),
        keras.layers.LeakyReLU(negative_slope=0.3),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(6, activation="leaky_relu"),
        keras.layers.Dense(6, activation="tanh"),
    )
    slopes = [layer.activation.negative_slope for layer in layer_inverses(model)[:3]]
    assert slopes == [float(np.float32(slope)) for slope in (0.1, 0.3, 0.2)]  # TensorFlow's float32 slopes
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (10, 6))
    y = network_forward(layer_inverses(model), x)
    preimage = invert_sequential(model, y)
    assert np.linalg.norm(preimage.x - x) <= 1e-8 * np.linalg.norm(x)


def test_keras_float64_forward_matches_keras_within_float32_round_off():
    model = keras_model(keras.layers.Dense(4, activation="sigmoid"), keras.layers.Dense(3, activation="softmax"))
    x = np.random.default_rng(5).uniform(0, 1, (7, 6)).astype(np.float32)
    ours = network_forward(layer_inverses(model), x)
    assert np.max(np.abs(ours - model.predict(x, verbose=0))) < 1e-6


@pytest.mark.parametrize(
    "layer, message",
    [
        (keras.layers.Dense(6, activation="relu", name="hidden"), "layer 'hidden'.*'relu' is not injective"),
        (keras.layers.ReLU(name="rectifier"), "layer 'rectifier' is a ReLU"),
        (keras.layers.Conv1D(2, 3, name="conv"), "layer 'conv' of type Conv1D is not supported"),
    ],
)
def test_relu_and_unsupported_layers_are_rejected_with_their_name(layer, message):
    if isinstance(layer, keras.layers.Conv1D):
        model = keras.Sequential([keras.Input((6, 1)), layer])
    else:
        model = keras_model(keras.layers.Dense(6), layer)
    with pytest.raises(NotInvertibleError, match=message):
        layer_inverses(model)


def test_a_second_activation_after_a_nonlinear_dense_is_rejected():
    model = keras_model(keras.layers.Dense(6, activation="tanh", name="squash"), keras.layers.LeakyReLU(name="leak"))
    with pytest.raises(NotInvertibleError, match="layer 'leak' applies a second activation after layer 'squash'"):
        layer_inverses(model)


def test_leaky_relu_inverse_divides_negative_outputs_by_the_slope():
    assert LeakyReLU(0.05).inverse(np.array([-1.0]))[0] == pytest.approx(-20.0)


# What a Keras model computes is read only where it is certain, and checked by running the model.


def functional_chain(*layers, inputs=4):
    keras.utils.set_random_seed(0)
    tensor = start = keras.Input((inputs,))
    for layer in layers:
        tensor = layer(tensor)
    return keras.Model(start, tensor)


@settings(max_examples=10, deadline=None)
@given(
    st.integers(0, 2**16),
    st.integers(2, 8),
    st.lists(st.sampled_from(["sigmoid", "tanh", "leaky_relu", "linear"]), min_size=1, max_size=3),
)
def test_functional_chain_is_inverted_and_its_error_measured_on_the_model_itself(seed, width, activations):
    model = functional_chain(*(keras.layers.Dense(width, activation=a) for a in activations), inputs=width)
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, (3, width))
    y = network_forward(layer_inverses(model), x)
    preimage = invert_sequential(model, y)
    own_error = np.max(np.abs(keras.ops.convert_to_numpy(model(preimage.x)) - y))
    assert preimage.model_output_max_abs_error == pytest.approx(own_error)
    assert preimage.model_output_max_abs_error < 1e-5
    assert preimage.output_max_abs_error < 1e-12


def test_model_that_applies_one_layer_twice_is_refused():
    dense = keras.layers.Dense(4, activation="tanh", name="dense")
    model = functional_chain(dense, dense)
    y = keras.ops.convert_to_numpy(model(np.full((1, 4), 0.1)))
    with pytest.raises(NotInvertibleError, match="layer 'dense' is applied 2 times"):
        invert_sequential(model, y)
    twice = keras_model(dense, dense, inputs=4)
    with pytest.raises(NotInvertibleError, match="layer 'dense' is applied 2 times"):
        layer_inverses(twice)


class Reordered(keras.Model):
    """Declares its layers in one order and applies them in the other."""

    def __init__(self):
        super().__init__(name="reordered")
        self.last = keras.layers.Dense(4, activation="tanh", name="last")
        self.first = keras.layers.Dense(4, activation="sigmoid", name="first")

    def call(self, x):
        return self.last(self.first(x))


def test_subclassed_model_is_refused_because_its_call_cannot_be_read():
    model = Reordered()
    y = keras.ops.convert_to_numpy(model(np.full((1, 4), 0.1)))
    with pytest.raises(NotInvertibleError, match="subclassed models cannot be read with certainty; rebuild it as"):
        invert_sequential(model, y)


def test_branching_functional_model_is_refused():
    keras.utils.set_random_seed(0)
    start = keras.Input((4,))
    model = keras.Model(start, keras.layers.Add(name="join")([keras.layers.Dense(4)(start), start]))
    with pytest.raises(NotInvertibleError, match="layer 'join' takes 2 tensors"):
        invert_sequential(model, np.full(4, 0.1))


class Amplified(keras.layers.Dense):
    """A Dense layer whose call does more than its weights say."""

    def call(self, inputs):
        return 1.5 * super().call(inputs)


def test_model_that_computes_other_than_its_layers_say_is_refused_when_read_by_running_it():
    model = keras_model(Amplified(4, activation="tanh", name="amplified"), inputs=4)
    with pytest.raises(NotInvertibleError, match="computes something else than the layers read from it"):
        layer_inverses(model)


def test_unbuilt_model_is_refused_with_how_to_build_it():
    with pytest.raises(ValueError, match=r"is not built, so it has no weights yet: give it keras.Input\(shape\)"):
        invert_sequential(keras.Sequential([keras.layers.Dense(3)]), np.full(3, 0.1))
