"""Claims of Chapter 7, learned inverses and better priors, checked on its small-parameter execution."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values

EXACT = 1e-9


@pytest.fixture(scope="module")
def chapter_7(book):
    return glued_values(executed(book, "07_learned_inverses_and_priors"))


def test_chapter_7_least_squares_linear_decoder_is_the_gaussian_preimage_and_is_exact(chapter_7):
    assert chapter_7["linear_decoder_equals_gaussian_rel_diff"] < 1e-9
    assert chapter_7["linear_decoder_equals_gaussian_max_abs_diff"] < 1e-9
    assert chapter_7["output_max_abs_error_linear_decoder"] < EXACT


def test_chapter_7_the_theorem_is_checked_where_the_sample_covariance_is_singular(chapter_7):
    assert chapter_7["n_constant_pixels"] > 0
    assert chapter_7["sample_covariance_rank"] < chapter_7["n_in"]


EXACT_METHODS = ["pinv", "mean", "gaussian", "class_gaussian", "mixture", "learned_exact"]


@pytest.mark.parametrize("method", EXACT_METHODS)
def test_chapter_7_every_method_called_exact_reproduces_the_outputs(chapter_7, method):
    assert chapter_7[f"output_max_abs_error_{method}"] < EXACT


@pytest.mark.parametrize("method", ["learned_decoder", "class_template", "autoencoder"])
def test_chapter_7_the_images_called_not_preimages_miss_the_outputs(chapter_7, method):
    assert chapter_7[f"output_max_abs_error_{method}"] > 1e-3


def test_chapter_7_what_exactness_costs_the_decoder_is_the_measured_difference(chapter_7):
    gap = chapter_7["recognised_learned_exact"] - chapter_7["recognised_learned_decoder"]
    assert chapter_7["decoder_exactness_gain"] == pytest.approx(gap)
    assert 0 < chapter_7["decoder_projection_distance"] < 1


def test_chapter_7_the_autoencoder_does_not_invert_its_own_encoder(chapter_7):
    assert chapter_7["encoder_null_dimension"] == chapter_7["n_in"] - chapter_7["encoder_rank"] > 0
    assert chapter_7["swap_code_max_abs_error"] < 1e-9  # two different images, one code
    assert chapter_7["rel_error_autoencoder"] > 1e-3  # d(e(x)) != x
    assert chapter_7["recode_rel_error"] > 1e-6  # e(d(c)) != c


def test_chapter_7_autoencoder_against_pca_claims_what_was_measured(chapter_7):
    better = chapter_7["autoencoder_fit_mse"] < chapter_7["pca10_fit_mse"]
    assert chapter_7["claim_autoencoder_beats_pca_on_fit"] == better
    assert 0 < chapter_7["pca10_rel_error"] < 1


def test_chapter_7_mixture_prior_uses_every_component_and_mostly_agrees_with_the_network(chapter_7):
    assert chapter_7["mixture_components"] == 10 * chapter_7["clusters_per_class"]
    assert chapter_7["mixture_class_agrees_with_network"] > 0.5
    assert 1 <= chapter_7["mixture_effective_components"] <= chapter_7["mixture_components"]


def test_chapter_7_mixture_preimage_is_far_more_recognisable_than_pinv(chapter_7):
    assert chapter_7["recognised_mixture"] > chapter_7["recognised_pinv"] + 0.3
    assert chapter_7["rel_error_mixture"] < chapter_7["rel_error_pinv"]


def test_chapter_7_comparisons_in_the_prose_are_claims_checked_against_the_measurements(chapter_7):
    recognised = {m: chapter_7[f"recognised_{m}"] for m in EXACT_METHODS + ["class_template"]}
    rel_error = {m: chapter_7[f"rel_error_{m}"] for m in EXACT_METHODS + ["autoencoder"]}
    exact = {m: recognised[m] for m in EXACT_METHODS}
    exact_cnn = {m: chapter_7[f"recognised_{m}_cnn"] for m in EXACT_METHODS}
    most = max(exact, key=exact.get) == "mixture"
    assert chapter_7["claim_mixture_most_recognised_exact"] == (most and chapter_7["mixture_vs_runner_up_p"] < 0.05)
    undecided_cnn = chapter_7["mixture_vs_runner_up_cnn_p"] >= 0.05
    assert chapter_7["claim_mixture_and_runner_up_not_distinguishable_cnn"] == undecided_cnn
    runner_up_cnn = max((m for m in EXACT_METHODS if m != "mixture"), key=exact_cnn.get)
    assert chapter_7["recognised_runner_up_cnn"] == pytest.approx(exact_cnn[runner_up_cnn])
    closest = min(EXACT_METHODS, key=rel_error.get)
    assert chapter_7["claim_mixture_closest_exact"] == (closest == "mixture")
    if chapter_7["claim_mixture_closer_than_autoencoder"]:  # decided digit by digit, not by the means
        assert chapter_7["mixture_versus_autoencoder_rel_error_p"] < 0.05
    assert chapter_7["claim_mixture_weight_spread"] == (chapter_7["mixture_effective_components"] >= 1.1)


def test_chapter_7_headline_table_is_rendered_as_a_table(book):
    page = (book / "html" / "chapters" / "07_learned_inverses_and_priors.html").read_text()
    table = page[page.rfind("<table") : page.rfind("</table>")]
    assert "recognised by the k-NN judge" in table and "CNN judge" in table
    assert "learned_exact" in table and "mixture" in table


def test_chapter_7_both_judges_are_reported_with_intervals_that_hold_their_rates(chapter_7):
    for name in ("judge_accuracy_real", "judge_cnn_accuracy_real", "recognised_mixture", "recognised_mixture_cnn"):
        assert 0 <= chapter_7[f"{name}_low"] <= chapter_7[name] <= chapter_7[f"{name}_high"] <= 1
    assert chapter_7["claim_judge_cnn_at_least_99"] == (chapter_7["judge_cnn_accuracy_real"] >= 0.99)
    assert chapter_7["judge_cnn_accuracy_real"] > 0.97 and chapter_7["judge_cnn_accuracy_test"] > 0.97
    stronger = chapter_7["judge_cnn_accuracy_real_low"] > chapter_7["judge_accuracy_real_high"]
    assert chapter_7["claim_judge_cnn_stronger_than_knn"] == stronger


def test_chapter_7_the_judges_agree_at_least_where_both_are_right(chapter_7):
    both_right = chapter_7["judge_accuracy_real"] + chapter_7["judge_cnn_accuracy_real"] - 1
    assert both_right - 1e-12 <= chapter_7["judge_agreement_real"] <= 1
    assert 0 <= chapter_7["judge_agreement_all"] <= 1


@pytest.mark.parametrize("method", ["pinv", "mean", "gaussian", "class_gaussian", "mixture", "class_template",
                                    "learned_decoder", "learned_exact", "autoencoder"])
def test_chapter_7_every_method_is_recognised_by_both_judges(chapter_7, method):
    assert 0 <= chapter_7[f"recognised_{method}_cnn"] <= 1


def test_chapter_7_contrast_normalisation_is_measured_not_assumed(chapter_7):
    assert 0 <= chapter_7["judge_normalised_changed_share"] <= chapter_7["judge_normalised_most_changed_share"] <= 1
    assert 0 <= chapter_7["judge_normalised_accuracy_real"] <= 1


def test_chapter_7_paired_comparisons_decide_what_the_prose_says(chapter_7):
    for name in ("mixture_vs_template_p", "mixture_vs_template_cnn_p", "mixture_vs_class_gaussian_p",
                 "mixture_vs_class_gaussian_cnn_p", "mixture_vs_runner_up_p", "mixture_vs_runner_up_cnn_p",
                 "decoder_exactness_p", "decoder_exactness_cnn_p"):
        assert 0 <= chapter_7[name] <= 1
    exactness_undecided = chapter_7["decoder_exactness_p"] >= 0.05 and chapter_7["decoder_exactness_cnn_p"] >= 0.05
    assert chapter_7["claim_decoder_exactness_not_distinguishable"] == exactness_undecided

    def beats(judge, other, p_name):
        return (chapter_7[f"recognised_mixture{judge}"] > chapter_7[f"recognised_{other}{judge}"]
                and chapter_7[p_name] < 0.05)

    decided = all(beats(judge, other, f"mixture_vs_{short}{judge}_p")
                  for judge in ("", "_cnn") for other, short in (("class_template", "template"),
                                                                 ("class_gaussian", "class_gaussian")))
    assert chapter_7["claim_mixture_recognised_more_than_class_methods"] == decided


def test_chapter_7_capacities_beside_the_comparison_are_counted_from_the_models(chapter_7):
    n_in, n_out, k = chapter_7["n_in"], chapter_7["n_out"], chapter_7["mixture_components"]
    assert chapter_7["mixture_parameters"] == k * (1 + n_in + n_in * (n_in + 1) // 2)
    assert chapter_7["autoencoder_parameters"] == 2 * n_in * n_out + n_out + n_in
