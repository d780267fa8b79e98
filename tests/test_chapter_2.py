"""Claims of Chapter 2, the reverse experiment, checked on its execution with small parameters."""

import math
import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_2(book):
    return glued_values(executed(book, "02_reverse_experiment"))


def test_chapter_2_inverse_recovers_every_generated_label(chapter_2):
    assert chapter_2["reverse_recovery_accuracy"] == 1.0
    assert chapter_2["reverse_recovery_max_abs_error"] < 1e-9


def test_chapter_2_pseudo_inverse_of_the_generator_is_a_left_inverse(chapter_2):
    assert chapter_2["left_inverse_identity_error"] < 1e-10
    assert chapter_2["forward_projector_trace"] == pytest.approx(10, abs=1e-9)
    assert chapter_2["gram_rank"] == 10


def test_chapter_2_inverse_of_the_generator_classifies_real_digits_well_above_chance(chapter_2):
    assert chapter_2["reverse_inverse_as_classifier_accuracy"] > 0.4
    assert chapter_2["forward_test_accuracy"] > chapter_2["reverse_inverse_as_classifier_accuracy"]


def test_chapter_2_gram_determinant_is_round_off(chapter_2):
    assert abs(chapter_2["gram_det_float64"]) < 1e-300
    assert chapter_2["gram_largest_tiny_eigenvalue"] < 1e-6 * chapter_2["gram_smallest_large_eigenvalue"]


def test_chapter_2_toy_determinant_is_exactly_zero_yet_numpy_returns_a_tiny_nonzero(chapter_2):
    assert chapter_2["det_toy_exact"] == 0.0
    assert chapter_2["det_toy_float64"] != 0.0 and abs(chapter_2["det_toy_float64"]) < 1e-12
    assert chapter_2["det_toy_rounded_exact"] != 0.0
    assert chapter_2["toy_relative_smallest_singular_value"] < 1e-12


def test_chapter_2_recovery_claim_agrees_with_the_measured_recovery(chapter_2):
    assert chapter_2["claim_reverse_recovery_is_complete"] == (chapter_2["reverse_recovery_accuracy"] == 1.0)
    assert "reverse_recovery_agreement" not in chapter_2


def test_chapter_2_round_off_claim_agrees_with_the_small_eigenvalues_and_their_bound(chapter_2):
    held = chapter_2["gram_largest_tiny_eigenvalue"] < chapter_2["gram_round_off_bound"]
    assert chapter_2["claim_gram_small_eigenvalues_are_round_off"] == held
    assert "gram_det_verdict" not in chapter_2 and "claim_gram_det_underflows" not in chapter_2


def test_chapter_2_determinant_of_the_rank_deficient_gram_matrix_is_not_information(chapter_2):
    assert chapter_2["gram_rank"] < 784
    assert chapter_2["gram_log10_abs_det"] < math.log10(5e-324)
    assert 0 < chapter_2["gram_negative_eigenvalues"] < chapter_2["gram_tiny_eigenvalues"]
