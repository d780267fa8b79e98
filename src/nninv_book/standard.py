"""The book's standard data: MNIST in float64, split into disjoint images to fit on and the judge's reference.

Every chapter that learns something for inversion (priors, decoders) and
judges the result uses :func:`standard_data`: it loads MNIST, turns the images
into float64 inputs in [0, 1], splits the training images with
:func:`nninv_book.data.training_split`, checks that the two parts share no
image, and records their sizes (``prior_fit_size``, ``judge_reference_size``)
for the prose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nninv_book import data
from nninv_book.judge import NearestNeighbourJudge
from nninv_book.record import record


@dataclass(frozen=True)
class StandardData:
    """MNIST as float64 inputs, and the disjoint rows of the training images to fit on and to judge with."""

    x_train: np.ndarray
    labels_train: np.ndarray
    x_test: np.ndarray
    labels_test: np.ndarray
    fit_rows: np.ndarray
    reference_rows: np.ndarray

    @property
    def x_fit(self) -> np.ndarray:
        """The training images that priors, templates and decoders are fitted on."""
        return self.x_train[self.fit_rows]

    @property
    def labels_fit(self) -> np.ndarray:
        return self.labels_train[self.fit_rows]

    @property
    def x_reference(self) -> np.ndarray:
        """The judge's reference images, which nothing else uses."""
        return self.x_train[self.reference_rows]

    @property
    def labels_reference(self) -> np.ndarray:
        return self.labels_train[self.reference_rows]

    def judge(self, k: int) -> NearestNeighbourJudge:
        """The ``k``-nearest-neighbour judge on the reference images."""
        return NearestNeighbourJudge(self.x_reference, self.labels_reference, k=k)


def standard_data(judge_reference_size: int, seed: int) -> StandardData:
    """MNIST, split by ``seed`` into ``judge_reference_size`` reference images and the rest to fit on.

    Records ``prior_fit_size`` and ``judge_reference_size`` (the sizes of the two parts).
    """
    (x_train_images, labels_train), (x_test_images, labels_test) = data.load_mnist()
    x_train = data.as_inputs(x_train_images).astype(np.float64)
    x_test = data.as_inputs(x_test_images).astype(np.float64)
    fit_rows, reference_rows = data.training_split(len(x_train), judge_reference_size, seed)
    if np.intersect1d(fit_rows, reference_rows).size:
        raise AssertionError("the judge's reference overlaps the images fitted on")
    record(prior_fit_size=len(fit_rows), judge_reference_size=len(reference_rows))
    return StandardData(x_train, labels_train, x_test, labels_test, fit_rows, reference_rows)
