"""Claims about the smallest class-changing perturbation used in Chapter 6."""

import numpy as np

from nninv import DenseInverse
from nninv_book.adversarial import minimal_class_change


def test_minimal_perturbation_changes_the_class_and_nothing_smaller_does():
    rng = np.random.default_rng(0)
    layer = DenseInverse(rng.standard_normal((12, 4)), rng.standard_normal(4), "sigmoid")
    x = rng.standard_normal((20, 12))
    delta = minimal_class_change(layer, x)
    before = layer.forward(x).argmax(axis=1)
    assert np.all(layer.forward(x + delta).argmax(axis=1) != before)
    assert np.all(layer.forward(x + 0.99 * delta).argmax(axis=1) == before)


def test_null_space_directions_never_change_the_class_but_the_minimal_one_is_in_the_span():
    rng = np.random.default_rng(1)
    layer = DenseInverse(rng.standard_normal((12, 4)), np.zeros(4), "sigmoid")
    delta = minimal_class_change(layer, rng.standard_normal(12))
    assert np.allclose(delta @ layer.null_space, 0, atol=1e-12)
