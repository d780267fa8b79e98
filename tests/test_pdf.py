"""make pdf: the whole book as one PDF, read back as a reader would see it, and linked from the landing page."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT, build_book

if not shutil.which("pdftotext"):
    pytest.skip("poppler-utils (pdftotext) not found: `make browser` installs it", allow_module_level=True)


@pytest.fixture(scope="module")
def pdf(book) -> Path:
    build_book(book.parent, target="pdf")
    (printed,) = (book / "pdf").glob("*.pdf")
    return printed


@pytest.fixture(scope="module")
def text(pdf) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def chapter_titles() -> list[str]:
    return [re.search(r"^# (.+)$", path.read_text(), re.MULTILINE)[1] for path in sorted((ROOT / "chapters").glob("*.md"))]


def test_pdf_has_a_title_page_contents_and_at_least_a_page_per_chapter(pdf, text):
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout)[1])
    assert pages >= len(chapter_titles()) + 2
    first_page = text.split("\f")[0]
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["title"] in first_page
    assert "Contents" in text.split("\f")[1]


def test_every_chapter_title_is_printed_with_its_number(text):
    flat = " ".join(text.split())
    for number, title in enumerate(chapter_titles(), start=1):
        assert title in flat, title
        assert re.search(rf"\b{number}\.?\s+{re.escape(title)}", flat), f"chapter {number} is not numbered"


def test_every_figure_of_the_book_is_an_image_in_the_pdf(pdf, book):
    figures = sum(
        len(BeautifulSoup(page.read_text(), "html.parser").select("figure img"))
        for page in (book / "html").rglob("*.html")
    )
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    images = [line for line in listing.splitlines()[2:] if line.split() and line.split()[2] == "image"]
    assert figures > 0 and len(images) >= figures


def test_no_reference_or_citation_is_left_unresolved_and_no_tex_is_left_raw(text):
    assert "??" not in text
    assert not re.search(r"\[\?+\]|\(\?\)", text)
    assert not re.search(r"\\(lVert|frac|mathbb|operatorname)\b", text)
    assert "Refaeli" in text and "Bibliography" in text


def test_the_pdf_is_copied_into_the_site_and_linked_from_the_landing_page(pdf, book):
    landing = BeautifulSoup((book / "html" / "intro.html").read_text(), "html.parser")
    link = landing.find(id="pdf-link").find("a")
    assert link["href"] == pdf.name and (book / "html" / pdf.name).read_bytes() == pdf.read_bytes()
