"""Claims of the chapter on networks built to be inverted, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values

CHAPTER = "10_networks_built_to_be_inverted"


@pytest.fixture(scope="module")
def chapter_10(book):
    return glued_values(executed(book, CHAPTER))


def test_chapter_10_the_network_and_the_linear_map_invert_exactly(chapter_10):
    assert chapter_10["invertible_round_trip_max_abs_error"] <= 1e-10
    assert chapter_10["linear_round_trip_max_abs_error"] <= 1e-10
    assert chapter_10["invertible_latent_logits_max_abs_error"] <= 1e-9


def test_chapter_10_metamers_and_latent_preimages_keep_their_logits_exactly(chapter_10):
    assert chapter_10["metamer_logit_max_abs_error"] <= 1e-9
    assert chapter_10["linear_metamer_output_max_abs_error"] <= 1e-9
    assert chapter_10["invertible_latent_output_max_abs_error"] <= 1e-9
    assert chapter_10["metamer_network_reads_logit_source"] >= 0.99


def test_chapter_10_the_invertible_network_classifies_well_enough_to_be_worth_inverting(chapter_10):
    assert chapter_10["invertible_test_accuracy"] > 0.85
    assert chapter_10["invertible_parameters"] > chapter_10["ordinary_parameters_single"]


def test_chapter_10_metamers_look_like_their_nuisance_source(chapter_10):
    assert chapter_10["metamer_judge_reads_nuisance_source"] > 0.5
    assert chapter_10["metamer_judge_reads_nuisance_source"] > chapter_10["metamer_judge_reads_logit_source"]
    assert chapter_10["linear_metamer_judge_reads_nuisance_source"] > 0.5


def test_chapter_10_latent_preimages_look_like_digits(chapter_10):
    assert chapter_10["recognised_invertible_latent_prior"] > 0.5
    assert chapter_10["rel_error_invertible_latent_prior"] < 1.5
    assert 0 <= chapter_10["outside_box_latent_prior"] <= 1
