"""An exclusive lock on a file, released when its holder exits or dies (POSIX ``flock``).

``python -m nninv_book.locks LOCKFILE COMMAND ...`` runs ``COMMAND`` while
holding the lock, so that two builds in one checkout take turns at the steps
that write one shared folder (the HTML build). ``python -m nninv_book.locks
--check LOCKFILE ...`` only says whether each lock could be taken (the build's
preflight runs it, so that a file or folder in a lock's way is told before any
chapter runs).
"""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockError(OSError):
    """A lock that cannot be taken because something else is in its place."""


def problem(path: Path) -> str | None:
    """Why a lock on ``path`` cannot be taken (a file where its folder should be, a folder in its place), or ``None``."""
    path = _as_path(path)
    if path.is_dir():
        return f"the lock file {path} is a folder; remove it"
    if path.exists() and not path.is_file():
        return f"the lock file {path} is not a regular file (a FIFO or a device); remove it"
    for folder in [path.parent, *path.parent.parents]:
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                return f"the lock folder {folder} is not a folder; remove it or move it away"
            break
    return None


def _as_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a lock is a path to a file, got {type(path).__name__} {path!r}")
    return Path(path)


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) until the block ends.

    Raises :class:`LockError`, naming the path, when a file stands where the
    lock's folder should be or a folder where the lock file should be.
    """
    path = _as_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Non-blocking, so that a FIFO in the lock's place is refused instead of waiting for a reader for ever.
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    except OSError as error:
        raise LockError(problem(path) or f"cannot take the lock {path}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise LockError(f"the lock file {path} is not a regular file (a FIFO or a device); remove it")
    with os.fdopen(descriptor, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["--check"]:
        problems = [found for found in map(problem, map(Path, arguments[1:])) if found]
        for found in problems:
            print(f"error: {found}", file=sys.stderr)
        return 1 if problems else 0
    if len(arguments) < 2:
        print("usage: python -m nninv_book.locks LOCKFILE COMMAND [ARGUMENT ...] | --check LOCKFILE ...", file=sys.stderr)
        return 2
    try:
        with exclusive(Path(arguments[0])):
            try:
                return subprocess.run(arguments[1:]).returncode
            except OSError as error:
                print(f"error: cannot run {arguments[1]!r} under the lock {arguments[0]}: {error.strerror}", file=sys.stderr)
                return 127
    except LockError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
