"""Claims about the two parts under src/: the small inversion library stands apart from the book's code."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_library_loads_no_tensorflow_keras_matplotlib_or_book_code():
    probe = (
        "import sys, nninv, nninv.activations, nninv.checks, nninv.inverse, nninv.prior, nninv.sequential, nninv.reader, "
        "nninv.chain, nninv.verify, nninv.deep, nninv.relu, nninv.box, nninv.conditioning, "
        "nninv.subspaces; print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib', 'nninv_book', 'sklearn', "
        "'joblib') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_no_library_module_imports_the_book_code():
    for source in (ROOT / "src" / "nninv").glob("*.py"):
        tree = ast.parse(source.read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in imported if name.startswith("nninv_book")], source.name


def test_chapters_import_the_library_and_the_book_code_by_their_own_names():
    for chapter in (ROOT / "chapters").glob("*.md"):
        text = chapter.read_text()
        assert "import nninv_book" in text and "\nimport nninv\n" in text, chapter.name
