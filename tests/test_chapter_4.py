"""Claims of Chapter 4, choosing a preimage, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
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


def test_chapter_4_headline_table_is_rendered_as_a_table(book):
    page = (book / "html" / "chapters" / "04_choosing_a_preimage.html").read_text()
    table = page[page.rfind("<table") : page.rfind("</table>")]
    assert "recognised by the judge" in table and "class_gaussian" in table
