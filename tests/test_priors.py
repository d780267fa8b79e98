"""Claims about the book's mixture prior."""

import numpy as np
import pytest

import nninv
from nninv_book.priors import fit_class_mixture


def test_class_mixture_has_the_asked_components_per_class_and_gives_exact_preimages():
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(0, 1, (120, 12)), np.repeat([0, 1, 2], 40)
    prior = fit_class_mixture(images, labels, clusters_per_class=2, seed=0)
    assert len(prior.weights) == 6 and np.isclose(prior.weights.sum(), 1.0)
    layer = nninv.DenseInverse(rng.standard_normal((12, 3)), np.zeros(3), "sigmoid")
    y = layer.forward(images[:5])
    assert np.max(np.abs(layer.forward(layer.mixture(y, prior)) - y)) < 1e-12


def test_a_class_too_small_for_its_clusters_is_refused_by_name():
    with pytest.raises(ValueError, match="class 1 has 3 images"):
        fit_class_mixture(np.random.default_rng(0).uniform(0, 1, (13, 4)), np.array([0] * 10 + [1] * 3), 2, seed=0)
