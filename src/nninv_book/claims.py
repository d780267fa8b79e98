"""Claims: the sentences of a chapter that depend on a result, checked in code right after that result.

The prose states the sentence in Markdown; the hidden cell beside the result
names it and checks it::

    claim("descent_misses_target", holds=bool(worst_error > descent_tol),
          statement="Gradient descent misses its target within its step budget")

A claim that holds shows nothing; it is glued (``claim_<name>``, True or
False), so every execution records every claim and
:mod:`nninv_book.notebooks` compares them like any other result. A claim that
fails under a reader's ``PARAMS`` shows a warning box on the page, there
("At these parameters this no longer holds: ..."), and
``python -m nninv_book.claims report NOTEBOOK...`` lists it for the build's
output. At the chapter's own defaults (see
:func:`nninv_book.parameters.at_defaults`) a failing claim is an error that
names it: the book, built at its defaults, states only what its results show.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from IPython.display import display
from myst_nb import glue

from nninv_book import parameters

PREFIX = "claim_"
"""Glued names of claims start with this."""
METADATA = "nninv_claim"
"""The key, in a failing claim's output metadata, of its name and statement."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ClaimError(AssertionError):
    """A claim of the prose that the chapter's results contradict at the chapter's own defaults."""


def warning_markdown(statement: str) -> str:
    """The MyST warning box that a failing claim shows on its page."""
    return f"```{{warning}}\nAt these parameters this no longer holds: {statement}\n```\n"


def claim(name: str, holds: bool, statement: str, *, at_defaults: bool | None = None) -> None:
    """Check one named claim of the prose (nothing is returned, so a cell that ends with it prints nothing).

    Parameters
    ----------
    name
        The claim's name, lowercase with underscores (it is glued as ``claim_<name>``).
    holds
        Whether the results bear the claim out.
    statement
        The claim in a few words, as the warning box and the build's output say it.
    at_defaults
        Whether the chapter runs at its defaults; by default what
        :func:`nninv_book.parameters.at_defaults` says after the chapter's
        ``parameters.check(globals())`` (unknown counts as not at the defaults).

    Raises
    ------
    ClaimError
        When the claim fails at the chapter's defaults.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"a claim's name is lowercase words joined by underscores, got {name!r}")
    if not isinstance(holds, bool):
        kind = type(holds).__name__ if type(holds).__module__ == "builtins" else f"{type(holds).__module__}.{type(holds).__name__}"
        raise TypeError(f"claim {name}: holds must be a Python bool (wrap the comparison in bool(...)), got {kind}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"claim {name} needs a statement")
    at_defaults = parameters.at_defaults() if at_defaults is None else at_defaults
    if not holds and at_defaults:
        raise ClaimError(f"claim {name} fails at the chapter's defaults: {statement}")
    glue(PREFIX + name, holds, display=False)
    if not holds:
        display(
            {"text/markdown": warning_markdown(statement), "text/plain": f"At these parameters this no longer holds: {statement}"},
            raw=True, metadata={METADATA: {"name": name, "statement": statement}},
        )


def claims(notebook: Path) -> dict[str, dict[str, object]]:
    """Every claim an executed notebook checked: per name, whether it holds and (when it fails) its statement."""
    try:
        return _claims(json.loads(Path(notebook).read_text()))
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # JSON that is not an executed notebook's
        raise ValueError(f"{notebook} is not an executed notebook whose claims can be read ({type(error).__name__}: {error})") from None


def _claims(content) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for cell in content["cells"]:
        for output in cell.get("outputs", []):
            metadata = output.get("metadata", {})
            glued = metadata.get("scrapbook", {}).get("name", "")
            if glued.startswith(PREFIX):
                text = next((value for key, value in output.get("data", {}).items() if key.endswith("text/plain")), "")
                found.setdefault(glued.removeprefix(PREFIX), {})["holds"] = "".join(text).strip() == "True"
            if METADATA in metadata:
                entry = metadata[METADATA]
                found.setdefault(entry["name"], {})["statement"] = entry["statement"]
    return found


def failing(notebooks: list[Path]) -> list[tuple[str, str, str]]:
    """(chapter, claim, statement) for every failing claim of the given executed notebooks."""
    return [
        (Path(notebook).stem, name, str(entry.get("statement", "")))
        for notebook in notebooks
        for name, entry in claims(notebook).items()
        if entry.get("holds") is False
    ]


def main(arguments: list[str]) -> int:
    """``report NOTEBOOK...``: print each failing claim, one a line (exit 0: failing claims are not errors here)."""
    if not arguments or arguments[0] != "report":
        print("usage: python -m nninv_book.claims report NOTEBOOK...", file=sys.stderr)
        return 2
    notebooks = [Path(argument) for argument in arguments[1:] if Path(argument).exists()]
    try:
        failures = failing(notebooks)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for chapter, name, statement in failures:
        print(f"{chapter}: claim {name} no longer holds at these parameters: {statement}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
