"""Claims about the build itself: nothing half-done is published, failures are told briefly, PARAMS is safe.

Most tests build a tiny book of their own (two one-cell chapters) through the
real Makefile (``SOURCE=``), so that killing, failing and racing builds costs
seconds, not a full book.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow  # every test builds a tiny book through make

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Tiny chapter {number}

```{{code-cell}} ipython3
:tags: [parameters]

seed: "int [0, 1000]" = 0
{parameter}: {rule} = {default}
```

```{{code-cell}} ipython3
import os, time
from myst_nb import glue
from nninv_book import parameters
from nninv_book.claims import claim

parameters.check(globals())
time.sleep(float(os.environ.get("TINY_PAUSE", "0")))
if {parameter} is True:
    raise RuntimeError("the tiny chapter was asked to fail")
glue("answer_{number}", 40 + {number}, display=False)
claim("few_digits_shown", holds=bool({parameter} is True or {parameter} <= 50),
      statement="the tiny chapter shows at most 50 digits")
```

The answer is {{glue:text}}`answer_{number}`.
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A book of two chapters: chapter 1 declares ``fail``, chapter 2 declares ``n_show``."""
    source = tmp_path / "source"
    (source / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "references.bib", "bibliography.md"):
        shutil.copy(ROOT / name, source / name)
    (source / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/01_tiny\n  - file: chapters/02_tiny\n")
    (source / "intro.md").write_text("# A tiny book\n\nTwo chapters.\n")
    (source / "chapters" / "01_tiny.md").write_text(CHAPTER.format(number=1, parameter="fail", rule='"bool"', default="False"))
    (source / "chapters" / "02_tiny.md").write_text(CHAPTER.format(number=2, parameter="n_show", rule='"int [1, 100]"', default="3"))
    return source


def make(source: Path, target: str = "book", params: str = "", pause: float = 0, repository: str = "",
         options: tuple = (), out: Path | None = None, **popen):
    """``make TARGET`` on ``source`` into ``source/../out``; a Popen when ``popen`` is given, else the finished run."""
    out = out or source.parent / "out"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    environment |= {"TINY_PAUSE": str(pause), "NNINV_CACHE_DIR": str(out / "cache")}
    command = ["make", "--no-print-directory", "-C", str(ROOT), *options, target, f"SOURCE={source}", f"OUT={out}",
               f"PARAMS={params}", f"REPOSITORY={repository}"]
    if popen:
        return subprocess.Popen(command, env=environment, text=True, **popen)
    return subprocess.run(command, env=environment, text=True, capture_output=True)


def executed(source: Path, number: int) -> Path:
    return source.parent / "out" / "_build" / "book" / "chapters" / f"0{number}_tiny.ipynb"


def page(source: Path, number: int) -> str:
    return (source.parent / "out" / "_build" / "html" / "chapters" / f"0{number}_tiny.html").read_text()


def test_a_killed_chapter_leaves_no_notebook_and_executes_again(tiny):
    build = make(tiny, pause=60, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tiny.parent / "out" / "_build" / "executing").glob("*.ipynb")):
        time.sleep(0.5)
    time.sleep(2)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    assert not executed(tiny, 1).exists()
    again = make(tiny)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Executing 01_tiny" in again.stdout
    assert "41" in page(tiny, 1) and "42" in page(tiny, 2)
    assert not list((tiny.parent / "out" / "_build" / "executing").iterdir()), "the killed execution's files remain"


def test_a_kernel_that_lost_its_port_to_another_kernel_is_started_once_more(tiny, tmp_path, monkeypatch):
    marker = tmp_path / "first-start"
    monkeypatch.setenv("TINY_MARKER", str(marker))
    chapter = tiny / "chapters" / "01_tiny.md"
    chapter.write_text(chapter.read_text().replace("parameters.check(globals())", (
        "parameters.check(globals())\n"
        "if not os.path.exists(os.environ['TINY_MARKER']):\n"
        "    open(os.environ['TINY_MARKER'], 'w').close()\n"
        "    raise OSError('Address already in use')")))
    result = make(tiny)
    assert result.returncode == 0, result.stdout + result.stderr
    assert marker.exists() and "01_tiny" in result.stdout and "starting it again" in result.stdout
    assert "41" in page(tiny, 1)


def test_a_failing_chapter_is_told_in_a_few_lines_and_publishes_nothing(tiny):
    result = make(tiny, params="-p fail True")
    assert result.returncode != 0
    told = result.stderr
    assert all(part in told for part in ("01_tiny.md", "RuntimeError", "asked to fail", "import os, time"))
    assert "Traceback" not in result.stdout + told and len(told.strip().splitlines()) <= 6
    assert not executed(tiny, 1).exists()
    assert "RuntimeError" in (tiny.parent / "out" / "_build" / "logs" / "01_tiny.ipynb").read_text()


def test_a_sphinx_warning_fails_every_build_until_it_is_mended(tiny):
    assert make(tiny).returncode == 0
    intro = tiny / "intro.md"
    intro.write_text(intro.read_text() + "\nSee {cite:p}`no_such_reference`.\n")
    for _ in range(2):
        failed = make(tiny)
        assert failed.returncode != 0 and "no_such_reference" in failed.stdout + failed.stderr
    intro.write_text("# A tiny book\n\nTwo chapters, mended.\n")
    assert make(tiny).returncode == 0


def test_two_builds_at_once_in_one_checkout_both_publish_a_whole_book(tiny):
    builds = [make(tiny, pause=3, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [build.communicate(timeout=300)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], outputs
    assert "41" in page(tiny, 1) and "42" in page(tiny, 2)


def test_a_parameter_goes_only_to_the_chapters_that_declare_it(tiny):
    result = make(tiny, target="run", params="-p n_show 5")
    assert result.returncode == 0, result.stderr
    assert "unknown parameter" not in (result.stdout + result.stderr).lower()
    given = [json.loads(executed(tiny, number).read_text())["metadata"]["papermill"]["parameters"] for number in (1, 2)]
    assert given == [{}, {"n_show": 5}]


def test_a_claim_that_a_readers_params_break_is_listed_by_the_build_and_boxed_on_its_page(tiny):
    result = make(tiny, params="-p n_show 60")
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if "few_digits_shown" in line]
    assert len(listed) == 1 and "02_tiny" in listed[0], result.stdout
    assert "no longer holds" in page(tiny, 2) and "no longer holds" not in page(tiny, 1)


def test_claims_that_hold_are_not_listed_by_the_build(tiny):
    result = make(tiny, target="run")
    assert result.returncode == 0, result.stderr
    assert "few_digits_shown" not in result.stdout + result.stderr


def test_an_unknown_parameter_is_refused_with_the_valid_names(tiny):
    result = make(tiny, target="run", params="-p epoch 20")
    assert result.returncode != 0
    told = result.stderr
    assert "epoch" in told and all(name in told for name in ("fail", "n_show", "seed"))
    assert not executed(tiny, 1).exists()


def test_a_value_that_makes_no_sense_is_refused_before_any_chapter_runs(tiny):
    result = make(tiny, target="run", params="-p n_show 0")
    assert result.returncode != 0
    assert "n_show" in result.stderr and "at least 1" in result.stderr
    assert "Executing" not in result.stdout


@pytest.mark.parametrize("variable", ["params", "repository"])
@pytest.mark.parametrize("attack", ["x'; touch {planted}; echo '", "x$(shell touch {planted})"])
def test_no_value_of_params_or_repository_reaches_a_shell(tiny, tmp_path, variable, attack):
    planted = tmp_path / "planted"
    value = attack.format(planted=planted)
    result = make(tiny, **{variable: value})
    assert not planted.exists()
    remembered = tiny.parent / "out" / "_build" / ("params" if variable == "params" else "repository")
    assert remembered.read_text() == value + "\n"
    if variable == "params":
        assert result.returncode != 0 and "PARAMS" in result.stderr


def test_a_chapter_depends_on_the_code_it_can_run_and_not_on_the_pdf_or_sphinx_helpers(tiny):
    """make's --what-if runs the build as if the file had just been edited, without touching it."""
    assert make(tiny, target="run").returncode == 0
    for helper in ("src/nninv_book/pdf.py", "src/nninv_book/sphinx_page_fixes.py", "src/nninv_book/locks.py"):
        rebuilt = make(tiny, target="run", options=(f"--what-if={helper}",))
        assert rebuilt.returncode == 0 and "Executing" not in rebuilt.stdout, helper
    rebuilt = make(tiny, target="run", options=("--what-if=src/nninv/inverse.py",))
    assert rebuilt.returncode == 0 and "Executing 01_tiny" in rebuilt.stdout and "Executing 02_tiny" in rebuilt.stdout


def test_after_a_page_changes_one_build_brings_the_html_up_to_date(tiny):
    assert make(tiny).returncode == 0
    (tiny / "bibliography.md").touch()
    rebuilt = make(tiny)
    assert rebuilt.returncode == 0 and "Building the HTML" in rebuilt.stdout
    again = make(tiny)
    assert again.returncode == 0 and "Building the HTML" not in again.stdout and "Executing" not in again.stdout


def seeds(source: Path) -> list:
    return [json.loads(executed(source, number).read_text())["metadata"]["papermill"]["parameters"].get("seed")
            for number in (1, 2)]


def test_two_builds_with_different_params_never_leave_a_mixed_book_that_make_calls_up_to_date(tiny):
    first = make(tiny, target="run", params="-p seed 3", pause=8, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(3)
    second = make(tiny, target="run", params="-p seed 4")
    first.communicate(timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert seeds(tiny) == [4, 4]
    final = make(tiny, target="run", params="-p seed 4")
    assert final.returncode == 0 and "Executing" not in final.stdout
    assert seeds(tiny) == [4, 4]


def test_a_changed_parameter_executes_again_only_the_chapters_that_declare_it(tiny):
    assert make(tiny, target="run").returncode == 0
    changed = make(tiny, target="run", params="-p n_show 4")
    assert changed.returncode == 0
    assert "Executing 02_tiny" in changed.stdout and "Executing 01_tiny" not in changed.stdout


def test_an_out_folder_with_a_space_is_refused_by_name_before_anything_runs(tiny):
    result = make(tiny, target="run", out=tiny.parent / "with space")
    assert result.returncode != 0
    assert "OUT" in result.stderr and "space" in result.stderr
    assert not (tiny.parent / "with space").exists()


@pytest.mark.parametrize("lock", ["html.lock", "parameters.lock"])
def test_a_folder_in_place_of_a_lock_file_is_told_by_the_preflight_before_any_chapter_runs(tiny, lock):
    (tiny.parent / "out" / "_build" / lock).mkdir(parents=True)
    result = make(tiny, target="run")
    assert result.returncode != 0
    assert lock in result.stderr and "folder" in result.stderr
    assert "Executing" not in result.stdout


def test_a_file_in_place_of_the_cache_locks_is_told_once_and_the_build_runs_uncached(tiny):
    cache = tiny.parent / "out" / "cache"
    cache.mkdir(parents=True)
    (cache / "locks").write_text("in the way")
    result = make(tiny, target="run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(str(cache / "locks")) == 1 and "not a folder" in result.stdout


def test_the_longest_chapters_start_first_and_every_page_executes_once(tmp_path):
    # make -n lists the executions in the order make starts them, one at a time
    result = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(ROOT), "run", f"OUT={tmp_path}", "JOBS=1"],
                            env={key: value for key, value in os.environ.items() if not key.startswith("MAKE")},
                            capture_output=True, text=True, check=True)
    started = [Path(source).stem for source in re.findall(r'--output "\$run\.source\.ipynb" (\S+?);', result.stdout)]
    pages = sorted(["intro", *(path.stem for path in (ROOT / "chapters").glob("*.md"))])
    assert sorted(started) == pages
    longest_first = re.search(r"^LONGEST_FIRST := (.*)$", (ROOT / "Makefile").read_text().replace("\\\n", ""), re.M)[1].split()
    assert set(longest_first) <= set(pages), "LONGEST_FIRST names a page that does not exist"
    assert started[: len(longest_first)] == longest_first
    assert started[0] == "09_convolutional_and_relu_networks"
