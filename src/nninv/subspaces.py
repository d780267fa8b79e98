"""Subspaces of input space to compare with the span of a layer's weights."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from nninv.checks import as_matrix


def principal_basis(x, k: int) -> np.ndarray:
    """The ``k`` leading right singular vectors of the uncentred rows of ``x`` (``d x k``).

    By the Eckart-Young theorem their span captures more of the rows' energy
    ``sum ||x_i||^2`` than any other ``k``-dimensional subspace.

    Examples
    --------
    >>> basis = principal_basis(np.array([[3.0, 0.0], [-3.0, 0.1]]), 1)
    >>> print(np.abs(basis).round(3))
    [[1.   ]
     [0.017]]
    """
    x = as_matrix(x, "data")
    if not 1 <= k <= min(x.shape):
        raise ValueError(f"k must lie between 1 and {min(x.shape)}, got {k}")
    eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x)  # ascending
    return eigenvectors[:, ::-1][:, :k]


def random_basis(dim: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """An orthonormal basis of a uniformly random ``k``-dimensional subspace of ``R^dim``.

    Examples
    --------
    >>> basis = random_basis(5, 2, np.random.default_rng(0))
    >>> basis.shape, bool(np.allclose(basis.T @ basis, np.eye(2)))
    ((5, 2), True)
    """
    return np.linalg.qr(rng.standard_normal((dim, k)))[0]


def distance_to_span(x, basis: np.ndarray) -> np.ndarray:
    """Per row, ``||x - x U U^T||`` for an orthonormal basis ``U``.

    Examples
    --------
    >>> print(distance_to_span(np.array([[3.0, 4.0]]), np.array([[1.0], [0.0]])))
    [4.]
    """
    x = np.asarray(x, dtype=np.float64)
    return np.linalg.norm(x - (x @ basis) @ basis.T, axis=1)


def principal_angles_deg(basis_a: np.ndarray, basis_b: np.ndarray) -> np.ndarray:
    """The principal angles between two subspaces, in degrees, smallest first.

    Examples
    --------
    >>> print(principal_angles_deg(np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])).round(6))
    [90.]
    """
    return np.sort(np.degrees(linalg.subspace_angles(basis_a, basis_b)))
