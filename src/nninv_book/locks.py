"""An exclusive lock on a file, released when its holder exits or dies (POSIX ``flock``).

``python -m nninv_book.locks LOCKFILE COMMAND ...`` runs ``COMMAND`` while
holding the lock, so that two builds in one checkout take turns at the steps
that write one shared folder (the HTML build).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) until the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(arguments: list[str]) -> int:
    if len(arguments) < 2:
        print("usage: python -m nninv_book.locks LOCKFILE COMMAND [ARGUMENT ...]", file=sys.stderr)
        return 2
    with exclusive(Path(arguments[0])):
        return subprocess.run(arguments[1:]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
