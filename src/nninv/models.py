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


def _start_training(seed: int, epochs: int) -> None:
    """Refuse an impossible number of epochs, then seed everything."""
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    seed_everything(seed)


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """Labels ``(n,)`` as float32 one-hot rows ``(n, classes)``."""
    return np.eye(classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def single_dense_layer(n_in: int, n_out: int, learning_rate: float, l2: float = 0.0) -> keras.Sequential:
    """``sigmoid(x W + b)``, compiled with binary cross-entropy and Adam, as in the question.

    ``l2 > 0`` adds weight decay ``l2 * ||W||_F^2`` to the loss.
    """
    regulariser = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential(
        [keras.Input((n_in,)), keras.layers.Dense(n_out, activation="sigmoid", kernel_regularizer=regulariser)]
    )
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate))
    return model


class WeightHistory(keras.callbacks.Callback):
    """Keeps the first layer's kernel before training and after every epoch (float64 copies)."""

    def __init__(self):
        super().__init__()
        self.kernels: list[np.ndarray] = []

    def _record(self):
        self.kernels.append(np.asarray(self.model.layers[0].kernel, dtype=np.float64).copy())

    def on_train_begin(self, logs=None):
        self._record()

    def on_epoch_end(self, epoch, logs=None):
        self._record()


def fit_single_dense_layer(
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 128,
    learning_rate: float = 0.01,
    l2: float = 0.0,
    callbacks: list | None = None,
) -> keras.Sequential:
    """Seed everything, build the question's layer for these shapes and train it silently."""
    _start_training(seed, epochs)
    model = single_dense_layer(inputs.shape[1], targets.shape[1], learning_rate, l2)
    model.fit(
        inputs, targets, epochs=int(epochs), batch_size=int(batch_size), shuffle=True, verbose=0, callbacks=callbacks
    )
    return model


def deep_classifier(hidden_activation, width: int = 784, learning_rate: float = 1e-3) -> keras.Sequential:
    """784 -> ``width`` (``hidden_activation``) -> 10 (sigmoid), compiled like the question's layer."""
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(width, activation=hidden_activation, name="hidden"),
            keras.layers.Dense(10, activation="sigmoid", name="scores"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate))
    return model


def train_deep_classifier(
    images: np.ndarray, labels: np.ndarray, hidden_activation, *, epochs: int, seed: int,
    batch_size: int = 128, learning_rate: float = 1e-3, width: int = 784,
) -> keras.Sequential:
    """Seed everything, build :func:`deep_classifier` and train it silently on one-hot labels."""
    _start_training(seed, epochs)
    model = deep_classifier(hidden_activation, width, learning_rate)
    model.fit(images, one_hot(labels), epochs=int(epochs), batch_size=int(batch_size), shuffle=True, verbose=0)
    return model


def train_span_regularised_classifier(
    images: np.ndarray, labels: np.ndarray, penalty: float, *, epochs: int, seed: int,
    batch_size: int = 128, learning_rate: float = 0.01,
) -> keras.Sequential:
    """The question's classifier trained to keep its inputs near the span of its weights.

    The loss adds ``penalty * mean_i ||x_i - x_i P_W||^2 / ||x_i||^2`` to the
    binary cross-entropy, where ``P_W = W (W^T W)^{-1} W^T`` is the projector
    onto the span of W's columns, so the term is the relative squared error of
    the pseudo-inverse reconstruction (Chapter 3) and is differentiable in W.
    """
    _start_training(seed, epochs)
    model = single_dense_layer(images.shape[1], 10, learning_rate)
    kernel = model.layers[0].kernel
    optimiser = model.optimizer
    bce = keras.losses.BinaryCrossentropy()
    x_all = tf.constant(images, tf.float32)
    y_all = tf.constant(one_hot(labels))
    squared_norms = tf.reduce_sum(x_all**2, axis=1)

    @tf.function
    def step(indices):
        x, y = tf.gather(x_all, indices), tf.gather(y_all, indices)
        with tf.GradientTape() as tape:
            loss = bce(y, model(x, training=True))
            gram = tf.transpose(kernel) @ kernel
            coefficients = tf.linalg.solve(gram, tf.transpose(x @ kernel))  # (W^T W)^{-1} W^T x^T
            residual = x - tf.transpose(kernel @ coefficients)
            loss += penalty * tf.reduce_mean(tf.reduce_sum(residual**2, axis=1) / tf.gather(squared_norms, indices))
        variables = model.trainable_variables
        optimiser.apply_gradients(zip(tape.gradient(loss, variables), variables))

    rng = np.random.default_rng(seed)
    for _ in range(int(epochs)):
        order = rng.permutation(len(images))
        for start in range(0, len(order), batch_size):
            step(tf.constant(order[start : start + batch_size]))
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
