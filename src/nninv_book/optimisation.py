"""Inversion by optimisation: gradient descent on the input, the way model-inversion tools do it.

Minimises, over the input batch ``x``,

    L(x) = loss(f(x), y) + l2/2 ||x - x0||^2 + tv * TV(x)

with ``f`` the network in float64 and ``loss`` a cross-entropy for sigmoid and
softmax outputs, the squared error otherwise (see ``_output_loss``), from a start ``x0`` (Mahendran and Vedaldi
2015 use this objective with a total-variation term ``TV`` over the 28 x 28
image grid). The optimiser is Adam (Kingma and Ba 2015) on ``x`` with the
step size ``learning_rate * decay^t`` at step ``t``; iterations stop once
``max |f(x) - y| <= tol`` or after ``max_steps``. The defaults were the best
of the constant and decaying schedules tried on the book's MNIST classifier;
``decay=1`` keeps the step size constant.

Every ``check_every`` steps (and at step 0) the largest output error of each
image is recorded, so that a caller can draw the error against the step. The
time of a call is reported with and without its set-up, which is dominated by
tracing the TensorFlow graph of the steps (once per call).
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
    """The result of gradient descent: the input, the steps and seconds it took, and its output error.

    ``seconds`` is the whole call; ``trace_seconds`` the part of it spent
    before the first step (building and tracing the graph, and running it
    once to measure the starting error), so ``seconds - trace_seconds`` is the
    time of the steps alone. ``errors[i, j]`` is ``max |f(x_j) - y_j|`` of
    image ``j`` after ``checked_steps[i]`` steps; ``checked_steps`` starts at 0
    and ends at ``steps``. ``learning_rate`` and ``decay`` are the schedule the
    descent used (see :meth:`step_size`).
    """

    x: np.ndarray
    steps: int
    seconds: float
    output_max_abs_error: float
    converged: bool
    trace_seconds: float
    checked_steps: np.ndarray
    errors: np.ndarray
    learning_rate: float
    decay: float

    def step_size(self, step) -> np.ndarray:
        """Adam's step size at ``step`` (a number or an array of them): ``learning_rate * decay**step``."""
        return self.learning_rate * self.decay ** np.asarray(step, dtype=np.float64)

    @property
    def largest_errors(self) -> np.ndarray:
        """At each check, the largest output error over all images: ``errors.max(axis=1)``."""
        return self.errors.max(axis=1)

    def setbacks(self, factor: float = 10.0) -> np.ndarray:
        """The checked steps at which the largest error stood above ``factor`` times the least it had reached."""
        worst = self.largest_errors
        return self.checked_steps[worst > factor * np.minimum.accumulate(worst)]

    def settled_step(self, factor: float = 2.0) -> int:
        """The first checked step from which the largest error stays within ``factor`` of its final value.

        It equals ``steps`` when the error still fell by more than ``factor``
        in the last ``check_every`` steps.
        """
        worst = self.largest_errors
        above = np.nonzero(worst > factor * worst[-1])[0]
        return int(self.checked_steps[above[-1] + 1]) if len(above) else 0

    @property
    def steps_seconds(self) -> float:
        """The time of the steps alone, without the set-up (``seconds - trace_seconds``)."""
        return self.seconds - self.trace_seconds


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
    if isinstance(check_every, bool) or int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be a whole number of at least 1, got {check_every!r}")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must lie in (0, 1] (1 keeps the step size constant), got {decay!r}")
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
        return tf.reduce_max(tf.abs(last_activation(logits(x)) - target), axis=1)

    began = time.perf_counter()
    history = [steps(tf.constant(0)).numpy()]  # traces the graph and measures the start
    trace_seconds = time.perf_counter() - began
    checked, taken, error = [0], 0, float(history[0].max())
    while taken < max_steps and error > tol:
        chunk = min(check_every, max_steps - taken)
        history.append(steps(tf.constant(chunk)).numpy())
        taken += chunk
        checked.append(taken)
        error = float(history[-1].max())
    seconds = time.perf_counter() - began
    return OptimisedPreimage(
        x.numpy(), taken, seconds, error, error <= tol, trace_seconds, np.array(checked), np.array(history),
        float(learning_rate), float(decay),
    )
