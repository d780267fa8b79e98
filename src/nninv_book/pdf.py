"""The whole book as one PDF, printed by headless Chromium from Jupyter Book's single-page HTML.

``python -m nninv_book.pdf CONFIG SINGLEHTML PDF`` opens the single-page build
with the network cut off, waits for MathJax to typeset every formula, adds a
title page and a table of contents, applies print styles (no site chrome, each
chapter on a new page, code wrapped instead of clipped, figures kept whole)
and prints A4 pages numbered in the footer; ``--link PDF HTML_DIR`` copies
the PDF into the HTML site and links it from the landing page.

Chromium is Debian's (``make browser`` installs it), or ``$NNINV_CHROMIUM``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from datetime import date
from pathlib import Path

CHROMIUM = os.environ.get("NNINV_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SWITCHES = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""How the book's pages are opened in Chromium: headless, and reaching nothing but local files."""

PRINT_STYLE = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-header-article, .header-article,
.prev-next-area, .bd-footer-article, .bd-footer-content, footer, .headerlink, #pst-back-to-top,
.skip-link, .search-button, .sidebar-toggle, .bd-search, .toggle-details__summary,
#jb-print-docs-body { display: none !important; }
html, body, .bd-page-width, .bd-main, .bd-content, .bd-article-container, .bd-article {
  max-width: none !important; width: auto !important; margin: 0 !important; padding: 0 !important; }
body { font-size: 10.5pt; }
.toctree-wrapper > section, .print-contents { break-before: page; }
pre, .highlight pre, code { white-space: pre-wrap !important; overflow-wrap: anywhere !important; }
.bd-container__inner, .bd-main, .bd-content, .bd-article-container, div.cell, div.cell_input,
div.cell_output, div[class^="highlight"], .highlight { min-width: 0 !important; max-width: 100% !important; }
div.cell_output, .output { overflow: visible !important; }
figure, img, table, .proof, .theorem, .nullspace-explorer { break-inside: avoid; }
div.cell > div.cell_input, div.cell_output > div.output { break-inside: avoid; }
div.cell_input div[class*="highlight"], div.cell_output div[class*="highlight"], div.cell pre {
  break-inside: auto !important; }
div.cell > div.cell_input, div.cell_output > div.output {
  box-decoration-break: clone; -webkit-box-decoration-break: clone; }
.explorer-reset { display: none !important; }
h1, h2, h3, h4 { break-after: avoid; }
img { max-width: 100% !important; height: auto !important; }
.print-title { height: 240mm; display: flex; flex-direction: column; justify-content: center; text-align: center; }
.print-book-title { font-size: 30pt; font-weight: 600; margin-bottom: 12mm; }
.print-contents ol { font-size: 12pt; line-height: 1.8; }
"""

FRONT_MATTER = """
([title, author, built]) => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const chapters = Array.from(document.querySelectorAll('.toctree-wrapper > section'));
  const heading = (section) => section.querySelector('h1, h2');
  const name = (section) => heading(section).textContent.replace(/[#\\u00b6]$/, '').trim();
  const items = chapters.map(s => `<li><a href="#${s.id}">${name(s)}</a></li>`).join('');
  const front = document.createElement('div');
  front.innerHTML = `<section class="print-title"><div class="print-book-title">${title}</div><p>${author}</p><p>${built}</p></section>
    <section class="print-contents"><h2>Contents</h2><ol style="list-style: none">${items}</ol></section>
    <div style="break-after: page"></div>`;
  article.prepend(front);
  return chapters.length;
}
"""

RAW_MATH = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[")
"""TeX that MathJax left untypeset in prose: ``$...$``, ``\\(`` or ``\\[``."""

PROSE = """() => { const main = document.querySelector('main') || document.body;
                   const copy = main.cloneNode(true);
                   copy.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
                   return copy.innerText; }"""
"""The text of a page without its code and its typeset mathematics."""

FOOTER = '<div style="font-size:8px; width:100%; text-align:center; color:#555"><span class="pageNumber"></span></div>'


def print_book(singlehtml: Path, destination: Path, title: str, author: str) -> int:
    """Print ``singlehtml`` to ``destination`` (written atomically); return the number of chapters."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: run `make browser` (as root) or set NNINV_CHROMIUM")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial.pdf")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=SWITCHES)
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
        page.goto(singlehtml.resolve().as_uri(), wait_until="load")
        if page.evaluate("document.querySelector('.math') !== null"):
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60000)
            page.evaluate("MathJax.startup.promise")
        raw = RAW_MATH.findall(page.evaluate(PROSE))
        if raw:
            raise ValueError(f"{len(raw)} formulas were left untypeset, for example {raw[0]!r}: the PDF is not printed")
        page.add_style_tag(content=PRINT_STYLE)
        chapters = page.evaluate(FRONT_MATTER, [title, author, f"Built on {date.today():%d %B %Y}"])
        page.emulate_media(media="print")
        page.pdf(path=str(partial), format="A4", print_background=True, display_header_footer=True,
                 header_template="<span></span>", footer_template=FOOTER,
                 margin={"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"})
        browser.close()
    os.replace(partial, destination)
    return chapters


def link_from_landing(pdf: Path, html: Path) -> None:
    """Copy ``pdf`` into the site ``html`` and link it at the top of the landing page."""
    from bs4 import BeautifulSoup

    shutil.copyfile(pdf, html / pdf.name)
    landing = html / "intro.html"
    page = BeautifulSoup(landing.read_text(), "html.parser")
    if page.find(id="pdf-link") is None:
        link = BeautifulSoup(
            f'<p id="pdf-link">The whole book as one PDF: <a href="{pdf.name}">{pdf.name}</a>.</p>', "html.parser"
        )
        page.find("article").find("h1").insert_after(link)
        landing.write_text(str(page))


def main(arguments: list[str]) -> int:
    """``CONFIG SINGLEHTML PDF`` prints the book; ``--link PDF HTML_DIR`` puts it on the landing page."""
    if len(arguments) == 3 and arguments[0] == "--link":
        link_from_landing(Path(arguments[1]), Path(arguments[2]))
        print(f"The PDF is built: {Path(arguments[1]).resolve()}, linked from {Path(arguments[2]) / 'intro.html'}")
        return 0
    if len(arguments) != 3:
        print("usage: python -m nninv_book.pdf _config.yml SINGLEHTML PDF\n"
              "       python -m nninv_book.pdf --link PDF HTML_DIR", file=sys.stderr)
        return 2
    import yaml

    config = yaml.safe_load(Path(arguments[0]).read_text())
    singlehtml, pdf = Path(arguments[1]), Path(arguments[2])
    try:
        chapters = print_book(singlehtml, pdf, config["title"], config.get("author", ""))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"  {pdf} written: title page, contents and {chapters} chapters")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
