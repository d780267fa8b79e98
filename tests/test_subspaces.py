"""Claims about the subspaces the chapters compare with span(W)."""

import numpy as np
import pytest

from nninv.subspaces import distance_to_span, principal_angles_deg, principal_basis, random_basis


def test_principal_basis_finds_the_subspace_that_holds_the_data():
    rng = np.random.default_rng(0)
    hidden = random_basis(20, 3, rng)
    x = rng.standard_normal((200, 3)) @ hidden.T
    assert np.allclose(principal_angles_deg(principal_basis(x, 3), hidden), 0, atol=1e-5)
    assert np.max(distance_to_span(x, principal_basis(x, 3))) < 1e-10


def test_random_basis_is_orthonormal():
    basis = random_basis(30, 4, np.random.default_rng(1))
    assert np.allclose(basis.T @ basis, np.eye(4))


def test_principal_angles_between_orthogonal_subspaces_are_right_angles():
    identity = np.eye(4)
    assert np.allclose(principal_angles_deg(identity[:, :2], identity[:, 2:]), 90)


def test_distance_to_span_satisfies_pythagoras():
    rng = np.random.default_rng(2)
    basis, x = random_basis(10, 3, rng), rng.standard_normal((5, 10))
    inside = np.linalg.norm(x @ basis, axis=1)
    assert np.allclose(inside**2 + distance_to_span(x, basis) ** 2, np.linalg.norm(x, axis=1) ** 2)


def test_principal_basis_refuses_impossible_sizes():
    with pytest.raises(ValueError, match="k must lie between 1 and 3"):
        principal_basis(np.ones((3, 5)), 4)
