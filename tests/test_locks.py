"""Claims about the build's locks: whatever stands in a lock's way is named, and the preflight tells it."""

import subprocess
import sys

import pytest

from nninv_book import locks


def test_a_lock_is_taken_and_released(tmp_path):
    with locks.exclusive(tmp_path / "deeper" / "a.lock"):
        assert (tmp_path / "deeper" / "a.lock").is_file()
    assert locks.problem(tmp_path / "deeper" / "a.lock") is None


def test_a_folder_in_place_of_the_lock_file_is_named(tmp_path):
    (tmp_path / "a.lock").mkdir()
    with pytest.raises(locks.LockError, match="a.lock.*folder"):
        with locks.exclusive(tmp_path / "a.lock"):
            pass


def test_a_file_in_place_of_the_lock_folder_is_named(tmp_path):
    (tmp_path / "locks").write_text("in the way")
    with pytest.raises(locks.LockError, match="locks.*not a folder"):
        with locks.exclusive(tmp_path / "locks" / "deeper" / "a.lock"):
            pass


def test_the_check_names_every_lock_in_the_way_and_fails(tmp_path):
    (tmp_path / "one.lock").mkdir()
    (tmp_path / "two").write_text("in the way")
    result = subprocess.run([sys.executable, "-m", "nninv_book.locks", "--check", str(tmp_path / "one.lock"),
                             str(tmp_path / "two" / "b.lock"), str(tmp_path / "fine.lock")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "one.lock" in result.stderr and str(tmp_path / "two") in result.stderr and "fine.lock" not in result.stderr
