"""Inversion by optimisation: gradient descent on the input, the way model-inversion tools do it.

Minimises, over the input batch ``x``,

    L(x) = loss(f(x), y) + l2/2 ||x - x0||^2 + tv * TV(x)

with ``f`` the network in float64 and ``loss`` a cross-entropy for sigmoid and
softmax outputs, the squared error otherwise (see ``_output_loss``), from a start ``x0`` (Mahendran and Vedaldi
2015 use this objective with a total-variation term ``TV`` over the 28 x 28
image grid). The optimiser is Adam (Kingma and Ba 2015) on ``x`` with the
step size ``learning_rate * decay^t`` at step ``t``; iterations stop once
``max |f(x) - y| <= tol`` or after ``max_steps``. Without the decay Adam's
steps keep their size and circle the solution; the defaults were the best of
the constant and decaying schedules tried on the book's MNIST classifier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nninv_book import runtime  # noqa: F401  (quiet TensorFlow before it loads)
from nninv.activations import LeakyReLU
from nninv.inverse import DenseInverse

import tensorflow as tf  # noqa: E402

_TF_ACTIVATIONS = {
    "linear": lambda z: z,
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "softmax": tf.nn.softmax,
}


@dataclass(frozen=True)
class OptimisedPreimage:
    """The result of gradient descent: the input, the steps and seconds it took, and its output error."""

    x: np.ndarray
    steps: int
    seconds: float
    output_max_abs_error: float
    converged: bool


def _tf_activation(activation):
    if isinstance(activation, LeakyReLU):
        return lambda z: tf.nn.leaky_relu(z, alpha=activation.negative_slope)
    return _TF_ACTIVATIONS[activation.name]


def _output_loss(activation_name: str):
    """A loss of the outputs, least exactly when ``f(x) = y``, whose gradient does not vanish as units saturate.

    For sigmoid and softmax outputs it is the cross-entropy ``-sum y log f(x)``
    (binary for sigmoid), whose gradient with respect to the pre-activation is
    ``f(x) - y``; the squared error's gradient carries an extra factor
    ``sigmoid'(z)`` that vanishes for saturated units and stalls the descent.
    Other activations use ``1/2 ||f(x) - y||^2``.
    """
    if activation_name == "sigmoid":
        return lambda z, f, y: tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))
    if activation_name == "softmax":
        return lambda z, f, y: tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z))
    return lambda z, f, y: 0.5 * tf.reduce_sum((f - y) ** 2)


def _total_variation(x: tf.Tensor) -> tf.Tensor:
    images = tf.reshape(x, (-1, 28, 28))
    return tf.reduce_sum(tf.abs(images[:, 1:, :] - images[:, :-1, :])) + tf.reduce_sum(
        tf.abs(images[:, :, 1:] - images[:, :, :-1])
    )


def invert_by_gradient_descent(
    layers: list[DenseInverse],
    y,
    x0,
    *,
    tol: float = 1e-6,
    max_steps: int = 20000,
    learning_rate: float = 0.05,
    decay: float = 0.9995,
    l2: float = 0.0,
    tv: float = 0.0,
    check_every: int = 25,
) -> OptimisedPreimage:
    """Adam on the input until every output is within ``tol`` of ``y`` (see the module for the objective)."""
    if tv and layers[0].n_in != 784:
        raise ValueError("the total-variation term needs 784 inputs (28 x 28 images)")
    weights = [(tf.constant(layer.W), tf.constant(layer.b), _tf_activation(layer.activation)) for layer in layers]
    target = tf.constant(np.atleast_2d(np.asarray(y, dtype=np.float64)))
    start = tf.constant(np.broadcast_to(np.asarray(x0, dtype=np.float64), (target.shape[0], layers[0].n_in)))
    x = tf.Variable(start)
    first_moment = tf.Variable(tf.zeros_like(start))
    second_moment = tf.Variable(tf.zeros_like(start))
    step_count = tf.Variable(tf.constant(0.0, tf.float64))
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8  # Adam's defaults

    last_activation = weights[-1][2]

    def logits(inputs):
        """The last layer's pre-activation."""
        for W, b, activation in weights[:-1]:
            inputs = activation(inputs @ W + b)
        W, b, _ = weights[-1]
        return inputs @ W + b

    output_loss = _output_loss(layers[-1].activation.name)

    @tf.function
    def steps(count):
        for _ in tf.range(count):
            with tf.GradientTape() as tape:
                z = logits(x)
                loss = output_loss(z, last_activation(z), target)
                if l2:
                    loss += 0.5 * l2 * tf.reduce_sum((x - start) ** 2)
                if tv:
                    loss += tv * _total_variation(x)
            gradient = tape.gradient(loss, x)
            step_count.assign_add(1.0)
            first_moment.assign(beta1 * first_moment + (1 - beta1) * gradient)
            second_moment.assign(beta2 * second_moment + (1 - beta2) * gradient**2)
            corrected = first_moment / (1 - beta1**step_count)
            scale = tf.sqrt(second_moment / (1 - beta2**step_count)) + epsilon
            x.assign_sub(learning_rate * decay**step_count * corrected / scale)
        return tf.reduce_max(tf.abs(last_activation(logits(x)) - target))

    began = time.perf_counter()
    taken, error = 0, float("inf")
    while taken < max_steps and error > tol:
        chunk = min(check_every, max_steps - taken)
        error = float(steps(tf.constant(chunk)))
        taken += chunk
    return OptimisedPreimage(x.numpy(), taken, time.perf_counter() - began, error, error <= tol)
