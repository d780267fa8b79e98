"""Two executions of the book, from clean, give identical numbers and pixels."""

from conftest import build_book

from nninv_book.notebooks import execution_differences


def test_a_second_execution_reproduces_every_glued_number_and_figure(book, tmp_path):
    second = build_book(tmp_path, target="run")
    assert execution_differences(book / "book" / "chapters", second / "book" / "chapters") == []
