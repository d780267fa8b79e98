"""Claims of the landing page: its figure is drawn by code, and every preimage in it is exact."""

from bs4 import BeautifulSoup
from conftest import ROOT

from nninv_book.notebooks import glued_values, stream_outputs
from nninv_book.parameters import declared


def test_landing_preimages_reproduce_the_network_outputs_to_round_off(book):
    notebook = book / "book" / "intro.ipynb"
    assert glued_values(notebook)["landing_output_max_abs_error"] < 1e-9
    assert stream_outputs(notebook, "stderr") == []


def test_landing_page_shows_its_figure_with_a_caption_and_no_code(book):
    page = BeautifulSoup((book / "html" / "intro.html").read_text(), "html.parser")
    figure = page.find("article").find("figure")
    assert figure.find("img") is not None and "exactly" in figure.find("figcaption").get_text()
    assert page.find("article").find(class_="cell_input") is None


def test_the_landing_figure_uses_the_chapters_defaults_for_every_parameter():
    landing = declared(ROOT / "intro.md")
    chapters = [declared(path) for path in sorted((ROOT / "chapters").glob("*.md"))]
    assert landing
    for name, value in landing.items():
        assert [chapter[name] for chapter in chapters if name in chapter][0] == value, name
