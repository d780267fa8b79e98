"""Every chapter executes with small parameters, records what its prose claims, and the book builds with -W.

The ``book`` fixture (conftest.py) runs the Makefile itself, so these tests
exercise exactly what a reader's ``make book`` runs.
"""

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT, executed

from nninv_book.notebooks import stream_outputs


def toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [Path(entry).name for entry in entries if entry.startswith("chapters/")]


def test_chapters_are_numbered_in_the_order_the_prose_counts_them():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    (numbered,) = [part for part in toc["parts"] if part.get("numbered")]
    files = [Path(entry["file"]).name for entry in numbered["chapters"]]
    assert files == sorted(path.stem for path in (ROOT / "chapters").glob("*.md"))
    assert [int(name[:2]) for name in files] == list(range(1, len(files) + 1))


def test_every_chapter_the_prose_mentions_exists():
    count = len(toc_chapters())
    for chapter in (ROOT / "chapters").glob("*.md"):
        mentioned = {int(number) for number in re.findall(r"Chapter (\d+)", chapter.read_text())}
        assert mentioned <= set(range(1, count + 1)), chapter.name


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


E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e[+-]?\d+\b")


@pytest.mark.parametrize("page", ["intro", *(f"chapters/{chapter}" for chapter in toc_chapters())])
def test_numbers_on_a_page_are_written_for_readers_never_in_e_notation(book, page):
    article = BeautifulSoup((book / "html" / f"{page}.html").read_text(), "html.parser").find("article")
    for code in article.select("div.cell_input, pre, code, script, style"):
        code.decompose()
    assert E_NOTATION.findall(article.get_text(" ")) == []


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
