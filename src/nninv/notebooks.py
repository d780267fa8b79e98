"""Reading what an executed chapter recorded with ``myst_nb.glue``."""

from __future__ import annotations

import ast
import json
from pathlib import Path

RECORD_PREFIX = "application/papermill.record/"


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
                values[record["name"]] = data["image/png"]
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
