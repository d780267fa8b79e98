"""Write constraints.txt and environment.yml from the packages installed in a fresh environment.

Usage: python tools/write_pins.py PATH/TO/python  (run by `make pins`).
Both files then pin the same exact versions; tests/test_environment.py checks it.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# Every package of the book's environment, pinned exactly. Regenerate with `make pins`.\n"


def frozen(python: str) -> list[str]:
    listing = subprocess.run(
        [python, "-m", "pip", "freeze", "--all", "--exclude-editable", "--disable-pip-version-check"],
        check=True, capture_output=True, text=True,
    ).stdout
    # setuptools too (a dependency of the adversarial-robustness-toolbox), but not pip itself
    return sorted((line for line in listing.splitlines() if "==" in line and not line.startswith("pip==")), key=str.lower)


def main(python: str) -> None:
    pins = frozen(python)
    (ROOT / "constraints.txt").write_text(HEADER + "\n".join(pins) + "\n")
    environment = [
        "# The book's environment for conda and Binder: the same pins as constraints.txt.",
        "name: nninv",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
        *(f"      - {pin}" for pin in pins),
        "      - --editable .",
        "",
    ]
    (ROOT / "environment.yml").write_text("\n".join(environment))
    print(f"pinned {len(pins)} packages in constraints.txt and environment.yml")


if __name__ == "__main__":
    main(sys.argv[1])
