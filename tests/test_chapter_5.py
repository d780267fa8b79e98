"""Claims of Chapter 5, the open questions, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_5(book):
    return glued_values(executed(book, "05_open_questions"))


def test_chapter_5_square_leaky_relu_network_inverts_exactly(chapter_5):
    assert chapter_5["leaky_deep_inversion_max_rel_error"] < 1e-8
    assert chapter_5["leaky_deep_output_max_abs_error"] < 1e-9


def test_chapter_5_relu_collision_is_real(chapter_5):
    assert chapter_5["relu_collision_input_distance"] > 1e-3 * chapter_5["relu_collision_input_norm"]
    assert chapter_5["relu_collision_output_distance"] < 1e-9


def test_chapter_5_span_penalty_lowers_the_reconstruction_error(chapter_5):
    assert chapter_5["regularised_pinv_rel_error"] < chapter_5["unregularised_pinv_rel_error"] - 0.1


def test_chapter_5_null_space_perturbation_leaves_the_outputs_unchanged(chapter_5):
    assert chapter_5["nullspace_perturbation_relative_norm"] == pytest.approx(1.0)
    assert chapter_5["nullspace_perturbation_output_max_abs_change"] < 1e-12
    assert chapter_5["adversarial_class"] != chapter_5["digit_class"]


def test_chapter_5_training_moves_span_of_W_off_its_random_start(chapter_5):
    assert chapter_5["init_row_space_energy_fraction"] < chapter_5["peak_row_space_energy_fraction"]
    assert chapter_5["strongest_decay_energy"] > chapter_5["trained_row_space_energy_fraction"]
