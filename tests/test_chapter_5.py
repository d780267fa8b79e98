"""Claims of Chapter 5, the open questions, checked on its execution with small parameters."""

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


# 4. Can a network be regularised to admit an inverse?


def test_chapter_5_span_penalty_lowers_the_reconstruction_error_at_a_cost_in_accuracy(chapter_5):
    assert chapter_5["regularised_pinv_rel_error"] < chapter_5["unregularised_pinv_rel_error"] - 0.1
    assert chapter_5["regularised_test_accuracy"] < chapter_5["unregularised_test_accuracy"]


def test_chapter_5_square_leaky_relu_network_inverts_exactly(chapter_5):
    assert chapter_5["leaky_deep_inversion_max_rel_error"] < 1e-8
    assert chapter_5["leaky_deep_output_max_abs_error"] < 1e-9


def test_chapter_5_relu_collision_is_visibly_different_with_the_same_activity(chapter_5):
    assert chapter_5["relu_collision_input_distance"] >= 0.3 * chapter_5["relu_collision_input_norm"]
    assert chapter_5["relu_collision_relative_distance"] == pytest.approx(
        chapter_5["relu_collision_input_distance"] / chapter_5["relu_collision_input_norm"]
    )
    assert chapter_5["relu_collision_output_distance"] < 1e-9
    assert chapter_5["relu_active_units"] + chapter_5["relu_inactive_units"] == 784
    assert chapter_5["relu_collision_target_label"] != chapter_5["relu_collision_digit_label"]


# 5. When is invertibility useful?


def test_chapter_5_null_space_perturbation_leaves_the_outputs_unchanged(chapter_5):
    assert chapter_5["nullspace_perturbation_relative_norm"] == pytest.approx(1.0)
    assert chapter_5["nullspace_perturbation_output_max_abs_change"] < 1e-12
    assert chapter_5["adversarial_class"] != chapter_5["digit_class"]


def test_chapter_5_closed_form_model_inversion_is_exact_and_faster_than_miface(chapter_5):
    assert chapter_5["model_inversion_output_max_abs_error"] < 1e-9
    assert chapter_5["closed_form_model_inversion_seconds"] < chapter_5["art_miface_seconds"]
    assert chapter_5["art_miface_min_score"] >= chapter_5["inversion_score"]


def test_chapter_5_the_judge_reports_on_both_attacks_and_recognises_the_class_means(chapter_5):
    assert 0 <= chapter_5["closed_form_model_inversion_recognised"] <= 10
    assert 0 <= chapter_5["art_miface_recognised"] <= 10
    assert chapter_5["class_means_recognised"] >= 9
    assert chapter_5["art_miface_mean_pixel"] < chapter_5["test_digit_mean_pixel"]


def test_chapter_5_claim_on_surer_outputs_matches_the_judges_counts(chapter_5):
    counts = [chapter_5["closed_form_model_inversion_recognised"]]
    counts += [int(count) for count in chapter_5["surer_recognised"].split(", ")]
    steadily = counts == sorted(counts) and counts[-1] > counts[0]
    assert chapter_5["claim_surer_outputs_more_recognisable"] == steadily
    assert chapter_5["surest_recognised"] == counts[-1]
    assert chapter_5["claim_surest_outputs_mostly_recognised"] == (counts[-1] > 5)


def test_chapter_5_relu_collision_moves_towards_the_digit_aimed_at(chapter_5):
    assert chapter_5["relu_collision_target_distance"] < chapter_5["relu_collision_digit_target_distance"]


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
    for name in ["pinv_recognised_adam", "pinv_recognised_sgd", "recognised_regularised_reconstructions",
                 "recognised_unregularised_reconstructions", "swap_read_as_second"]:
        assert 0 <= chapter_5[f"{name}_low"] <= chapter_5[name] <= chapter_5[f"{name}_high"] <= 1
    assert chapter_5["claim_swapped_images_read_as_the_second_digit"] == (chapter_5["swap_read_as_second_low"] > 0.5)
    assert chapter_5["swap_output_max_abs_change"] < 1e-9


def test_chapter_5_pca_is_compared_on_the_per_image_statistic(chapter_5):
    assert "pca10_rel_error_floor" not in chapter_5
    below = chapter_5["pca10_mean_rel_error"] < chapter_5["regularised_pinv_rel_error"]
    assert chapter_5["claim_pca_reference_below_penalised_error"] == below


# Model inversion: what W reveals with priors that know no digit.


def test_chapter_5_model_inversion_controls_claims_agree_with_the_counts(chapter_5):
    surest = chapter_5["surest_recognised"]
    others = [chapter_5[f"surest_{name}_recognised"] for name in ["identity_prior", "smooth_prior", "min_norm"]]
    assert chapter_5["claim_no_digit_priors_recognised_less_at_the_surest_score"] == all(o < surest for o in others)
    assert chapter_5["surest_no_digit_prior_recognised"] == max(others)
    assert chapter_5["claim_identity_prior_distinguishable_at_the_surest_score"] == (chapter_5["surest_identity_prior_p"] < 0.05)
    assert chapter_5["claim_smoothness_prior_not_distinguishable_at_the_surest_score"] == (chapter_5["surest_smooth_prior_p"] >= 0.05)
    same = set(chapter_5["identity_prior_labels"].split(", ")) == {str(chapter_5["prior_mean_label"])}
    assert chapter_5["claim_identity_prior_images_read_as_the_mean"] == same
    for count in ["model_inversion_identity_prior_recognised", "model_inversion_smooth_prior_recognised",
                  "model_inversion_min_norm_recognised"]:
        assert 0 <= chapter_5[count] <= 10
    assert (chapter_5["model_inversion_identity_prior_low"] <= chapter_5["model_inversion_identity_prior_recognised"] / 10
            <= chapter_5["model_inversion_identity_prior_high"])


def test_chapter_5_miface_from_the_mean_claim_agrees_with_its_start_scores(chapter_5):
    reached = chapter_5["art_miface_mean_start_reached"]
    separated = chapter_5["art_miface_stalled_start_score_max"] < chapter_5["art_miface_reached_start_score_min"]
    assert chapter_5["claim_miface_from_mean_stalls_where_scores_start_low"] == (0 < reached < 10 and separated)
    assert chapter_5["art_miface_mean_start_iterations"] <= chapter_5["miface_mean_iterations"]
