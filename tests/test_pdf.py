"""make pdf: the whole book as one PDF, read back as a reader would see it, and linked from the landing page.

Every page is also rendered (pdftoppm) and looked at: no page may end in an
empty box, the frame that a code cell leaves at the foot of a page when its
text is pushed to the next one.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT, build_book
from PIL import Image

from nninv_book import pdf as printing
from nninv_book.explorer import PRINT_NOTE

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


DPI = 50
MM = DPI / 25.4
"""Pixels per millimetre of the rendered pages."""


def pages_ending_in_an_empty_box(printed: Path) -> tuple[list[int], int]:
    """The pages whose content ends in a box with nothing in it, and the number of pages looked at.

    The content area (inside the print margins) of a page ends in an empty box
    when its lowest block of marked rows (any pixel not white) reaches the
    foot of the area, is at least 4 mm tall and holds no ink (no pixel darker
    than mid-grey) inside its left and right edges: a background or frame with
    no text or image in it.
    """
    found = []
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(printed), f"{folder}/page"], check=True)
        renders = sorted(Path(folder).glob("page-*.png"))
        for number, render in enumerate(renders, start=1):
            grey = np.asarray(Image.open(render).convert("L"), dtype=int)
            content = grey[round(16 * MM) : -round(18 * MM), round(15 * MM) : -round(15 * MM)]
            marked = (content < 250).any(axis=1)
            if not marked[-round(4 * MM) :].any():
                continue
            bottom = np.flatnonzero(marked)[-1]
            top = bottom - np.argmin(marked[bottom::-1]) + 1 if not marked[: bottom + 1].all() else 0
            block = content[top : bottom + 1]
            columns = np.flatnonzero((block < 250).any(axis=0))
            inside = block[:, columns[0] + 4 : columns[-1] - 3]
            if len(block) >= 4 * MM and not (inside < 160).any():
                found.append(number)
    return found, len(renders)


def page_count(printed: Path) -> int:
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info)[1])


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


def test_no_page_of_the_book_ends_in_an_empty_box(pdf):
    empty, looked_at = pages_ending_in_an_empty_box(pdf)
    assert looked_at == page_count(pdf)
    assert empty == []


def test_the_explorer_is_printed_as_a_frame_with_a_sentence_saying_what_the_page_offers(text):
    assert " ".join(PRINT_NOTE.split()) in " ".join(text.split())


CELL = """<div class="cell"><div class="cell_input"><div class="highlight-ipython3"><div class="highlight"><pre>{}</pre>
</div></div></div></div>"""
PAGE = """<html><head><style>
div.cell > div.cell_input {{ display: flex; flex-direction: column; border: 1px solid #ccc; border-left: 4px solid #4a4; background: #f4f4f4; }}
div[class*=highlight-] {{ break-inside: avoid; }}
pre {{ margin: 0; padding: 1rem; font-size: 10pt; }}
</style></head><body><main>
<p style="height: 215mm">A page of prose.</p>{short}
<p style="height: 100mm">More prose.</p>{long}
</main></body></html>"""
"""A page as the theme styles it (its code box keeps whole, as pydata-sphinx-theme's does): prose, then a
short cell at the foot of a page, then a cell longer than a page."""


def printed_cells(folder: Path) -> Path:
    lines = [f"line_{number} = {number}  # a line of code" for number in range(120)]
    page = folder / "cells.html"
    page.write_text(PAGE.format(short=CELL.format("\n".join(lines[:12])), long=CELL.format("\n".join(lines))))
    try:
        printing.print_book(page, folder / "cells.pdf", "Cells", "")
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
    return folder / "cells.pdf"


def test_print_styles_keep_a_short_cell_whole_and_break_a_long_one_without_an_empty_box(tmp_path, monkeypatch):
    empty, _ = pages_ending_in_an_empty_box(printed_cells(tmp_path))
    assert empty == []
    text = subprocess.run(["pdftotext", str(tmp_path / "cells.pdf"), "-"], capture_output=True, text=True).stdout
    short_cell_page = next(page for page in text.split("\f") if "line_0 = 0" in page)
    assert "line_11 = 11" in short_cell_page  # the short cell is whole on one page
    monkeypatch.setattr(printing, "PRINT_STYLE", "@page { size: A4; }")
    empty_without_the_styles, _ = pages_ending_in_an_empty_box(printed_cells(tmp_path))
    assert empty_without_the_styles != []
