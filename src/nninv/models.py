"""The question's networks, trained deterministically.

Both are a single dense layer with a sigmoid, trained with binary
cross-entropy and ``Adam(0.01)`` as in the question: the classifier maps 784
pixels to 10 class scores, the generator maps a one-hot label to 784 pixels.
"""

from __future__ import annotations

import numpy as np

from nninv import runtime  # noqa: F401  (quiet TensorFlow before it loads)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow's kernels deterministic."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """Labels ``(n,)`` as float32 one-hot rows ``(n, classes)``."""
    return np.eye(classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def single_dense_layer(n_in: int, n_out: int, learning_rate: float) -> keras.Sequential:
    """``sigmoid(x W + b)``, compiled with binary cross-entropy and Adam, as in the question."""
    model = keras.Sequential([keras.Input((n_in,)), keras.layers.Dense(n_out, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate))
    return model


def fit_single_dense_layer(
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 128,
    learning_rate: float = 0.01,
) -> keras.Sequential:
    """Seed everything, build the question's layer for these shapes and train it silently."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    seed_everything(seed)
    model = single_dense_layer(inputs.shape[1], targets.shape[1], learning_rate)
    model.fit(inputs, targets, epochs=int(epochs), batch_size=int(batch_size), shuffle=True, verbose=0)
    return model


def train_classifier(images: np.ndarray, labels: np.ndarray, **training) -> keras.Sequential:
    """The question's 784 -> 10 classifier, trained on flattened images in [0, 1]."""
    return fit_single_dense_layer(images, one_hot(labels), **training)


def train_generator(labels: np.ndarray, images: np.ndarray, **training) -> keras.Sequential:
    """The question's reverse network, 10 -> 784: a one-hot label in, an image in [0, 1] out."""
    return fit_single_dense_layer(one_hot(labels), images, **training)


def predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The model's own float32 outputs, as ``model.predict`` gives them."""
    return model.predict(inputs, batch_size=batch_size, verbose=0)
