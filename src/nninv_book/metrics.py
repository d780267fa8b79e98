"""Measures of how good a preimage is."""

from __future__ import annotations

import numpy as np


def max_abs_error(a, b) -> float:
    """``max |a - b|`` over all entries, as a Python float."""
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def relative_errors(x_hat, x) -> np.ndarray:
    """Per row, ``||x_hat - x|| / ||x||``."""
    x = np.asarray(x, dtype=np.float64)
    return np.linalg.norm(np.asarray(x_hat, dtype=np.float64) - x, axis=1) / np.linalg.norm(x, axis=1)


def energy_fraction(x, basis) -> float:
    """``sum ||x U||^2 / sum ||x||^2``: the share of the rows' energy in the span of ``U``'s orthonormal columns."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum((x @ basis) ** 2) / np.sum(x**2))


def accuracy(scores, labels) -> float:
    """Share of rows whose largest score is at the true label."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(labels)))
