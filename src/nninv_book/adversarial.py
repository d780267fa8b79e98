"""The smallest input change that flips the decision of a dense layer with a monotone activation."""

from __future__ import annotations

import numpy as np

from nninv.checks import as_rows
from nninv.inverse import DenseInverse


def minimal_class_change(layer: DenseInverse, x, overshoot: float = 1e-3) -> np.ndarray:
    """Per row, the least-norm perturbation ``delta`` with ``argmax f(x + delta) != argmax f(x)``.

    With a monotone activation the decision is ``k = argmax z`` for
    ``z = x W + b``. Class ``j`` overtakes ``k`` once ``z_j >= z_k``, a
    half-space at distance ``(z_k - z_j) / ||w_k - w_j||`` from ``x``, reached
    along the gradient ``w_j - w_k`` of ``z_j - z_k``; the nearest ``j`` wins
    (DeepFool's exact answer for a linear score). ``overshoot`` steps that
    fraction past the boundary so that the class really changes.
    """
    rows, single = as_rows(x, layer.n_in, "input")
    z = rows @ layer.W + layer.b
    k = np.argmax(z, axis=1)
    gaps = (z[np.arange(len(z)), k][:, np.newaxis] - z)  # z_k - z_j >= 0
    directions = layer.W.T[np.newaxis] - layer.W.T[k][:, np.newaxis]  # (n, classes, n_in): w_j - w_k
    lengths = np.linalg.norm(directions, axis=2)
    distances = np.where(lengths > 0, gaps / np.where(lengths > 0, lengths, 1.0), np.inf)
    distances[np.arange(len(z)), k] = np.inf
    j = np.argmin(distances, axis=1)
    unit = directions[np.arange(len(z)), j] / lengths[np.arange(len(z)), j][:, np.newaxis]
    delta = (distances[np.arange(len(z)), j] * (1 + overshoot))[:, np.newaxis] * unit
    return delta[0] if single else delta
