"""The book as published: Binder launch buttons and header links that point at its
repository, and the notebooks those buttons open.

The repository's address is given at build time (tools/book_config.py); the
``book`` fixture builds for ``conftest.REPOSITORY``.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from book_config import repository_url, staged_config
from conftest import REPOSITORY, ROOT
from jupyter_book.config import yaml_to_sphinx

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
LINK = re.compile(r'href="(https://[^"]+)"')
BINDER = REPOSITORY.replace("https://github.com/", "https://mybinder.org/v2/gh/") + "/main?urlpath=lab/tree/"


def theme_options(config: dict) -> dict:
    """The theme options Jupyter Book makes of a configuration (it raises on one it refuses)."""
    sphinx_config, _, _ = yaml_to_sphinx(config)
    return sphinx_config["html_theme_options"]


def chapter_pages(book: Path) -> list[Path]:
    return sorted((book / "html" / "chapters").glob("*.html"))


@pytest.mark.parametrize(
    "remote",
    [
        "https://github.com/reader/nninv",
        "https://github.com/reader/nninv.git",
        "https://github.com/reader/nninv/",
        "git@github.com:reader/nninv.git",
        "ssh://git@github.com/reader/nninv.git",
    ],
)
def test_every_spelling_of_a_github_remote_gives_one_address(remote):
    assert repository_url(remote) == "https://github.com/reader/nninv"


@pytest.mark.parametrize(
    "remote", ["", "/srv/git/nninv", "file:///srv/git/nninv.git", "https://example.org/reader/nninv", "https://github.com/reader"]
)
def test_a_remote_binder_cannot_launch_from_gives_no_address(remote):
    assert repository_url(remote) is None


def test_the_configuration_needs_the_address_and_without_one_leaves_the_buttons_out():
    with pytest.raises(ValueError, match="repository URL"):
        theme_options(CONFIG)
    theme = theme_options(staged_config(CONFIG, None))
    assert "launch_buttons" not in theme
    assert theme["use_repository_button"] is False and theme["use_issues_button"] is False


def test_with_an_address_the_configuration_launches_binder_from_that_repository():
    theme = theme_options(staged_config(CONFIG, REPOSITORY))
    assert theme["repository_url"] == REPOSITORY and theme["repository_branch"] == "main"
    assert theme["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert theme["use_repository_button"] is True and theme["use_issues_button"] is True


def test_every_chapter_page_has_a_binder_button_and_the_repository_and_issue_links(book):
    pages = chapter_pages(book)
    assert len(pages) == len(list((ROOT / "chapters").glob("*.md")))
    for page in pages:
        links = set(LINK.findall(page.read_text()))
        assert f"{BINDER}chapters/{page.stem}.ipynb" in links, page.name
        assert REPOSITORY in links, page.name
        assert any(link.startswith(f"{REPOSITORY}/issues/new") for link in links), page.name


def test_binder_post_build_writes_every_notebook_the_launch_buttons_open(book, tmp_path):
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters")
    shutil.copy(ROOT / "postBuild", tmp_path)
    shutil.copy(ROOT / "intro.md", tmp_path)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    subprocess.run(["bash", "postBuild"], cwd=tmp_path, env={**os.environ, "PATH": path}, check=True, capture_output=True)
    launched = [
        link.removeprefix(BINDER)
        for page in [book / "html" / "intro.html", *chapter_pages(book)]
        for link in LINK.findall(page.read_text())
        if link.startswith(BINDER)
    ]
    assert "intro.ipynb" in launched and len(launched) == len(chapter_pages(book)) + 1
    for notebook in launched:
        cells = nbformat.read(tmp_path / notebook, as_version=4).cells
        assert any(cell.cell_type == "code" for cell in cells), notebook
