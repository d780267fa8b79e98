"""Claims of Chapter 5, the first three open questions, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_5(book):
    return glued_values(executed(book, "05_open_questions"))


# 1. Do trained weights hold real examples in their row space?


def test_chapter_5_training_moves_span_of_W_towards_the_data_most_with_sgd(chapter_5):
    assert chapter_5["init_row_space_energy_fraction"] < chapter_5["trained_row_space_energy_fraction"]
    assert chapter_5["trained_row_space_energy_fraction"] < chapter_5["sgd_row_space_energy_fraction"]
    assert chapter_5["sgd_row_space_energy_fraction"] < chapter_5["pca10_energy_fraction"]


def test_chapter_5_no_training_image_lies_in_the_span_of_W(chapter_5):
    assert chapter_5["trained_nearest_distance"] > 0.1
    assert chapter_5["sgd_nearest_distance"] > 0.1


# 2. Under what conditions? The optimiser and weight decay.


def test_chapter_5_pixels_split_into_never_rarely_and_commonly_inked(chapter_5):
    assert chapter_5["n_never_inked"] + chapter_5["n_inked"] == chapter_5["n_pixels"] == 784
    assert chapter_5["n_rarely_inked"] + chapter_5["n_commonly_inked"] == chapter_5["n_inked"]
    assert chapter_5["training_span_dimension"] <= chapter_5["n_inked"]


def test_chapter_5_sgd_leaves_W_outside_the_span_of_the_training_images_at_its_start(chapter_5):
    assert chapter_5["sgd_outside_span_change"] < chapter_5["float32_round_off"]
    assert chapter_5["adam_outside_span_change"] > 100 * chapter_5["sgd_outside_span_change"]
    assert chapter_5["never_inked_max_change"] == 0


def test_chapter_5_adam_gives_rarely_inked_pixels_large_weights_and_sgd_does_not(chapter_5):
    assert chapter_5["rare_pixel_weight_ratio_adam"] > 1 > chapter_5["rare_pixel_weight_ratio_sgd"]
    assert chapter_5["rare_pixel_step_ratio_sgd"] < 1 < chapter_5["rare_pixel_step_ratio_adam"]


def test_chapter_5_adam_preimages_peak_on_rarely_inked_pixels_and_sgd_preimages_do_not(chapter_5):
    assert chapter_5["extremes_on_rare_adam"] > chapter_5["rare_pixel_share"] > chapter_5["extremes_on_rare_sgd"]


def test_chapter_5_weight_decay_raises_the_share_and_shrinks_rare_pixels_weights(chapter_5):
    assert chapter_5["strongest_decay_energy"] > chapter_5["trained_row_space_energy_fraction"]
    assert chapter_5["rare_pixel_weight_ratio_decay"] < chapter_5["rare_pixel_weight_ratio_adam"]


# 3. Are the examples represented in the row space?


@pytest.mark.parametrize("optimiser", ["adam", "sgd"])
def test_chapter_5_examples_are_represented_as_classes_not_as_individuals(chapter_5, optimiser):
    assert chapter_5[f"{optimiser}_train_over_test"] == pytest.approx(1, abs=0.1)
    assert chapter_5[f"{optimiser}_between_energy_in_span"] > chapter_5[f"{optimiser}_train_energy_in_span"]
    assert chapter_5[f"{optimiser}_between_energy_in_span"] > chapter_5[f"{optimiser}_test_energy_in_span"]


# The proposition: plain gradient descent keeps W - W0 in the span of the training images.


def test_chapter_5_plain_gradient_descent_stays_in_the_span_to_float64_round_off(chapter_5):
    assert chapter_5["gd_update_outside_span"] < 1e3 * chapter_5["float64_round_off"]
    assert chapter_5["claim_gd_change_stays_in_image_span"] is True
    assert chapter_5["adam_outside_span_change"] > 1e6 * chapter_5["gd_update_outside_span"]


def test_chapter_5_ten_images_trained_from_zero_come_back_exactly(chapter_5):
    exact = chapter_5["ten_images_max_abs_error"] < 1e-9 and chapter_5["ten_layer_rank"] == 10
    assert chapter_5["claim_ten_images_reconstructed_exactly"] == exact
    assert chapter_5["ten_images_outside_span"] < 1e-12


# Membership and the 5 in the noise.


def test_chapter_5_membership_claims_agree_with_the_aucs(chapter_5):
    for low, auc, high in [("membership_auc_low", "membership_auc", "membership_auc_high"),
                           ("membership_auc_adam_low", "membership_auc_adam", "membership_auc_adam_high")]:
        assert 0 <= chapter_5[low] <= chapter_5[auc] <= chapter_5[high] <= 1
    at_chance = all(abs(chapter_5[key] - 0.5) < 0.05 for key in ["membership_auc", "membership_auc_adam"])
    assert chapter_5["claim_no_membership_signal_at_full_size"] == at_chance
    fades = chapter_5["membership_auc_largest"] < chapter_5["membership_auc_smallest"]
    assert chapter_5["claim_membership_signal_fades_with_size"] == fades
    if chapter_5["membership_smallest_size"] == 10:
        assert chapter_5["membership_auc_smallest"] == 1.0


def test_chapter_5_the_five_claims_agree_with_its_energy_and_random_subspaces(chapter_5):
    assert chapter_5["claim_five_not_above_random_in_adam_span"] == (chapter_5["five_random_exceedance"] > 0.05)
    assert chapter_5["claim_five_far_above_random_in_sgd_span"] == (chapter_5["five_random_exceedance_sgd"] < 1e-6)
    assert chapter_5["five_energy_fraction_sgd"] > chapter_5["five_energy_fraction"]


def test_chapter_5_reconstruction_rates_carry_intervals_that_hold_them(chapter_5):
    for name in ["pinv_recognised_adam", "pinv_recognised_sgd"]:
        assert 0 <= chapter_5[f"{name}_low"] <= chapter_5[name] <= chapter_5[f"{name}_high"] <= 1
