"""Two executions of the book, from clean, give identical numbers and pixels."""

import pytest
from conftest import build_book

from nninv_book.notebooks import execution_differences


@pytest.mark.chapters
@pytest.mark.xdist_group("reproducibility")  # its own build runs while another process builds the book
def test_a_second_execution_reproduces_every_glued_number_and_figure(request, tmp_path):
    second = build_book(tmp_path, target="run")
    book = request.getfixturevalue("book")
    assert execution_differences(book / "book" / "chapters", second / "book" / "chapters") == []
