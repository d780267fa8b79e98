"""Claims of Chapter 8, deep networks, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values

NETWORKS = ("", "_deeper", "_tanh")  # 784 -> 128 -> 10 and 784 -> 256 -> 64 -> 10 (Leaky ReLU), then tanh
LEAKY = ("", "_deeper")


@pytest.fixture(scope="module")
def chapter_8(book):
    return glued_values(executed(book, "08_deep_networks"))


def test_chapter_8_every_contracting_network_is_inverted_exactly(chapter_8):
    for network in NETWORKS:
        assert chapter_8[f"deep_output_max_abs_error{network}"] <= 1e-9
    assert chapter_8["deep_output_max_abs_error_all"] <= 1e-9
    assert chapter_8["keras_output_max_abs_error"] < 1e-5  # the float32 Keras model itself agrees


def test_chapter_8_networks_classify_well_enough_to_be_worth_inverting(chapter_8):
    for network in NETWORKS:
        assert chapter_8[f"deep_test_accuracy{network}"] > 0.85


def test_chapter_8_least_norm_chooses_hidden_activities_no_digit_produces(chapter_8):
    assert chapter_8["negative_positive_ratio_least_norm"] > 3 * chapter_8["negative_positive_ratio_real"]
    assert chapter_8["negative_energy_least_norm"] > chapter_8["negative_energy_real"]
    assert chapter_8["preactivation_norm_ratio"] > 1
    assert chapter_8["prior_distance_least_norm"] > 3 * chapter_8["prior_distance_real"]


def test_chapter_8_the_most_probable_activities_are_like_a_digits_and_more_probable(chapter_8):
    ratio, real = chapter_8["negative_positive_ratio_most_probable"], chapter_8["negative_positive_ratio_real"]
    assert ratio < 2 * real
    assert chapter_8["prior_distance_most_probable"] < chapter_8["prior_distance_real"]


def test_chapter_8_choosing_the_hidden_activities_by_least_norm_gives_unrecognisable_preimages(chapter_8):
    for network in LEAKY:
        assert chapter_8[f"recognised_deep_min_norm{network}"] < 0.5
        assert chapter_8[f"recognised_deep_layerwise_gaussian{network}"] < 0.5
        assert chapter_8[f"rel_error_deep_min_norm{network}"] > 1


def test_chapter_8_the_most_probable_exact_preimage_looks_like_the_digit(chapter_8):
    for network in NETWORKS:
        assert chapter_8[f"recognised_deep_prior{network}"] >= 0.85
        assert chapter_8[f"recognised_deep_pooled_prior{network}"] >= 0.7  # the library's default with a prior
        assert chapter_8[f"rel_error_deep_prior{network}"] < 1
    for network in LEAKY:
        baseline = max(chapter_8[f"recognised_deep_min_norm{network}"],
                       chapter_8[f"recognised_deep_layerwise_gaussian{network}"])
        assert chapter_8[f"recognised_deep_prior{network}"] > baseline + 0.3
        assert chapter_8[f"rel_error_deep_prior{network}"] < chapter_8[f"rel_error_deep_min_norm{network}"]


def test_chapter_8_least_norm_cannot_invert_the_tanh_network(chapter_8):
    assert chapter_8["tanh_least_norm_refused"] is True


def test_chapter_8_the_search_never_raises_its_objective_and_reduces_it_exactly(chapter_8):
    assert chapter_8["search_never_rose"] is True
    assert chapter_8["search_objective"] <= chapter_8["search_start_objective"]
    assert chapter_8["objective_reduction_max_rel_error"] < 1e-9
    assert chapter_8["spread_condition_number"] < chapter_8["prior_condition_number"]


def test_chapter_8_timings_measure_the_searches(chapter_8):
    for network in NETWORKS:
        assert chapter_8[f"deep_prior{network}_seconds"] > 0  # wall-clock names end in _seconds


def test_chapter_8_a_linear_programme_recovers_relu_inputs_once_the_layer_expands_enough(chapter_8):
    assert chapter_8["relu_lp_recovery_max_rel_error"] < 1e-9
    assert chapter_8["relu_lp_output_max_abs_error"] < 1e-9  # always an exact preimage
    assert chapter_8["relu_recovery_iff_full_rank"] is True
    assert chapter_8["relu_narrowest_recovered"] < 1
    assert 1 < chapter_8["relu_smallest_full_recovery_ratio"] <= 4


def test_chapter_8_both_judges_are_reported_with_intervals_that_hold_their_rates(chapter_8):
    for name in ("judge_accuracy_real", "judge_cnn_accuracy_real", "recognised_deep_prior",
                 "recognised_deep_prior_cnn", "recognised_deep_min_norm"):
        assert 0 <= chapter_8[f"{name}_low"] <= chapter_8[name] <= chapter_8[f"{name}_high"] <= 1
    assert chapter_8["claim_judge_cnn_at_least_99"] == (chapter_8["judge_cnn_accuracy_real"] >= 0.99)
    both_right = chapter_8["judge_accuracy_real"] + chapter_8["judge_cnn_accuracy_real"] - 1
    assert both_right - 1e-12 <= chapter_8["judge_agreement_real"] <= 1


def test_chapter_8_the_convolutional_judge_also_sees_the_lift_and_the_test_decides_it(chapter_8):
    for network in LEAKY:
        baseline = max(chapter_8[f"recognised_deep_min_norm{network}_cnn"],
                       chapter_8[f"recognised_deep_layerwise_gaussian{network}_cnn"])
        assert chapter_8[f"recognised_deep_prior{network}_cnn"] > baseline
    p_values = [chapter_8[f"lift_{network}_p"] for network in ("deep", "deeper")]
    p_values += [chapter_8[f"lift_{network}_cnn_p"] for network in ("deep", "deeper")]
    assert all(0 <= p <= 1 for p in p_values)
    lifted = all(p < 0.05 for p in p_values) and all(
        min(chapter_8[f"recognised_deep_pooled_prior{n}{j}"], chapter_8[f"recognised_deep_prior{n}{j}"])
        > max(chapter_8[f"recognised_deep_min_norm{n}{j}"], chapter_8[f"recognised_deep_layerwise_gaussian{n}{j}"])
        for n in LEAKY for j in ("", "_cnn"))
    assert chapter_8["claim_prior_activities_lift_recognition"] == lifted
