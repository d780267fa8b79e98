"""Claims about the intervals and paired tests that every recognition rate of the book carries."""

import doctest
import math

import numpy as np
import pytest
from scipy import optimize, stats as scipy_stats

from nninv_book import stats
from nninv_book.stats import Rate, format_rate, mcnemar_exact, rate, wilson_interval


def test_wilson_interval_matches_newcombes_worked_examples():
    # Newcombe (1998), Table I, method 3 (score interval without continuity correction)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    assert wilson_interval(1, 29) == pytest.approx((0.0061, 0.1718), abs=1e-4)


@pytest.mark.parametrize("successes, n, confidence", [(917, 1000, 0.95), (3, 10, 0.9), (50, 50, 0.99), (1, 7, 0.5)])
def test_wilson_ends_are_where_the_score_test_just_accepts(successes, n, confidence):
    """The ends solve |p_hat - p| = z sqrt(p (1 - p) / n), found here by root finding instead of the closed form."""
    z = scipy_stats.norm.ppf(1 - (1 - confidence) / 2)
    p_hat = successes / n
    gap = lambda p: abs(p_hat - p) - z * math.sqrt(p * (1 - p) / n)  # noqa: E731
    low = 0.0 if successes == 0 else optimize.brentq(gap, 1e-15, p_hat - 1e-12)
    high = 1.0 if successes == n else optimize.brentq(gap, p_hat + 1e-12, 1 - 1e-15)
    assert wilson_interval(successes, n, confidence) == pytest.approx((low, high), abs=1e-9)


def test_wilson_interval_is_symmetric_between_successes_and_failures_and_stays_in_the_unit_interval():
    for n in (1, 2, 7, 100):
        for successes in range(n + 1):
            low, high = wilson_interval(successes, n)
            mirrored_low, mirrored_high = wilson_interval(n - successes, n)
            assert 0 <= low <= successes / n <= high <= 1
            assert low == pytest.approx(1 - mirrored_high, abs=1e-12)
            assert high == pytest.approx(1 - mirrored_low, abs=1e-12)


def test_wilson_interval_narrows_with_more_trials_and_widens_with_confidence():
    width = lambda low_high: low_high[1] - low_high[0]  # noqa: E731
    assert width(wilson_interval(90, 100)) > width(wilson_interval(900, 1000))
    assert width(wilson_interval(90, 100, 0.99)) > width(wilson_interval(90, 100, 0.9))


def test_rate_counts_the_true_outcomes_and_carries_their_interval():
    outcomes = np.array([True] * 917 + [False] * 83)
    r = rate(outcomes)
    assert (r.rate, r.n) == (0.917, 1000)
    assert (r.low, r.high) == pytest.approx(wilson_interval(917, 1000))
    low, high = (float(part.rstrip("%)")) / 100 for part in format_rate(r).split("(")[1].split("–"))
    assert float(format_rate(r).split("%")[0]) / 100 == pytest.approx(r.rate, abs=5e-4)
    assert (low, high) == pytest.approx((r.low, r.high), abs=5e-4)


def test_mcnemar_cannot_tell_identical_outcomes_apart():
    outcomes = np.random.default_rng(0).uniform(size=200) < 0.8
    result = mcnemar_exact(outcomes, outcomes)
    assert result.p_value == 1.0 and result.a_only == result.b_only == 0 and result.n == 200


def test_mcnemar_counts_the_discordant_pairs_and_uses_them_alone():
    a = np.array([True] * 60 + [True] * 25 + [False] * 5 + [False] * 10)
    b = np.array([True] * 60 + [False] * 25 + [True] * 5 + [False] * 10)
    result = mcnemar_exact(a, b)
    assert (result.a_only, result.b_only, result.n) == (25, 5, 100)
    assert result.p_value == pytest.approx(scipy_stats.binomtest(25, 30, 0.5).pvalue)
    assert result.p_value < 0.001
    swapped = mcnemar_exact(b, a)
    assert swapped.p_value == pytest.approx(result.p_value)
    # concordant pairs change nothing
    padded = mcnemar_exact(np.concatenate([a, np.ones(500, bool)]), np.concatenate([b, np.ones(500, bool)]))
    assert padded.p_value == pytest.approx(result.p_value)


def test_mcnemar_finds_no_difference_in_a_balanced_disagreement():
    a = np.array([True, False] * 20)
    assert mcnemar_exact(a, ~a).p_value == pytest.approx(1.0)


def test_bad_input_is_refused_naming_what_is_wrong():
    with pytest.raises(ValueError, match="at least one trial"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between 0 and n"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.0)
    with pytest.raises(TypeError, match="successes must be a whole number"):
        wilson_interval(1.5, 10)
    with pytest.raises(ValueError, match="empty"):
        rate(np.array([], dtype=bool))
    with pytest.raises(TypeError, match="booleans"):
        rate(np.array([0.2, 0.9]))
    with pytest.raises(ValueError, match="same images"):
        mcnemar_exact(np.ones(3, bool), np.ones(4, bool))
    with pytest.raises(ValueError, match="correct_b is empty"):
        mcnemar_exact(np.ones(2, bool), np.zeros(0, bool))
    with pytest.raises(TypeError, match="Rate"):
        format_rate(0.5)


def test_the_examples_in_the_docstrings_run_as_written():
    failed, attempted = doctest.testmod(stats, extraglobs={"np": np, "Rate": Rate})
    assert attempted > 0 and failed == 0


def test_a_count_beyond_float64s_exact_integers_is_refused_by_name():
    with pytest.raises(ValueError, match="float64"):
        wilson_interval(1, 10**400)


def test_an_empty_list_of_outcomes_is_refused_as_empty():
    with pytest.raises(ValueError, match="empty"):
        rate([])


def test_a_rate_with_a_nan_share_is_refused():
    with pytest.raises(ValueError, match="Rate"):
        Rate(float("nan"), 0.1, 0.2, 10)


def test_wilcoxon_finds_a_small_consistent_difference_that_the_spread_between_images_would_hide():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.2, 0.9, 100)             # images differ far more than the methods do
    a = b - rng.uniform(0.0, 0.02, 100)        # A is closer on every image
    result = stats.wilcoxon_signed_rank(a, b)
    assert result.a_smaller == 1.0 and result.median_difference < 0
    assert result.p_value < 1e-6 and result.a_lower()
    assert not stats.wilcoxon_signed_rank(b, a).a_lower()


def test_wilcoxon_cannot_tell_identical_or_symmetric_errors_apart():
    b = np.linspace(0.3, 0.7, 40)
    assert stats.wilcoxon_signed_rank(b, b).p_value == 1.0
    swapped = b.copy()
    swapped[::2] += 0.05
    swapped[1::2] -= 0.05
    result = stats.wilcoxon_signed_rank(swapped, b)
    assert result.p_value > 0.5 and not result.a_lower()


@pytest.mark.parametrize("a, b, culprit", [
    (np.ones(3), np.ones(4), "same images"),
    (np.ones((3, 2)), np.ones((3, 2)), "errors_a"),
    (np.array([0.5, np.nan]), np.ones(2), "non-finite"),
    (np.array([]), np.array([]), "non-empty"),
])
def test_wilcoxon_refuses_errors_it_cannot_pair_naming_the_cause(a, b, culprit):
    with pytest.raises(ValueError, match=culprit):
        stats.wilcoxon_signed_rank(a, b)
