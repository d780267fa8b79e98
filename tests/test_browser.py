"""Every page of the built book, opened in headless Chromium with the network cut off.

Each page must load without console errors, show every image, typeset its
mathematics with the MathJax served from the site itself, link only to pages
that exist and clip no code at the site's default width. The null-space
explorer is moved by its sliders, offline, and must show the outputs its
chapter computed. A screenshot of every page (and of the explorer after the
move) is kept in ``_build/screenshots``.
The Makefile installs Debian's Chromium when it is missing; where it cannot
(no root), this module is skipped, except under CI, where it must run.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from conftest import executed
from nninv_book.notebooks import glued_values
from nninv_book.pdf import CHROMIUM, PROSE, RAW_MATH, SWITCHES

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"Chromium is required under CI and was not found at {CHROMIUM}; run `make browser`")
    pytest.skip(f"Chromium not found at {CHROMIUM} (install Debian's chromium or set NNINV_CHROMIUM)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


def pages(html: Path) -> list[Path]:
    """Every HTML page of the site, leaving out assets and the redirect that stands in for index.html."""
    return sorted(
        path
        for path in html.rglob("*.html")
        if "_static" not in path.parts and 'http-equiv="Refresh"' not in path.read_text(errors="replace")
    )


CLIPPED_CODE = """() => Array.from(document.querySelectorAll('pre'))
    .filter(pre => pre.scrollWidth > pre.clientWidth)
    .map(pre => pre.innerText.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), ''))"""
"""The longest line of every ``pre`` whose text is wider than the box that shows it."""

CANVAS_GREYS = """root => { const canvas = root.querySelector('canvas');
    const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from(rgba.filter((_, i) => i % 4 === 0)); }"""
"""The explorer's canvas as grey levels 0 to 255 (its red channel)."""


def watched(page) -> dict:
    """What ``page`` will report: its console errors, and the requests for anything but a local file, refused."""
    report = {"console_errors": [], "external_requests": []}
    page.on("console", lambda message: message.type == "error" and report["console_errors"].append(message.text))
    page.on("pageerror", lambda error: report["console_errors"].append(str(error)))

    def only_local(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            report["external_requests"].append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    return report


@pytest.fixture(scope="module")
def html(book) -> Path:
    return book / "html"


@pytest.fixture(scope="module")
def visits(html):
    """Open every page once; keep what each one reported."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=SWITCHES)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for path in pages(html):
            page = context.new_page()
            report = watched(page)
            page.goto(path.as_uri(), wait_until="load")
            if page.evaluate("document.querySelector('.math') !== null"):
                page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
                page.evaluate("MathJax.startup.promise")
            report["math_elements"] = page.evaluate("document.querySelectorAll('.math').length")
            report["typeset_elements"] = page.evaluate("document.querySelectorAll('mjx-container').length")
            report["broken_images"] = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
            )
            report["prose"] = page.evaluate(PROSE)
            report["links"] = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
            report["clipped_code"] = page.evaluate(CLIPPED_CODE)
            report["explorers"] = page.evaluate("document.querySelectorAll('.nullspace-explorer').length")
            relative = path.relative_to(html).with_suffix(".png")
            page.screenshot(path=str(SCREENSHOTS / "_".join(relative.parts)), full_page=True)
            results[path.relative_to(html).as_posix()] = report
            page.close()
        browser.close()
    return results


def test_every_chapter_page_was_opened(visits):
    chapters = [name for name in visits if name.startswith("chapters/")]
    assert len(chapters) == len(list((ROOT / "chapters").glob("*.md")))


def test_pages_log_no_console_errors(visits):
    assert {name: r["console_errors"] for name, r in visits.items() if r["console_errors"]} == {}


def test_pages_request_nothing_from_the_network(visits):
    assert {name: r["external_requests"] for name, r in visits.items() if r["external_requests"]} == {}


def test_every_image_loads(visits):
    assert {name: r["broken_images"] for name, r in visits.items() if r["broken_images"]} == {}


def test_mathematics_is_typeset_and_no_raw_tex_is_left(visits):
    with_math = {name: r for name, r in visits.items() if r["math_elements"]}
    assert "chapters/03_row_space_theorem.html" in with_math
    assert {name: r["typeset_elements"] for name, r in with_math.items() if r["typeset_elements"] == 0} == {}
    assert {name: RAW_MATH.findall(r["prose"]) for name, r in visits.items() if RAW_MATH.search(r["prose"])} == {}


def test_every_local_link_resolves(visits, html):
    missing = {}
    for name, report in visits.items():
        for href in report["links"]:
            target = urlparse(href)
            if target.scheme or target.netloc or not target.path:
                continue
            if not (html / name).parent.joinpath(unquote(target.path)).resolve().exists():
                missing.setdefault(name, []).append(href)
    assert missing == {}


def test_no_code_is_clipped_at_the_default_width(visits):
    assert {name: r["clipped_code"] for name, r in visits.items() if r["clipped_code"]} == {}


@pytest.fixture(scope="module")
def explorer(visits, html, book):
    """The null-space explorer moved by its sliders in an offline browser: what it showed, and its chapter's values."""
    (name,) = [name for name, report in visits.items() if report["explorers"]]
    chapter = glued_values(executed(book, Path(name).stem))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=SWITCHES)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
        page = context.new_page()
        shown = watched(page)
        page.goto((html / name).as_uri(), wait_until="load")
        root = page.locator(".nullspace-explorer")
        sliders = root.locator("input[type=range]")

        def outputs():
            return [float(text) for text in root.locator(".explorer-outputs td.explorer-output").all_inner_texts()]

        def largest_change():
            return float(root.locator(".explorer-max-change").inner_text())

        shown["start"], shown["start_change"] = outputs(), largest_change()
        shown["pixel_change"] = []
        for k in range(sliders.count()):
            root.locator(".explorer-reset").click()
            slider = sliders.nth(k)
            slider.fill(slider.get_attribute("min"))
            low = root.evaluate(CANVAS_GREYS)
            slider.fill(slider.get_attribute("max"))
            high = root.evaluate(CANVAS_GREYS)
            shown["pixel_change"].append(sum(abs(a - b) for a, b in zip(low, high)) / len(low) / 255)
        for k in range(sliders.count()):
            sliders.nth(k).fill(sliders.nth(k).get_attribute("max"))
        shown["moved"], shown["moved_change"] = outputs(), largest_change()
        root.screenshot(path=str(SCREENSHOTS / "explorer.png"))
        page.select_option(".explorer-mode", "row")
        for k in range(sliders.count()):
            sliders.nth(k).fill(sliders.nth(k).get_attribute("max"))
        shown["row_moved"], shown["row_change"] = outputs(), largest_change()
        browser.close()
    return shown, chapter


def largest_difference(shown, computed):
    assert len(shown) == len(computed) == 10
    return max(abs(a - b) for a, b in zip(shown, computed))


def test_explorer_runs_offline_without_console_errors(explorer):
    shown, _ = explorer
    assert shown["console_errors"] == [] and shown["external_requests"] == []


def test_explorer_shows_the_chapters_float64_outputs_at_the_start_and_after_the_move(explorer):
    shown, chapter = explorer
    assert largest_difference(shown["start"], chapter["explorer_start_outputs"]) < 1e-9
    assert largest_difference(shown["moved"], chapter["explorer_moved_outputs"]) < 1e-9


def test_moving_along_the_null_space_leaves_the_outputs_fixed_to_round_off(explorer):
    shown, _ = explorer
    assert shown["start_change"] == 0
    assert shown["moved_change"] < 1e-9
    assert largest_difference(shown["moved"], shown["start"]) < 1e-9


def test_every_slider_visibly_changes_the_image(explorer):
    shown, _ = explorer
    assert len(shown["pixel_change"]) >= 2
    assert min(shown["pixel_change"]) >= 0.05, shown["pixel_change"]


def test_moving_along_the_row_space_moves_the_outputs_as_the_chapter_computed(explorer):
    shown, chapter = explorer
    assert largest_difference(shown["row_moved"], chapter["explorer_row_moved_outputs"]) < 1e-9
    assert shown["row_change"] > 1e-3
