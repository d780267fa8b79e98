"""The chapters' parameters: which names exist, which values make sense, and what each chapter is given.

Each chapter declares its parameters, with their full-size defaults, in one
code cell tagged ``parameters``. ``make book PARAMS="-p NAME VALUE ..."``
overrides them; this module reads ``PARAMS`` (from the environment, never
through a shell), and

* refuses a name that no chapter declares, listing the valid names;
* refuses a value that makes no sense (a batch of 0 images, a NaN step size,
  more test digits than MNIST has), naming the parameter, before any chapter runs;
* writes for each chapter a YAML file with the parameters *it* declares, so
  papermill is never handed a name the chapter does not know.

``python -m nninv_book.parameters`` checks ``PARAMS``;
``python -m nninv_book.parameters chapters/NN_name.md`` also prints that
chapter's YAML (``--chapters DIR`` reads the chapters of another folder). Chapters call :func:`check` on their own values, so a reader
running one interactively gets the same errors.
"""

from __future__ import annotations

import ast
import math
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"
N_TRAIN, N_TEST = 60000, 10000  # MNIST's training and test images


class ParameterError(ValueError):
    """A parameter name or value that the book cannot use."""


def _whole(low: int, high: int | None = None) -> Callable[[object], str | None]:
    def rule(value):
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            upper = f" and at most {high:,}" if high is not None else ""
            return f"must be a whole number of at least {low}{upper}"
        return None

    return rule


def _number(low: float, *, open_low: bool = False, high: float | None = None) -> Callable[[object], str | None]:
    def rule(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "must be a finite number"
        if value < low or (open_low and value == low) or (high is not None and value >= high):
            bounds = f"{'>' if open_low else '>='} {low:g}" + (f" and < {high:g}" if high is not None else "")
            return f"must be {bounds}"
        return None

    return rule


def _list_of(rule: Callable[[object], str | None]) -> Callable[[object], str | None]:
    def check_list(value):
        if not isinstance(value, (list, tuple)) or not value:
            return "must be a non-empty list, for example -p NAME '[0.0, 0.1]'"
        problems = [problem for problem in map(rule, value) if problem]
        return f"has an entry that {problems[0]}" if problems else None

    return check_list


RULES: dict[str, Callable[[object], str | None]] = {
    "seed": _whole(0, 2**32 - 1),  # numpy's and TensorFlow's seeds
    "epochs": _whole(1),
    "sweep_epochs": _whole(1),
    "deep_epochs": _whole(1),
    "batch_size": _whole(1, N_TRAIN),
    "learning_rate": _number(0, open_low=True),
    "sgd_learning_rate": _number(0, open_low=True),
    "deep_learning_rate": _number(0, open_low=True),
    "n_show": _whole(1, N_TEST),
    "n_noisy": _whole(1, N_TRAIN),
    "n_in_span": _whole(1),
    "n_judge": _whole(1, N_TEST),
    "n_descent": _whole(1, N_TEST),
    "judge_k": _whole(1, 1000),
    "judge_reference_size": _whole(1000, N_TRAIN - 1000),
    "descent_steps": _whole(1),
    "descent_tol": _number(0, open_low=True, high=1),
    "n_curve": _whole(1, N_TEST),
    "tv_steps": _whole(1),
    "tv_weight": _number(0),
    "n_samples": _whole(1, 100),
    "clip_eps": _number(0, open_low=True, high=0.5),
    "noise_levels": _list_of(_number(0)),
    "noise_reported_sigma": _number(0),
    "weight_decays": _list_of(_number(0)),
    "penalties": _list_of(_number(0)),
    "chosen_penalty": _number(0),
    "leaky_slope": _number(0, open_low=True, high=1),
    "inversion_score": _number(0, open_low=True, high=1),
    # Chapter 6
    "decoder_epochs": _whole(1),
    "autoencoder_epochs": _whole(1),
    "clusters_per_class": _whole(1, 100),
    # Chapter 7
    "relu_inputs": _whole(2, 200),
    "relu_expansions": _list_of(_number(0, open_low=True, high=100)),
    "relu_trials": _whole(1, 1000),
}
"""Per parameter name, a rule returning what is wrong with a value, or None."""

RELATIONS: list[tuple[tuple[str, ...], Callable[..., bool], str]] = [
    (("n_descent", "n_judge"), lambda descent, judge: descent <= judge, "n_descent must not exceed n_judge"),
    (("noise_reported_sigma", "noise_levels"), lambda sigma, levels: sigma in levels,
     "noise_reported_sigma must be one of noise_levels"),
    (("chosen_penalty", "penalties"), lambda chosen, penalties: chosen in penalties,
     "chosen_penalty must be one of penalties"),
    (("penalties",), lambda penalties: 0.0 in penalties, "penalties must include 0.0, the unregularised baseline"),
    (("weight_decays",), lambda decays: 0.0 in decays, "weight_decays must include 0.0, the plain training"),
    # Chapter 7
    (("relu_expansions",), lambda expansions: max(expansions) >= 4,
     "relu_expansions must reach 4, a width at which a random ReLU layer recovers its inputs"),
]
"""Conditions between parameters of one chapter, checked when all their names are present."""


def declared(chapter: Path) -> dict[str, object]:
    """The parameters a chapter declares, with their defaults, from its cell tagged ``parameters``."""
    tagged = re.search(r"^:tags: \[(?:[\w-]+, )*parameters(?:, [\w-]+)*\]$", Path(chapter).read_text(), re.MULTILINE)
    if not tagged:
        return {}
    cell = tagged.string[tagged.end():].split("```", 1)[0]
    values = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def _value(text: str) -> object:
    """A command-line value as papermill's ``-p`` reads it, and lists written as Python literals."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        value = ast.literal_eval(text)
        if isinstance(value, (int, float, list, tuple)) and not isinstance(value, bool):
            return list(value) if isinstance(value, tuple) else value
    except (ValueError, SyntaxError):
        pass
    try:
        return float(text)  # also nan and inf, which the rules then refuse by name
    except ValueError:
        return text


def parse(params: str) -> dict[str, object]:
    """``-p NAME VALUE`` (or ``--parameters``) and ``-r NAME VALUE`` (a raw string) pairs, in order."""
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


def check(values: dict[str, object]) -> None:
    """Refuse, naming the parameter, any value of a known name that makes no sense (unknown names are ignored)."""
    for name, value in values.items():
        rule = RULES.get(name)
        problem = rule(value) if rule else None
        if problem:
            raise ParameterError(f"parameter {name} {problem}, got {value!r}")
    for names, holds, message in RELATIONS:
        if all(name in values for name in names) and not holds(*(values[name] for name in names)):
            raise ParameterError(f"{message}, got " + ", ".join(f"{name}={values[name]!r}" for name in names))


def resolve(params: str, chapters: Iterable[Path]) -> dict[Path, dict[str, object]]:
    """Per chapter, the parameters ``params`` gives it; every name must be declared by some chapter."""
    given = parse(params)
    defaults = {Path(chapter).resolve(): declared(chapter) for chapter in chapters}
    known = sorted(set().union(*defaults.values()))
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ParameterError(f"no chapter has a parameter named {', '.join(unknown)}; the parameters are: {', '.join(known)}")
    per_chapter = {}
    for chapter, chapter_defaults in defaults.items():
        own = {name: value for name, value in given.items() if name in chapter_defaults}
        check(chapter_defaults | own)
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
