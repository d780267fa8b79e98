"""Claims about inversion by gradient descent, the book's point of comparison."""

import numpy as np
import pytest

from nninv import DenseInverse
from nninv_book.optimisation import invert_by_gradient_descent


def small_layer():
    rng = np.random.default_rng(0)
    return DenseInverse(rng.standard_normal((6, 3)), rng.standard_normal(3) / 4, "sigmoid"), rng


def test_gradient_descent_moves_towards_a_preimage():
    layer, rng = small_layer()
    y = layer.forward(rng.uniform(0, 1, (5, 6)))
    start = np.zeros(6)
    result = invert_by_gradient_descent([layer], y, start, max_steps=2000, tol=1e-6)
    assert result.steps <= 2000
    assert result.output_max_abs_error < 0.5 * np.max(np.abs(layer.forward(start) - y))
    assert result.output_max_abs_error == pytest.approx(np.max(np.abs(layer.forward(result.x) - y)))


def test_total_variation_needs_images():
    layer, _ = small_layer()
    with pytest.raises(ValueError, match="784 inputs"):
        invert_by_gradient_descent([layer], [0.5, 0.5, 0.5], np.zeros(6), tv=1e-3)
