"""Numbers phrased for a reader: "about 9,100 times" rather than "9.1e+03", "10⁻⁶" rather than "1e-06".

The prose quotes these strings with ``{glue:text}``; record them with
:func:`nninv_book.record.record`.
"""

from __future__ import annotations

import math
import numbers

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _finite(x, what: str) -> float:
    try:
        finite = not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(float(x))
    except OverflowError:  # a whole number too large for a float
        finite = False
    if not finite:
        raise ValueError(f"{what} needs a finite number (within float range), got {x!r}")
    return float(x)


def _digits(digits) -> int:
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be a whole number of significant figures from 1 to 17, got {digits!r}")
    return int(digits)


def power_of_ten(x, digits: int = 2) -> str:
    """``x`` to ``digits`` significant figures with a superscript exponent: 1e-6 -> "10⁻⁶", 2.5e-7 -> "2.5 × 10⁻⁷"."""
    x, digits = _finite(x, "power_of_ten"), _digits(digits)
    if x == 0:
        return "0"
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    sign = "−" if x < 0 else ""
    return f"{sign}{power}" if mantissa == "1" else f"{sign}{mantissa} × {power}"


def about(x, digits: int = 2) -> str:
    """``x`` to ``digits`` significant figures, in words a reader reads at a glance.

    Thousands are separated ("9,100"), numbers from 0.001 up are written out
    ("0.0038"), smaller ones as a power of ten ("4.5 × 10⁻⁵").
    """
    x, digits = _finite(x, "about"), _digits(digits)
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits}g}")
    if abs(rounded) < 1e-3:
        return power_of_ten(rounded, digits)
    if abs(rounded) >= 10 ** (digits - 1):
        return f"{rounded:,.0f}".replace("-", "−")
    return f"{rounded:.{digits}g}".replace("-", "−")


def duration(seconds) -> str:
    """A wall-clock time to two significant figures in a unit that suits it: "22 s", "530 ms", "54 µs"."""
    seconds = _finite(seconds, "duration")
    if seconds < 0:
        raise ValueError(f"duration needs a time of at least 0 seconds, got {seconds!r}")
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            return f"{about(seconds / scale)} {unit}"


def p_value(p) -> str:
    """A p-value with its relation, for "$p$ {glue:text}`...`": "= 0.03", "= 2.1 × 10⁻⁵", "< 10⁻³⁰⁰".

    A p-value below float64's smallest normal numbers is round-off of a
    vanishing tail, so it is stated as a bound rather than as 0.

    Examples
    --------
    >>> p_value(0.0312), p_value(2.1e-5), p_value(0.0)
    ('= 0.031', '= 2.1 × 10⁻⁵', '< 10⁻³⁰⁰')
    """
    p = _finite(p, "p_value")
    if not 0 <= p <= 1:
        raise ValueError(f"p_value needs a probability in [0, 1], got {p!r}")
    return "< 10⁻³⁰⁰" if p < 1e-300 else f"= {about(p)}"
