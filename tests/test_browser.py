"""Every page of the built book, opened in headless Chromium with the network cut off.

Each page must load without console errors, show every image, typeset its
mathematics with the MathJax served from the site itself, and link only to
pages that exist. A screenshot of every page is kept in ``_build/screenshots``.
The Makefile installs Debian's Chromium when it is missing; where it cannot
(no root), this module is skipped, except under CI, where it must run.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

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
            report = {"console_errors": [], "external_requests": []}
            page.on("console", lambda message, r=report: message.type == "error" and r["console_errors"].append(message.text))
            page.on("pageerror", lambda error, r=report: r["console_errors"].append(str(error)))

            def only_local(route, r=report):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    r["external_requests"].append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
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
