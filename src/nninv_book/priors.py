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
