"""Claims about the chapters' parameters: declared once with their rule, known names only, sensible values only."""

import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

from nninv_book import parameters
from nninv_book.parameters import ParameterError, check, declarations, declared, parse, resolve, rule, rules

CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
PAGES = [ROOT / "intro.md", *CHAPTERS]


def page(tmp_path: Path, cell: str, name: str = "01_page.md") -> Path:
    path = tmp_path / name
    path.write_text("# A page\n\n```{code-cell} ipython3\n:tags: [parameters]\n\n" + textwrap.dedent(cell) + "```\n")
    return path


def test_every_parameter_a_page_declares_has_a_rule_and_a_sensible_default():
    for chapter in PAGES:
        found = declarations(chapter)
        assert found, chapter.name
        for name, (default, name_rule) in found.items():
            assert name_rule.problem(default) is None, (chapter.name, name)
        check(declared(chapter))


def test_every_number_has_an_upper_bound_and_one_name_has_one_rule_in_every_chapter():
    book_rules = rules(PAGES)  # raises when two pages give one name different rules
    assert book_rules
    for name, name_rule in book_rules.items():
        assert name_rule.kind == "bool" or name_rule.high < float("inf"), name


def test_a_parameter_without_a_rule_is_refused_naming_it(tmp_path):
    bare = page(tmp_path, 'seed: "int [0, 10]" = 0\nsteps = 5\n')
    with pytest.raises(ParameterError, match="parameter steps .*has no rule"):
        declared(bare)
    with pytest.raises(ParameterError, match="steps"):
        resolve("", [bare])


@pytest.mark.parametrize("annotation", ["int", "float [0, 1", "integer [0, 1]", "float [1, 0]", "bool [0, 1]", "int [0, inf]"])
def test_an_annotation_that_is_not_a_rule_is_refused_naming_the_parameter(annotation):
    with pytest.raises(ParameterError, match="parameter steps"):
        rule("steps", annotation)


def test_intervals_include_square_bounds_and_exclude_round_ones():
    assert rule("x", "float (0, 1]").problem(1.0) is None
    assert rule("x", "float (0, 1]").problem(0.0) is not None
    assert rule("x", "float [0, 1)").problem(0.0) is None
    assert rule("x", "float [0, 1)").problem(1.0) is not None
    assert rule("n", "int [1, 3]").problem(3) is None and rule("n", "int [1, 3]").problem(2.0) is not None
    assert rule("f", "bool").problem(False) is None and rule("f", "bool").problem(0) is not None
    assert rule("xs", "list of float [0, 1]").problem([0.0, 1]) is None
    assert rule("xs", "list of float [0, 1]").problem([]) is not None
    assert rule("xs", "list of float [0, 1]").problem([0.5] * 1000) is not None


def test_values_are_read_as_papermill_reads_them_and_lists_as_literals():
    assert parse("-p epochs 20 -p learning_rate 1e-3 -p fail True -r label 7 -p penalties '[0.0, 1]'") == {
        "epochs": 20, "learning_rate": 0.001, "fail": True, "label": "7", "penalties": [0.0, 1],
    }


@pytest.mark.parametrize(
    ("params", "culprit"),
    [
        ("-p batch_size 0", "parameter batch_size must be a whole number"),
        ("-p learning_rate nan", "parameter learning_rate must be a finite number"),
        ("-p learning_rate 1e300", "parameter learning_rate must be a number in"),
        ("-p epochs 1000000000", "parameter epochs must be a whole number"),
        ("-p descent_steps 1000000000", "parameter descent_steps must be a whole number"),
        ("-p n_show 0", "parameter n_show must be a whole number"),
        ("-p n_judge 20000", "parameter n_judge must be a whole number"),
        ("-p epochs 2.5", "parameter epochs must be a whole number"),
        ("-p noise_levels '[0.0, 1e9]'", "parameter noise_levels has an entry"),
        ("-p n_descent 500 -p n_judge 100", "n_descent must not exceed n_judge"),
        ("-p chosen_penalty 5.0", "chosen_penalty must be one of penalties"),
        ("-p epoch 20", "no chapter has a parameter named epoch; the parameters are: .*batch_size, .*epochs,"),
        ("x'; touch FILE; echo '", "PARAMS must be a list of '-p NAME VALUE' pairs"),
        ("-p seed 'unclosed", "PARAMS cannot be read"),
        ("-p epochs", "lacks a value"),
        ("--epochs 3", "is not -p or -r"),
    ],
)
def test_a_bad_name_or_value_is_refused_naming_it(params, culprit):
    with pytest.raises(ParameterError, match=culprit):
        resolve(params, PAGES)


def test_the_bounds_of_a_refused_value_are_told_as_numbers():
    with pytest.raises(ParameterError) as refused:
        resolve("-p epochs 1000000000", PAGES)
    low, high = (float(word.replace(",", "")) for word in refused.value.args[0].split("at least ")[1].split(", got")[0].split(" and at most "))
    assert (low, high) == (1, rules(PAGES)["epochs"].high)


def test_each_chapter_is_given_only_the_parameters_it_declares():
    given = resolve("-p descent_steps 10 -p epochs 2", CHAPTERS)
    for chapter, own in given.items():
        assert set(own) <= set(declared(chapter))
        assert own.get("epochs") == (2 if "epochs" in declared(chapter) else None)
    assert [Path(chapter).name for chapter, own in given.items() if "descent_steps" in own] == ["04_choosing_a_preimage.md"]


def test_a_chapter_checks_its_values_by_the_rules_of_its_own_cell_and_knows_when_they_are_its_defaults():
    chapter = ROOT / "chapters" / "04_choosing_a_preimage.md"
    namespace: dict = {}
    exec(parameters._parameters_cell(chapter), namespace)  # the cell as a kernel runs it, with its annotations
    check(namespace)
    assert parameters.at_defaults() is True
    namespace["descent_steps"] = 10  # as papermill's injected cell reassigns it
    check(namespace)
    assert parameters.at_defaults() is False
    check(namespace, chapter="04_choosing_a_preimage")
    assert parameters.at_defaults() is False
    namespace["descent_steps"] = 10**9
    with pytest.raises(ParameterError, match="parameter descent_steps"):
        check(namespace)
