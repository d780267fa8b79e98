"""Claims about the prose's claims: one that holds shows nothing, one that fails shows a box and is listed, and none fails at the defaults."""

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from nninv_book.claims import ClaimError, claim, claims, failing, warning_markdown

PARAMETERS = 'steps: "int [1, 100]" = 10\n'


def execute(tmp_path, *sources, name="01_claims"):
    """A notebook of a parameters cell, papermill-like overrides, and the given cells, executed and written."""
    cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return notebook, path


def outputs(cell):
    return [output for output in cell.outputs if "scrapbook" not in output.get("metadata", {})]


CHECK = "from nninv_book import parameters\nfrom nninv_book.claims import claim\nparameters.check(globals(), chapter='none_such')"


def test_a_failing_claim_shows_a_warning_box_beside_its_result_and_is_listed(tmp_path):
    notebook, path = execute(tmp_path, "steps = 3", CHECK,
                             "claim('steps_suffice', holds=steps >= 10, statement='Ten steps reach the target')")
    shown = outputs(notebook.cells[-1])
    assert len(shown) == 1 and shown[0]["output_type"] == "display_data"
    markdown = shown[0]["data"]["text/markdown"]
    assert markdown.startswith("```{warning}") and "no longer holds: Ten steps reach the target" in markdown
    assert claims(path) == {"steps_suffice": {"holds": False, "statement": "Ten steps reach the target"}}
    assert failing([path]) == [("01_claims", "steps_suffice", "Ten steps reach the target")]
    report = subprocess.run([sys.executable, "-m", "nninv_book.claims", "report", str(path)], capture_output=True, text=True)
    assert report.returncode == 0 and "01_claims" in report.stdout and "steps_suffice" in report.stdout


def test_a_claim_that_holds_shows_nothing_and_is_recorded(tmp_path):
    notebook, path = execute(tmp_path, "steps = 30", CHECK,
                             "claim('steps_suffice', holds=steps >= 10, statement='Ten steps reach the target')")
    assert outputs(notebook.cells[-1]) == []
    assert claims(path) == {"steps_suffice": {"holds": True}}
    assert failing([path]) == []


def test_at_the_chapters_defaults_a_failing_claim_is_an_error_naming_it(tmp_path):
    page = tmp_path / "02_page.md"
    page.write_text("```{code-cell} ipython3\n:tags: [parameters]\n\n" + PARAMETERS + "```\n")
    check = CHECK.replace("'none_such'", repr(str(page)))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PARAMETERS), nbformat.v4.new_code_cell(check),
                                               nbformat.v4.new_code_cell("claim('steps_suffice', holds=steps > 10, statement='More than ten steps')")])
    with pytest.raises(Exception, match="ClaimError.*steps_suffice"):
        NotebookClient(notebook, timeout=120, kernel_name="python3").execute()


def test_a_claim_is_checked_in_this_process_too():
    with pytest.raises(ClaimError, match="claim tiny_fails"):
        claim("tiny_fails", holds=False, statement="it fails", at_defaults=True)
    with pytest.raises(TypeError, match="claim loose_truth"):
        claim("loose_truth", holds=1, statement="a number is not a verdict")
    with pytest.raises(ValueError, match="name"):
        claim("Not a name", holds=True, statement="names are identifiers")
    assert "At these parameters this no longer holds: it fails" in warning_markdown("it fails")
