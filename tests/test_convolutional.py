"""Claims about Chapter 9's book code: its networks refuse what they cannot train on, the descent's float64
copy computes the model, and the exact preimages are exact and use the predicted class's prior."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import keras
import numpy as np
import pytest

from nninv import DenseInverse, GaussianPrior, network_forward
from nninv_book import convolutional
from nninv_book.optimisation import float64_logits, invert_keras_by_gradient_descent


@pytest.mark.parametrize("call, cause", [
    (lambda: convolutional.train_convolutional_classifier(np.zeros((2, 783)), [0, 1], epochs=1, seed=0),
     "784 pixels"),
    (lambda: convolutional.train_convolutional_classifier(np.zeros((2, 784)), [0], epochs=1, seed=0),
     "one entry per image"),
    (lambda: convolutional.train_convolutional_classifier(np.zeros((2, 784)), [0, 1], epochs=1, seed=0,
                                                          negative_slope=0.0), "negative_slope"),
    (lambda: convolutional.train_convolutional_classifier(np.zeros((2, 784)), [0, 1], epochs=1, seed=0,
                                                          channels=(8,)), "channels"),
    (lambda: convolutional.train_convolutional_classifier(np.zeros((2, 784)), [0, 1], epochs=0, seed=0),
     "epochs"),
    (lambda: convolutional.train_relu_classifier(np.zeros((2, 784)), [0, 10], epochs=1, seed=0), "digits 0 to 9"),
    (lambda: convolutional.train_relu_classifier(np.zeros((2, 784)), [0, 1], epochs=1, seed=0, width=0), "width"),
])
def test_the_chapters_networks_refuse_what_they_cannot_train_on_by_name(call, cause):
    with pytest.raises(ValueError, match=cause):
        call()


def small_model(activation=None):
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(3, activation=activation)])
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_the_float64_copy_computes_the_models_last_pre_activation():
    model = small_model("sigmoid")
    logits, activation = float64_logits(model)
    x = np.random.default_rng(1).standard_normal((5, 6))
    z = logits(x).numpy()
    assert z.dtype == np.float64 and activation.name == "sigmoid"
    assert np.abs(activation.forward(z) - model.predict(x.astype(np.float32), verbose=0)).max() < 1e-5


def test_the_descent_on_a_keras_model_moves_towards_its_target():
    model = small_model()
    logits, _ = float64_logits(model)
    y = logits(np.random.default_rng(2).standard_normal((3, 6))).numpy()
    found = invert_keras_by_gradient_descent(model, y, np.zeros(6), max_steps=500, learning_rate=0.05, tol=1e-12)
    assert found.output_max_abs_error < 0.5 * found.errors[0].max()
    assert found.output_max_abs_error == pytest.approx(np.abs(logits(found.x).numpy() - y).max())


def test_total_variation_and_jitter_on_a_keras_model_need_images():
    with pytest.raises(ValueError, match="784 inputs"):
        invert_keras_by_gradient_descent(small_model(), np.zeros((1, 3)), np.zeros(6), jitter=1)


def test_mahendran_and_vedaldis_regularisers_pull_the_image_towards_the_mean_and_smoothness():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(2)])
    model.set_weights([np.random.default_rng(3).standard_normal((784, 2)).astype(np.float32) / 28, np.zeros(2)])
    mean = np.full(784, 0.1)
    y = np.array([[3.0, -3.0]])
    loose = convolutional.mahendran_vedaldi_descent(model, y, mean, alpha_weight=1e-6, tv_weight=1e-6, steps=300,
                                                    learning_rate=0.01, jitter=0)
    tight = convolutional.mahendran_vedaldi_descent(model, y, mean, alpha_weight=1e-6, tv_weight=10.0, steps=300,
                                                    learning_rate=0.01, jitter=0)
    roughness = [np.sum(np.diff(found.x.reshape(28, 28), axis=1) ** 2) for found in (loose, tight)]
    assert roughness[1] < roughness[0]
    assert loose.output_max_abs_error < tight.output_max_abs_error


def tiny_chain(seed=0):
    """An expanding network 5 -> 12 (Leaky ReLU) -> 3, and the generator that drew it."""
    rng = np.random.default_rng(seed)
    return [DenseInverse(rng.standard_normal((5, 12)), np.zeros(12), "leaky_relu", name="up"),
            DenseInverse(rng.standard_normal((12, 3)), np.zeros(3), "linear", name="out")], rng


def test_exact_preimages_are_exact_and_each_row_uses_its_predicted_classs_prior():
    chain, rng = tiny_chain()
    y = network_forward(chain, rng.standard_normal((6, 5)))
    pooled = GaussianPrior(np.zeros(5), np.eye(5))
    class_priors = [GaussianPrior(np.full(5, digit / 20), np.eye(5)) for digit in range(10)]
    found = convolutional.exact_preimages(chain, y, pooled, class_priors)
    assert set(found) == {"least norm", "pooled prior", "class prior"}
    for x, refused, seconds in found.values():
        assert not refused and seconds >= 0
        assert np.abs(network_forward(chain, x) - y).max() <= 1e-9
    for row, digit in enumerate(y.argmax(axis=1)):
        alone = convolutional.exact_preimages(chain, y[row:row + 1], class_priors[digit], class_priors)
        assert np.allclose(found["class prior"][0][row], alone["pooled prior"][0][0], atol=1e-8)


def test_a_guess_made_exact_is_a_preimage_no_farther_from_the_guess_than_the_input():
    chain, rng = tiny_chain(2)
    x = rng.standard_normal((4, 5))
    guess = x + rng.normal(0, 0.05, x.shape)
    projected, refused, _ = convolutional.made_exact(chain, network_forward(chain, x), guess)
    assert not refused and np.abs(network_forward(chain, projected) - network_forward(chain, x)).max() <= 1e-9
    assert np.all(np.linalg.norm(projected - guess, axis=1) <= np.linalg.norm(x - guess, axis=1) * (1 + 1e-9))


def test_tuning_scores_every_setting_of_the_grid():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(2)])
    x = np.random.default_rng(7).uniform(0, 1, (2, 784))
    scores = convolutional.tune_mahendran_vedaldi(model, model.predict(x, verbose=0), x, x.mean(axis=0),
                                                  alpha_weights=[1.0, 10.0], tv_weights=[0.01], steps=5,
                                                  learning_rates=[0.01, 0.1])
    assert set(scores) == {(a, 0.01, r) for a in (1.0, 10.0) for r in (0.01, 0.1)}
    assert all(error > 0 and output > 0 for error, output in scores.values())
