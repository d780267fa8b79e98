"""Claims about the pinned environment: one set of exact versions, installed as pinned."""

import re
import sys
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s;#]+)\s*$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = (PIN.match(line) for line in path.read_text().splitlines())
    return {canonical(match[1]): match[2] for match in found if match}


def test_environment_yml_pins_exactly_what_constraints_txt_pins():
    constraints = pins(ROOT / "constraints.txt")
    assert len(constraints) > 50
    assert pins(ROOT / "environment.yml") == constraints


def test_every_pinned_package_is_installed_at_its_pinned_version():
    constraints = pins(ROOT / "constraints.txt")
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {name: (version, installed.get(name)) for name, version in constraints.items() if installed.get(name) != version}
    assert wrong == {}


def test_every_direct_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    needed = {canonical(r.name) for r in requirements if r.marker is None or r.marker.evaluate()}
    assert needed - set(pins(ROOT / "constraints.txt")) == set()


def test_the_book_runs_on_python_3_11():
    assert sys.version_info[:2] == (3, 11)
