"""Chapter 9's networks and baselines: a convolutional classifier, a ReLU one, and Mahendran and Vedaldi's descent.

The networks are trained deterministically and cached like the book's others
(:func:`nninv_book.cache.trained`, through :func:`nninv_book.models._cached`):

* :func:`train_convolutional_classifier`: ``Reshape(28, 28, 1) -> Conv2D(c_1,
  3, same) -> LeakyReLU -> AveragePooling2D(2) -> Conv2D(c_2, 3, same) ->
  LeakyReLU -> AveragePooling2D(2) -> Flatten -> Dense(hidden) -> LeakyReLU
  -> Dense(10)``, ten logits. Every layer is affine or an invertible
  activation (Leaky ReLU, not ReLU, and average pooling, not max pooling), so
  the network is a chain that :mod:`nninv.reader` can read;
* :func:`train_relu_classifier`: ``784 -> width (ReLU) -> 10`` logits, whose
  hidden layer is not injective.

:func:`mahendran_vedaldi_descent` is the baseline of Mahendran and Vedaldi
(2015) on such a network, with their objective and their normalisation of
its terms (see there).
"""

from __future__ import annotations

import numpy as np

from nninv_book import models, optimisation

import keras  # noqa: E402  (after models, which quiets TensorFlow)


def convolutional_classifier(channels=(8, 16), hidden: int = 128, negative_slope: float = 0.1,
                             learning_rate: float = 3e-3, steps: int = 1) -> keras.Sequential:
    """The chapter's convolutional network (see the module), compiled with Adam on a cosine schedule.

    The loss is the cross-entropy of the softmax of the ten logits; the step
    size decays from ``learning_rate`` to 0 along a cosine over ``steps``.
    """
    layers = keras.layers
    first, second = (int(count) for count in channels)
    model = keras.Sequential([
        keras.Input((784,)),
        layers.Reshape((28, 28, 1)),
        layers.Conv2D(first, 3, padding="same", name="conv_1"),
        layers.LeakyReLU(negative_slope),
        layers.AveragePooling2D(2, name="pool_1"),
        layers.Conv2D(second, 3, padding="same", name="conv_2"),
        layers.LeakyReLU(negative_slope),
        layers.AveragePooling2D(2, name="pool_2"),
        layers.Flatten(),
        layers.Dense(hidden, name="hidden"),
        layers.LeakyReLU(negative_slope),
        layers.Dense(10, name="logits"),
    ])
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, steps))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(schedule))
    return model


def _recipe_convolutional_classifier(images, labels, *, channels, hidden, negative_slope, epochs, seed, batch_size,
                                     learning_rate):
    models.seed_everything(seed)
    steps = epochs * -(-len(images) // batch_size)
    model = convolutional_classifier(channels, hidden, negative_slope, learning_rate, steps)
    model.fit(images, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model, None


def _check_labels(images, labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have one entry per image, shape ({len(images)},), got {labels.shape}")
    if labels.size == 0 or labels.min() < 0 or labels.max() > 9 or not np.all(labels == np.round(labels)):
        raise ValueError("labels must be digits 0 to 9")
    return labels.astype(np.int64)


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"images must be rows of 784 pixels (28 x 28 digits), got shape {images.shape}")
    return images


def train_convolutional_classifier(
    images, labels, *, epochs: int, seed: int, channels=(8, 16), hidden: int = 128,
    negative_slope: float = 0.1, batch_size: int = 128, learning_rate: float = 3e-3,
) -> keras.Sequential:
    """:func:`convolutional_classifier` trained on 784-pixel rows and their digits with a fixed seed (cached).

    Examples
    --------
    >>> train_convolutional_classifier(np.zeros((2, 783)), [0, 1], epochs=1, seed=0)
    Traceback (most recent call last):
    ...
    ValueError: images must be rows of 784 pixels (28 x 28 digits), got shape (2, 783)
    """
    images = _check_images(images)
    labels = _check_labels(images, labels)
    models._check_training(epochs, batch_size, learning_rate)
    channels = tuple(int(count) for count in channels)
    if len(channels) != 2 or min(channels) < 1 or int(hidden) < 1:
        raise ValueError(f"channels must be two counts of at least 1 and hidden at least 1, got {channels}, {hidden}")
    if not 0 < negative_slope < 1:
        raise ValueError(f"negative_slope must lie in (0, 1) for Leaky ReLU to be invertible, got {negative_slope!r}")
    return models._cached(
        _recipe_convolutional_classifier, seed, images=models._float32(images), labels=labels,
        channels=channels, hidden=int(hidden), negative_slope=float(negative_slope), epochs=int(epochs),
        batch_size=int(batch_size), learning_rate=float(learning_rate),
    )[0]


def _recipe_relu_classifier(images, labels, *, width, epochs, seed, batch_size, learning_rate):
    models.seed_everything(seed)
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(width, activation="relu", name="hidden"),
        keras.layers.Dense(10, name="logits"),
    ])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(learning_rate))
    model.fit(images, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model, None


def train_relu_classifier(
    images, labels, *, epochs: int, seed: int, width: int = 256, batch_size: int = 128,
    learning_rate: float = 1e-3,
) -> keras.Sequential:
    """``784 -> width (ReLU) -> 10`` logits, trained with Adam on the cross-entropy and a fixed seed (cached).

    Examples
    --------
    >>> train_relu_classifier(np.zeros((2, 784)), [0, 10], epochs=1, seed=0)
    Traceback (most recent call last):
    ...
    ValueError: labels must be digits 0 to 9
    """
    images = _check_images(images)
    labels = _check_labels(images, labels)
    models._check_training(epochs, batch_size, learning_rate)
    if isinstance(width, bool) or int(width) != width or width < 1:
        raise ValueError(f"width must be a whole number of at least 1, got {width!r}")
    return models._cached(
        _recipe_relu_classifier, seed, images=models._float32(images), labels=labels, width=int(width),
        epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
    )[0]


PIXEL_RANGE = 1.0
"""Mahendran and Vedaldi's ``B``: the range of the (mean-centred) pixels, here of MNIST's [0, 1] pixels."""
TYPICAL_VARIATION = PIXEL_RANGE / 6.5
"""Their ``V = B / 6.5``: the typical size of a difference of neighbouring pixels."""


def mahendran_vedaldi_descent(model, y, mean, *, alpha_weight: float, tv_weight: float, steps: int,
                              learning_rate: float, jitter: int = 1, seed: int = 0, tol: float = 1e-9):
    """Mahendran and Vedaldi's (2015) inversion of the logits ``y`` of ``model``, from the mean image ``mean``.

    Minimises, per image,

    .. math::

        \\frac{\\|z(x) - z_0\\|^2}{\\|z_0\\|^2}
        + \\frac{\\lambda_\\alpha}{n B^\\alpha} \\sum_i |x_i - m_i|^\\alpha
        + \\frac{\\lambda_V}{n V^\\beta} \\mathrm{TV}^\\beta(x)

    with ``alpha = 6``, ``beta = 2``, ``n = 784`` pixels, ``B`` and ``V``
    their normalising range and variation (:data:`PIXEL_RANGE`,
    :data:`TYPICAL_VARIATION`), the alpha-norm taken about the mean image
    ``m`` (their mean-subtracted image), and ``jitter`` (their random shifts
    of the image, here of up to that many pixels). ``lambda_alpha =
    alpha_weight`` and ``lambda_V = tv_weight``. The optimiser is Adam with
    a constant step size (:func:`nninv_book.optimisation.invert_keras_by_gradient_descent`),
    for ``steps`` steps or until ``max |f(x) - y| <= tol``.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(2)])
    >>> found = mahendran_vedaldi_descent(model, np.ones((1, 2)), np.zeros(784), alpha_weight=1.0,
    ...                                   tv_weight=1.0, steps=10, learning_rate=0.01)
    >>> found.x.shape
    (1, 784)
    """
    n = 784
    return optimisation.invert_keras_by_gradient_descent(
        model, y, mean, tol=tol, max_steps=int(steps), learning_rate=float(learning_rate),
        alpha=float(alpha_weight) / (n * PIXEL_RANGE**6), alpha_norm=6.0, alpha_centre=mean,
        tv=float(tv_weight) / (n * TYPICAL_VARIATION**2), tv_beta=2.0, normalised_loss=True,
        jitter=int(jitter), seed=int(seed),
    )


def tune_mahendran_vedaldi(model, y, x, mean, *, alpha_weights, tv_weights, steps: int, learning_rates,
                           jitter: int = 1, seed: int = 0) -> dict:
    """The grid of :func:`mahendran_vedaldi_descent`'s settings, each scored on digits ``x`` whose logits are ``y``.

    Returns ``{(alpha_weight, tv_weight, learning_rate): (mean relative error to x, max |f(x_hat) - y|)}``.
    The digits must be others than those the chapter judges (they are those
    the settings are chosen on).
    """
    x = np.asarray(x, dtype=np.float64)
    scores = {}
    for alpha_weight in alpha_weights:
        for tv_weight in tv_weights:
            for learning_rate in learning_rates:
                found = mahendran_vedaldi_descent(
                    model, y, mean, alpha_weight=alpha_weight, tv_weight=tv_weight, steps=steps,
                    learning_rate=learning_rate, jitter=jitter, seed=seed,
                )
                error = np.linalg.norm(found.x - x, axis=1) / np.linalg.norm(x, axis=1)
                scores[float(alpha_weight), float(tv_weight), float(learning_rate)] = (
                    float(np.mean(error)), float(found.output_max_abs_error))
    return scores



def _timed(method):
    """``(x, refused, seconds)`` of ``method()``, which returns a preimage result or ``(x, refused)``."""
    import time

    began = time.perf_counter()
    found = method()
    x, refused = found if isinstance(found, tuple) else (found.x, dict(found.refused))
    return x, {int(row): str(reason) for row, reason in refused.items()}, time.perf_counter() - began


def exact_preimages(chain, y, pooled_prior, class_priors) -> dict:
    """The chapter's exact preimages of the outputs ``y`` of ``chain``, each timed, refusals kept by row.

    Three choices among the inputs with ``chain(x) = y``: the one nearest to
    0 (``"least norm"``), the most probable under ``pooled_prior``
    (``"pooled prior"``) and under the prior of the class ``chain`` predicts
    (``"class prior"``; ``class_priors`` holds one per digit, and no true
    label is used). Returns ``{name: (x, refused, seconds)}``: ``refused``
    maps a row that could not be made exact to its reason (its ``x`` is then
    not a preimage), and ``seconds`` is the whole call for all rows (the
    priors were fitted before).

    Examples
    --------
    >>> from nninv import DenseInverse, GaussianPrior
    >>> layer = DenseInverse(np.eye(2), np.zeros(2), "linear", name="out")
    >>> prior = GaussianPrior(np.zeros(2), np.eye(2))
    >>> x, refused, seconds = exact_preimages([layer], [[1.0, 0.0]], prior, [prior] * 10)["class prior"]
    >>> print(x, refused)
    [[1. 0.]] {}
    """
    import nninv

    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    predicted = y.argmax(axis=1)

    def class_prior():
        x, refused = np.empty((len(y), chain[0].n_in)), {}
        for digit in np.unique(predicted):
            rows = np.flatnonzero(predicted == digit)
            found = nninv.most_probable_preimage(chain, y[rows], class_priors[digit], on_inexact="report")
            x[rows] = found.x
            refused.update({int(rows[row]): reason for row, reason in found.refused.items()})
        return x, refused

    return {
        "least norm": _timed(lambda: nninv.nearest_preimage(
            chain, y, np.zeros((len(y), chain[0].n_in)), on_inexact="report")),
        "pooled prior": _timed(lambda: nninv.most_probable_preimage(chain, y, pooled_prior, on_inexact="report")),
        "class prior": _timed(class_prior),
    }


def made_exact(chain, y, guesses):
    """The exact preimage of each row of ``y`` nearest to the row of ``guesses``: ``(x, refused, seconds)``.

    A learned inverse's images made exact by :func:`nninv.nearest_preimage`
    (timed: the projection alone).

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layer = DenseInverse(np.eye(2)[:, :1], np.zeros(1), "linear", name="out")
    >>> x, refused, seconds = made_exact([layer], [[1.0]], [[0.0, 3.0]])
    >>> print(x, refused)
    [[1. 3.]] {}
    """
    import nninv

    return _timed(lambda: nninv.nearest_preimage(chain, y, np.asarray(guesses, dtype=np.float64), on_inexact="report"))


def timed_mahendran_vedaldi(model, y, mean, settings, steps: int, seed: int):
    """:func:`mahendran_vedaldi_descent` with ``settings = (alpha_weight, tv_weight, learning_rate)``: ``(x, seconds)``.

    ``seconds`` is the whole call (the graph's tracing included).
    """
    import time

    alpha_weight, tv_weight, learning_rate = settings
    began = time.perf_counter()
    found = mahendran_vedaldi_descent(model, y, mean, alpha_weight=alpha_weight, tv_weight=tv_weight, steps=steps,
                                      learning_rate=learning_rate, seed=seed)
    return found.x, time.perf_counter() - began
