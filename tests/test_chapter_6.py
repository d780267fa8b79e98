"""Claims of Chapter 6, learned inverses and better priors, checked on its small-parameter execution."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values

EXACT = 1e-9


@pytest.fixture(scope="module")
def chapter_6(book):
    return glued_values(executed(book, "06_learned_inverses_and_priors"))


def test_chapter_6_least_squares_linear_decoder_is_the_gaussian_preimage_and_is_exact(chapter_6):
    assert chapter_6["linear_decoder_equals_gaussian_rel_diff"] < 1e-9
    assert chapter_6["linear_decoder_equals_gaussian_max_abs_diff"] < 1e-9
    assert chapter_6["output_max_abs_error_linear_decoder"] < EXACT


def test_chapter_6_the_theorem_is_checked_where_the_sample_covariance_is_singular(chapter_6):
    assert chapter_6["n_constant_pixels"] > 0
    assert chapter_6["sample_covariance_rank"] < chapter_6["n_in"]


EXACT_METHODS = ["pinv", "mean", "gaussian", "class_gaussian", "mixture", "learned_exact"]


@pytest.mark.parametrize("method", EXACT_METHODS)
def test_chapter_6_every_method_called_exact_reproduces_the_outputs(chapter_6, method):
    assert chapter_6[f"output_max_abs_error_{method}"] < EXACT


@pytest.mark.parametrize("method", ["learned_decoder", "class_template", "autoencoder"])
def test_chapter_6_the_images_called_not_preimages_miss_the_outputs(chapter_6, method):
    assert chapter_6[f"output_max_abs_error_{method}"] > 1e-3


def test_chapter_6_what_exactness_costs_the_decoder_is_the_measured_difference(chapter_6):
    gap = chapter_6["recognised_learned_exact"] - chapter_6["recognised_learned_decoder"]
    assert chapter_6["decoder_exactness_gain"] == pytest.approx(gap)
    assert 0 < chapter_6["decoder_projection_distance"] < 1


def test_chapter_6_the_autoencoder_does_not_invert_its_own_encoder(chapter_6):
    assert chapter_6["encoder_null_dimension"] == chapter_6["n_in"] - chapter_6["encoder_rank"] > 0
    assert chapter_6["swap_code_max_abs_error"] < 1e-9  # two different images, one code
    assert chapter_6["rel_error_autoencoder"] > 1e-3  # d(e(x)) != x
    assert chapter_6["recode_rel_error"] > 1e-6  # e(d(c)) != c


def test_chapter_6_autoencoder_against_pca_claims_what_was_measured(chapter_6):
    better = chapter_6["autoencoder_fit_mse"] < chapter_6["pca10_fit_mse"]
    assert chapter_6["claim_autoencoder_beats_pca_on_fit"] == better
    assert 0 < chapter_6["pca10_rel_error"] < 1


def test_chapter_6_mixture_prior_uses_every_component_and_mostly_agrees_with_the_network(chapter_6):
    assert chapter_6["mixture_components"] == 10 * chapter_6["clusters_per_class"]
    assert chapter_6["mixture_class_agrees_with_network"] > 0.5
    assert 1 <= chapter_6["mixture_effective_components"] <= chapter_6["mixture_components"]


def test_chapter_6_mixture_preimage_is_far_more_recognisable_than_pinv(chapter_6):
    assert chapter_6["recognised_mixture"] > chapter_6["recognised_pinv"] + 0.3
    assert chapter_6["rel_error_mixture"] < chapter_6["rel_error_pinv"]


def test_chapter_6_comparisons_in_the_prose_are_claims_checked_against_the_measurements(chapter_6):
    recognised = {m: chapter_6[f"recognised_{m}"] for m in EXACT_METHODS + ["class_template"]}
    rel_error = {m: chapter_6[f"rel_error_{m}"] for m in EXACT_METHODS + ["autoencoder"]}
    exact = {m: recognised[m] for m in EXACT_METHODS}
    assert chapter_6["claim_mixture_most_recognised_exact"] == (max(exact, key=exact.get) == "mixture")
    assert chapter_6["claim_mixture_recognised_more_than_class_methods"] == (
        recognised["mixture"] > max(recognised["class_gaussian"], recognised["class_template"]))
    closest = min(EXACT_METHODS, key=rel_error.get)
    assert chapter_6["claim_mixture_closest_exact"] == (closest == "mixture")
    assert chapter_6["claim_mixture_closer_than_autoencoder"] == (rel_error["mixture"] < rel_error["autoencoder"])
    assert chapter_6["claim_mixture_weight_spread"] == (chapter_6["mixture_effective_components"] >= 1.1)


def test_chapter_6_headline_table_is_rendered_as_a_table(book):
    page = (book / "html" / "chapters" / "06_learned_inverses_and_priors.html").read_text()
    table = page[page.rfind("<table") : page.rfind("</table>")]
    assert "recognised by the judge" in table and "learned_exact" in table and "mixture" in table
