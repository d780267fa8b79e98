"""Claims about reading glued results and comparing two executions."""

import base64
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nninv_book.notebooks import GluedFigure, execution_differences, glued_values  # noqa: E402


def png(value: float) -> str:
    figure, axis = plt.subplots(figsize=(1, 1))
    axis.plot([0, 1], [0, value])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return GluedFigure(base64.b64encode(buffer.getvalue()).decode())


def notebook(path, **glued):
    outputs = []
    for name, value in glued.items():
        key = "image/png" if isinstance(value, GluedFigure) else "text/plain"
        text = value if key == "image/png" else repr(value)
        outputs.append({
            "output_type": "display_data",
            "metadata": {"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}},
            "data": {f"application/papermill.record/{key}": text},
        })
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "outputs": outputs}]}))


def test_glued_numbers_come_back_as_python_values(tmp_path):
    notebook(tmp_path / "c.ipynb", accuracy=0.9173, rank=10)
    assert glued_values(tmp_path / "c.ipynb") == {"accuracy": 0.9173, "rank": 10}


def test_identical_executions_have_no_differences(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        notebook(tmp_path / folder / "c.ipynb", accuracy=0.5, fig=png(1.0))
    assert execution_differences(tmp_path / "a", tmp_path / "b") == []


def test_a_changed_number_and_a_changed_figure_are_both_reported(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    notebook(tmp_path / "a" / "c.ipynb", accuracy=0.5, fig=png(1.0))
    notebook(tmp_path / "b" / "c.ipynb", accuracy=0.5000001, fig=png(0.5))
    differences = execution_differences(tmp_path / "a", tmp_path / "b")
    assert len(differences) == 2
    assert "'accuracy' is 0.5 in one execution and 0.5000001" in differences[0]
    assert "figure 'fig' has different pixels" in differences[1]


def test_wall_clock_times_are_not_compared(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    notebook(tmp_path / "a" / "c.ipynb", optimisation_seconds=12.5, closed_form_speedup=3000.0,
             lbfgs_ratio_at_target="13", adam_ratio_at_coarse="360")
    notebook(tmp_path / "b" / "c.ipynb", optimisation_seconds=13.1, closed_form_speedup=3100.0,
             lbfgs_ratio_at_target="6.1", adam_ratio_at_coarse="410")
    assert execution_differences(tmp_path / "a", tmp_path / "b") == []


def test_injected_parameters_are_hidden_where_the_page_hides_its_own(tmp_path):
    from nninv_book.notebooks import hide_injected_parameters

    def notebook(tags):
        cells = [{"cell_type": "code", "metadata": {"tags": tags}, "source": "seed = 0", "outputs": []},
                 {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "seed = 1", "outputs": []}]
        path = tmp_path / f"{len(tags)}.ipynb"
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        hide_injected_parameters(path)
        return json.loads(path.read_text())["cells"][1]["metadata"]["tags"]

    assert notebook(["parameters", "remove-cell"]) == ["injected-parameters", "remove-cell"]
    assert notebook(["parameters"]) == ["injected-parameters"]


def test_long_glued_text_is_compared_as_text_not_as_a_figure(tmp_path):
    sentence = "a generated sentence " * 20
    for folder, value in (("first", sentence), ("second", sentence + "changed")):
        (tmp_path / folder).mkdir()
        notebook(tmp_path / folder / "chapter.ipynb", wording=value)
    assert execution_differences(tmp_path / "first", tmp_path / "second") == [
        f"chapter.ipynb: 'wording' is {sentence!r} in one execution and {sentence + 'changed'!r} in the other"
    ]
