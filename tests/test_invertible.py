"""The invertible classifier of the book: its inverse is exact, its latent map is Chapter 3's split, bad input is refused."""

import numpy as np
import pytest

from nninv_book import invertible


@pytest.fixture(scope="module")
def tiny_weights():
    """What training returns, for a tiny coupling network with random (untrained) weights."""
    rng = np.random.default_rng(0)
    model = invertible.InvertibleClassifier(blocks=3, hidden=7, seed=1, dtype="float64")
    model.set_weights([0.05 * rng.standard_normal(w.shape) for w in model.get_weights()])
    return {"weights": model.get_weights(), "blocks": 3, "hidden": 7, "seed": 1}


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    """That network in float64."""
    return invertible.InvertibleNetwork(tiny_weights)


def test_a_coupling_networks_inverse_is_exact(tiny):
    x = np.random.default_rng(2).uniform(size=(20, 784))
    assert np.max(np.abs(tiny.image(tiny.latent(x)) - x)) < 1e-12
    z = np.random.default_rng(3).standard_normal((5, 784))
    assert np.max(np.abs(tiny.latent(tiny.image(z)) - z)) < 1e-10


def test_the_latent_codes_first_ten_coordinates_are_the_logits(tiny):
    x = np.random.default_rng(4).uniform(size=(6, 784))
    assert np.max(np.abs(tiny.latent(x)[:, :10] - tiny.logits(x))) < 1e-12


def test_the_latent_codes_of_the_trained_weights_are_the_networks(tiny_weights, tiny):
    x = np.random.default_rng(5).uniform(size=(4, 784))
    assert np.array_equal(invertible.latent_codes(tiny_weights, x), tiny.latent(x))


def test_a_metamer_has_the_logits_of_one_image_and_the_nuisance_of_the_other(tiny):
    rng = np.random.default_rng(5)
    a, b = rng.uniform(size=(4, 784)), rng.uniform(size=(4, 784))
    made = invertible.metamers(tiny, a, b)
    assert np.max(np.abs(tiny.logits(made) - tiny.logits(a))) < 1e-10
    assert np.max(np.abs(tiny.latent(made)[:, 10:] - tiny.latent(b)[:, 10:])) < 1e-10


def test_the_latent_map_splits_an_input_into_row_space_and_null_space():
    rng = np.random.default_rng(6)
    W, b = rng.standard_normal((12, 3)), rng.standard_normal(3)
    latent = invertible.LatentMap(W, b)
    h = rng.standard_normal((5, 12))
    z = latent.forward(h)
    row_part = (z[:, :3] - b) @ latent.pinv
    null_part = z[:, 3:] @ latent.N.T
    assert np.max(np.abs(row_part + null_part - h)) < 1e-12
    assert np.max(np.abs(null_part @ W)) < 1e-12  # the read-out never sees the null-space part


def test_the_conditional_mean_keeps_the_logits_exactly():
    rng = np.random.default_rng(7)
    import nninv

    codes = rng.standard_normal((2000, 784)) @ np.diag(rng.uniform(0.5, 2, 784))
    prior = nninv.GaussianPrior.fit(codes)
    y = rng.standard_normal((3, 10))
    z = invertible.logit_coordinates().gaussian(y, prior)
    assert np.max(np.abs(z[:, :10] - y)) < 1e-10


def test_pairs_are_of_different_classes():
    labels = np.array([0, 1, 1, 2, 0, 2, 1])
    a, b = invertible.pairs_of_different_classes(labels, 5, seed=0)
    assert np.array_equal(a, np.arange(5))
    assert np.all(labels[a] != labels[b])


def test_training_a_tiny_network_gives_weights_that_classify_and_invert():
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 10, 64)
    images = rng.uniform(size=(64, 784)) * 0.1
    images[np.arange(64), labels] = 1.0  # a class you can read from one pixel
    trained = invertible.train_invertible_classifier(images, labels, blocks=1, hidden=4, epochs=3, seed=0,
                                                     learning_rate=0.05, label_smoothing=0.1, nuisance_weight=0.1)
    network = invertible.InvertibleNetwork(trained)
    assert trained["seconds"] > 0 and len(trained["losses"]) == 3
    assert np.max(np.abs(network.image(network.latent(images)) - images)) < 1e-12


@pytest.mark.parametrize("change, match", [
    ({"blocks": -1}, "blocks must be a whole number"),
    ({"hidden": 0}, "hidden must be a whole number"),
    ({"epochs": 0}, "epochs must be a whole number"),
    ({"nuisance_weight": float("nan")}, "nuisance_weight must be a finite number"),
    ({"label_smoothing": 1.0}, "label_smoothing must be a number in"),
])
def test_training_refuses_hyperparameters_by_name(change, match):
    arguments = dict(blocks=1, hidden=2, epochs=1, seed=0) | change
    with pytest.raises(ValueError, match=match):
        invertible.train_invertible_classifier(np.zeros((4, 784)), np.arange(4), **arguments)


def test_training_refuses_images_of_the_wrong_width_and_mismatched_labels():
    with pytest.raises(ValueError, match="images must be rows of 784 pixels"):
        invertible.train_invertible_classifier(np.zeros((4, 10)), np.arange(4), blocks=1, hidden=2, epochs=1, seed=0)
    with pytest.raises(ValueError, match="labels must have one digit per image"):
        invertible.train_invertible_classifier(np.zeros((4, 784)), np.arange(3), blocks=1, hidden=2, epochs=1, seed=0)


def test_bad_inputs_are_refused_with_clear_errors(tiny):
    with pytest.raises(ValueError, match="images must be rows of 784 pixels"):
        tiny.latent(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="images must be finite"):
        tiny.latent(np.full((1, 784), np.nan))
    with pytest.raises(ValueError, match="latent codes must be rows of 784"):
        tiny.image(np.zeros((1, 10)))
    with pytest.raises(ValueError, match="one nuisance source per logit source"):
        invertible.metamers(tiny, np.zeros((2, 784)), np.zeros((3, 784)))
    with pytest.raises(ValueError, match="permutation must hold each of"):
        invertible.AdditiveCoupling([0, 0, 1], hidden=2)
    with pytest.raises(ValueError, match="W has rank below 2"):
        invertible.LatentMap(np.ones((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="k < n"):
        invertible.LatentMap(np.ones((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="at least two classes"):
        invertible.pairs_of_different_classes(np.zeros(5), 2, seed=0)
    with pytest.raises(ValueError, match="count must be at most"):
        invertible.pairs_of_different_classes(np.array([0, 1]), 3, seed=0)
