"""Every chapter executes with small parameters, records what its prose claims, and the book builds with -W.

The ``book`` fixture (conftest.py) runs the Makefile itself, so these tests
exercise exactly what a reader's ``make book`` runs.
"""

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT

from nninv_book.notebooks import glued_values, stream_outputs


def toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [Path(entry["file"]).name for entry in toc["chapters"] if entry["file"].startswith("chapters/")]


def executed(book: Path, chapter: str) -> Path:
    return book / "book" / "chapters" / f"{chapter}.ipynb"


@pytest.fixture(scope="session")
def chapter_1(book):
    return glued_values(executed(book, "01_single_layer_inverse"))


@pytest.mark.parametrize("chapter", toc_chapters())
def test_chapter_executes_without_errors_warnings_or_log_lines(book, chapter):
    notebook = executed(book, chapter)
    assert notebook.exists()
    assert stream_outputs(notebook, "stderr") == []
    assert not any("warning" in text.lower() for text in stream_outputs(notebook, "stdout"))


@pytest.mark.parametrize("chapter", toc_chapters())
def test_book_has_a_page_for_every_chapter(book, chapter):
    assert (book / "html" / "chapters" / f"{chapter}.html").exists()


@pytest.mark.parametrize("chapter", toc_chapters())
def test_chapter_opens_with_what_it_shows_and_closes_with_a_summary(chapter):
    body = (ROOT / "chapters" / f"{chapter}.md").read_text().split("\n---\n", 1)[1]
    opening = body.split("```{code-cell}", 1)[0]
    assert len(" ".join(line for line in opening.splitlines() if not line.startswith("#")).split()) >= 40
    assert re.findall(r"^## (.+)$", body, re.MULTILINE)[-1] == "Summary"
    assert "```{code-cell}" not in body.rsplit("## Summary", 1)[1]


@pytest.mark.parametrize("chapter", toc_chapters())
def test_every_image_on_a_chapter_page_is_a_captioned_figure(book, chapter):
    page = BeautifulSoup((book / "html" / "chapters" / f"{chapter}.html").read_text(), "html.parser")
    images = page.find("article").find_all("img")
    assert images
    for image in images:
        figure = image.find_parent("figure")
        assert figure is not None and figure.find("figcaption").get_text(strip=True), image.get("src")


def test_chapter_1_pinv_preimage_reproduces_the_outputs(chapter_1):
    assert chapter_1["pinv_output_max_abs_error"] < 1e-9


def test_chapter_1_pinv_preimage_equals_the_projection_onto_the_span_of_W(chapter_1):
    assert chapter_1["pinv_equals_projection_max_abs_diff"] < 1e-8


def test_chapter_1_classifier_is_far_above_chance(chapter_1):
    assert chapter_1["test_accuracy"] > 0.8


def test_chapter_1_span_of_W_holds_little_energy_so_pinv_misses_the_digit(chapter_1):
    assert 0 < chapter_1["row_space_energy_fraction"] < 0.2
    assert chapter_1["pinv_rel_error"] > 0.85
    assert chapter_1["rank"] == 10
    assert chapter_1["null_space_dimension"] == 774


def test_chapter_1_float64_outputs_never_saturate(chapter_1):
    assert chapter_1["float64_saturated_count"] == 0


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def chapter_3(book):
    return glued_values(executed(book, "03_row_space_theorem"))


def test_chapter_3_inputs_in_the_span_are_reconstructed_to_machine_precision(chapter_3):
    assert chapter_3["in_span_max_rel_error"] < 1e-12


def test_chapter_3_reconstruction_error_is_the_distance_to_the_span(chapter_3):
    assert chapter_3["error_equals_distance_max_abs_diff"] < 1e-10
    assert chapter_3["pythagoras_max_abs_error"] < 1e-9 * chapter_3["mean_norm_sq"]
    assert chapter_3["projector_idempotence_error"] < 1e-12
    assert chapter_3["projector_trace"] == pytest.approx(chapter_3["rank"], abs=1e-9)


def test_chapter_3_span_of_W_beats_a_random_subspace_and_loses_to_pca(chapter_3):
    assert chapter_3["random10_energy_fraction"] < chapter_3["row_space_energy_fraction"] < chapter_3["pca10_energy_fraction"]


def test_chapter_3_no_real_digit_lies_in_the_span(chapter_3):
    assert 0 < chapter_3["nearest_digit_rel_distance"] <= chapter_3["farthest_digit_rel_distance"] <= 1
    assert len(chapter_3["principal_angles_deg"]) == 10


@pytest.fixture(scope="session")
def chapter_4(book):
    return glued_values(executed(book, "04_choosing_a_preimage"))


CLOSED_FORM = ["pinv", "mean", "gaussian", "class_gaussian", "box"]


@pytest.mark.parametrize("method", CLOSED_FORM)
def test_chapter_4_every_closed_form_preimage_is_exact(chapter_4, method):
    assert chapter_4[f"output_max_abs_error_{method}"] < 1e-10


def test_chapter_4_random_members_of_the_preimage_set_are_exact_and_keep_the_class(chapter_4):
    assert chapter_4["samples_output_max_abs_error"] < 1e-10
    assert chapter_4["samples_same_class"] is True


def test_chapter_4_gaussian_preimage_is_recognised_far_more_often_than_pinv(chapter_4):
    assert chapter_4["judge_accuracy_real"] > 0.95
    assert chapter_4["recognised_pinv"] < 0.3
    assert chapter_4["recognised_gaussian"] > chapter_4["recognised_pinv"] + 0.3
    assert chapter_4["recognised_class_gaussian"] > chapter_4["recognised_pinv"] + 0.3


def test_chapter_4_closed_form_is_faster_than_gradient_descent(chapter_4):
    assert chapter_4["closed_form_seconds"] < chapter_4["optimisation_seconds"]


@pytest.fixture(scope="session")
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


EXTERNAL_ASSET = re.compile(
    r"<script[^>]+src=\"(?:https?:)?//|<link[^>]+href=\"(?:https?:)?//[^\"]+\"[^>]*>|url\(['\"]?(?:https?:)?//",
    re.IGNORECASE,
)


def test_built_pages_load_no_script_style_or_font_from_another_host(book):
    site = book / "html"
    offenders = {
        path.relative_to(site).as_posix(): EXTERNAL_ASSET.findall(path.read_text(errors="replace"))
        for path in [*site.rglob("*.html"), *site.rglob("*.css")]
        if EXTERNAL_ASSET.search(path.read_text(errors="replace"))
    }
    assert offenders == {}


def test_chapter_4_headline_table_is_rendered_as_a_table(book):
    page = (book / "html" / "chapters" / "04_choosing_a_preimage.html").read_text()
    table = page[page.rfind("<table") : page.rfind("</table>")]
    assert "recognised by the judge" in table and "class_gaussian" in table
