"""Claims about the preimages of one ReLU layer found by linear programming (nninv.relu)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nninv import GaussianPrior, relu_most_probable_preimage, relu_preimage


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


# The most probable point of the preimage polyhedron, by quadratic programming.


def trained_like_layer(seed=0, n_in=60, n_out=40):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), rng.normal(0, 0.1, n_out), rng


def test_the_most_probable_point_of_the_polyhedron_reproduces_the_hidden_activity_exactly():
    W, b, rng = trained_like_layer()
    prior = GaussianPrior.fit(rng.uniform(0, 1, (300, 60)))
    h = np.maximum(rng.uniform(0, 1, (8, 60)) @ W + b, 0)
    found = relu_most_probable_preimage(W, b, h, prior)
    assert found.equality_error.max() <= 1e-9 and found.inequality_violation.max() <= 1e-9
    assert np.abs(np.maximum(found.x @ W + b, 0) - h).max() <= 1e-9


def test_it_is_at_least_as_probable_as_the_linear_programmes_point_and_the_true_input():
    W, b, rng = trained_like_layer(1)
    prior = GaussianPrior.fit(rng.uniform(0, 1, (300, 60)))
    x = rng.uniform(0, 1, (6, 60))
    h = np.maximum(x @ W + b, 0)
    found = relu_most_probable_preimage(W, b, h, prior)

    def objective(points):
        centred = points - prior.mean
        return 0.5 * np.sum(centred * np.linalg.solve(prior.cov, centred.T).T, axis=1)

    assert np.all(found.objective <= objective(relu_preimage(W, b, h).x) * (1 + 1e-7) + 1e-9)
    assert np.all(found.objective <= objective(x) * (1 + 1e-7) + 1e-9)
    assert np.allclose(found.objective, objective(found.x), rtol=1e-8)


@pytest.mark.parametrize("seed", range(6))
def test_it_is_the_gaussian_closed_form_on_the_active_units_unless_that_breaks_an_inactive_bound(seed):
    W, b, rng = trained_like_layer(seed, n_in=30, n_out=10)
    prior = GaussianPrior(np.zeros(30), np.eye(30))
    h = np.maximum(rng.uniform(0, 1, 30) @ W + b, 0)
    found = relu_most_probable_preimage(W, b, h, prior)
    active = h > 0
    least_norm = (h[active] - b[active]) @ np.linalg.pinv(W[:, active])
    if np.all(least_norm @ W[:, ~active] + b[~active] <= 0):
        assert np.allclose(found.x, least_norm, atol=1e-9) and found.tight == 0
    else:
        assert found.tight > 0 and found.objective > 0.5 * least_norm @ least_norm


def test_an_output_the_layer_cannot_produce_is_refused_and_bad_arguments_named():
    W = np.array([[1.0, 1.0]])  # both units read the same input: h = (1, 2) is impossible
    prior = GaussianPrior(np.zeros(1), np.eye(1))
    with pytest.raises(ValueError, match="not an output of the ReLU layer.*row 0"):
        relu_most_probable_preimage(W, np.zeros(2), np.array([1.0, 2.0]), prior)
    with pytest.raises(ValueError, match="never negative"):
        relu_most_probable_preimage(W, np.zeros(2), np.array([-1.0, 0.0]), prior)
    with pytest.raises(TypeError, match="prior must be a GaussianPrior"):
        relu_most_probable_preimage(W, np.zeros(2), np.array([1.0, 1.0]), "prior")
    with pytest.raises(ValueError, match="prior is over 1 inputs but the layer takes 3"):
        relu_most_probable_preimage(np.ones((3, 2)), np.zeros(2), np.array([1.0, 1.0]), prior)
