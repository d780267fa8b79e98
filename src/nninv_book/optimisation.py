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
    check_seconds: np.ndarray | None = None
    check_step_sizes: np.ndarray | None = None
    reductions: int = 0

    def step_size(self, step) -> np.ndarray:
        """Adam's step size at ``step`` (a number or an array of them): ``learning_rate * decay**step``.

        After a reduction on a plateau the step size is the one recorded at
        the last check at or before ``step``.
        """
        step = np.asarray(step, dtype=np.float64)
        if not self.reductions:
            return self.learning_rate * self.decay**step
        index = np.searchsorted(self.checked_steps, step, side="right") - 1
        return np.asarray(self.check_step_sizes)[np.clip(index, 0, len(self.checked_steps) - 1)]

    def time_to(self, accuracy: float) -> float:
        """The time from the start of the call to the first check with every error at most ``accuracy`` (``inf`` if none)."""
        return time_to_accuracy(self.check_seconds, self.largest_errors, accuracy)

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


def _total_variation(x: tf.Tensor, beta: float = 1.0) -> tf.Tensor:
    """``sum |dx| + |dy|`` for ``beta=1``; otherwise Mahendran and Vedaldi's ``sum ((dx)^2 + (dy)^2)^(beta/2)``."""
    images = tf.reshape(x, (-1, 28, 28))
    down, right = images[:, 1:, :] - images[:, :-1, :], images[:, :, 1:] - images[:, :, :-1]
    if beta == 1.0:
        return tf.reduce_sum(tf.abs(down)) + tf.reduce_sum(tf.abs(right))
    squared = down[:, :, :-1] ** 2 + right[:, :-1, :] ** 2
    return tf.reduce_sum(squared ** (beta / 2))


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
    patience: int | None = None,
    reduce_factor: float = 0.5,
    tv_beta: float = 1.0,
    normalised_loss: bool = False,
    jitter: int = 0,
    seed: int = 0,
) -> OptimisedPreimage:
    """Adam on the input until every output is within ``tol`` of ``y`` (see the module for the objective).

    ``patience`` (a number of checks) turns on a step size reduced on a
    plateau: when the largest error has not fallen below half its best of the
    last reduction for ``patience`` checks, the step size is multiplied by
    ``reduce_factor`` and Adam restarts: fresh moments, and the decay of the
    step size from the reduced one (a restart with a fresh optimiser is what
    finishes a stalled digit). ``tv_beta`` is the exponent
    of the total variation, ``TV^beta = sum ((dx)^2 + (dy)^2)^(beta/2)``
    (``beta=1`` the anisotropic ``sum |dx| + |dy|``); ``normalised_loss`` uses
    Mahendran and Vedaldi's normalised loss ``||z(x) - z_0||^2 / ||z_0||^2``
    per image on the last layer's pre-activations (the representation it
    computes; ``z_0 = a^{-1}(y)``) instead of the cross-entropy; ``jitter`` shifts the image by up to that many pixels,
    at random each step (their jitter), with ``seed``.
    """
    if (tv or jitter) and layers[0].n_in != 784:
        raise ValueError("the total-variation term and jitter need 784 inputs (28 x 28 images)")
    weights = [(tf.constant(layer.W), tf.constant(layer.b), _tf_activation(layer.activation)) for layer in layers]

    def logits(inputs):
        """The last layer's pre-activation."""
        for W, b, activation in weights[:-1]:
            inputs = activation(inputs @ W + b)
        W, b, _ = weights[-1]
        return inputs @ W + b

    return _descend(
        logits, layers[-1].activation, layers[-1].preactivation, layers[0].n_in, y, x0, tol=tol,
        max_steps=max_steps, learning_rate=learning_rate, decay=decay, l2=l2, tv=tv, check_every=check_every,
        patience=patience, reduce_factor=reduce_factor, tv_beta=tv_beta, normalised_loss=normalised_loss,
        jitter=jitter, seed=seed,
    )



def float64_logits(model):
    """A float64 copy of a Keras chain model up to its last pre-activation, and that layer's activation.

    The copy has the model's weights in float64 and its last layer's
    activation replaced by the identity, so ``logits(x)`` is the last
    pre-activation ``z`` with ``f(x) = a(z)``; TensorFlow can differentiate
    it. Returns ``(logits, activation)`` (a :mod:`nninv.activations` object).
    """
    import keras

    from nninv.activations import get_activation

    last = model.layers[-1]
    name = keras.activations.serialize(last.activation) if hasattr(last, "activation") else "linear"
    name = name if isinstance(name, str) else name.get("config", name.get("class_name"))

    def in_float64(layer):
        config = layer.get_config() | {"dtype": "float64"}
        if layer is last and "activation" in config:
            config["activation"] = "linear"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=in_float64)
    copy.set_weights([np.asarray(weight, dtype=np.float64) for weight in model.get_weights()])
    return (lambda inputs: copy(inputs, training=False)), get_activation(name)


def invert_keras_by_gradient_descent(
    model,
    y,
    x0,
    *,
    tol: float = 1e-6,
    max_steps: int = 2000,
    learning_rate: float = 0.01,
    decay: float = 1.0,
    tv: float = 0.0,
    tv_beta: float = 2.0,
    alpha: float = 0.0,
    alpha_norm: float = 6.0,
    alpha_centre=None,
    normalised_loss: bool = True,
    jitter: int = 0,
    check_every: int = 25,
    seed: int = 0,
) -> OptimisedPreimage:
    """Mahendran and Vedaldi's descent on a Keras model in float64 (a convolutional one too).

    Minimises, by Adam on the input (as :func:`invert_by_gradient_descent`),

        ||z(x) - z_0||^2 / ||z_0||^2 + alpha sum |x - c|^p + tv TV^beta(x)

    per image, with ``z`` the model's last pre-activation, ``z_0 = a^{-1}(y)``,
    ``c = alpha_centre`` (0 by default), ``p = alpha_norm`` and
    ``TV^beta = sum ((dx)^2 + (dy)^2)^(beta/2)`` over the 28 x 28 grid
    (Mahendran and Vedaldi 2015: ``p = 6``, ``beta = 2``); ``jitter`` shifts
    the image the network sees by up to that many pixels at random each step.
    ``normalised_loss=False`` uses the output loss of
    :func:`invert_by_gradient_descent` instead.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.set_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(2)])
    >>> found = invert_keras_by_gradient_descent(model, [[1.0, 2.0]], np.zeros(3), tol=1e-6)
    >>> bool(found.converged)
    True
    """
    logits, activation = float64_logits(model)
    n_in = int(np.prod(model.input_shape[1:]))
    if (tv or jitter) and n_in != 784:
        raise ValueError("the total-variation term and jitter need 784 inputs (28 x 28 images)")
    return _descend(
        logits, activation, activation.inverse, n_in, y, x0, tol=tol, max_steps=max_steps,
        learning_rate=learning_rate, decay=decay, l2=0.0, tv=tv, check_every=check_every, patience=None,
        reduce_factor=0.5, tv_beta=tv_beta, normalised_loss=normalised_loss, jitter=jitter, seed=seed,
        alpha=alpha, alpha_norm=alpha_norm, alpha_centre=alpha_centre,
    )


def _descend(logits, activation, preactivation, n_in, y, x0, *, tol, max_steps, learning_rate, decay, l2, tv,
             check_every, patience, reduce_factor, tv_beta, normalised_loss, jitter, seed, alpha=0.0,
             alpha_norm=6.0, alpha_centre=None):
    """Adam on the input of ``logits`` (a TensorFlow function of float64 rows to the last pre-activation).

    ``activation`` is the last layer's activation object and ``preactivation``
    its inverse on the targets; ``alpha`` weighs Mahendran and Vedaldi's
    alpha-norm ``sum |x - alpha_centre|^alpha_norm`` (see
    :func:`invert_keras_by_gradient_descent`). The rest is
    :func:`invert_by_gradient_descent`'s.
    """
    if isinstance(check_every, bool) or int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be a whole number of at least 1, got {check_every!r}")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must lie in (0, 1] (1 keeps the step size constant), got {decay!r}")
    if patience is not None and (isinstance(patience, bool) or int(patience) != patience or patience < 1):
        raise ValueError(f"patience must be a whole number of checks of at least 1, or None, got {patience!r}")
    if not 0 < reduce_factor <= 1:
        raise ValueError(f"reduce_factor must lie in (0, 1] (1 restarts Adam's moments alone), got {reduce_factor!r}")
    target = tf.constant(np.atleast_2d(np.asarray(y, dtype=np.float64)))
    start = tf.constant(np.broadcast_to(np.asarray(x0, dtype=np.float64), (target.shape[0], n_in)))
    x = tf.Variable(start)
    first_moment = tf.Variable(tf.zeros_like(start))
    second_moment = tf.Variable(tf.zeros_like(start))
    step_count = tf.Variable(tf.constant(0.0, tf.float64))
    moment_count = tf.Variable(tf.constant(0.0, tf.float64))  # steps since Adam's moments last restarted
    step_scale = tf.Variable(tf.constant(float(learning_rate), tf.float64))
    generator = tf.random.Generator.from_seed(seed)
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8  # Adam's defaults
    last_activation = _tf_activation(activation)
    centre = tf.constant(np.zeros(n_in) if alpha_centre is None else np.asarray(alpha_centre, dtype=np.float64))

    output_loss = _output_loss(activation.name)
    if normalised_loss:  # on the representation the layer computes, its pre-activations z = a^{-1}(y)
        target_logits = tf.constant(np.atleast_2d(preactivation(target.numpy())))
        norms = tf.reduce_sum(target_logits**2, axis=1)
        output_loss = lambda z, f, y: tf.reduce_sum(tf.reduce_sum((z - target_logits) ** 2, axis=1) / norms)  # noqa: E731

    def shifted(inputs):
        if not jitter:
            return inputs
        shift = generator.uniform((2,), -jitter, jitter + 1, dtype=tf.int32)
        return tf.reshape(tf.roll(tf.reshape(inputs, (-1, 28, 28)), shift, axis=(1, 2)), (-1, 784))

    @tf.function
    def steps(count):
        for _ in tf.range(count):
            with tf.GradientTape() as tape:
                z = logits(shifted(x))
                loss = output_loss(z, last_activation(z), target)
                if l2:
                    loss += 0.5 * l2 * tf.reduce_sum((x - start) ** 2)
                if tv:
                    loss += tv * _total_variation(x, tv_beta)
                if alpha:
                    loss += alpha * tf.reduce_sum(tf.abs(x - centre) ** alpha_norm)
            gradient = tape.gradient(loss, x)
            step_count.assign_add(1.0)
            moment_count.assign_add(1.0)
            first_moment.assign(beta1 * first_moment + (1 - beta1) * gradient)
            second_moment.assign(beta2 * second_moment + (1 - beta2) * gradient**2)
            corrected = first_moment / (1 - beta1**moment_count)
            scale = tf.sqrt(second_moment / (1 - beta2**moment_count)) + epsilon
            x.assign_sub(step_scale * decay**moment_count * corrected / scale)
        return tf.reduce_max(tf.abs(last_activation(logits(x)) - target), axis=1)

    began = time.perf_counter()
    history = [steps(tf.constant(0)).numpy()]  # traces the graph and measures the start
    trace_seconds = time.perf_counter() - began
    checked, taken, error = [0], 0, float(history[0].max())
    times, sizes = [trace_seconds], [float(learning_rate)]
    best, since, reductions = error, 0, 0
    while taken < max_steps and error > tol:
        chunk = min(check_every, max_steps - taken)
        history.append(steps(tf.constant(chunk)).numpy())
        taken += chunk
        checked.append(taken)
        error = float(history[-1].max())
        if patience is not None:
            since = 0 if error < best / 2 else since + 1
            best = min(best, error) if since else error
            if since >= patience:
                step_scale.assign(step_scale * reduce_factor)
                first_moment.assign(tf.zeros_like(start))
                second_moment.assign(tf.zeros_like(start))
                moment_count.assign(0.0)
                since, reductions = 0, reductions + 1
        times.append(time.perf_counter() - began)
        sizes.append(float(step_scale.numpy()) * float(decay) ** float(moment_count.numpy()))
    seconds = time.perf_counter() - began
    return OptimisedPreimage(
        x.numpy(), taken, seconds, error, error <= tol, trace_seconds, np.array(checked), np.array(history),
        float(learning_rate), float(decay), np.array(times), np.array(sizes), reductions,
    )


# --- The closed form's own objective, solved by optimisation -------------------------------------------------------


@dataclass(frozen=True)
class ConstrainedPreimage:
    """A preimage found by minimising the prior's energy under the output constraint, with its time-to-accuracy curve.

    ``curve_seconds[i]`` is the solver's time, from the start of the call
    (its set-up included, the measurement of the curve excluded), at which
    the largest output error over the batch, ``max |f(x) - y|``, was
    ``curve_errors[i]``; the curve starts at the start image (time 0) and ends
    at ``x``. ``setup_seconds`` is the part of ``seconds`` spent before the
    first iteration (the covariance's factor or precision, and the
    objective's constant parts). ``rounds`` counts the augmented Lagrangian's
    outer rounds, ``evaluations`` the objective's evaluations (each one
    forward and one backward pass of the layer over the batch).
    """

    x: np.ndarray
    seconds: float
    setup_seconds: float
    output_max_abs_error: float
    converged: bool
    rounds: int
    evaluations: int
    curve_seconds: np.ndarray
    curve_errors: np.ndarray
    method: str

    def time_to(self, accuracy: float) -> float:
        """The first time on the curve at which the largest output error was at most ``accuracy`` (``inf`` if never)."""
        return time_to_accuracy(self.curve_seconds, self.curve_errors, accuracy)


def time_to_accuracy(seconds, errors, accuracy: float) -> float:
    """The first of ``seconds`` whose ``errors`` entry is at most ``accuracy``; ``inf`` when none is.

    Examples
    --------
    >>> time_to_accuracy([0.0, 1.0, 2.0], [1.0, 1e-3, 1e-7], 1e-6)
    2.0
    """
    seconds, errors = np.asarray(seconds, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    if seconds.shape != errors.shape or seconds.ndim != 1:
        raise ValueError(f"seconds and errors must be matching 1-d curves, got shapes {seconds.shape} and {errors.shape}")
    reached = np.flatnonzero(errors <= accuracy)
    return float(seconds[reached[0]]) if len(reached) else float("inf")


class _Clock:
    """Solver time with the curve's measurements taken out: ``elapsed()`` excludes every ``measuring()`` block."""

    def __init__(self):
        self.began, self.excluded = time.perf_counter(), 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.began - self.excluded


def _check_prior_problem(layer: DenseInverse, y, prior, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """The batch of outputs and their pre-activation targets ``t = a^{-1}(y)``; refuses what the solvers cannot take."""
    if layer.activation.name == "softmax":
        raise ValueError("the constrained solvers take elementwise activations; softmax's preimage is a family of lines")
    if prior.dim != layer.n_in:
        raise ValueError(f"prior is over {prior.dim} inputs but the layer takes {layer.n_in}")
    if not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    return y, np.atleast_2d(layer.preactivation(y))


def _augmented_lagrangian(energy, constraint, start, *, minimise, tol, max_rounds, weight, curve):
    """Rounds of ``min energy(v) + lambda . c(v) + w/2 ||c(v)||^2`` then ``lambda += w c``, until ``curve(v) <= tol``.

    ``energy(v)`` returns the energy and its gradient; ``constraint(v)`` the
    pre-activation residual ``c`` (``(n, k)``) and its map from residual
    weights back to a gradient; ``minimise(objective, v, w)`` minimises one
    round's objective from ``v``; ``curve(v)`` measures (and records) the
    largest output error. The weight ``w`` grows tenfold after a round that
    does not shrink the residual fourfold (Nocedal and Wright 2006,
    Framework 17.3). Returns the last iterate, the rounds, the objective's
    evaluations and the last error.
    """
    multipliers = np.zeros_like(constraint(start)[0])
    evaluations = 0

    def objective(v):
        nonlocal evaluations
        evaluations += 1
        value, gradient = energy(v)
        c, back = constraint(v)
        pull = multipliers + weight * c
        return value + np.sum(multipliers * c) + 0.5 * weight * np.sum(c * c), gradient + back(pull)

    v, rounds, previous = start, 0, np.inf
    error = curve(v)
    while error > tol and rounds < max_rounds:
        v = minimise(objective, v, weight)
        rounds += 1
        c, _ = constraint(v)
        error = curve(v)
        multipliers = multipliers + weight * c
        size = float(np.max(np.abs(c)))
        if size > previous / 4:
            weight *= 10.0
        previous = size
    return v, rounds, evaluations, error


def _curve_recorder(clock: _Clock, error_of):
    """A function that appends (solver time, largest output error) for an iterate, its own time left out of the clock."""
    seconds, errors = [], []

    def record(v) -> float:
        now = clock.elapsed()
        began = time.perf_counter()
        error = float(error_of(v))
        seconds.append(now)
        errors.append(error)
        clock.excluded += time.perf_counter() - began
        return error

    return record, seconds, errors


ACCURACIES = np.logspace(0, -14, 57)
"""The accuracies (largest output errors, four a decade) at which a batch of per-image solves is timed."""


def batch_curve(setup_seconds: float, curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The time-to-accuracy curve of a batch solved image by image, each image stopped once it is accurate enough.

    For each accuracy ``e`` of :data:`ACCURACIES` that every image's curve
    (``(seconds, errors)``, seconds from that image's own start) reaches, the
    batch's time is ``setup_seconds`` plus the sum over images of the time
    each took to reach ``e``; the curve starts at ``setup_seconds`` with the
    largest starting error. Returns ``(seconds, errors)``.
    """
    start = max(float(errors[0]) for _, errors in curves)
    seconds, reached = [setup_seconds], [start]
    for accuracy in ACCURACIES[ACCURACIES < start]:
        total = sum(time_to_accuracy(image_seconds, errors, accuracy) for image_seconds, errors in curves)
        if not np.isfinite(total):
            break
        seconds.append(setup_seconds + total)
        reached.append(float(accuracy))
    return np.array(seconds), np.array(reached)


def prior_preimage_by_optimisation(
    layer: DenseInverse,
    y,
    prior,
    *,
    solver: str = "lbfgs",
    bounds: tuple[float, float] | None = None,
    tol: float = 1e-10,
    max_rounds: int = 30,
    weight: float = 100.0,
    inner_iterations: int = 500,
    check_every: int = 10,
) -> ConstrainedPreimage:
    """The Gaussian preimage's own problem solved by optimisation: ``min 1/2 (x-m) Sigma^+ (x-m)^T`` s.t. ``f(x) = y``.

    The output constraint enters as the pre-activation residual
    ``c(x) = x W + b - a^{-1}(y)`` (``f(x) = y`` exactly when ``c = 0``, the
    activation being invertible) through an augmented Lagrangian
    (:func:`_augmented_lagrangian`), from the prior's mean, the start of every
    descent of the book.

    Parameters
    ----------
    solver : {"lbfgs", "gradient"}
        ``"lbfgs"``: each round is scipy's L-BFGS-B (``jac=True``), image by
        image (its usual use; the batch's curve is :func:`batch_curve`). With
        ``bounds`` it keeps every pixel in the box, on the inputs themselves,
        with the prior's precision (the pseudo-inverse of ``Sigma`` when it is
        singular); without, on whitened inputs ``x = m + u L^T``
        (``Sigma = L L^T``, :attr:`nninv.GaussianPrior.factor`), where the
        energy is ``1/2 ||u||^2`` and a singular ``Sigma`` keeps ``x - m`` in
        its range, as the closed form does. ``"gradient"``: each round is
        plain gradient descent on the whitened inputs of the whole batch, with
        the step ``1 / (1 + w s^2)`` for the round's weight ``w`` and ``s`` the
        largest singular value of ``L^T W`` measured by power iteration (the
        round's curvature is at most ``1 + w s^2``).
    bounds : (lower, upper) or None
        A box for every pixel (``"lbfgs"`` only).
    tol : float
        The target: ``max |f(x) - y| <= tol`` for every image.
    max_rounds, inner_iterations : int
        Outer rounds at most, and iterations per round at most.
    weight : float
        The penalty's starting weight ``w``.
    check_every : int
        For ``"gradient"``, the steps between two points of the curve (L-BFGS-B's has one point per iteration).

    Notes
    -----
    The solver runs with one BLAS thread (threadpoolctl): its products are
    small, and on a shared machine threads made them several times slower.

    Examples
    --------
    >>> from nninv import GaussianPrior
    >>> layer = DenseInverse(np.array([[1.0], [1.0]]), np.zeros(1), "sigmoid")
    >>> prior = GaussianPrior(np.zeros(2), np.eye(2))
    >>> found = prior_preimage_by_optimisation(layer, [[0.7]], prior)
    >>> bool(found.converged), bool(np.allclose(found.x, layer.gaussian([[0.7]], prior), atol=1e-8))
    (True, True)
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _solve_prior_problem(layer, y, prior, solver=solver, bounds=bounds, tol=tol, max_rounds=max_rounds,
                                    weight=weight, inner_iterations=inner_iterations, check_every=check_every)


def _solve_prior_problem(layer, y, prior, *, solver, bounds, tol, max_rounds, weight, inner_iterations, check_every):
    """The body of :func:`prior_preimage_by_optimisation`."""
    y, t = _check_prior_problem(layer, y, prior, tol)
    if solver not in ("lbfgs", "gradient"):
        raise ValueError(f"solver must be 'lbfgs' or 'gradient', got {solver!r}")
    if bounds is not None and solver != "lbfgs":
        raise ValueError("box bounds need solver='lbfgs' (L-BFGS-B keeps them; plain gradient descent does not)")
    for value, name in ((max_rounds, "max_rounds"), (inner_iterations, "inner_iterations"), (check_every, "check_every")):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    from scipy import optimize
    from scipy.linalg import cho_factor, cho_solve

    clock = _Clock()
    mean = prior.mean
    if bounds is None:
        # Whitened inputs x = m + u L^T: the layer sees them through A = L^T W, formed once
        factor = prior.cholesky if prior.positive_definite else prior.factor
        weights, offset = factor.T @ layer.W, mean @ layer.W + layer.b
        inputs = lambda u: mean + u @ factor.T  # noqa: E731
        energy = lambda u: (0.5 * np.sum(u * u), u)  # noqa: E731
        start = np.zeros((len(y), factor.shape[1]))
    else:
        lower, upper = bounds
        if not lower < upper:
            raise ValueError(f"bounds need lower < upper, got {bounds!r}")
        if prior.positive_definite:
            precision = cho_solve(cho_factor(prior.cov), np.eye(prior.dim))
        else:
            precision = np.linalg.pinv(prior.cov, hermitian=True)
        weights, offset = layer.W, layer.b
        inputs = lambda x: x  # noqa: E731

        def energy(x):
            gap = x - mean
            pulled = gap @ precision
            return 0.5 * np.sum(gap * pulled), pulled

        start = np.clip(np.tile(mean, (len(y), 1)), lower, upper)
    setup_seconds = clock.elapsed()

    def problem(rows):
        """The residual and error functions of the images ``rows``."""
        def constraint(v):
            return v @ weights + offset - t[rows], (lambda pull: pull @ weights.T)

        def error_of(v):
            return np.max(np.abs(layer.activation.forward(v @ weights + offset) - y[rows]))

        return constraint, error_of

    if solver == "gradient":
        clock = _Clock()
        clock.began -= setup_seconds
        probe = np.random.default_rng(0).standard_normal(weights.shape[1])
        for _ in range(30):                               # power iteration: s^2, the largest eigenvalue of A^T A
            probe = (probe @ weights.T) @ weights
            squared = float(np.linalg.norm(probe))
            probe /= squared
        constraint, error_of = problem(slice(None))
        record, seconds, errors = _curve_recorder(clock, error_of)

        def minimise(objective, v, weight):
            step = 1.0 / (1.0 + weight * squared)
            for iteration in range(1, inner_iterations + 1):
                v = v - step * objective(v)[1]
                if iteration % check_every == 0:
                    record(v)
            return v

        v, rounds, evaluations, error = _augmented_lagrangian(
            energy, constraint, start, minimise=minimise, tol=tol, max_rounds=max_rounds, weight=float(weight),
            curve=record,
        )
        return ConstrainedPreimage(
            inputs(v), clock.elapsed(), setup_seconds, error, error <= tol, rounds, evaluations, np.array(seconds),
            np.array(errors), "gradient",
        )

    box = None if bounds is None else [bounds] * start.shape[1]
    found, curves, total_rounds, total_evaluations, total_seconds = [], [], 0, 0, setup_seconds
    for row in range(len(y)):
        image_clock = _Clock()
        constraint, error_of = problem(slice(row, row + 1))
        record, seconds, errors = _curve_recorder(image_clock, error_of)

        def minimise(objective, v, weight):
            def flat_objective(flat):
                value, gradient = objective(flat[np.newaxis])
                return value, gradient.ravel()

            solution = optimize.minimize(
                flat_objective, v.ravel(), method="L-BFGS-B", jac=True, bounds=box,
                callback=lambda flat: record(flat[np.newaxis]),
                options={"maxiter": inner_iterations, "gtol": 1e-14, "ftol": 1e-16, "maxcor": 20},
            )
            return solution.x[np.newaxis]

        v, rounds, evaluations, _ = _augmented_lagrangian(
            energy, constraint, start[row : row + 1], minimise=minimise, tol=tol, max_rounds=max_rounds,
            weight=float(weight), curve=record,
        )
        found.append(v[0])
        curves.append((np.array(seconds), np.array(errors)))
        total_rounds, total_evaluations = max(total_rounds, rounds), total_evaluations + evaluations
        total_seconds += image_clock.elapsed()
    x = inputs(np.array(found))
    error = float(np.max(np.abs(layer.forward(x) - y)))
    curve_seconds, curve_errors = batch_curve(setup_seconds, curves)
    return ConstrainedPreimage(
        x, total_seconds, setup_seconds, error, error <= tol, total_rounds, total_evaluations, curve_seconds,
        curve_errors, "lbfgs" if bounds is None else "lbfgs bounded",
    )
