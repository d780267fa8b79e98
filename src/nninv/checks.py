"""Input validation shared by the package: every check names what is wrong and what to do."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array, refusing anything non-numeric, complex, NaN or infinite.

    Examples
    --------
    >>> as_float_array([1, 2], "y")
    array([1., 2.])
    >>> as_float_array([1.0, float("nan")], "y")
    Traceback (most recent call last):
    ...
    ValueError: y holds 1 NaN or infinite value(s) out of 2; ...
    """
    if np.iscomplexobj(value):
        raise ValueError(f"{name} is complex; pass real numbers (its real part, if that is what you mean)")
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
    """A finite float64 matrix with at least one row and one column.

    Examples
    --------
    >>> as_matrix([[1, 2]], "W").shape
    (1, 2)
    """
    array = as_float_array(value, name)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty 2-D matrix, got shape {array.shape}")
    return array


def as_vector(value, length: int, name: str) -> np.ndarray:
    """A finite float64 vector of the given length.

    Examples
    --------
    >>> as_vector([0, 1], 2, "b")
    array([0., 1.])
    """
    array = as_float_array(value, name)
    if array.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got {array.shape}")
    return array


def as_rows(value, width: int, name: str) -> tuple[np.ndarray, bool]:
    """A batch of row vectors ``(n, width)`` and whether a single row ``(width,)`` was given.

    Examples
    --------
    >>> rows, single = as_rows([1.0, 2.0], 2, "y")
    >>> rows.shape, single
    ((1, 2), True)
    """
    array = as_float_array(value, name)
    single = array.ndim == 1
    rows = array[np.newaxis] if single else array
    if rows.ndim != 2 or rows.shape[1] != width:
        raise ValueError(
            f"{name} must have shape (n, {width}) or ({width},), got {array.shape}"
        )
    return rows, single


def as_count(value, name: str) -> int:
    """A whole number >= 1, such as a number of samples or of iterations.

    Examples
    --------
    >>> as_count(3.0, "n")
    3
    """
    whole = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer()
    if not whole or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def as_tolerance(value, name: str, *, zero_allowed: bool) -> float:
    """A finite real number > 0, or >= 0 when ``zero_allowed``.

    Examples
    --------
    >>> as_tolerance(0, "range_tol", zero_allowed=True)
    0.0
    """
    number = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not number or value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)
