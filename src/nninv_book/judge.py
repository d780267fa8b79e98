"""An independent judge of whether an image looks like a digit: k nearest neighbours on raw pixels."""

from __future__ import annotations

import numpy as np

from nninv.checks import as_matrix


class NearestNeighbourJudge:
    """Majority label of the ``k`` training images nearest in Euclidean pixel distance.

    It shares nothing with the networks the book inverts: no weights, no
    training, only the pixels of the training set. An image it labels
    correctly is, literally, closer to images of the right digit than to
    others. Ties go to the label of the nearest neighbour among the tied.
    """

    def __init__(self, images, labels, k: int = 3, batch_size: int = 1000):
        images = as_matrix(images, "judge training images")
        labels = np.asarray(labels)
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
        if not 1 <= k <= images.shape[0]:
            raise ValueError(f"k must lie between 1 and the number of training images, got {k}")
        self.images = images.astype(np.float32)
        self.squared_norms = np.sum(self.images**2, axis=1)
        self.labels = labels.astype(np.int64)
        self.k, self.batch_size = k, batch_size
        self.classes = int(self.labels.max()) + 1

    def predict(self, x) -> np.ndarray:
        """The judged label of each row of ``x`` (images flattened to the training images' width)."""
        x = as_matrix(np.reshape(x, (len(x), -1)), "images to judge").astype(np.float32)
        if x.shape[1] != self.images.shape[1]:
            raise ValueError(f"images to judge must have {self.images.shape[1]} pixels, got {x.shape[1]}")
        return np.concatenate([self._predict_batch(x[i : i + self.batch_size]) for i in range(0, len(x), self.batch_size)])

    def _predict_batch(self, x: np.ndarray) -> np.ndarray:
        distances = self.squared_norms[np.newaxis] - 2.0 * x @ self.images.T  # + ||x||^2, the same per row
        nearest = np.argpartition(distances, self.k - 1, axis=1)[:, : self.k]
        order = np.argsort(np.take_along_axis(distances, nearest, axis=1), axis=1)
        votes_by_rank = self.labels[np.take_along_axis(nearest, order, axis=1)]  # nearest first
        counts = np.zeros((len(x), self.classes), dtype=np.int64)
        np.add.at(counts, (np.arange(len(x))[:, np.newaxis], votes_by_rank), 1)
        winners = counts == counts.max(axis=1, keepdims=True)
        first_winner = np.argmax(winners[np.arange(len(x))[:, np.newaxis], votes_by_rank], axis=1)
        return votes_by_rank[np.arange(len(x)), first_winner]

    def accuracy(self, x, labels) -> float:
        return float(np.mean(self.predict(x) == np.asarray(labels)))
