"""Claims of Chapter 3, the row-space theorem, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_3(book):
    return glued_values(executed(book, "03_row_space_theorem"))


def test_chapter_3_inputs_in_the_span_are_reconstructed_to_machine_precision(chapter_3):
    assert chapter_3["in_span_max_rel_error"] < 1e-12


def test_chapter_3_reconstruction_error_is_the_distance_to_the_span(chapter_3):
    assert chapter_3["error_equals_distance_max_abs_diff"] < 1e-10
    assert chapter_3["pythagoras_max_abs_error"] < 1e-9 * chapter_3["mean_norm_sq"]
    assert chapter_3["projector_idempotence_error"] < 1e-12
    assert chapter_3["projector_trace"] == pytest.approx(chapter_3["rank"], abs=1e-9)


def test_chapter_3_span_of_W_beats_a_random_subspace_and_loses_to_pca(chapter_3):
    assert chapter_3["random10_energy_fraction"] < chapter_3["row_space_energy_fraction"] < chapter_3["pca10_energy_fraction"]
    assert chapter_3["claim_span_between_random_and_pca"] is True


def test_chapter_3_no_real_digit_lies_in_the_span_or_near_it(chapter_3):
    assert 0.5 < chapter_3["nearest_digit_rel_distance"] <= chapter_3["farthest_digit_rel_distance"] <= 1


def test_chapter_3_span_of_W_favours_what_separates_the_classes_over_what_they_share(chapter_3):
    assert chapter_3["between_class_energy_in_span"] > chapter_3["average_digit_energy_in_span"]
    assert chapter_3["claim_span_favours_class_differences"] is True
    assert 0 <= chapter_3["smallest_principal_angle_deg"] <= chapter_3["largest_principal_angle_deg"] <= 90
