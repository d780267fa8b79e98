"""A classifier that is invertible by construction: additive coupling blocks, then a completed linear read-out.

The network maps an image ``x`` (784 pixels) to a latent code ``z`` of the
same size, one-to-one, and reads its class from the first ten coordinates.
It has two parts:

* ``blocks`` additive coupling blocks (Dinh, Krueger and Bengio, 2015, NICE).
  Block ``i`` permutes the coordinates by a fixed random permutation ``P_i``,
  splits them into halves ``(a, b)`` and adds to the second half a function of
  the first::

      (a, b) = x P_i,     block(x) = (a, b + m_i(a)),
      m_i(a) = relu(a A_i + c_i) B_i + d_i .

  Its inverse is written down, not solved for:
  ``block^{-1}(a, b') = (a, b' - m_i(a)) P_i^T``. Every block has Jacobian
  determinant 1 (volume preserving), whatever ``m_i`` is, so ``m_i`` is an
  ordinary dense network and needs no constraint at all. Additive rather than
  affine coupling (which also multiplies ``b`` by ``exp(s_i(a))``): the
  inverse is exact to round-off with no division, and a classifier has no use
  for the change of volume that affine coupling buys a density model.
* a linear read-out ``logits = h W + b`` on the blocks' output ``h``, completed
  to an invertible map by an orthonormal basis ``N`` of the orthogonal
  complement of the columns of ``W``::

      z = (z_s, z_n) = (h W + b, h N),     h = (z_s - b) W^+ + z_n N^T .

  ``z_s`` are the logits, ``z_n`` the nuisance: the 774 coordinates the class
  scores never see. For a network without blocks this is Chapter 3's
  decomposition of an input into its row-space and null-space parts.

Training (:func:`train_invertible_classifier`) minimises the cross-entropy of
the logits, optionally plus ``nuisance_weight`` times the mean of
``||z_n||^2 / n_n``. Since every map is volume preserving up to the constant
``det [W N]``, that term is, up to constants, the negative log-likelihood of
the nuisance under a standard Gaussian: the hybrid objective of Nalisnick et
al. (2019) and Jacobsen et al. (2019), which shapes the nuisance like the
Gaussian priors fitted to it afterwards.

The network is a Keras 3 model written with ``keras.ops``; training runs in
float32 and the trained weights are then used in float64
(:func:`invertible_classifier` with ``dtype="float64"``) for every inversion.
Training is cached with :func:`nninv_book.cache.computed`, which keeps the
weights as arrays (:func:`nninv_book.cache.trained` rebuilds a network from
Keras's own layers alone, in safe mode, and so refuses a custom layer).

Why this is the book's code and not :mod:`nninv`'s: :mod:`nninv` inverts
networks someone else trained, read from their Keras layers, and no standard
Keras layer is a coupling block. A network built to be inverted carries its
inverse with it (here :meth:`AdditiveCoupling.inverse`), so there is nothing
left for a library to read or solve.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg

import nninv
from nninv_book import runtime  # noqa: F401  (quiet TensorFlow before it loads)

import keras  # noqa: E402
from keras import ops  # noqa: E402

N_PIXELS = 784
N_CLASSES = 10


class AdditiveCoupling(keras.layers.Layer):
    """One additive coupling block: permute, then add ``m(a)`` to the second half.

    Parameters
    ----------
    permutation : array_like of int
        A permutation of ``range(width)``, fixed (not trained).
    hidden : int
        Units of the coupling network ``m(a) = relu(a A + c) B + d``.

    Notes
    -----
    With ``(a, b) = x P`` (halves of ``floor(width / 2)`` and the rest),

    .. math:: f(x) = (a,\\ b + m(a)), \\qquad f^{-1}(a, b') = (a,\\ b' - m(a))\\, P^\\top ,

    and ``det df/dx = 1``. ``B`` starts at zero, so an untrained block is a
    permutation.

    Examples
    --------
    >>> block = AdditiveCoupling(np.array([2, 0, 3, 1]), hidden=3, dtype="float64")
    >>> x = np.array([[0.1, 0.2, 0.3, 0.4]])
    >>> print(np.asarray(block(x)))             # untrained: the permutation alone
    [[0.3 0.1 0.4 0.2]]
    >>> block.set_weights([w + 1.0 for w in block.get_weights()])
    >>> bool(np.abs(np.asarray(block.inverse(block(x))) - x).max() < 1e-15)
    True
    """

    def __init__(self, permutation, hidden: int, **kwargs):
        super().__init__(**kwargs)
        permutation = np.asarray(permutation)
        if permutation.ndim != 1 or not np.array_equal(np.sort(permutation), np.arange(len(permutation))):
            raise ValueError("permutation must hold each of 0, ..., width - 1 exactly once")
        if len(permutation) < 2:
            raise ValueError(f"a coupling block needs at least 2 coordinates, got {len(permutation)}")
        if isinstance(hidden, bool) or int(hidden) != hidden or hidden < 1:
            raise ValueError(f"hidden must be a whole number of at least 1, got {hidden!r}")
        self.permutation = [int(i) for i in permutation]
        self.unpermutation = [int(i) for i in np.argsort(permutation)]
        self.width, self.half, self.hidden = len(permutation), len(permutation) // 2, int(hidden)
        self.inner = keras.layers.Dense(self.hidden, activation="relu", dtype=self.dtype_policy, name="inner")
        self.outer = keras.layers.Dense(self.width - self.half, kernel_initializer="zeros",
                                        dtype=self.dtype_policy, name="outer")

    def build(self, input_shape):
        if input_shape[-1] != self.width:
            raise ValueError(f"a coupling block of width {self.width} was given inputs of width {input_shape[-1]}")
        self.inner.build((None, self.half))
        self.outer.build((None, self.hidden))

    def shift(self, a):
        """``m(a) = relu(a A + c) B + d``, the amount added to the second half."""
        return self.outer(self.inner(a))

    def call(self, x):
        x = ops.take(x, self.permutation, axis=1)
        a, b = x[:, : self.half], x[:, self.half :]
        return ops.concatenate([a, b + self.shift(a)], axis=1)

    def inverse(self, y):
        """The exact inverse of :meth:`call`: subtract the same shift, then undo the permutation."""
        y = ops.convert_to_tensor(y, dtype=self.compute_dtype)
        a, b = y[:, : self.half], y[:, self.half :]
        x = ops.concatenate([a, b - self.shift(a)], axis=1)
        return ops.take(x, self.unpermutation, axis=1)

    def get_config(self):
        return super().get_config() | {"permutation": self.permutation, "hidden": self.hidden}


def coupling_stack(blocks: int, hidden: int, seed: int, dtype: str = "float32") -> list[AdditiveCoupling]:
    """``blocks`` coupling blocks of width 784, each with its own random permutation drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return [AdditiveCoupling(rng.permutation(N_PIXELS), hidden, dtype=dtype, name=f"coupling_{i}")
            for i in range(1, blocks + 1)]


class InvertibleClassifier(keras.Model):
    """Coupling blocks then a dense read-out of ten logits: ``logits = h W + b``, ``h = blocks(x)``.

    :meth:`call` gives the logits; :meth:`features` the blocks' output ``h``;
    :meth:`features_inverse` maps an ``h`` back to the input exactly. The
    read-out's completion to an invertible map lives in :class:`LatentMap`.
    """

    def __init__(self, blocks: int, hidden: int, seed: int, dtype: str = "float32", **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.coupling = coupling_stack(blocks, hidden, seed, dtype)
        self.readout = keras.layers.Dense(N_CLASSES, dtype=dtype, name="readout")
        self.build((None, N_PIXELS))

    def build(self, input_shape):
        for block in self.coupling:
            block.build(input_shape)
        self.readout.build(input_shape)

    def features(self, x):
        for block in self.coupling:
            x = block(x)
        return x

    def features_inverse(self, h):
        for block in reversed(self.coupling):
            h = block.inverse(h)
        return h

    def call(self, x):
        return self.readout(self.features(x))


def _check_whole(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}")
    return int(value)


def train_invertible_classifier(images, labels, *, blocks: int, hidden: int, epochs: int, seed: int,
                                nuisance_weight: float = 0.0, label_smoothing: float = 0.0,
                                batch_size: int = 128,
                                learning_rate: float = 1e-3) -> dict:
    """Train an :class:`InvertibleClassifier` on ``images`` (rows in [0, 1]) and ``labels`` (digits).

    Adam on ``cross_entropy(logits) + nuisance_weight * mean ||z_n||^2 / n_n``
    (see the module), its step size decaying along a cosine to 0, in float32.
    A module-level function of its arguments, for
    :func:`nninv_book.cache.computed`.

    Returns
    -------
    dict
        ``weights`` (the model's arrays, float32), ``seconds`` (training, wall
        clock, from the first step to the last, compilation included),
        ``losses`` (the mean cross-entropy of each epoch) and the
        architecture (``blocks``, ``hidden``, ``seed``).
    """
    import tensorflow as tf

    from nninv_book.models import seed_everything

    blocks, hidden = _check_whole("blocks", blocks, 0), _check_whole("hidden", hidden, 1)
    epochs, batch_size = _check_whole("epochs", epochs, 1), _check_whole("batch_size", batch_size, 1)
    if not (isinstance(nuisance_weight, (int, float)) and math.isfinite(nuisance_weight) and nuisance_weight >= 0):
        raise ValueError(f"nuisance_weight must be a finite number >= 0, got {nuisance_weight!r}")
    if not (isinstance(label_smoothing, (int, float)) and 0 <= label_smoothing < 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}")
    images = np.ascontiguousarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.ndim != 2 or images.shape[1] != N_PIXELS:
        raise ValueError(f"images must be rows of {N_PIXELS} pixels, got shape {images.shape}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have one digit per image, shape ({len(images)},), got {labels.shape}")
    seed_everything(seed)
    model = InvertibleClassifier(blocks, hidden, seed)
    steps = epochs * -(-len(images) // batch_size)
    optimiser = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(float(learning_rate), steps))
    cross_entropy = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    x_all = tf.constant(images)
    y_all = tf.constant(np.eye(N_CLASSES, dtype=np.float32)[labels.astype(np.int64)])
    n_nuisance = float(N_PIXELS - N_CLASSES)

    @tf.function
    def step(indices):
        x, y = tf.gather(x_all, indices), tf.gather(y_all, indices)
        with tf.GradientTape() as tape:
            h = model.features(x)
            loss = cross_entropy(y, model.readout(h))
            total = loss
            if nuisance_weight:
                W = model.readout.kernel
                hw = h @ W
                row_part = tf.reduce_sum(hw * tf.transpose(tf.linalg.solve(tf.transpose(W) @ W, tf.transpose(hw))), 1)
                total += nuisance_weight * tf.reduce_mean(tf.reduce_sum(h**2, 1) - row_part) / n_nuisance
        variables = model.trainable_variables
        optimiser.apply_gradients(zip(tape.gradient(total, variables), variables))
        return loss

    rng = np.random.default_rng(seed)
    losses = []
    began = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(images))
        batch_losses = [float(step(tf.constant(order[start : start + batch_size])))
                        for start in range(0, len(order), batch_size)]
        losses.append(float(np.mean(batch_losses)))
    seconds = time.perf_counter() - began
    return {"weights": [np.asarray(w) for w in model.get_weights()], "seconds": seconds,
            "losses": np.array(losses), "blocks": blocks, "hidden": hidden, "seed": int(seed)}


def invertible_classifier(trained: dict, dtype: str = "float64") -> InvertibleClassifier:
    """The trained network of :func:`train_invertible_classifier`, rebuilt in ``dtype`` (float64 for inversion)."""
    model = InvertibleClassifier(trained["blocks"], trained["hidden"], trained["seed"], dtype=dtype)
    model.set_weights([np.asarray(w, dtype=dtype) for w in trained["weights"]])
    return model


class LatentMap:
    """A dense read-out ``t = h W + b`` completed to an invertible map: ``z = (h W + b, h N)``, in float64.

    Parameters
    ----------
    W : array_like
        ``n x k`` weights of full column rank ``k < n``.
    b : array_like
        ``k`` biases.

    Notes
    -----
    ``N`` is an orthonormal basis of the orthogonal complement of the columns
    of ``W`` (SciPy's ``null_space`` of ``W^T``), so ``h = h P + h (I - P)``
    with ``P = W W^+`` gives the exact inverse

    .. math:: h = (z_s - b)\\, W^{+} + z_n N^\\top ,

    the row-space part that the read-out sees and the null-space part that it
    does not (Chapter 3). Every ``z_n`` gives an ``h`` with the same ``z_s``.

    Examples
    --------
    >>> latent = LatentMap(np.array([[1.0], [1.0]]), np.array([0.5]))
    >>> z = latent.forward(np.array([[1.0, 3.0]]))
    >>> print(z.round(6))                     # the read-out, then the nuisance
    [[4.5      1.414214]]
    >>> print(latent.inverse(z).round(6))
    [[1. 3.]]
    """

    def __init__(self, W, b):
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if W.ndim != 2 or W.shape[1] >= W.shape[0]:
            raise ValueError(f"W must be n x k with k < n (a read-out that contracts), got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ValueError(f"b must have one bias per column of W, shape ({W.shape[1]},), got {b.shape}")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError("W and b must be finite")
        self.W, self.b = W, b
        self.n, self.k = W.shape
        singular = np.linalg.svd(W, compute_uv=False)
        if singular[-1] <= singular[0] * self.n * np.finfo(float).eps:
            raise ValueError(f"W has rank below {self.k}: its read-out cannot be completed to an invertible map")
        self.pinv = np.linalg.pinv(W)
        self.N = scipy.linalg.null_space(W.T)

    def _rows(self, values, width: int, what: str) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        if values.ndim != 2 or values.shape[1] != width:
            raise ValueError(f"{what} must be rows of {width} numbers, got shape {values.shape}")
        return values

    def forward(self, h) -> np.ndarray:
        """``z = (h W + b, h N)``: the read-out's ``k`` outputs first, then the ``n - k`` nuisance coordinates."""
        h = self._rows(h, self.n, "inputs of the read-out")
        return np.hstack([h @ self.W + self.b, h @ self.N])

    def inverse(self, z) -> np.ndarray:
        """``h = (z_s - b) W^+ + z_n N^T``, the one input with latent code ``z``."""
        z = self._rows(z, self.n, "latent codes")
        return (z[:, : self.k] - self.b) @ self.pinv + z[:, self.k :] @ self.N.T


class InvertibleNetwork:
    """The trained network in float64, with its latent map: image to code and code to image, both exact.

    ``latent(x) = (logits, z_n)``; ``image(z)`` is its inverse; ``logits(x)``
    the class scores.
    """

    def __init__(self, trained: dict):
        self.model = invertible_classifier(trained, dtype="float64")
        self.latent_map = LatentMap(np.asarray(self.model.readout.kernel), np.asarray(self.model.readout.bias))

    def _images(self, x) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.ndim != 2 or x.shape[1] != N_PIXELS:
            raise ValueError(f"images must be rows of {N_PIXELS} pixels, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("images must be finite")
        return x

    def latent(self, x) -> np.ndarray:
        """The latent code ``z = (z_s, z_n)`` of each image: its ten logits, then its 774 nuisance coordinates."""
        return self.latent_map.forward(ops.convert_to_numpy(self.model.features(self._images(x))))

    def image(self, z) -> np.ndarray:
        """The one image whose latent code is ``z``: the exact inverse of :meth:`latent`."""
        h = self.latent_map.inverse(z)
        return ops.convert_to_numpy(self.model.features_inverse(h))

    def logits(self, x) -> np.ndarray:
        """The network's ten class scores for each image, computed forward in float64."""
        return ops.convert_to_numpy(self.model(self._images(x)))

    @property
    def parameters(self) -> int:
        """The number of trained numbers (the permutations are fixed, not counted)."""
        return int(sum(np.prod(w.shape) for w in self.model.get_weights()))


def latent_codes(trained: dict, images) -> np.ndarray:
    """The latent codes of ``images`` under the network ``trained`` describes (see :class:`InvertibleNetwork`).

    A function of the trained weights, so that a chapter can cache the codes
    of many images.
    """
    return InvertibleNetwork(trained).latent(images)


def metamers(network, logit_sources, nuisance_sources) -> np.ndarray:
    """``F^{-1}(z_s(a), z_n(b))`` for each pair of rows: the logits of ``a`` with the nuisance of ``b``.

    ``network`` is an :class:`InvertibleNetwork` (or anything with its
    ``latent`` and ``image``). Each result has exactly the logits of its ``a``.
    """
    z_a, z_b = network.latent(logit_sources), network.latent(nuisance_sources)
    if len(z_a) != len(z_b):
        raise ValueError(f"one nuisance source per logit source is needed, got {len(z_b)} for {len(z_a)}")
    k = N_CLASSES
    return network.image(np.hstack([z_a[:, :k], z_b[:, k:]]))


def pairs_of_different_classes(labels, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(a, b)`` of ``count`` pairs: ``a`` the first ``count`` rows, each ``b`` drawn from another class."""
    labels = np.asarray(labels)
    count = _check_whole("count", count, 1)
    if count > len(labels):
        raise ValueError(f"count must be at most the number of labels ({len(labels)}), got {count}")
    if len(np.unique(labels)) < 2:
        raise ValueError("pairs of different classes need labels of at least two classes")
    rng = np.random.default_rng(seed)
    a = np.arange(count)
    b = np.array([rng.choice(np.flatnonzero(labels != labels[i])) for i in a])
    return a, b


def logit_coordinates() -> nninv.DenseInverse:
    """The latent code's first ten coordinates as a linear layer ``z -> z_s``, for Chapter 4's closed forms.

    Its ``gaussian(z_s, prior)`` is ``E[z | z_s]`` under a Gaussian prior over
    latent codes, its ``mixture(z_s, prior)`` the conditional mean under a
    mixture; both keep ``z_s`` exactly.

    Examples
    --------
    >>> selection = logit_coordinates()
    >>> selection
    DenseInverse('logit coordinates': 784 -> 10, linear, rank 10)
    """
    return nninv.DenseInverse(np.eye(N_PIXELS)[:, :N_CLASSES], np.zeros(N_CLASSES), "linear",
                              name="logit coordinates")
