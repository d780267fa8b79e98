"""Input validation shared by the package: every check names what is wrong and what to do."""

from __future__ import annotations

import numpy as np


def as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array, refusing anything non-numeric, NaN or infinite."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}: {error}") from None
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s) out of {array.size}; "
            "compute it in float64 and remove non-finite entries before inverting"
        )
    return array


def as_matrix(value, name: str) -> np.ndarray:
    """A finite float64 matrix with at least one row and one column."""
    array = as_float_array(value, name)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty 2-D matrix, got shape {array.shape}")
    return array


def as_vector(value, length: int, name: str) -> np.ndarray:
    """A finite float64 vector of the given length."""
    array = as_float_array(value, name)
    if array.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got {array.shape}")
    return array


def as_rows(value, width: int, name: str) -> tuple[np.ndarray, bool]:
    """A batch of row vectors ``(n, width)`` and whether a single row ``(width,)`` was given."""
    array = as_float_array(value, name)
    single = array.ndim == 1
    rows = array[np.newaxis] if single else array
    if rows.ndim != 2 or rows.shape[1] != width:
        raise ValueError(
            f"{name} must have shape (n, {width}) or ({width},), got {array.shape}"
        )
    return rows, single
