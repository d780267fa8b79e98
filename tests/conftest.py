"""The book built once per test session, with small parameters, through the Makefile.

``make test`` runs the tests on two processes (pytest-xdist, ``--dist
loadgroup``): each test file is one group, so that its fixtures are made
once (the tests of :data:`SPREAD`, which share none, are a group each), and
every test that reads the built book is in the group ``book``. The
book itself is built once for all processes (the first to ask builds it while
holding a lock, the others wait for it and read the same folder).
"""

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

from nninv_book.locks import exclusive

# Property tests explore new examples on every run, except under CI (CI=true), where they use
# fixed ones so that its verdict is reproducible.
settings.register_profile("book", max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("book")

ROOT = Path(__file__).resolve().parents[1]
# A reader's fork, as the address the Binder and header buttons are built for.
REPOSITORY = "https://github.com/reader/nninv"
SMALL = "-p epochs 1 -p n_judge 60 -p judge_cnn_epochs 1 -p n_descent 20 -p descent_steps 200 -p sweep_epochs 1 -p deep_epochs 1 -p decoder_epochs 1 -p autoencoder_epochs 1 -p clusters_per_class 2 -p cnn_epochs 1 -p relu_epochs 1 -p n_tune 10 -p mv_steps 100 -p invertible_epochs 1 -p invertible_hidden 64 -p n_metamers 300"


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


STARTED_FIRST = {"reproducibility": 0, "book": 1}
"""The groups of tests that build a book, in the order they start."""

SPREAD = {"test_build"}
"""Files whose tests share no fixture and each run make for seconds to a minute: each test is a group of its own,
so that they spread over the processes instead of queueing on one."""

CHAPTER_FIXTURES = {"book"}
"""Fixtures that execute the book: a test that uses one, directly or through another fixture, is marked ``chapters``."""


def pytest_collection_modifyitems(items):
    for item in items:
        reads_the_book = bool(CHAPTER_FIXTURES & set(getattr(item, "fixturenames", ())))
        if reads_the_book:
            item.add_marker(pytest.mark.chapters)
        if not any(item.iter_markers("xdist_group")):
            group = item.nodeid if item.path.stem in SPREAD else item.path.stem
            item.add_marker(pytest.mark.xdist_group("book" if reads_the_book else group))
    # The two book builds first, so that they run side by side (make test keeps this order: --no-loadscope-reorder).
    items.sort(key=lambda item: STARTED_FIRST.get(item.get_closest_marker("xdist_group").args[0], len(STARTED_FIRST)))


@pytest.fixture(scope="session")
def book(tmp_path_factory, worker_id) -> Path:
    """The book at small parameters, built by the first process that asks for it and shared by all."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # every xdist worker has its own folder below one for the whole run
        shared = shared.parent
    built = shared / "book.built"
    with exclusive(shared / "book.lock"):
        if not built.exists():
            build_book(shared / "book")
            built.touch()
    return shared / "book" / "_build"


def executed(book: Path, chapter: str) -> Path:
    """The executed notebook of ``chapter`` (its file name without extension) in a built book."""
    return book / "book" / "chapters" / f"{chapter}.ipynb"
