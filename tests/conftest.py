"""The book built once per test session, with small parameters, through the Makefile."""

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests explore new examples on every run, except under CI (CI=true), where they use
# fixed ones so that its verdict is reproducible.
settings.register_profile("book", max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("book")

ROOT = Path(__file__).resolve().parents[1]
# A reader's fork, as the address the Binder and header buttons are built for.
REPOSITORY = "https://github.com/reader/nninv"
SMALL = "-p epochs 1 -p n_judge 300 -p n_descent 20 -p descent_steps 200 -p sweep_epochs 1 -p deep_epochs 1 -p decoder_epochs 1 -p autoencoder_epochs 1 -p clusters_per_class 2 -p cnn_epochs 1 -p relu_epochs 1 -p n_tune 10 -p mv_steps 100 -p invertible_epochs 1 -p invertible_hidden 64 -p n_metamers 300"


def build_book(out: Path, target: str = "book") -> Path:
    """``make <target> OUT=out PARAMS=SMALL REPOSITORY=…``; the executed chapters and the HTML land in ``out/_build``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), target, f"OUT={out}", f"NNINV_CACHE_DIR={out}/cache", f"PARAMS={SMALL}", f"REPOSITORY={REPOSITORY}"],
        capture_output=True, text=True, env=environment,
    )
    if result.returncode != 0:
        pytest.fail(f"make {target} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}", pytrace=False)
    return out / "_build"


CHAPTER_FIXTURES = {"book"}
"""Fixtures that execute the book: a test that uses one, directly or through another fixture, is marked ``chapters``."""


def pytest_collection_modifyitems(items):
    for item in items:
        if CHAPTER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.chapters)


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Path:
    return build_book(tmp_path_factory.mktemp("book"))


def executed(book: Path, chapter: str) -> Path:
    """The executed notebook of ``chapter`` (its file name without extension) in a built book."""
    return book / "book" / "chapters" / f"{chapter}.ipynb"
