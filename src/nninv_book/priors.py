"""The book's best prior over digits: a Gaussian mixture fitted per class with scikit-learn.

Within each digit class of the fitting images, ``KMeans`` finds
``clusters_per_class`` clusters and ``LedoitWolf`` gives each a shrunk
covariance; component weights are the cluster sizes. The labels are used
only here, to fit; preimages under the prior use the outputs alone
(:meth:`nninv.DenseInverse.mixture`).
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.covariance import LedoitWolf

import nninv


def fit_class_mixture(images, labels, clusters_per_class: int, seed: int) -> nninv.MixturePrior:
    """A :class:`nninv.MixturePrior` with ``clusters_per_class`` components per digit class, class by class."""
    images, labels = np.asarray(images, dtype=np.float64), np.asarray(labels)
    weights, means, covariances = [], [], []
    for digit in np.unique(labels):
        x_digit = images[labels == digit]
        if len(x_digit) < 2 * clusters_per_class:
            raise ValueError(f"class {digit} has {len(x_digit)} images, too few for {clusters_per_class} clusters")
        clusters = KMeans(n_clusters=clusters_per_class, n_init=1, random_state=seed).fit(x_digit)
        for cluster in range(clusters_per_class):
            members = x_digit[clusters.labels_ == cluster]
            shrunk = LedoitWolf(store_precision=False).fit(members)
            weights.append(len(members))
            means.append(shrunk.location_)
            covariances.append(shrunk.covariance_)
    return nninv.MixturePrior(np.array(weights, dtype=np.float64), np.array(means), np.array(covariances))


def fit_class_gaussians(images, labels) -> list[nninv.GaussianPrior]:
    """One :class:`nninv.GaussianPrior` per digit 0-9, fitted on that class's images."""
    images, labels = np.asarray(images, dtype=np.float64), np.asarray(labels)
    return [nninv.GaussianPrior.fit(images[labels == digit]) for digit in range(10)]


def under_predicted_class(invert, y, class_priors) -> np.ndarray:
    """Preimages of the outputs ``y``, each under the prior of the class the network predicts for it.

    ``invert(y_rows, prior)`` returns one preimage per row of ``y_rows``
    (for example ``layer.gaussian`` or a whole-network method); it is called
    once per predicted class, ``argmax`` of the output, on the rows of that
    class. No true label is used. The preimages come back in the rows' order.
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    predicted = y.argmax(axis=1)
    x = None
    for digit in np.unique(predicted):
        rows = predicted == digit
        found = np.asarray(invert(y[rows], class_priors[digit]))
        if x is None:
            x = np.empty((len(y), found.shape[1]))
        x[rows] = found
    return x if x is not None else np.empty((0, 0))
