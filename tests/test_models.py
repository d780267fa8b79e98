"""Claims about training the book's networks: seeded, recorded, and refusing impossible settings."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import numpy as np
import pytest

from nninv_book import models


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNINV_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (64, 784)).astype(np.float32), rng.integers(0, 10, 64)


def test_training_twice_with_one_seed_gives_identical_weights(tiny, tmp_path, monkeypatch):
    images, labels = tiny
    first = models.train_classifier(images, labels, epochs=2, seed=3).get_weights()
    monkeypatch.setenv("NNINV_CACHE_DIR", str(tmp_path / "another cache"))
    second = models.train_classifier(images, labels, epochs=2, seed=3).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_kernel_history_keeps_the_start_and_every_epoch(tiny):
    images, labels = tiny
    model, kernels = models.fit_single_dense_layer(images, models.one_hot(labels), epochs=3, seed=0)
    assert len(kernels) == 4
    assert not np.array_equal(kernels[0], kernels[-1])
    assert np.array_equal(kernels[-1], model.layers[0].get_weights()[0])


def test_a_deeper_classifier_has_one_hidden_layer_per_width(tiny):
    model = models.train_deep_classifier(*tiny, "leaky_relu", negative_slope=0.1, widths=(32, 16), epochs=1, seed=0)
    assert [layer.units for layer in model.layers] == [32, 16, 10]
    assert float(model.layers[0].activation.negative_slope) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (lambda x, y: models.train_classifier(x, y, epochs=0, seed=0), "epochs must be a whole number of at least 1"),
        (lambda x, y: models.train_deep_classifier(x, y, "tanh", epochs=1.5, seed=0), "epochs must be a whole number"),
        (lambda x, y: models.train_span_regularised_classifier(x, y, 1.0, epochs=-1, seed=0), "epochs must be"),
        (lambda x, y: models.train_classifier(x, y, epochs=1, seed=0, batch_size=0), "batch_size must be a whole number"),
        (lambda x, y: models.train_classifier(x, y, epochs=1, seed=0, learning_rate=float("nan")), "learning_rate must be"),
        (lambda x, y: models.train_span_regularised_classifier(x, y, -1.0, epochs=1, seed=0), "span penalty must be"),
    ],
)
def test_impossible_training_settings_are_refused_by_name(tiny, train, message):
    with pytest.raises(ValueError, match=message):
        train(*tiny)
