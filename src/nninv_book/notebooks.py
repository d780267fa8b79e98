"""Reading executed chapters: what they recorded with ``myst_nb.glue``, how two executions differ, why one failed.

``python -m nninv_book.notebooks compare FIRST SECOND`` compares two folders
of executed chapters; ``python -m nninv_book.notebooks explain CHAPTER
NOTEBOOK LOG`` says in a few lines why a chapter's execution failed;
``hide-injected NOTEBOOK`` hides papermill's parameters where the page hides
its own.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RECORD_PREFIX = "application/papermill.record/"


class GluedFigure(str):
    """A glued figure: its base64 PNG text, told apart from glued text of any length."""


def glued_values(notebook: Path) -> dict[str, object]:
    """Every glued name of an executed notebook and its value.

    Numbers, strings and other literals come back as Python values (parsed
    from their ``text/plain`` form); figures come back as their base64 PNG text.
    """
    values: dict[str, object] = {}
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            data = {key.removeprefix(RECORD_PREFIX): value for key, value in output["data"].items()}
            if "image/png" in data:
                values[record["name"]] = GluedFigure(data["image/png"])
            else:
                values[record["name"]] = ast.literal_eval(data["text/plain"])
    return values


def stream_outputs(notebook: Path, name: str) -> list[str]:
    """The text a notebook's cells wrote to one stream (``"stdout"`` or ``"stderr"``)."""
    return [
        "".join(output["text"])
        for cell in json.loads(Path(notebook).read_text())["cells"]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == name
    ]


def _pixels(png_base64: str) -> np.ndarray:
    return plt.imread(io.BytesIO(base64.b64decode(png_base64)), format="png")


WALL_CLOCK = re.compile(r"(_seconds|_speedup|_ratio_at_target|_ratio_at_coarse)$|^fig_time_to_accuracy$")
"""Glued names of wall-clock measurements (times, ratios of times, and the figure drawn against
seconds), which no two runs share and which are not compared."""


def execution_differences(first: Path, second: Path) -> list[str]:
    """Every glued number and figure that differs between two folders of executed chapters.

    Numbers must be equal exactly and figures must have identical pixels,
    except wall-clock times (names matching ``WALL_CLOCK``). An empty list
    means the two executions reproduced each other.
    """
    differences = []
    names, others = (sorted(path.name for path in Path(folder).glob("*.ipynb")) for folder in (first, second))
    if names != others:
        return [f"the folders hold different chapters: {names} against {others}"]
    for name in names:
        a, b = glued_values(Path(first) / name), glued_values(Path(second) / name)
        for key in sorted(set(a) | set(b)):
            if WALL_CLOCK.search(key):
                continue
            if key not in a or key not in b:
                differences.append(f"{name}: '{key}' is glued in only one execution")
            elif isinstance(a[key], GluedFigure):
                pixels_a, pixels_b = _pixels(a[key]), _pixels(b[key])
                if pixels_a.shape != pixels_b.shape or not np.array_equal(pixels_a, pixels_b):
                    differences.append(f"{name}: figure '{key}' has different pixels")
            elif a[key] != b[key]:
                differences.append(f"{name}: '{key}' is {a[key]!r} in one execution and {b[key]!r} in the other")
    return differences


def hide_injected_parameters(notebook: Path) -> None:
    """Give papermill's injected-parameters cell the hiding tags of the cell tagged ``parameters``.

    A page that hides its parameters (the landing page) then hides the values
    papermill injected as well; a chapter that shows them shows both.
    """
    content = json.loads(Path(notebook).read_text())
    tags = [cell.get("metadata", {}).get("tags", []) for cell in content["cells"]]
    hiding = {tag for cell_tags in tags if "parameters" in cell_tags for tag in cell_tags if tag.startswith(("remove-", "hide-"))}
    injected = [cell for cell, cell_tags in zip(content["cells"], tags) if "injected-parameters" in cell_tags]
    if hiding and injected:
        for cell in injected:
            cell["metadata"]["tags"] = sorted(set(cell["metadata"]["tags"]) | hiding)
        Path(notebook).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")


def failure_report(chapter: str, notebook: Path, log: Path) -> str:
    """A few lines for a failed execution: the chapter, the failing cell's first line, the exception, where the rest is.

    ``notebook`` is what papermill wrote (absent when the kernel never ran);
    ``log`` is papermill's own output, whose last lines are shown when the
    notebook holds no error.
    """
    error = None
    if Path(notebook).exists():
        for cell in json.loads(Path(notebook).read_text()).get("cells", []):
            error = next((output for output in cell.get("outputs", []) if output.get("output_type") == "error"), None)
            if error:
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                first_line = next((line for line in source.splitlines() if line.strip() and not line.startswith("#")), "")
                break
    if error:
        lines = [f"error: chapter {chapter} failed: {error['ename']}: {error['evalue']}",
                 f"  in the cell that begins: {first_line.strip()}",
                 f"  the executed notebook with the full traceback: {notebook}"]
    else:
        tail = Path(log).read_text().strip().splitlines()[-8:] if Path(log).exists() else []
        lines = [f"error: chapter {chapter} could not be executed; the end of papermill's log:", *("  " + line for line in tail)]
    return "\n".join(lines + [f"  papermill's log: {log}"])


def main(arguments: list[str]) -> int:
    """``compare FIRST SECOND`` (exit 1 when they differ) or ``explain CHAPTER NOTEBOOK LOG``."""
    if len(arguments) == 4 and arguments[0] == "explain":
        print(failure_report(arguments[1], Path(arguments[2]), Path(arguments[3])))
        return 0
    if len(arguments) == 2 and arguments[0] == "hide-injected":
        hide_injected_parameters(Path(arguments[1]))
        return 0
    if len(arguments) != 3 or arguments[0] != "compare":
        print("usage: python -m nninv_book.notebooks compare FIRST_FOLDER SECOND_FOLDER\n"
              "       python -m nninv_book.notebooks explain CHAPTER NOTEBOOK LOG", file=sys.stderr)
        return 2
    differences = execution_differences(Path(arguments[1]), Path(arguments[2]))
    for line in differences:
        print(line)
    chapters = len(list(Path(arguments[1]).glob("*.ipynb")))
    print(f"{chapters} chapters compared: " + ("every glued number and figure is identical" if not differences
                                            else f"{len(differences)} difference(s)"))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
