"""Claims about training the book's networks: seeded, recorded, and refusing impossible settings."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import os
import subprocess
import sys

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


def test_adam_and_sgd_start_from_the_same_weights_and_are_cached_apart(tiny):
    images, labels = tiny
    targets = models.one_hot(labels)
    adam_model, adam = models.fit_single_dense_layer(images, targets, epochs=1, seed=0)
    sgd_model, sgd = models.fit_single_dense_layer(images, targets, epochs=1, seed=0, optimizer="sgd")
    assert np.array_equal(adam[0], sgd[0])
    assert not np.array_equal(adam[-1], sgd[-1])
    assert isinstance(sgd_model.optimizer, models.keras.optimizers.SGD)
    assert isinstance(adam_model.optimizer, models.keras.optimizers.Adam)


def test_sgd_changes_the_weights_only_within_the_span_of_the_inputs(tiny):
    images, labels = tiny  # 64 images: their span has 64 of the 784 dimensions
    _, kernels = models.fit_single_dense_layer(
        images, models.one_hot(labels), epochs=3, seed=0, optimizer="sgd", learning_rate=0.5
    )
    change = kernels[-1] - kernels[0]
    basis = np.linalg.svd(images.astype(np.float64).T, full_matrices=False)[0]
    outside = change - basis @ (basis.T @ change)
    assert np.linalg.norm(outside) < 1e-5 * np.linalg.norm(change)


def test_a_deeper_classifier_has_one_hidden_layer_per_width(tiny):
    model = models.train_deep_classifier(*tiny, "leaky_relu", negative_slope=0.1, widths=(32, 16), epochs=1, seed=0)
    assert [layer.units for layer in model.layers] == [32, 16, 10]
    assert float(model.layers[0].activation.negative_slope) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (lambda x, y: models.train_classifier(x, y, epochs=0, seed=0), "epochs.*at least 1"),
        (lambda x, y: models.train_deep_classifier(x, y, "tanh", epochs=1.5, seed=0), "epochs must be a whole number"),
        (lambda x, y: models.train_span_regularised_classifier(x, y, 1.0, epochs=-1, seed=0), "epochs must be"),
        (lambda x, y: models.train_classifier(x, y, epochs=1, seed=0, batch_size=0), "batch_size must be a whole number"),
        (lambda x, y: models.train_classifier(x, y, epochs=1, seed=0, learning_rate=float("nan")), "learning_rate must be"),
        (lambda x, y: models.train_span_regularised_classifier(x, y, -1.0, epochs=1, seed=0), "span penalty must be"),
        (lambda x, y: models.train_classifier(x, y, epochs=1, seed=0, optimizer="rmsprop"), "optimizer must be one of"),
    ],
)
def test_impossible_training_settings_are_refused_by_name(tiny, train, message):
    with pytest.raises(ValueError, match=message):
        train(*tiny)


def test_learned_decoder_maps_codes_to_pixels_in_the_unit_interval(tiny):
    images, labels = tiny
    codes = models.one_hot(labels) * 4 - 2
    decoder = models.train_learned_decoder(codes, images, epochs=1, seed=0, widths=(16, 8))
    assert [layer.units for layer in decoder.layers] == [16, 8, 784]
    decoded = models.predict(decoder, codes)
    assert decoded.shape == images.shape and decoded.min() >= 0 and decoded.max() <= 1


def test_autoencoder_has_a_linear_encoder_of_the_code_size_and_a_sigmoid_decoder(tiny):
    images, _ = tiny
    autoencoder = models.train_autoencoder(images, epochs=1, seed=0, code_size=5)
    encoder, decoder = autoencoder.layers
    assert (encoder.units, decoder.units) == (5, 784)
    assert encoder.activation.__name__ == "linear" and decoder.activation.__name__ == "sigmoid"
    again = models.train_autoencoder(images, epochs=1, seed=0, code_size=5)
    assert all(np.array_equal(a, b) for a, b in zip(autoencoder.get_weights(), again.get_weights()))


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (lambda x, y: models.train_learned_decoder(x[:, :10], x[:5], epochs=1, seed=0), "one row each per image"),
        (lambda x, y: models.train_learned_decoder(x[:, :10], x, epochs=0, seed=0), "epochs must be"),
        (lambda x, y: models.train_autoencoder(x, epochs=1, seed=0, code_size=0), "code_size must be"),
        (lambda x, y: models.train_autoencoder(x, epochs=1, seed=0, code_size=784), "code_size must be"),
    ],
)
def test_impossible_decoder_and_autoencoder_settings_are_refused_by_name(tiny, train, message):
    with pytest.raises(ValueError, match=message):
        train(*tiny)


TRAIN_ON_CORES = """
import hashlib, os, sys
os.sched_setaffinity(0, {int(core) for core in sys.argv[1].split(",")})
import nninv_book
import numpy as np
from nninv_book import judge
rng = np.random.default_rng(0)
images, labels = rng.uniform(0, 1, (3000, 784)), rng.integers(0, 10, 3000)
model = judge.convolutional_judge(images, labels, epochs=1, seed=0).model
print(hashlib.sha256(b"".join(weights.tobytes() for weights in model.get_weights())).hexdigest())
"""


@pytest.mark.slow  # two processes import TensorFlow and train
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to compare with one")
def test_a_network_trained_on_one_core_has_the_weights_trained_on_every_core(tmp_path):
    # TensorFlow splits its sums over one thread per core unless nninv_book.runtime pins it to one
    every_core = ",".join(str(core) for core in sorted(os.sched_getaffinity(0)))
    digests = [
        subprocess.run([sys.executable, "-c", TRAIN_ON_CORES, cores], capture_output=True, text=True, check=True,
                       env=os.environ | {"NNINV_CACHE_DIR": str(tmp_path / cores)}).stdout
        for cores in (every_core.split(",")[0], every_core)
    ]
    assert digests[0] == digests[1]
