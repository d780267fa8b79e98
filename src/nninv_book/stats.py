"""How sure a recognition rate is, and whether two methods judged on the same digits differ.

A chapter judges ``n`` images and reports the share recognised. Two things
make such a share a result rather than a number:

* a 95% interval, here Wilson's score interval (:func:`wilson_interval`),
  which unlike the normal approximation ``p ± z sqrt(p(1-p)/n)`` stays inside
  [0, 1] and keeps close to its nominal coverage near 0 and 1;
* for "method A is recognised more often than method B" on the *same* digits,
  a paired test: McNemar's exact test (:func:`mcnemar_exact`), which looks
  only at the digits on which the two disagree;
* for "method A's images lie closer to the digits than method B's", a
  paired test on the per-digit errors: Wilcoxon's signed-rank test
  (:func:`wilcoxon_signed_rank`), which ranks the per-digit differences.

References
----------
E. B. Wilson, "Probable inference, the law of succession, and statistical
inference", J. Am. Stat. Assoc. 22 (1927) 209-212.
R. G. Newcombe, "Two-sided confidence intervals for the single proportion:
comparison of seven methods", Stat. Med. 17 (1998) 857-872.
Q. McNemar, "Note on the sampling error of the difference between correlated
proportions or percentages", Psychometrika 12 (1947) 153-157.
F. Wilcoxon, "Individual comparisons by ranking methods", Biometrics
Bulletin 1 (1945) 80-83.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

_EXACT_COUNTS = 2**53


def _check_confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion: ``successes`` out of ``n`` trials.

    Parameters
    ----------
    successes
        Trials that succeeded, ``0 <= successes <= n``.
    n
        Trials, at least 1.
    confidence
        Coverage of the interval, strictly between 0 and 1.

    Returns
    -------
    (low, high)
        The interval, inside [0, 1].

    Notes
    -----
    With :math:`\\hat p = s/n` and :math:`z` the standard normal quantile
    :math:`\\Phi^{-1}(1 - (1 - c)/2)`, the interval is the set of :math:`p`
    whose score test accepts :math:`\\hat p`,
    :math:`|\\hat p - p| \\le z \\sqrt{p(1-p)/n}`, whose ends are

    .. math::

        \\frac{\\hat p + z^2/2n}{1 + z^2/n} \\pm \\frac{z}{1 + z^2/n}
        \\sqrt{\\frac{\\hat p (1 - \\hat p)}{n} + \\frac{z^2}{4 n^2}} .

    Examples
    --------
    >>> low, high = wilson_interval(81, 263)     # Newcombe (1998): 0.2553 to 0.3662
    >>> round(low, 3), round(high, 3)
    (0.255, 0.366)
    >>> wilson_interval(0, 20)[0]                # no success: the interval starts at 0
    0.0
    """
    successes, n = _whole("successes", successes), _whole("n", n)
    confidence = _check_confidence(confidence)
    if n < 1:
        raise ValueError(f"a rate needs at least one trial, got n = {n}")
    if n > _EXACT_COUNTS:
        raise ValueError(f"n = {n} trials is more than float64 counts exactly (2**53); pass a count of judged images")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie between 0 and n = {n}, got {successes}")
    z = float(_scipy_stats.norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _as_outcomes(name: str, correct) -> np.ndarray:
    outcomes = np.asarray(correct)
    if outcomes.size == 0:
        raise ValueError(f"{name} is empty: a rate needs at least one judged image")
    if outcomes.dtype != np.bool_:
        raise TypeError(f"{name} must be an array of booleans (one per judged image), got dtype {outcomes.dtype}")
    if outcomes.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one outcome per judged image), got shape {outcomes.shape}")
    return outcomes


@dataclass(frozen=True)
class Rate:
    """A share of ``n`` outcomes, with its Wilson 95% interval ``[low, high]``."""

    rate: float
    low: float
    high: float
    n: int

    def __post_init__(self):
        shares = (self.rate, self.low, self.high)
        if not all(isinstance(x, numbers.Real) and 0 <= x <= 1 for x in shares) or not self.low <= self.rate <= self.high:
            raise ValueError(f"a Rate needs 0 <= low <= rate <= high <= 1, got {shares}")
        if isinstance(self.n, bool) or not isinstance(self.n, numbers.Integral) or self.n < 1:
            raise ValueError(f"a Rate needs a whole number n >= 1 of outcomes, got {self.n!r}")


def rate(correct, confidence: float = 0.95) -> Rate:
    """The share of ``True`` in a boolean array, with its Wilson interval.

    Examples
    --------
    >>> r = rate(np.array([True, True, True, False]))
    >>> r.rate, r.n
    (0.75, 4)
    >>> r.low < 0.75 < r.high
    True
    """
    outcomes = _as_outcomes("correct", correct)
    successes = int(np.count_nonzero(outcomes))
    low, high = wilson_interval(successes, outcomes.size, confidence)
    return Rate(rate=successes / outcomes.size, low=low, high=high, n=int(outcomes.size))


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test of two methods judged on the same images.

    ``a_only`` images are recognised for method A and not B, ``b_only`` the
    reverse, out of ``n`` images; ``p_value`` is two-sided.
    """

    p_value: float
    a_only: int
    b_only: int
    n: int


def mcnemar_exact(correct_a, correct_b) -> McNemar:
    """McNemar's exact two-sided test that methods A and B are recognised equally often on the same images.

    Parameters
    ----------
    correct_a, correct_b
        Boolean arrays of one outcome per image, the same images in the same order.

    Notes
    -----
    Only the discordant images carry information about the difference: with
    :math:`b` images right for A alone and :math:`c` for B alone, under the
    null hypothesis each discordant image is A's with probability 1/2, so
    :math:`b \\sim \\mathrm{Binomial}(b + c, 1/2)` and the p-value is the
    exact two-sided binomial test (``scipy.stats.binomtest``). With no
    discordant image the methods cannot be told apart and ``p = 1``.

    Examples
    --------
    >>> a = np.array([True] * 30 + [False] * 10)
    >>> result = mcnemar_exact(a, a)
    >>> result.p_value, result.a_only, result.b_only
    (1.0, 0, 0)
    >>> mcnemar_exact(np.ones(40, bool), a).p_value < 0.01   # B misses 10 that A gets, never the reverse
    True
    """
    a, b = _as_outcomes("correct_a", correct_a), _as_outcomes("correct_b", correct_b)
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must judge the same images, got {a.size} and {b.size} outcomes")
    a_only, b_only = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    discordant = a_only + b_only
    p_value = 1.0 if discordant == 0 else float(_scipy_stats.binomtest(a_only, discordant, 0.5).pvalue)
    return McNemar(p_value=min(1.0, p_value), a_only=a_only, b_only=b_only, n=int(a.size))


@dataclass(frozen=True)
class Wilcoxon:
    """Wilcoxon's signed-rank test of two methods' errors on the same images.

    ``a_smaller`` is the share of images on which method A's error is the
    smaller, ``median_difference`` the median of A's error minus B's, out of
    ``n`` images; ``p_value`` is two-sided.
    """

    p_value: float
    a_smaller: float
    median_difference: float
    n: int

    def a_lower(self, level: float = 0.05) -> bool:
        """Whether A's errors are the lower ones, decided at ``level``: a negative median difference and p < level."""
        return bool(self.median_difference < 0 and self.p_value < level)


def wilcoxon_signed_rank(errors_a, errors_b) -> Wilcoxon:
    """Wilcoxon's two-sided signed-rank test that methods A and B err equally on the same images.

    Parameters
    ----------
    errors_a, errors_b
        One error per image (a relative error, say), the same images in the same order.

    Notes
    -----
    With :math:`d_i = a_i - b_i` ranked by :math:`|d_i|`, the statistic is the
    sum of the ranks of the positive :math:`d_i`; under the null hypothesis
    that :math:`d` is symmetric about 0 each sign is a fair coin
    (``scipy.stats.wilcoxon``, exact for small samples, normal beyond). Unlike
    a comparison of the two means it pairs each image with itself, so the
    spread between images does not hide a consistent difference. Images on
    which the two agree exactly carry no information and are dropped.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> b = rng.uniform(0.4, 0.8, 50)
    >>> result = wilcoxon_signed_rank(b - 0.01, b)   # A is closer on every image, by a little
    >>> result.a_smaller, result.a_lower()
    (1.0, True)
    """
    a, b = (np.asarray(errors, dtype=np.float64) for errors in (errors_a, errors_b))
    for name, errors in (("errors_a", a), ("errors_b", b)):
        if errors.ndim != 1 or errors.size == 0:
            raise ValueError(f"{name} must be a non-empty one-dimensional array (one error per image), "
                             f"got shape {errors.shape}")
        if not np.all(np.isfinite(errors)):
            raise ValueError(f"{name} holds {np.count_nonzero(~np.isfinite(errors))} non-finite errors: "
                             "compute an error for every image before comparing")
    if a.shape != b.shape:
        raise ValueError(f"errors_a and errors_b must be of the same images, got {a.size} and {b.size} errors")
    difference = a - b
    informative = difference != 0
    p_value = (float(_scipy_stats.wilcoxon(difference[informative]).pvalue) if informative.any() else 1.0)
    return Wilcoxon(p_value=min(1.0, p_value), a_smaller=float(np.mean(difference < 0)),
                    median_difference=float(np.median(difference)), n=int(a.size))


def format_rate(r: Rate) -> str:
    """A rate and its interval for a table, in percent with one decimal: ``"91.7% (89.8–93.3%)"``.

    Examples
    --------
    >>> format_rate(Rate(rate=0.5, low=0.25, high=0.75, n=8))
    '50.0% (25.0–75.0%)'
    """
    if not isinstance(r, Rate):
        raise TypeError(f"format_rate takes a Rate, got {type(r).__name__}")
    return f"{r.rate:.1%} ({100 * r.low:.1f}–{r.high:.1%})"
