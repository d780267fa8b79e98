"""Claims about the chapters' parameters: known names only, sensible values only, each chapter given its own."""

from pathlib import Path

import pytest
from conftest import ROOT

from nninv_book.parameters import RULES, ParameterError, check, declared, parse, resolve

CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


def test_every_parameter_a_chapter_declares_has_a_rule_and_a_sensible_default():
    for chapter in CHAPTERS:
        defaults = declared(chapter)
        assert defaults, chapter.name
        assert set(defaults) <= set(RULES), chapter.name
        check(defaults)


def test_values_are_read_as_papermill_reads_them_and_lists_as_literals():
    assert parse("-p epochs 20 -p learning_rate 1e-3 -p fail True -r label 7 -p penalties '[0.0, 1]'") == {
        "epochs": 20, "learning_rate": 0.001, "fail": True, "label": "7", "penalties": [0.0, 1],
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("-p batch_size 0", "parameter batch_size must be a whole number of at least 1"),
        ("-p learning_rate nan", "parameter learning_rate must be a finite number"),
        ("-p n_show 0", "parameter n_show must be a whole number of at least 1"),
        ("-p n_judge 20000", "parameter n_judge must be a whole number of at least 1 and at most 10,000"),
        ("-p epochs 2.5", "parameter epochs must be a whole number"),
        ("-p n_descent 500 -p n_judge 100", "n_descent must not exceed n_judge"),
        ("-p chosen_penalty 5.0", "chosen_penalty must be one of penalties"),
        ("-p epoch 20", "no chapter has a parameter named epoch; the parameters are: .*batch_size, .*epochs,"),
        ("x'; touch FILE; echo '", "PARAMS must be a list of '-p NAME VALUE' pairs"),
        ("-p seed 'unclosed", "PARAMS cannot be read"),
        ("-p epochs", "lacks a value"),
        ("--epochs 3", "is not -p or -r"),
    ],
)
def test_a_bad_name_or_value_is_refused_naming_it(params, message):
    with pytest.raises(ParameterError, match=message):
        resolve(params, CHAPTERS)


def test_each_chapter_is_given_only_the_parameters_it_declares():
    given = resolve("-p descent_steps 10 -p epochs 2", CHAPTERS)
    for chapter, own in given.items():
        assert set(own) <= set(declared(chapter))
        assert own.get("epochs") == (2 if "epochs" in declared(chapter) else None)
    assert [Path(chapter).name for chapter, own in given.items() if "descent_steps" in own] == ["04_choosing_a_preimage.md"]
