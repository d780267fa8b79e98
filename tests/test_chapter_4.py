"""Claims of Chapter 4, choosing a preimage, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_4(book):
    return glued_values(executed(book, "04_choosing_a_preimage"))


CLOSED_FORM = ["pinv", "mean", "gaussian", "class_gaussian", "box"]
NOT_EXACT = ["mean_image", "class_template", "nearest_output"]


def test_chapter_4_priors_and_judge_are_fit_on_disjoint_parts_of_the_training_set(chapter_4):
    assert chapter_4["prior_fit_size"] + chapter_4["judge_reference_size"] == 60000
    assert chapter_4["prior_fit_size"] > 0 and chapter_4["judge_reference_size"] > 0


@pytest.mark.parametrize("method", CLOSED_FORM)
def test_chapter_4_every_closed_form_preimage_is_exact(chapter_4, method):
    assert chapter_4[f"output_max_abs_error_{method}"] < 1e-10


@pytest.mark.parametrize("baseline", NOT_EXACT)
def test_chapter_4_baselines_are_not_preimages(chapter_4, baseline):
    assert chapter_4[f"output_max_abs_error_{baseline}"] > 1e-3


def test_chapter_4_random_members_of_the_preimage_set_are_exact_and_keep_the_class(chapter_4):
    assert chapter_4["samples_output_max_abs_error"] < 1e-10
    assert chapter_4["claim_samples_keep_the_class"] is True


def test_chapter_4_judge_ranks_noise_below_prior_samples_below_their_mean(chapter_4):
    ranked = [chapter_4["recognised_null_sample"], chapter_4["recognised_prior_sample"], chapter_4["recognised_gaussian"]]
    assert chapter_4["claim_mean_beats_samples"] == (ranked == sorted(set(ranked)))


def test_chapter_4_judge_recognises_real_digits_on_the_judged_test_digits(chapter_4):
    assert chapter_4["judge_accuracy_real"] > 0.9
    assert chapter_4["rel_error_real_digits"] == 0 and chapter_4["output_max_abs_error_real_digits"] == 0


def test_chapter_4_class_template_is_recognised_but_is_not_a_preimage(chapter_4):
    assert chapter_4["templates_judged_correctly"] == 10
    assert chapter_4["recognised_class_template"] == chapter_4["network_accuracy_judged"]
    assert chapter_4["output_max_abs_error_class_template"] > 0.1
    assert chapter_4["rel_error_class_template"] > 0


def test_chapter_4_exactness_buys_the_outputs_and_closeness_to_the_digit(chapter_4):
    assert chapter_4["output_max_abs_error_class_gaussian"] < 1e-10
    assert chapter_4["rel_error_class_gaussian"] < chapter_4["rel_error_class_template"]
    assert chapter_4["claim_exact_class_preimage_closer_than_template"] is True
    assert chapter_4["class_gaussian_vs_template_rel_error_p"] < 0.05  # paired on the same digits


def test_chapter_4_nearest_output_is_a_real_digit_farther_from_the_actual_one(chapter_4):
    assert chapter_4["rel_error_nearest_output"] > chapter_4["rel_error_class_template"]
    assert chapter_4["claim_nearest_output_farther_than_template"] is True
    assert chapter_4["template_vs_nearest_output_rel_error_p"] < 0.05


def test_chapter_4_the_mean_image_is_recognised_only_as_the_class_it_is_judged(chapter_4):
    assert 0 <= chapter_4["mean_image_label"] <= 9
    assert chapter_4["recognised_mean_image"] < 0.3


def test_chapter_4_gaussian_preimage_is_recognised_far_more_often_than_pinv(chapter_4):
    assert chapter_4["recognised_pinv"] < 0.3
    assert chapter_4["recognised_gaussian"] > chapter_4["recognised_pinv"] + 0.3
    assert chapter_4["recognised_class_gaussian"] > chapter_4["recognised_pinv"] + 0.3


def test_chapter_4_says_whether_the_prior_or_the_box_adds_more_recognition(chapter_4):
    from_prior = chapter_4["recognised_box"] - chapter_4["recognised_box_from_mean"]
    from_box = chapter_4["recognised_box_from_mean"] - chapter_4["recognised_mean"]
    assert chapter_4["claim_prior_adds_more_than_box"] == (from_prior > from_box)
    assert chapter_4["box_from_mean_gain_points"] == pytest.approx(100 * from_box)
    assert chapter_4["box_from_mean_loss_points"] == pytest.approx(100 * from_prior)


def test_chapter_4_adam_leaves_the_span_that_plain_gradient_steps_keep(chapter_4):
    assert chapter_4["optimisation_outside_span"] > 0.1
    assert chapter_4["optimisation_distance_to_mean_preimage"] > 0.1


def test_chapter_4_the_covariance_needs_shrinkage_because_some_pixels_never_vary(chapter_4):
    assert chapter_4["n_constant_pixels"] > 0
    assert 0 < chapter_4["prior_shrinkage"] < 1


def test_chapter_4_timings_say_what_they_include_and_compare_like_with_like(chapter_4):
    assert chapter_4["closed_form_cold_seconds"] > chapter_4["prior_fit_seconds"] > 0
    assert chapter_4["optimisation_seconds"] > chapter_4["optimisation_trace_seconds"] > 0
    assert chapter_4["closed_form_warm_seconds"] < chapter_4["optimisation_steps_seconds"]
    assert chapter_4["claim_closed_form_faster_warm"] is True


def test_chapter_4_optimisers_of_the_closed_forms_problem_find_its_answer(chapter_4):
    for name in ("lbfgs", "descent_prior"):
        reached = chapter_4[f"{name}_output_max_abs_error"] <= 1e-10 and chapter_4[f"{name}_distance_to_gaussian"] < 1e-6
        assert chapter_4[f"claim_{name}_reaches_closed_form"] == reached
    assert chapter_4["lbfgs_seconds"] > 0


def test_chapter_4_adam_on_the_pre_activations_reaches_what_adam_on_the_cross_entropy_does_not(chapter_4):
    target = chapter_4["descent_tol"]
    assert chapter_4["claim_adam_logits_reaches_target"] == (chapter_4["adam_logits_output_max_abs_error"] <= target)
    assert chapter_4["claim_adam_plateau_misses_target"] == (chapter_4["adam_plateau_output_max_abs_error"] > target)
    assert chapter_4["adam_logits_steps"] <= chapter_4["descent_steps"]


def test_chapter_4_the_plateaus_are_outputs_saturated_past_their_targets(chapter_4):
    saturated = (chapter_4["stuck_output"] < chapter_4["stuck_target"] / 10
                 and chapter_4["stuck_preactivation"] < chapter_4["stuck_target_preactivation"] - 1)
    assert chapter_4["claim_furthest_digit_saturated"] == saturated
    assert 0 <= chapter_4["descent_left_saturated"] <= chapter_4["descent_left_above_target"]


def test_chapter_4_comparisons_by_judge_follow_mcnemar(chapter_4):
    assert chapter_4["claim_pinv_and_mean_image_not_distinguishable"] == (chapter_4["pinv_vs_mean_image_p"] >= 0.05)
    assert chapter_4["claim_box_as_recognised_as_gaussian"] == (chapter_4["box_vs_gaussian_p"] >= 0.05)
    assert chapter_4["claim_exact_class_preimage_as_recognised_as_template"] == (
        chapter_4["class_gaussian_vs_template_p"] >= 0.05)
    if chapter_4["claim_prior_helps"]:
        assert chapter_4["prior_helps_p"] < 0.05 and chapter_4["recognised_gaussian"] > chapter_4["recognised_pinv"]
    assert 0 <= chapter_4["judge_agreement_real"] <= 1 and 0 <= chapter_4["judge_cnn_accuracy_real"] <= 1


def test_chapter_4_comparisons_in_points_follow_the_recognition_rates(chapter_4):
    for gain, better, worse in [("pinv_gain_points", "pinv", "mean_image"), ("mean_gain_points", "mean", "pinv"),
                                ("gaussian_gain_points", "gaussian", "pinv")]:
        difference = 100 * (chapter_4[f"recognised_{better}"] - chapter_4[f"recognised_{worse}"])
        assert chapter_4[gain] == pytest.approx(difference)


def test_chapter_4_the_slow_tail_claims_follow_the_curves(chapter_4):
    assert chapter_4["claim_constant_step_has_setbacks"] == (chapter_4["curve_constant_setbacks"] > 0)
    assert chapter_4["claim_decaying_step_has_setbacks"] == (chapter_4["curve_decaying_setbacks"] > 0)
    assert chapter_4["claim_descent_misses_target"] == (chapter_4["optimisation_steps"] == chapter_4["descent_steps"])
    assert chapter_4["descent_settled_step"] + chapter_4["descent_tail_steps"] == chapter_4["optimisation_steps"]
    assert chapter_4["claim_descent_settles_before_its_end"] == (chapter_4["descent_tail_steps"] > 0)
    assert chapter_4["curve_constant_best_error"] <= chapter_4["curve_constant_error"]


def test_chapter_4_states_no_sentence_built_in_code(chapter_4):
    assert not [key for key in chapter_4 if key.endswith(("_verdict", "_comparison")) or key in ("tail_cause", "tail_summary")]


def test_chapter_4_headline_table_is_rendered_as_a_table(book):
    page = (book / "html" / "chapters" / "04_choosing_a_preimage.html").read_text()
    table = page[page.rfind("<table") : page.rfind("</table>")]
    assert "recognised by the judge" in table
    assert all(name in table for name in ["real_digits", "class_template", "class_gaussian", "optimisation"])
