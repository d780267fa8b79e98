"""An independent judge of whether an image looks like a digit: k nearest neighbours on raw pixels.

The judge is scikit-learn's ``KNeighborsClassifier`` (Euclidean distance,
brute force, uniform votes) over a reference set of real digits. It shares
nothing with the networks the book inverts, and the book gives it a reference
set disjoint from everything learned for inversion (priors, decoders; see
:func:`nninv_book.data.training_split`): an image it labels correctly is,
literally, closer to reference images of the right digit than to others.
Ties between labels go to the smallest label (scikit-learn's rule).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from nninv.checks import as_matrix


class NearestNeighbourJudge:
    """Majority label of the ``k`` reference images nearest in Euclidean pixel distance."""

    def __init__(self, images, labels, k: int = 3):
        images = as_matrix(np.reshape(images, (len(images), -1)), "judge reference images")
        labels = np.asarray(labels)
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
        if isinstance(k, bool) or int(k) != k or not 1 <= k <= images.shape[0]:
            raise ValueError(f"k must lie between 1 and the number of reference images ({images.shape[0]}), got {k!r}")
        self.k, self.n_pixels, self.reference_size = int(k), images.shape[1], images.shape[0]
        self._classifier = KNeighborsClassifier(n_neighbors=self.k, algorithm="brute").fit(
            images.astype(np.float32), labels.astype(np.int64)
        )

    def predict(self, x) -> np.ndarray:
        """The judged label of each row of ``x`` (images flattened to the reference images' width)."""
        x = as_matrix(np.reshape(x, (len(x), -1)), "images to judge")
        if x.shape[1] != self.n_pixels:
            raise ValueError(f"images to judge must have {self.n_pixels} pixels, got {x.shape[1]}")
        return self._classifier.predict(x.astype(np.float32))

    def accuracy(self, x, labels) -> float:
        """Share of the rows of ``x`` judged to be the digit ``labels`` says."""
        return float(np.mean(self.predict(x) == np.asarray(labels)))


def verdicts(reference_images, reference_labels, k: int, images: dict) -> dict:
    """Per entry of ``images`` (a name and a batch of images), the labels a ``k``-nearest-neighbour judge gives them.

    A module-level function of arrays alone, so that :func:`nninv_book.cache.computed`
    can keep a chapter's verdicts: ``computed(verdicts, reference_images, reference_labels, k, images)``.
    """
    judge = NearestNeighbourJudge(reference_images, reference_labels, k=k)
    return {name: judge.predict(batch) for name, batch in images.items()}
