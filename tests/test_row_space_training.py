"""Claims about plain gradient descent of one dense layer: its change stays in the span of the images it saw."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nninv
from nninv_book import row_space_training as rst


def _images(rng, m, n):
    return rng.random((m, n)) * (rng.random((m, n)) < 0.6)


@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.sampled_from([None, 1, 3]))
def test_gradient_descent_from_any_start_changes_W_only_inside_the_span_of_the_images(seed, m, batch_size):
    rng = np.random.default_rng(seed)
    X, Y = _images(rng, m, 30), rng.random((m, 4)) < 0.5
    W0, b0 = rng.standard_normal((30, 4)), rng.standard_normal(4)
    W, _ = rst.gradient_descent(X, Y, W0, b0, epochs=3, learning_rate=0.5, batch_size=batch_size, seed=seed)
    if np.linalg.norm(W - W0) > 1e-12:
        assert rst.outside_span(W - W0, rst.span_basis(X)) < 1e-12


def test_ten_images_trained_from_zero_are_reconstructed_exactly_by_the_pseudo_inverse():
    rng = np.random.default_rng(0)
    X, Y = _images(rng, 10, 50), np.eye(10)
    W, b = rst.gradient_descent(X, Y, np.zeros((50, 10)), np.zeros(10), epochs=200, learning_rate=1.0)
    layer = nninv.DenseInverse(W, b, "sigmoid")
    assert np.abs(layer.min_norm(layer.forward(X)) - X).max() < 1e-10


def test_full_batch_gradient_descent_lowers_the_loss():
    rng = np.random.default_rng(1)
    X, Y = _images(rng, 20, 15), np.eye(5)[rng.integers(0, 5, 20)]

    def loss(W, b):
        p = 1 / (1 + np.exp(-(X @ W + b)))
        return -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))

    W0, b0 = np.zeros((15, 5)), np.zeros(5)
    W, b = rst.gradient_descent(X, Y, W0, b0, epochs=50, learning_rate=1.0)
    assert loss(W, b) < loss(W0, b0)


def test_mismatched_shapes_and_senseless_settings_are_refused():
    with pytest.raises(ValueError, match="shapes"):
        rst.gradient_descent(np.ones((2, 3)), np.ones((2, 1)), np.zeros((3, 2)), np.zeros(1), epochs=1, learning_rate=1.0)
    with pytest.raises(ValueError, match="epochs"):
        rst.gradient_descent(np.ones((2, 3)), np.ones((2, 1)), np.zeros((3, 1)), np.zeros(1), epochs=0, learning_rate=1.0)


def test_membership_auc_is_one_when_members_are_closer_and_a_half_when_alike():
    assert rst.membership_auc([0.0, 0.1], [0.5, 0.6, 0.7]).auc == 1.0
    alike = rst.membership_auc([0.5, 0.5], [0.5, 0.5])
    assert alike.auc == 0.5 and alike.low < 0.5 < alike.high


def test_membership_interval_holds_the_auc_and_narrows_with_more_images():
    rng = np.random.default_rng(2)
    small = rst.membership_auc(rng.random(20), rng.random(20) + 0.1)
    large = rst.membership_auc(rng.random(2000), rng.random(2000) + 0.1)
    for result in (small, large):
        assert result.low <= result.auc <= result.high
    assert large.high - large.low < small.high - small.low


def test_random_subspace_exceedance_matches_random_subspaces():
    rng = np.random.default_rng(3)
    vector = rng.standard_normal(40)
    shares = [np.sum((vector @ np.linalg.qr(rng.standard_normal((40, 4)))[0]) ** 2) / (vector @ vector)
              for _ in range(4000)]
    assert rst.random_subspace_exceedance(0.1, 40, 4) == pytest.approx(np.mean(np.array(shares) > 0.1), abs=0.03)


def test_relative_distances_follow_pythagoras():
    rng = np.random.default_rng(4)
    X, basis = rng.standard_normal((5, 8)), np.linalg.qr(rng.standard_normal((8, 3)))[0]
    direct = np.linalg.norm(X - X @ basis @ basis.T, axis=1) / np.linalg.norm(X, axis=1)
    assert rst.relative_distances(X, basis) == pytest.approx(direct)
