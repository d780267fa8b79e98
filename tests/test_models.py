"""Claims about training the book's networks."""

import nninv  # noqa: F401  (quiet TensorFlow first)

import numpy as np
import pytest

from nninv import models


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (64, 784)).astype(np.float32), rng.integers(0, 10, 64)


def test_training_twice_with_one_seed_gives_identical_weights(tiny):
    images, labels = tiny
    first = models.train_classifier(images, labels, epochs=2, seed=3).get_weights()
    second = models.train_classifier(images, labels, epochs=2, seed=3).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_weight_history_keeps_the_start_and_every_epoch(tiny):
    images, labels = tiny
    history = models.WeightHistory()
    models.fit_single_dense_layer(images, models.one_hot(labels), epochs=3, seed=0, callbacks=[history])
    assert len(history.kernels) == 4
    assert not np.array_equal(history.kernels[0], history.kernels[-1])


@pytest.mark.parametrize(
    "train",
    [
        lambda x, y: models.train_classifier(x, y, epochs=0, seed=0),
        lambda x, y: models.train_deep_classifier(x, y, "tanh", epochs=1.5, seed=0),
        lambda x, y: models.train_span_regularised_classifier(x, y, 1.0, epochs=-1, seed=0),
    ],
)
def test_impossible_epoch_counts_are_refused(tiny, train):
    with pytest.raises(ValueError, match="epochs must be a whole number of at least 1"):
        train(*tiny)
