"""Claims about how numbers are phrased for the prose."""

import math

import pytest

from nninv_book.wording import about, duration, p_value, power_of_ten


@pytest.mark.parametrize(
    ("x", "text"),
    [(9123.4, "9,100"), (213456.0, "210,000"), (13.4, "13"), (6.22, "6.2"), (1.0, "1"), (0.0038338, "0.0038"),
     (4.5286e-5, "4.5 × 10⁻⁵"), (0, "0"), (-2500, "−2,500")],
)
def test_about_rounds_to_two_significant_figures_and_separates_thousands(x, text):
    assert about(x) == text


@pytest.mark.parametrize(
    ("x", "text"), [(1e-6, "10⁻⁶"), (2.5e-7, "2.5 × 10⁻⁷"), (1e-5, "10⁻⁵"), (3e4, "3 × 10⁴"), (-1e-3, "−10⁻³")]
)
def test_power_of_ten_writes_a_superscript_exponent(x, text):
    assert power_of_ten(x) == text


@pytest.mark.parametrize("x", [math.nan, math.inf, True, "3"])
def test_only_finite_numbers_are_phrased(x):
    with pytest.raises(ValueError, match="needs a finite number"):
        about(x)


@pytest.mark.parametrize(
    ("seconds", "text"), [(22.72, "23 s"), (1.26, "1.3 s"), (0.531, "530 ms"), (0.0312, "31 ms"), (5.36e-5, "54 µs")]
)
def test_duration_picks_a_unit_a_reader_can_read(seconds, text):
    assert duration(seconds) == text
    with pytest.raises(ValueError, match="at least 0 seconds"):
        duration(-1.0)


@pytest.mark.parametrize("p, text", [(0.5, "= 0.5"), (0.0312, "= 0.031"), (2.1e-5, "= 2.1 × 10⁻⁵"), (0.0, "< 10⁻³⁰⁰")])
def test_a_p_value_is_stated_with_its_relation_and_never_as_zero(p, text):
    assert p_value(p) == text


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_a_p_value_outside_0_to_1_is_refused_by_name(p):
    with pytest.raises(ValueError, match="p_value"):
        p_value(p)
