"""Claims about exact preimages of expanding and convolutional networks, searched in the input: every row is
exact in float64 or refused by row and reason, never a near miss."""

import numpy as np
import pytest

from nninv import DenseInverse, GaussianPrior, most_probable_preimage, nearest_preimage, network_forward
from nninv.activations import LeakyReLU
from nninv.chain import Chain
from nninv.operators import AffineLayer, AveragePooling, Composed, Convolution


def small_cnn(rng, channels=(4, 6), outputs=3):
    """An 8 x 8 image -> conv(same) -> LeakyReLU -> pool -> conv(same) -> LeakyReLU -> pool, flatten, dense."""
    first = Convolution((8, 8, 1), rng.standard_normal((3, 3, 1, channels[0])) / 2, rng.normal(0, 0.1, channels[0]),
                        (1, 1), "same")
    pool = AveragePooling((8, 8, channels[0]), (2, 2), (2, 2), "valid")
    second = Convolution((4, 4, channels[0]), rng.standard_normal((3, 3, channels[0], channels[1])) / 3,
                         rng.normal(0, 0.1, channels[1]), (1, 1), "same")
    last_pool = AveragePooling((4, 4, channels[1]), (2, 2), (2, 2), "valid")
    dense = last_pool.transpose(rng.standard_normal((outputs, last_pool.n_out))).T  # pooling and dense: one matrix
    return Chain([
        AffineLayer(first, LeakyReLU(0.1), name="conv"),
        AffineLayer(Composed([pool, second]), LeakyReLU(0.1), name="pool+conv"),
        DenseInverse(dense, rng.normal(0, 0.1, outputs), "linear", name="pool+dense"),
    ])


def image_prior(rng, n=64):
    samples = rng.uniform(0, 1, (200, n)) @ np.linalg.qr(rng.standard_normal((n, n)))[0] / 4
    return GaussianPrior.fit(samples)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_row_of_a_cnns_most_probable_preimage_is_exact_in_float64(seed):
    rng = np.random.default_rng(seed)
    chain, prior = small_cnn(rng), image_prior(rng)
    y = chain.forward(rng.uniform(0, 1, (20, 64)))
    found = most_probable_preimage(chain, y, prior)
    assert not found.refused
    assert np.abs(network_forward(chain, found.x) - y).max(axis=1).max() <= 1e-9
    assert found.output_max_abs_error <= 1e-9
    assert [h.shape[1] for h in found.hidden] == [256, 96]


def test_the_preimage_is_more_probable_than_the_input_that_produced_the_output():
    rng = np.random.default_rng(3)
    chain, prior = small_cnn(rng), image_prior(rng)
    x = rng.uniform(0, 1, (20, 64))
    found = most_probable_preimage(chain, chain.forward(x), prior)
    centred = x - prior.mean
    truth = 0.5 * np.sum(centred * np.linalg.solve(prior.cov, centred.T).T, axis=1)
    assert np.mean(found.objective <= truth * (1 + 1e-9)) >= 0.9  # a local minimum, so nearly always below


def test_an_expanding_dense_network_is_searched_in_its_input_and_is_exact():
    rng = np.random.default_rng(4)
    layers = [DenseInverse(rng.standard_normal((5, 12)), rng.normal(0, 0.1, 12), LeakyReLU(0.2), name="up"),
              DenseInverse(rng.standard_normal((12, 12)) / 3, np.zeros(12), "tanh", name="wide"),
              DenseInverse(rng.standard_normal((12, 3)), np.zeros(3), "linear", name="out")]
    y = network_forward(layers, rng.standard_normal((10, 5)) / 2)
    found = most_probable_preimage(layers, y, GaussianPrior(np.zeros(5), np.eye(5)))
    assert not found.refused and np.abs(network_forward(layers, found.x) - y).max() <= 1e-9


def test_the_nearest_preimage_is_exact_and_no_farther_from_the_guess_than_the_true_input():
    rng = np.random.default_rng(5)
    chain = small_cnn(rng)
    x = rng.uniform(0, 1, (20, 64))
    guess = x + rng.normal(0, 0.05, x.shape)
    found = nearest_preimage(chain, chain.forward(x), guess)
    assert not found.refused and np.abs(chain.forward(found.x) - chain.forward(x)).max() <= 1e-9
    assert np.all(np.linalg.norm(found.x - guess, axis=1) <= np.linalg.norm(x - guess, axis=1) * (1 + 1e-9))
    assert np.allclose(found.objective, 0.5 * np.sum((found.x - guess) ** 2, axis=1))


def unreachable():
    """A network 2 -> 3 (linear) and outputs off the plane it reaches, the second row on it."""
    layers = [DenseInverse(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), np.zeros(3), "linear", name="plane")]
    return layers, np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])


def test_an_output_the_network_cannot_produce_is_refused_by_row_and_reason():
    layers, y = unreachable()
    with pytest.raises(ValueError, match=r"1 of 2 row\(s\) could not be made exact; row 0: the closest input "
                                         r"found misses the output by .* \(> output_tol="):
        nearest_preimage(layers, y, np.zeros((2, 2)))


def test_with_report_the_exact_rows_are_kept_and_the_others_named():
    layers, y = unreachable()
    found = nearest_preimage(layers, y, np.zeros((2, 2)), on_inexact="report")
    assert list(found.refused) == [0] and "row 0" in found.refused[0]
    assert np.abs(network_forward(layers, found.x[1]) - y[1]).max() <= 1e-9
    assert found.output_max_abs_error <= 1e-9  # over the exact rows only


@pytest.mark.parametrize("call, cause", [
    (lambda chain, y: nearest_preimage(chain, y, np.zeros((3, 64))), "x0 must hold one input of 64 entries per row"),
    (lambda chain, y: nearest_preimage(chain, y, np.zeros((2, 64)), on_inexact="ignore"), "on_inexact must be one of"),
    (lambda chain, y: nearest_preimage(chain, y, np.zeros((2, 64)), output_tol=0), "output_tol must be a finite"),
    (lambda chain, y: most_probable_preimage(chain, y, GaussianPrior(np.zeros(64), np.eye(64)), method="newton"),
     "method must be one of"),
    (lambda chain, y: most_probable_preimage(chain, y, GaussianPrior(np.zeros(64), np.eye(64)), method="coordinates"),
     "layer 'conv'"),
])
def test_bad_arguments_to_the_input_space_search_are_refused_by_name(call, cause):
    chain = small_cnn(np.random.default_rng(6))
    with pytest.raises((ValueError, TypeError), match=cause):
        call(chain, chain.forward(np.full((2, 64), 0.5)))


def test_a_softmax_output_is_refused_with_the_advice_to_invert_the_logits():
    rng = np.random.default_rng(7)
    layers = [DenseInverse(rng.standard_normal((3, 6)), np.zeros(6), LeakyReLU(0.2), name="up"),
              DenseInverse(rng.standard_normal((6, 3)), np.zeros(3), "softmax", name="probabilities")]
    y = network_forward(layers, rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match="layer 'probabilities' applies softmax.*logits"):
        most_probable_preimage(layers, y, GaussianPrior(np.zeros(3), np.eye(3)))


def test_inverting_layer_by_layer_refuses_a_matrix_free_step_and_points_to_the_whole_network():
    from nninv import NotInvertibleError, invert_sequential

    chain = small_cnn(np.random.default_rng(8))
    with pytest.raises(NotInvertibleError, match="layer 'conv' applies Convolution.*most_probable_preimage"):
        invert_sequential(chain, chain.forward(np.full((1, 64), 0.5)))


def test_a_float64_keras_cnn_read_by_the_library_is_inverted_exactly_as_keras_itself_computes_it():
    import nninv_book  # noqa: F401  (quiet TensorFlow first)
    import keras

    from nninv import layer_inverses

    before = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(0)
        layers = keras.layers
        model = keras.Sequential([
            keras.Input((64,)), layers.Reshape((8, 8, 1)), layers.Conv2D(4, 3, padding="same"),
            layers.BatchNormalization(), layers.LeakyReLU(0.1), layers.AveragePooling2D(2), layers.Dropout(0.3),
            layers.Conv2D(6, 3, padding="same"), layers.LeakyReLU(0.1), layers.AveragePooling2D(2), layers.Flatten(),
            layers.Dense(3)])
        chain = layer_inverses(model)
        rng = np.random.default_rng(9)
        y = chain.forward(rng.uniform(0, 1, (10, 64)))
        found = most_probable_preimage(chain, y, image_prior(rng))
        assert not found.refused
        assert np.abs(np.asarray(model(found.x, training=False)) - y).max() <= 1e-9
    finally:
        keras.config.set_floatx(before[0])
        keras.config.set_dtype_policy(before[1])
