"""Plain gradient descent of the question's layer in numpy, and what it leaves in the span of the training images.

The layer is ``f(x) = sigmoid(x W + b)`` with the mean binary cross-entropy
over all entries, Keras's ``binary_crossentropy``. Its gradient with respect
to ``W`` on a batch ``X`` is ``X^T G`` with ``G = (f(X) - Y) / (m k)``, so
every step of plain gradient descent adds to ``W`` a combination of the
batch's images. :func:`gradient_descent` takes those steps in float64, where
round-off is about ``1e-16``, so what it leaves outside the span of the images
(:func:`outside_span`) measures the mathematics, not float32.

Membership: a training image ``x`` is closer to span(W) than an unseen one
when :func:`relative_distances` is smaller for it; :func:`membership_auc` is
the area under the ROC curve of that test, 0.5 for no signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats
from sklearn.metrics import roc_auc_score

from nninv.checks import as_matrix


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return special.expit(z)


def gradient_descent(images, targets, W0, b0, *, epochs: int, learning_rate: float,
                     batch_size: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``W`` and ``b`` after plain (mini-batch) gradient descent of ``sigmoid(x W + b)`` from ``W0, b0``.

    Parameters
    ----------
    images, targets : array_like
        ``m x n`` inputs and ``m x k`` targets in [0, 1].
    W0, b0 : array_like
        The start, ``n x k`` and ``k``.
    epochs : int
        Passes over the images.
    learning_rate : float
        The step size; no momentum, no per-coordinate scaling.
    batch_size : int, optional
        Images per step, in an order shuffled every epoch with ``seed``; by
        default all of them (full-batch gradient descent, no shuffling).

    Returns
    -------
    W, b : numpy.ndarray
        float64.

    Examples
    --------
    >>> X = np.eye(3)[:2]
    >>> W, b = gradient_descent(X, [[1.0], [0.0]], np.zeros((3, 1)), np.zeros(1), epochs=5, learning_rate=1.0)
    >>> print(W[2])          # the third input is in no image: its weight never moves
    [0.]
    """
    X = as_matrix(images, "images").astype(np.float64)
    Y = as_matrix(targets, "targets").astype(np.float64)
    W = np.array(W0, dtype=np.float64)
    b = np.array(b0, dtype=np.float64)
    if Y.shape[0] != X.shape[0] or W.shape != (X.shape[1], Y.shape[1]) or b.shape != (Y.shape[1],):
        raise ValueError(f"shapes do not fit: images {X.shape}, targets {Y.shape}, W0 {W.shape}, b0 {b.shape}")
    if int(epochs) != epochs or epochs < 1 or not learning_rate > 0:
        raise ValueError(f"epochs must be a whole number of at least 1 and learning_rate positive, got {epochs!r}, {learning_rate!r}")
    m = X.shape[0]
    size = m if batch_size is None else int(batch_size)
    rng = np.random.default_rng(seed)
    for _ in range(int(epochs)):
        order = np.arange(m) if batch_size is None else rng.permutation(m)
        for start in range(0, m, size):
            rows = order[start:start + size]
            G = (_sigmoid(X[rows] @ W + b) - Y[rows]) / Y[rows].size   # gradient of the mean BCE w.r.t. z
            W -= learning_rate * (X[rows].T @ G)
            b -= learning_rate * G.sum(axis=0)
    return W, b


def span_decomposition(images, tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The singular values of ``images`` (largest first) and an orthonormal basis (``n x r``) of their rows' span.

    From the SVD :math:`X = U \Sigma V^\top`: the basis is the rows of
    :math:`V^\top` whose singular value exceeds ``tol`` (by default
    :math:`\max(m, n)\, \epsilon\, \sigma_1`), so ``r`` is the numerical rank.
    The eigenvectors of the Gram matrix :math:`X^\top X` would square the
    condition number and leak out of the span.

    Examples
    --------
    >>> singular_values, basis = span_decomposition(np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0]]))
    >>> len(singular_values), basis.shape
    (2, (3, 1))
    """
    X = as_matrix(images, "images").astype(np.float64)
    _, singular_values, Vt = np.linalg.svd(X, full_matrices=False)
    tol = max(X.shape) * np.finfo(np.float64).eps * singular_values[0] if tol is None else tol
    return singular_values, Vt[singular_values > tol].T


def span_basis(images, tol: float | None = None) -> np.ndarray:
    """An orthonormal basis (``n x r``) of the span of the rows of ``images``, ``r`` their numerical rank.

    Examples
    --------
    >>> span_basis(np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0]])).shape
    (3, 1)
    """
    return span_decomposition(images, tol)[1]


def outside_span(change, basis: np.ndarray) -> float:
    """``||(I - U U^T) change|| / ||change||`` (Frobenius): the share of ``change`` outside the span of ``U``.

    Examples
    --------
    >>> print(outside_span(np.array([[3.0], [4.0]]), np.array([[1.0], [0.0]])))
    0.8
    """
    change = as_matrix(change, "change")
    outside = change - basis @ (basis.T @ change)
    return float(np.linalg.norm(outside) / np.linalg.norm(change))


def relative_distances(images, basis: np.ndarray) -> np.ndarray:
    """Per row, ``||x - x U U^T|| / ||x||`` for an orthonormal basis ``U``, by Pythagoras.

    Examples
    --------
    >>> print(relative_distances(np.array([[3.0, 4.0]]), np.array([[1.0], [0.0]])))
    [0.8]
    """
    X = as_matrix(images, "images").astype(np.float64)
    squared = np.sum(X**2, axis=1)
    inside = np.sum((X @ basis) ** 2, axis=1)
    return np.sqrt(np.maximum(squared - inside, 0.0) / squared)


@dataclass(frozen=True)
class AUC:
    """An area under the ROC curve with its 95% interval (Hanley and McNeil, 1982) and the two group sizes."""

    auc: float
    low: float
    high: float
    n_members: int
    n_nonmembers: int


def membership_auc(member_distances, nonmember_distances) -> AUC:
    """How well "closer to span(W)" tells members from non-members: the ROC AUC, 1 when every member is closer.

    The score of an image is minus its distance, so an AUC above 0.5 means
    that training images lie closer to the span than unseen ones. The
    interval is Hanley and McNeil's normal approximation.

    Examples
    --------
    >>> result = membership_auc([0.1, 0.2], [0.3, 0.4, 0.5])
    >>> print(result.auc)
    1.0
    """
    members = np.asarray(member_distances, dtype=np.float64).ravel()
    others = np.asarray(nonmember_distances, dtype=np.float64).ravel()
    if not members.size or not others.size:
        raise ValueError("membership needs at least one member and one non-member")
    scores = -np.concatenate([members, others])
    truth = np.concatenate([np.ones(members.size), np.zeros(others.size)])
    a = float(roc_auc_score(truth, scores))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    n1, n2 = members.size, others.size
    se = np.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a), 0.0) / (n1 * n2))
    z = float(stats.norm.ppf(0.975))
    return AUC(a, max(a - z * se, 0.0), min(a + z * se, 1.0), int(n1), int(n2))


def random_subspace_exceedance(fraction: float, dim: int, k: int) -> float:
    """The probability that a uniformly random ``k``-dimensional subspace of ``R^dim`` holds more than ``fraction`` of a fixed vector's energy.

    That share is Beta(k/2, (dim - k)/2) distributed, with mean ``k / dim``.

    Examples
    --------
    >>> print(round(random_subspace_exceedance(0.5, 2, 1), 6))
    0.5
    """
    if not 0 < k < dim:
        raise ValueError(f"k must lie strictly between 0 and dim ({dim}), got {k}")
    return float(stats.beta.sf(fraction, k / 2, (dim - k) / 2))
