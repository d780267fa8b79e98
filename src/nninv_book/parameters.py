"""The chapters' parameters: which names exist, which values make sense, and what each chapter is given.

Each chapter declares its parameters once, in one code cell tagged
``parameters``: a name, its rule as a string annotation, its full-size
default, and a comment for the reader::

    epochs: "int [1, 1000]" = 10          # passes over the training images
    learning_rate: "float (0, 1]" = 0.01
    noise_levels: "list of float [0, 10]" = [0.0, 0.5]
    fail: "bool" = False

The rule is a type, ``int``, ``float``, ``bool``, ``list of int`` or ``list of
float``, and for every type but ``bool`` an interval that bounds it on both
sides, ``[`` or ``]`` for a bound included and ``(`` or ``)`` for one
excluded (a list is non-empty, of at most 100 entries, each in the
interval). Papermill's injected cell reassigns the names without their
annotations, so the rules stay those of the chapter. Conditions between
parameters are the :data:`RELATIONS` below.

``make book PARAMS="-p NAME VALUE ..."`` overrides the defaults; this module
reads ``PARAMS`` (from the environment, never through a shell), and

* refuses a name that no chapter declares, listing the valid names;
* refuses a value that makes no sense (a batch of 0 images, a NaN step size,
  more test digits than MNIST has, a billion epochs), naming the parameter,
  before any chapter runs;
* writes for each chapter a YAML file with the parameters *it* declares, so
  papermill is never handed a name the chapter does not know.

``python -m nninv_book.parameters`` checks ``PARAMS``;
``python -m nninv_book.parameters chapters/NN_name.md`` also prints that
chapter's YAML (``--chapters DIR`` reads the chapters of another folder).
Chapters call :func:`check` on their own values, so a reader running one
interactively gets the same errors, and :func:`at_defaults` then says whether
the chapter runs at the defaults it declares (where every claim must hold,
see :mod:`nninv_book.claims`).
"""

from __future__ import annotations

import ast
import math
import numbers
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "chapters"
PAGES = (ROOT / "intro.md", *sorted(CHAPTERS.glob("*.md")))
"""The book's pages that may declare parameters: the landing page and the chapters."""
MAX_LIST = 100
"""The most entries a list parameter may have."""


class ParameterError(ValueError):
    """A parameter name or value that the book cannot use."""


try:
    from numpy import bool_ as np_bool
except ImportError:  # pragma: no cover - numpy is a dependency of the book
    np_bool = bool

_ANNOTATION = re.compile(
    r"^\s*(?P<type>int|float|bool|list of int|list of float)"
    r"(?:\s*(?P<open>[\[(])\s*(?P<low>[^,\s]+)\s*,\s*(?P<high>[^\])\s]+)\s*(?P<close>[\])]))?\s*$"
)


@dataclass(frozen=True)
class Rule:
    """What a parameter's value must be: its type and, for numbers, the interval it lies in."""

    annotation: str
    kind: str  # "int", "float" or "bool"
    is_list: bool = False
    low: float = -math.inf
    high: float = math.inf
    low_included: bool = True
    high_included: bool = True

    def _interval(self) -> str:
        return f"{'[' if self.low_included else '('}{self.low:g}, {self.high:g}{']' if self.high_included else ')'}"

    def _single(self, value: object) -> str | None:
        if self.kind == "bool":
            return None if isinstance(value, (bool, np_bool)) else "must be True or False"
        if self.kind == "int":
            if isinstance(value, (bool, np_bool)) or not isinstance(value, numbers.Integral) or not self._inside(value):
                low = self.low if self.low_included else self.low + 1
                high = self.high if self.high_included else self.high - 1
                return f"must be a whole number of at least {low:,.0f} and at most {high:,.0f}"
            return None
        if isinstance(value, (bool, np_bool)) or not isinstance(value, numbers.Real):
            return f"must be a finite number in {self._interval()}"
        if not isinstance(value, numbers.Integral) and not math.isfinite(value):  # a whole number is finite, however large
            return f"must be a finite number in {self._interval()}"
        return None if self._inside(value) else f"must be a number in {self._interval()}"

    def _inside(self, value: float) -> bool:
        above = value >= self.low if self.low_included else value > self.low
        below = value <= self.high if self.high_included else value < self.high
        return above and below

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value``, or None when it obeys the rule."""
        if not self.is_list:
            return self._single(value)
        if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_LIST:
            return f"must be a non-empty list of at most {MAX_LIST} entries, for example -p NAME '[0.0, 0.1]'"
        problems = [problem for problem in map(self._single, value) if problem]
        return f"has an entry that {problems[0]}" if problems else None


def rule(name: str, annotation: object) -> Rule:
    """The :class:`Rule` an annotation such as ``"float (0, 1]"`` states, or a clear error naming ``name``."""
    grammar = ('write it as "int [LOW, HIGH]", "float (LOW, HIGH]", "list of float [LOW, HIGH]" or "bool", '
               "with [ ] for a bound included and ( ) for one excluded")
    match = _ANNOTATION.match(annotation) if isinstance(annotation, str) else None
    if not match:
        raise ParameterError(f"parameter {name} has the annotation {annotation!r}, which is not a rule: {grammar}")
    kind = match["type"].removeprefix("list of ")
    if kind == "bool":
        if match["open"] or match["type"] != "bool":
            raise ParameterError(f"parameter {name}: a bool takes no interval and cannot be a list ({annotation!r})")
        return Rule(annotation, "bool")
    if not match["open"]:
        raise ParameterError(f"parameter {name} needs an interval that bounds it on both sides ({annotation!r}): {grammar}")
    try:
        low, high = (ast.literal_eval(match[bound]) for bound in ("low", "high"))
    except (ValueError, SyntaxError):
        low = high = None
    if not all(isinstance(bound, (int, float)) and not isinstance(bound, bool) and math.isfinite(bound) for bound in (low, high)) or low > high:
        raise ParameterError(f"parameter {name} has an interval with bounds that are not two finite numbers, low first ({annotation!r})")
    return Rule(annotation, kind, match["type"].startswith("list"), low, high, match["open"] == "[", match["close"] == "]")


def _parameters_cell(chapter: Path) -> str | None:
    tagged = re.search(r"^:tags: \[(?:[\w-]+, )*parameters(?:, [\w-]+)*\]$", Path(chapter).read_text(), re.MULTILINE)
    return tagged.string[tagged.end():].split("```", 1)[0] if tagged else None


def declarations(chapter: Path) -> dict[str, tuple[object, Rule]]:
    """Per parameter of a chapter's cell tagged ``parameters``, its default and its rule, in the cell's order."""
    cell = _parameters_cell(chapter)
    if cell is None:
        return {}
    found = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name = node.target.id
            annotation = node.annotation.value if isinstance(node.annotation, ast.Constant) else ast.unparse(node.annotation)
            found[name] = (ast.literal_eval(node.value), rule(name, annotation))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            raise ParameterError(
                f"parameter {name} of {Path(chapter).name} has no rule: declare it with one, "
                f'for example {name}: "int [1, 1000]" = {ast.unparse(node.value)}'
            )
    return found


def declared(chapter: Path) -> dict[str, object]:
    """The parameters a chapter declares, with their defaults, from its cell tagged ``parameters``."""
    return {name: default for name, (default, _) in declarations(chapter).items()}


def rules(chapters: Iterable[Path]) -> dict[str, Rule]:
    """Per parameter name, its rule; a name that two chapters declare must have the same rule in both."""
    found: dict[str, tuple[Rule, str]] = {}
    for chapter in chapters:
        for name, (_, chapter_rule) in declarations(chapter).items():
            if name in found and found[name][0] != chapter_rule:
                raise ParameterError(
                    f"parameter {name} has the rule {chapter_rule.annotation!r} in {Path(chapter).name} "
                    f"but {found[name][0].annotation!r} in {found[name][1]}: one name, one rule"
                )
            found.setdefault(name, (chapter_rule, Path(chapter).name))
    return {name: chapter_rule for name, (chapter_rule, _) in found.items()}


RELATIONS: list[tuple[tuple[str, ...], Callable[..., bool], str]] = [
    (("n_descent", "n_judge"), lambda descent, judge: descent <= judge, "n_descent must not exceed n_judge"),
    (("noise_reported_sigma", "noise_levels"), lambda sigma, levels: sigma in levels,
     "noise_reported_sigma must be one of noise_levels"),
    (("chosen_penalty", "penalties"), lambda chosen, penalties: chosen in penalties,
     "chosen_penalty must be one of penalties"),
    (("penalties",), lambda penalties: 0.0 in penalties, "penalties must include 0.0, the unregularised baseline"),
    (("weight_decays",), lambda decays: 0.0 in decays, "weight_decays must include 0.0, the plain training"),
    # Chapter 8
    (("relu_expansions",), lambda expansions: max(expansions) >= 4,
     "relu_expansions must reach 4, a width at which a random ReLU layer recovers its inputs"),
]
"""Conditions between parameters of one chapter, checked when all their names are present."""

_at_defaults: bool | None = None


def _book_rules() -> dict[str, Rule]:
    return rules(PAGES)


def check(values: Mapping[str, object], chapter: str | Path | None = None) -> None:
    """Refuse, naming the parameter, any value that breaks its rule or a relation (names without a rule are ignored).

    A chapter calls ``parameters.check(globals())`` after its parameters cell:
    the rules are the annotations that cell made (``globals()["__annotations__"]``),
    else those the book's pages declare. ``chapter`` (a page's file name
    without ``.md``, or its path) tells which page's defaults these are;
    without it the page is the one that declares exactly these annotated
    names, when there is one. Afterwards :func:`at_defaults` says whether
    every value equals its page's default.
    """
    global _at_defaults
    if not isinstance(values, Mapping):
        raise TypeError(f"parameters.check takes a mapping of names to values, such as globals(), got {type(values).__name__}")
    annotations = values.get("__annotations__") or {}
    if not isinstance(annotations, Mapping):
        raise TypeError(f"__annotations__ must map parameter names to rules, got {type(annotations).__name__}")
    own = {name: rule(name, annotation) for name, annotation in annotations.items() if name in values}
    known = {**_book_rules(), **own} if not own else own
    for name, value in values.items():
        name_rule = known.get(name)
        problem = name_rule.problem(value) if name_rule else None
        if problem:
            raise ParameterError(f"parameter {name} {problem}, got {value!r}")
    for names, holds, message in RELATIONS:  # only between values that obeyed their rules above
        if all(name in values and name in known for name in names) and not holds(*(values[name] for name in names)):
            raise ParameterError(f"{message}, got " + ", ".join(f"{name}={values[name]!r}" for name in names))
    _at_defaults = _defaults_of(values, chapter, set(own))


def _defaults_of(values: Mapping[str, object], chapter: str | Path | None, names: set[str]) -> bool | None:
    if chapter is not None:
        path = Path(chapter)
        if path.suffix != ".md":
            path = next((page for page in PAGES if page.stem == str(chapter)), path.with_suffix(".md"))
        pages = [path]
    else:
        pages = [page for page in PAGES if names and set(declared(page)) == names]
    if len(pages) != 1 or not pages[0].exists():
        return None
    return all(name in values and values[name] == default for name, default in declared(pages[0]).items())


def at_defaults() -> bool | None:
    """Whether the values last given to :func:`check` are their page's defaults (None: unknown, or never checked)."""
    return _at_defaults


def _value(text: str) -> object:
    """A command-line value as papermill's ``-p`` reads it, and lists written as Python literals."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        value = ast.literal_eval(text)
        if isinstance(value, (int, float, list, tuple)) and not isinstance(value, bool):
            return list(value) if isinstance(value, tuple) else value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    listed = _numbers_list(text)
    if listed is not None:
        return listed
    try:
        return float(text)  # also nan and inf, which the rules then refuse by name
    except ValueError:
        return text


def _numbers_list(text: str) -> list | None:
    """A list (or tuple) literal whose entries are numbers, ``nan`` or ``inf``, so the rules name a NaN entry as one."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    entries = []
    for item in node.elts:
        sign = 1.0
        if isinstance(item, ast.UnaryOp) and isinstance(item.op, (ast.USub, ast.UAdd)):
            sign, item = (-1.0 if isinstance(item.op, ast.USub) else 1.0), item.operand
        if isinstance(item, ast.Name) and item.id.lower() in ("nan", "inf", "infinity"):
            entries.append(sign * float(item.id))
        elif isinstance(item, ast.Constant) and isinstance(item.value, (int, float)) and not isinstance(item.value, bool):
            entries.append(sign * item.value if sign < 0 else item.value)
        else:
            return None
    return entries


def parse(params: str) -> dict[str, object]:
    """``-p NAME VALUE`` (or ``--parameters``) and ``-r NAME VALUE`` (a raw string) pairs, in order."""
    if not isinstance(params, str):
        raise TypeError(f"PARAMS must be text such as \"-p epochs 5\", got {type(params).__name__}")
    try:
        words = shlex.split(params)
    except ValueError as error:
        raise ParameterError(f"PARAMS cannot be read ({error}): write it as -p NAME VALUE ...") from None
    values: dict[str, object] = {}
    while words:
        flag = words.pop(0)
        if flag not in ("-p", "--parameters", "-r", "--parameters_raw") or len(words) < 2:
            raise ParameterError(
                f"PARAMS must be a list of '-p NAME VALUE' pairs; {flag!r} "
                + ("is not -p or -r" if flag not in ("-p", "--parameters", "-r", "--parameters_raw") else "lacks a value")
            )
        name, text = words.pop(0), words.pop(0)
        values[name] = text if flag in ("-r", "--parameters_raw") else _value(text)
    return values


def resolve(params: str, chapters: Iterable[Path]) -> dict[Path, dict[str, object]]:
    """Per chapter, the parameters ``params`` gives it; every name must be declared by some chapter."""
    chapters = list(chapters)
    given = parse(params)
    book_rules = rules(chapters)
    defaults = {Path(chapter).resolve(): declared(chapter) for chapter in chapters}
    known = sorted(book_rules)
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ParameterError(f"no chapter has a parameter named {', '.join(name if name.isidentifier() else repr(name) for name in unknown)}; the parameters are: {', '.join(known)}")
    for name, value in given.items():
        problem = book_rules[name].problem(value)
        if problem:
            raise ParameterError(f"parameter {name} {problem}, got {value!r}")
    per_chapter = {}
    for chapter, chapter_defaults in defaults.items():
        own = {name: value for name, value in given.items() if name in chapter_defaults}
        for names, holds, message in RELATIONS:
            merged = chapter_defaults | own
            if all(name in merged for name in names) and not holds(*(merged[name] for name in names)):
                raise ParameterError(f"{message}, got " + ", ".join(f"{name}={merged[name]!r}" for name in names))
        per_chapter[chapter] = own
    return per_chapter


def main(arguments: list[str]) -> int:
    """``python -m nninv_book.parameters --chapters DIR [CHAPTER]``: check ``$PARAMS``; print CHAPTER's YAML."""
    folder = Path(arguments[arguments.index("--chapters") + 1]) if "--chapters" in arguments else CHAPTERS
    chapters = [Path(argument) for argument in arguments if argument.endswith(".md")]
    try:
        per_chapter = resolve(os.environ.get("PARAMS", ""), {*sorted(folder.glob("*.md")), *chapters})
    except ParameterError as error:
        print(f"error: PARAMS: {error}", file=sys.stderr)
        return 2
    for chapter in chapters:
        print(yaml.safe_dump(per_chapter[chapter.resolve()], default_flow_style=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
