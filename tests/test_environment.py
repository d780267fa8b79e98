"""Claims about the pinned environment: one set of exact versions, installed as pinned."""

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

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


SUPPORTED = ("3.11", "3.12", "3.13")
LINUX_X86_64 = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def test_the_project_accepts_exactly_the_supported_pythons_and_runs_on_one():
    accepted = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert [version for version in ("3.10", *SUPPORTED, "3.14") if f"{version}.0" in accepted] == list(SUPPORTED)
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in SUPPORTED
    assert "SUPPORTED_PYTHONS := " + " ".join(reversed(SUPPORTED)) in (ROOT / "Makefile").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED)
def test_every_pin_has_a_wheel_for_each_supported_python(version, tmp_path):
    """pip resolves every pin of constraints.txt as a Linux x86-64 wheel for that Python (a dry run)."""
    platforms = [option for platform in LINUX_X86_64 for option in ("--platform", platform)]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--no-deps",
         "--only-binary=:all:", "--python-version", version, "--implementation", "cp", *platforms,
         "--target", str(tmp_path), "--requirement", str(ROOT / "constraints.txt")],
        capture_output=True, text=True,
    )
    if result.returncode != 0 and "No matching distribution" not in result.stderr:
        unreachable = any(sign in result.stderr for sign in ("NewConnectionError", "Max retries", "Could not fetch URL"))
        if unreachable:
            pytest.skip(f"the package index cannot be reached: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
