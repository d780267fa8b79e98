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
    assert chapter_4["samples_same_class"] is True


def test_chapter_4_judge_ranks_noise_below_prior_samples_below_their_mean(chapter_4):
    assert chapter_4["recognised_null_sample"] < chapter_4["recognised_prior_sample"]
    assert chapter_4["recognised_prior_sample"] < chapter_4["recognised_gaussian"]


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
    assert chapter_4["exact_distance_comparison"] == "closer to"


def test_chapter_4_nearest_output_is_a_real_digit_farther_from_the_actual_one(chapter_4):
    assert chapter_4["rel_error_nearest_output"] > chapter_4["rel_error_class_template"]
    assert chapter_4["nearest_output_distance_comparison"] == "farther from"


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
    assert chapter_4["box_verdict"] == (
        "the prior adds more than the box" if from_prior > from_box else "the box adds at least as much as the prior"
    )


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
    assert chapter_4["warm_speedup"].startswith("the closed form was about")


def test_chapter_4_the_slow_tail_is_blamed_on_the_step_size_only_when_the_curves_show_it(chapter_4):
    only_decay_settles = chapter_4["curve_decaying_converged"] and not chapter_4["curve_constant_converged"]
    assert ("step-size schedule as the cause" in chapter_4["tail_cause"]
            and "do not single out" not in chapter_4["tail_cause"]) == (
        only_decay_settles and chapter_4["curve_decaying_setbacks"] > 0
    )
    if "state of its optimiser" in chapter_4["tail_cause"]:
        assert chapter_4["restart_converged"] is True


def test_chapter_4_headline_table_is_rendered_as_a_table(book):
    page = (book / "html" / "chapters" / "04_choosing_a_preimage.html").read_text()
    table = page[page.rfind("<table") : page.rfind("</table>")]
    assert "recognised by the judge" in table
    assert all(name in table for name in ["real_digits", "class_template", "class_gaussian", "optimisation"])
