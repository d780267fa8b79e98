"""Claims of Chapter 1, the single layer and its pseudo-inverse preimage, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_1(book):
    return glued_values(executed(book, "01_single_layer_inverse"))


def test_chapter_1_pinv_preimage_reproduces_the_outputs(chapter_1):
    assert chapter_1["pinv_output_max_abs_error"] < 1e-9


def test_chapter_1_pinv_preimage_equals_the_projection_onto_the_span_of_W(chapter_1):
    assert chapter_1["pinv_equals_projection_max_abs_diff"] < 1e-8


def test_chapter_1_classifier_is_far_above_chance(chapter_1):
    assert chapter_1["test_accuracy"] > 0.8


def test_chapter_1_span_of_W_holds_little_energy_so_pinv_misses_the_digit(chapter_1):
    assert 0 < chapter_1["row_space_energy_fraction"] < 0.2
    assert chapter_1["pinv_rel_error"] > 0.85
    assert chapter_1["rank"] == 10
    assert chapter_1["null_space_dimension"] == 774


def test_chapter_1_float64_outputs_never_saturate(chapter_1):
    assert chapter_1["float64_saturated_count"] == 0


def test_chapter_1_preimages_are_largest_on_rarely_inked_pixels(chapter_1):
    assert 0 < chapter_1["rare_pixel_share"] < chapter_1["extremes_on_rare"]
    assert chapter_1["claim_preimages_peak_on_rare_pixels"] is True
    assert chapter_1["rare_ink_threshold"] == 0.05


def test_chapter_1_every_shown_reconstruction_misses_its_digit_by_the_stated_range(chapter_1):
    assert 0 < chapter_1["shown_rel_error_min"] <= chapter_1["shown_rel_error_max"]
    assert chapter_1["shown_rel_error_min"] > 0.5


def test_chapter_1_the_pseudo_inverse_is_well_conditioned(chapter_1):
    assert chapter_1["condition_number"] < 100
    assert chapter_1["claim_weights_well_conditioned"] is True
    assert chapter_1["singular_value_min_share"] == pytest.approx(1 / chapter_1["condition_number"])
