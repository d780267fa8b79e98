"""Independent judges of whether an image looks like a digit: nearest neighbours on pixels, and a small CNN.

Two judges, each given only the book's reference split of the training images
(see :func:`nninv_book.data.training_split`), which is disjoint from
everything learned for inversion (priors, decoders), so that no judge shares
data with what it judges:

* :class:`NearestNeighbourJudge`: scikit-learn's ``KNeighborsClassifier``
  (Euclidean distance, brute force, uniform votes). An image it labels
  correctly is, literally, closer to reference images of the right digit than
  to others. Ties between labels go to the smallest label (scikit-learn's
  rule). With ``normalise=True`` every image, reference and judged, is first
  scaled to unit Euclidean norm, so that a faint image is compared by its
  shape and not pulled towards the thin digits (the 1s) by its low contrast;
* :class:`ConvolutionalJudge`: a small convolutional network trained on the
  reference images only (:func:`convolutional_judge`, cached like the book's
  other networks), the stronger of the two on real digits.

:func:`verdicts` and :func:`cnn_verdicts` are module-level functions of their
arguments alone, for :func:`nninv_book.cache.computed`.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from nninv.checks import as_matrix

N_PIXELS = 784
"""The width of an MNIST image flattened to a row; the convolutional judge reads 28 x 28 images."""


def unit_norm(images: np.ndarray) -> np.ndarray:
    """Each row scaled to unit Euclidean norm (a row of zeros stays zero)."""
    norms = np.linalg.norm(images, axis=1, keepdims=True)
    return images / np.where(norms > 0, norms, 1.0)


class NearestNeighbourJudge:
    """Majority label of the ``k`` reference images nearest in Euclidean pixel distance.

    With ``normalise=True`` the distance is taken between images scaled to unit norm.
    """

    def __init__(self, images, labels, k: int = 3, *, normalise: bool = False):
        images = as_matrix(np.reshape(images, (len(images), -1)), "judge reference images")
        labels = np.asarray(labels)
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
        if isinstance(k, bool) or int(k) != k or not 1 <= k <= images.shape[0]:
            raise ValueError(f"k must lie between 1 and the number of reference images ({images.shape[0]}), got {k!r}")
        if not isinstance(normalise, (bool, np.bool_)):
            raise TypeError(f"normalise must be True or False, got {normalise!r}")
        self.k, self.n_pixels, self.reference_size = int(k), images.shape[1], images.shape[0]
        self.normalise = bool(normalise)
        self._classifier = KNeighborsClassifier(n_neighbors=self.k, algorithm="brute").fit(
            self._prepared(images), labels.astype(np.int64)
        )

    def _prepared(self, x: np.ndarray) -> np.ndarray:
        return (unit_norm(x) if self.normalise else x).astype(np.float32)

    def predict(self, x) -> np.ndarray:
        """The judged label of each row of ``x`` (images flattened to the reference images' width)."""
        x = as_matrix(np.reshape(x, (len(x), -1)), "images to judge")
        if x.shape[1] != self.n_pixels:
            raise ValueError(f"images to judge must have {self.n_pixels} pixels, got {x.shape[1]}")
        return self._classifier.predict(self._prepared(x))

    def accuracy(self, x, labels) -> float:
        """Share of the rows of ``x`` judged to be the digit ``labels`` says."""
        return float(np.mean(self.predict(x) == np.asarray(labels)))


def verdicts(reference_images, reference_labels, k: int, images: dict, normalise: bool = False) -> dict:
    """Per entry of ``images`` (a name and a batch of images), the labels a ``k``-nearest-neighbour judge gives them.

    A module-level function of arrays alone, so that :func:`nninv_book.cache.computed`
    can keep a chapter's verdicts: ``computed(verdicts, reference_images, reference_labels, k, images)``.
    """
    judge = NearestNeighbourJudge(reference_images, reference_labels, k=k, normalise=normalise)
    return {name: judge.predict(batch) for name, batch in images.items()}


# --- the convolutional judge -----------------------------------------------------------------------------

def _network(learning_rate: float, steps: int):
    """784 pixels -> 28 x 28 -> two 5 x 5 convolutions with max pooling -> dense -> 10 class probabilities."""
    import keras

    layers = keras.layers
    model = keras.Sequential([
        keras.Input((N_PIXELS,)),
        layers.Reshape((28, 28, 1)),
        layers.Conv2D(16, 5, padding="same", activation="relu", name="conv_1"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 5, padding="same", activation="relu", name="conv_2"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(128, activation="relu", name="dense"),
        layers.Dense(10, activation="softmax", name="digit"),
    ])
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, steps))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(schedule))
    return model


def _recipe_convolutional_judge(images, labels, *, epochs, seed, batch_size, learning_rate):
    from nninv_book.models import seed_everything

    seed_everything(seed)
    model = _network(learning_rate, epochs * -(-len(images) // batch_size))
    model.fit(images, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model, None


def _images_to_judge(x, name: str = "images to judge") -> np.ndarray:
    x = np.asarray(x)
    if x.shape == (0, N_PIXELS):  # an empty batch has empty verdicts
        return np.zeros((0, N_PIXELS), dtype=np.float32)
    x = as_matrix(x.reshape(len(x), -1) if x.ndim > 2 else x, name)
    if x.shape[1] != N_PIXELS:
        raise ValueError(f"{name} must have {N_PIXELS} pixels (28 x 28 digits), got {x.shape[1]}")
    return np.ascontiguousarray(x, dtype=np.float32)


class ConvolutionalJudge:
    """The label a small convolutional network, trained on the reference images alone, gives each image."""

    def __init__(self, model):
        if not (hasattr(model, "predict") and hasattr(model, "get_weights")):
            raise TypeError(f"a ConvolutionalJudge wraps a Keras model, got {type(model).__name__}")
        self.model = model

    def predict(self, x) -> np.ndarray:
        """The judged label of each row of ``x``: 784-pixel images in [0, 1], any batch size and float dtype."""
        x = _images_to_judge(x)
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.argmax(self.model.predict(x, batch_size=1024, verbose=0), axis=1).astype(np.int64)

    def accuracy(self, x, labels) -> float:
        """Share of the rows of ``x`` judged to be the digit ``labels`` says."""
        return float(np.mean(self.predict(x) == np.asarray(labels)))

    def to_json(self) -> str:
        """The network's architecture (with :meth:`get_weights`, what identifies the judge to the cache)."""
        return self.model.to_json()

    def get_weights(self) -> list:
        """The network's weights."""
        return self.model.get_weights()


def convolutional_judge(
    reference_images, reference_labels, *, epochs: int, seed: int, batch_size: int = 128,
    learning_rate: float = 2e-3,
) -> ConvolutionalJudge:
    """The convolutional judge trained on the reference images with a fixed seed (cached like the book's networks).

    Two 5 x 5 convolutions (16 and 32 filters, ReLU, 2 x 2 max pooling),
    dropout of 30%, a dense layer of 128 ReLU units and a softmax over the ten
    digits, trained with Adam on the cross-entropy, its step size decaying
    from ``learning_rate`` to 0 along a cosine, for ``epochs`` passes over
    ``reference_images`` (784-pixel rows in [0, 1]) and nothing else.
    """
    from nninv_book import models

    models._check_training(epochs, batch_size, learning_rate)
    images = _images_to_judge(reference_images, "judge reference images")
    labels = np.asarray(reference_labels)
    if labels.shape != (len(images),):
        raise ValueError(f"reference labels must have shape ({len(images)},), got {labels.shape}")
    if labels.size == 0 or labels.min() < 0 or labels.max() > 9 or not np.all(labels == np.round(labels)):
        raise ValueError("reference labels must be digits 0 to 9")
    model, _ = models._cached(
        _recipe_convolutional_judge, seed, images=images, labels=labels.astype(np.int64), epochs=int(epochs),
        batch_size=int(batch_size), learning_rate=float(learning_rate),
    )
    return ConvolutionalJudge(model)


def cnn_verdicts(model, images: dict) -> dict:
    """Per entry of ``images`` (a name and a batch of images), the labels the convolutional judge ``model`` gives.

    For :func:`nninv_book.cache.computed`, which keys a Keras model (and a
    :class:`ConvolutionalJudge`) by its architecture and weights:
    ``computed(cnn_verdicts, judge, images)``.
    """
    judge = model if isinstance(model, ConvolutionalJudge) else ConvolutionalJudge(model)
    return {name: judge.predict(batch) for name, batch in images.items()}
