"""The book's networks, trained deterministically and cached.

The question's networks are a single dense layer with a sigmoid, trained with
binary cross-entropy and ``Adam(0.01)``: the classifier maps 784 pixels to 10
class scores, the generator maps a one-hot label to 784 pixels. Chapter 5 adds
the same layer trained with plain stochastic gradient descent, Chapter 6
span-regularised classifiers and deeper ones.

Each public trainer checks its arguments, then asks :func:`nninv_book.cache.trained`
for the result of a *recipe* (a ``_recipe_*`` function below, which seeds
everything and trains; the cache is given the function and never imports this module): trained once, then loaded bit for bit from the cache
by every chapter and rebuild. Afterwards everything is seeded again with the
same seed, so the random state that follows is the same whether the network
was trained or loaded.
"""

from __future__ import annotations

import math

import numpy as np

from nninv_book import cache, runtime  # noqa: F401  (quiet TensorFlow before it loads)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow's kernels deterministic."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def _check_training(epochs, batch_size, learning_rate) -> None:
    """Refuse hyperparameters no training can use, naming the parameter."""
    if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")


def _cached(recipe, seed: int, **arguments):
    """``(model, extras)`` of the recipe function from the cache, then everything seeded again with ``seed``."""
    model, extras = cache.trained(recipe, seed=int(seed), **arguments)
    seed_everything(seed)
    return model, extras


def _float32(values: np.ndarray) -> np.ndarray:
    """What Keras trains on: one array per content, so float64 and float32 copies share a cache entry."""
    return np.ascontiguousarray(values, dtype=np.float32)


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """Labels ``(n,)`` as float32 one-hot rows ``(n, classes)``."""
    return np.eye(classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
"""The optimisers a single dense layer can be trained with: Adam (the question's) and plain SGD (no momentum)."""


def _check_optimizer(optimizer) -> None:
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")


def single_dense_layer(
    n_in: int, n_out: int, learning_rate: float, l2: float = 0.0, optimizer: str = "adam"
) -> keras.Sequential:
    """``sigmoid(x W + b)``, compiled with binary cross-entropy and, as in the question, Adam.

    ``l2 > 0`` adds weight decay ``l2 * ||W||_F^2`` to the loss. ``optimizer="sgd"``
    trains with plain stochastic gradient descent instead (no momentum), whose
    every update of ``W`` is ``-learning_rate`` times the batch's gradient
    ``X^T G``: a combination of the batch's inputs. The weights are created
    before the optimiser, so one seed gives the same initial weights for both.
    """
    _check_optimizer(optimizer)
    regulariser = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential(
        [keras.Input((n_in,)), keras.layers.Dense(n_out, activation="sigmoid", kernel_regularizer=regulariser)]
    )
    model.compile(loss="binary_crossentropy", optimizer=OPTIMIZERS[optimizer](learning_rate))
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


def _recipe_single_dense_layer(inputs, targets, *, epochs, seed, batch_size, learning_rate, l2, optimizer):
    seed_everything(seed)
    model = single_dense_layer(inputs.shape[1], targets.shape[1], learning_rate, l2, optimizer)
    history = WeightHistory()
    model.fit(inputs, targets, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=[history])
    return model, history.kernels


def fit_single_dense_layer(
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 128,
    learning_rate: float = 0.01,
    l2: float = 0.0,
    optimizer: str = "adam",
) -> tuple[keras.Sequential, list[np.ndarray]]:
    """The question's layer for these shapes, trained with a fixed seed (cached).

    ``optimizer`` is ``"adam"`` (the question's) or ``"sgd"`` (plain stochastic
    gradient descent); one seed gives both the same initial weights. Returns
    the model and its kernel ``W`` before training and after every epoch
    (``epochs + 1`` float64 matrices).
    """
    _check_training(epochs, batch_size, learning_rate)
    _check_optimizer(optimizer)
    return _cached(
        _recipe_single_dense_layer, seed, inputs=_float32(inputs), targets=_float32(targets),
        epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate), l2=float(l2),
        optimizer=str(optimizer),
    )


def train_classifier(images: np.ndarray, labels: np.ndarray, **training) -> keras.Sequential:
    """The question's 784 -> 10 classifier, trained on flattened images in [0, 1]."""
    return fit_single_dense_layer(images, one_hot(labels), **training)[0]


def train_generator(labels: np.ndarray, images: np.ndarray, **training) -> keras.Sequential:
    """The question's reverse network, 10 -> 784: a one-hot label in, an image in [0, 1] out."""
    return fit_single_dense_layer(one_hot(labels), images, **training)[0]


def deep_classifier(hidden_activation, widths=(784,), learning_rate: float = 1e-3) -> keras.Sequential:
    """784 -> ``widths`` (each with ``hidden_activation``) -> 10 (sigmoid), compiled like the question's layer."""
    names = ["hidden"] if len(widths) == 1 else [f"hidden_{i}" for i in range(1, len(widths) + 1)]
    model = keras.Sequential(
        [keras.Input((784,))]
        + [keras.layers.Dense(width, activation=hidden_activation(), name=name) for width, name in zip(widths, names)]
        + [keras.layers.Dense(10, activation="sigmoid", name="scores")]
    )
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate))
    return model


def _hidden_activation(name: str, negative_slope: float | None):
    """A factory of Keras activations: ``"leaky_relu"`` becomes a ``LeakyReLU`` layer with ``negative_slope``."""
    if name == "leaky_relu":
        return lambda: keras.layers.LeakyReLU(negative_slope=negative_slope)
    return lambda: name


def _recipe_deep_classifier(images, targets, *, hidden_activation, negative_slope, widths, epochs, seed, batch_size,
                            learning_rate):
    seed_everything(seed)
    model = deep_classifier(_hidden_activation(hidden_activation, negative_slope), widths, learning_rate)
    model.fit(images, targets, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model, None


def train_deep_classifier(
    images: np.ndarray, labels: np.ndarray, hidden_activation: str, *, epochs: int, seed: int,
    negative_slope: float = 0.2, widths=(784,), batch_size: int = 128, learning_rate: float = 1e-3,
) -> keras.Sequential:
    """:func:`deep_classifier` trained on one-hot labels with a fixed seed (cached).

    ``hidden_activation`` is a Keras activation name; ``"leaky_relu"`` uses
    ``negative_slope``.
    """
    _check_training(epochs, batch_size, learning_rate)
    return _cached(
        _recipe_deep_classifier, seed, images=_float32(images), targets=one_hot(labels),
        hidden_activation=str(hidden_activation), negative_slope=float(negative_slope) if hidden_activation == "leaky_relu" else None,
        widths=tuple(int(width) for width in widths), epochs=int(epochs), batch_size=int(batch_size),
        learning_rate=float(learning_rate),
    )[0]


def _recipe_span_regularised_classifier(images, targets, *, penalty, epochs, seed, batch_size, learning_rate):
    seed_everything(seed)
    model = single_dense_layer(images.shape[1], 10, learning_rate)
    kernel = model.layers[0].kernel
    optimiser = model.optimizer
    bce = keras.losses.BinaryCrossentropy()
    x_all = tf.constant(images, tf.float32)
    y_all = tf.constant(targets)
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
    for _ in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(order), batch_size):
            step(tf.constant(order[start : start + batch_size]))
    return model, None


def train_span_regularised_classifier(
    images: np.ndarray, labels: np.ndarray, penalty: float, *, epochs: int, seed: int,
    batch_size: int = 128, learning_rate: float = 0.01,
) -> keras.Sequential:
    """The question's classifier trained to keep its inputs near the span of its weights (cached).

    The loss adds ``penalty * mean_i ||x_i - x_i P_W||^2 / ||x_i||^2`` to the
    binary cross-entropy, where ``P_W = W (W^T W)^{-1} W^T`` is the projector
    onto the span of W's columns, so the term is the relative squared error of
    the pseudo-inverse reconstruction (Chapter 3) and is differentiable in W.
    """
    _check_training(epochs, batch_size, learning_rate)
    if not (math.isfinite(penalty) and penalty >= 0):
        raise ValueError(f"the span penalty must be a finite number >= 0, got {penalty!r}")
    return _cached(
        _recipe_span_regularised_classifier, seed, images=_float32(images), targets=one_hot(labels),
        penalty=float(penalty), epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
    )[0]


def _recipe_learned_decoder(codes, images, *, widths, epochs, seed, batch_size, learning_rate):
    seed_everything(seed)
    model = keras.Sequential(
        [keras.Input((codes.shape[1],))]
        + [keras.layers.Dense(width, activation="relu", name=f"hidden_{i}") for i, width in enumerate(widths, 1)]
        + [keras.layers.Dense(images.shape[1], activation="sigmoid", name="image")]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(learning_rate))
    model.fit(codes, images, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model, None


def train_learned_decoder(
    codes: np.ndarray, images: np.ndarray, *, epochs: int, seed: int, widths=(256,),
    batch_size: int = 128, learning_rate: float = 1e-3,
) -> keras.Sequential:
    """A learned inverse in the manner of Dosovitskiy and Brox (2016), trained with a fixed seed (cached).

    A dense network from a network's outputs (``codes``, here the classifier's
    pre-activations, one row per image) back to ``images`` in [0, 1]: ``widths``
    hidden layers with ReLU, then a sigmoid layer of one unit per pixel,
    trained with Adam to minimise the mean squared error to the images.
    """
    _check_training(epochs, batch_size, learning_rate)
    if len(codes) != len(images):
        raise ValueError(f"codes and images must have one row each per image, got {len(codes)} and {len(images)}")
    return _cached(
        _recipe_learned_decoder, seed, codes=_float32(codes), images=_float32(images),
        widths=tuple(int(width) for width in widths), epochs=int(epochs), batch_size=int(batch_size),
        learning_rate=float(learning_rate),
    )[0]


def _recipe_autoencoder(images, *, code_size, epochs, seed, batch_size, learning_rate):
    seed_everything(seed)
    model = keras.Sequential(
        [
            keras.Input((images.shape[1],)),
            keras.layers.Dense(code_size, name="encoder"),
            keras.layers.Dense(images.shape[1], activation="sigmoid", name="decoder"),
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(learning_rate))
    model.fit(images, images, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model, None


def train_autoencoder(
    images: np.ndarray, *, epochs: int, seed: int, code_size: int = 10,
    batch_size: int = 128, learning_rate: float = 1e-3,
) -> keras.Sequential:
    """An autoencoder ``784 -> code_size -> 784`` trained end to end with a fixed seed (cached).

    The encoder is one dense layer with no activation, ``e(x) = x W_e + b_e``,
    the decoder one dense layer with a sigmoid, ``d(c) = sigmoid(c W_d + b_d)``;
    both are trained together with Adam to minimise the mean squared error of
    ``d(e(x))`` to ``x``, the error PCA minimises among linear codes.
    """
    _check_training(epochs, batch_size, learning_rate)
    if isinstance(code_size, bool) or int(code_size) != code_size or not 1 <= code_size < images.shape[1]:
        raise ValueError(f"code_size must be a whole number between 1 and {images.shape[1] - 1}, got {code_size!r}")
    return _cached(
        _recipe_autoencoder, seed, images=_float32(images), code_size=int(code_size), epochs=int(epochs),
        batch_size=int(batch_size), learning_rate=float(learning_rate),
    )[0]


def predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The model's own float32 outputs, as ``model.predict`` gives them."""
    return model.predict(inputs, batch_size=batch_size, verbose=0)
