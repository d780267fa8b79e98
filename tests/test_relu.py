"""Claims about the preimages of one ReLU layer found by linear programming (nninv.relu)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nninv import relu_preimage


def relu_layer(rng, n_in, n_out):
    return rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), rng.uniform(-0.1, 0.1, n_out)


def relu(x, W, b):
    return np.maximum(x @ W + b, 0.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.floats(1.0, 6.0))
def test_the_programme_returns_an_exact_preimage_and_the_input_itself_when_it_is_unique(seed, n_in, expansion):
    rng = np.random.default_rng(seed)
    W, b = relu_layer(rng, n_in, int(np.ceil(expansion * n_in)))
    x = rng.standard_normal((4, n_in))
    h = relu(x, W, b)
    found = relu_preimage(W, b, h)
    assert np.max(np.abs(relu(found.x, W, b) - h)) <= 1e-7 * (1 + np.abs(h).max())
    assert np.all(found.violation <= 1e-7 * (1 + np.abs(h).max()))
    assert np.array_equal(found.active, np.sum(h > 0, axis=1))
    for row in np.flatnonzero(found.unique):
        assert np.linalg.norm(found.x[row] - x[row]) <= 1e-7 * np.linalg.norm(x[row])


def test_without_enough_active_units_the_preimage_is_exact_but_not_the_input():
    rng = np.random.default_rng(0)
    W, b = relu_layer(rng, 8, 8)
    x = rng.standard_normal((20, 8))
    found = relu_preimage(W, b, relu(x, W, b))
    assert not found.unique.all()
    others = ~found.unique
    assert np.all(np.linalg.norm(found.x[others] - x[others], axis=1) > 1e-6)
    assert np.max(np.abs(relu(found.x, W, b) - relu(x, W, b))) <= 1e-7


def test_outputs_the_layer_cannot_produce_are_refused_unless_the_least_violation_is_asked_for():
    rng = np.random.default_rng(1)
    W, b = relu_layer(rng, 3, 12)
    h = rng.uniform(0.5, 1.0, 12)  # twelve positive pre-activations from three inputs: not an output
    with pytest.raises(ValueError, match="h is not an output of the ReLU layer"):
        relu_preimage(W, b, h)
    closest = relu_preimage(W, b, h, range_tol=None)
    assert closest.violation > 1e-3
    assert np.max(np.abs(closest.x @ W + b - h)) == pytest.approx(closest.violation, rel=1e-6)
    with pytest.raises(ValueError, match="ReLU outputs are never negative"):
        relu_preimage(W, b, -h)


def test_one_output_gives_one_point():
    rng = np.random.default_rng(2)
    W, b = relu_layer(rng, 3, 12)
    x = rng.standard_normal(3)
    found = relu_preimage(W, b, relu(x, W, b))
    assert found.x.shape == (3,) and bool(found.unique)
    assert np.allclose(found.x, x, atol=1e-9)
